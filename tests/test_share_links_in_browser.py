"""Share links in the browser (issue 24): made from the gallery's viewer (prompt hidden) and for a board,
opened by someone without an account (in accounts mode, a fresh browser), then revoked from the Share
links page, expired and its target deleted: each time the page says the link no longer works."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .accounts import PASSWORD, stack_user
from .browser import PageWatch, browser, require_chromium  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("shares") / "data", static=True, IMAGEGEN_ACCESS="accounts",
                  IMAGEGEN_PREVIEW_LATENCY="0.2")
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


def signed_in_page(browser, app):
    context = browser.new_context(base_url=f"http://127.0.0.1:{app.port}", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    watch = PageWatch(context)
    page = watch.page
    page.goto("/login")
    page.fill("input[name=username]", "sharer")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda url: "/login" not in url)
    return context, watch


def test_a_link_made_in_the_viewer_opens_for_anyone_until_revoked(browser, app):
    stack_user(app, "sharer")
    context, watch = signed_in_page(browser, app)
    page = watch.page
    page.goto("/")
    page.fill("#prompt", "a private harbour at night")
    page.locator("button.primary").click()
    page.locator(".task-card .thumb").first.wait_for(timeout=60_000)
    page.goto("/gallery")
    page.locator(".grid-item .thumb").first.click()
    page.locator("dialog.viewer").get_by_role("button", name="Share…").click()
    dialog = page.locator("dialog.share-dialog")
    dialog.locator("input[name=show_prompt]").uncheck()
    dialog.get_by_role("button", name="Make link").click()
    expect(dialog.locator(".shared-url input")).to_have_value(re.compile(r"/s/\S{20,}$"))
    url = dialog.locator(".shared-url input").input_value()

    stranger = browser.new_context()  # no account, no cookies
    try:
        visit = stranger.new_page()
        visit.goto(url)
        expect(visit.get_by_role("heading", name="Shared with you")).to_be_visible()
        expect(visit.locator(".share-grid img")).to_have_count(1)
        assert "private harbour" not in visit.content()

        page.goto("/shares")
        row = page.locator(".queue-row").first
        expect(row).to_contain_text("1 view")
        expect(row).to_contain_text("prompt hidden")
        row.get_by_role("button", name="Revoke").click()
        expect(row.locator(".badge")).to_have_text("Revoked")
        visit.goto(url)
        expect(visit.get_by_role("heading", name="This link does not exist or no longer works.")).to_be_visible()
    finally:
        stranger.close()
        context.close()
    assert watch.problems == []


def test_an_expired_link_and_a_link_to_a_deleted_board_no_longer_work(browser, app):
    context, watch = signed_in_page(browser, app)
    page = watch.page
    try:
        page.goto("/gallery")
        page.fill("#board-name", "Night boats")
        page.get_by_role("button", name="Make", exact=True).click()
        page.locator(".board-list button", has_text="Night boats").click()
        page.get_by_role("button", name="Share board…").click()
        dialog = page.locator("dialog.share-dialog")
        dialog.locator("select[name=expires]").select_option("1")
        dialog.get_by_role("button", name="Make link").click()
        expect(dialog.locator(".shared-url input")).to_have_value(re.compile(r"/s/\S{20,}$"))
        url = dialog.locator(".shared-url input").input_value()
        stranger = browser.new_context()
        visit = stranger.new_page()
        visit.goto(url)
        expect(visit.get_by_role("heading", name="Shared with you")).to_be_visible()
        app.query("UPDATE share_links SET expires_at = '2000-01-01 00:00:00' WHERE kind = 'board'")
        visit.goto(url)
        expect(visit.get_by_role("heading", name="This link does not exist or no longer works.")).to_be_visible()
        app.query("UPDATE share_links SET expires_at = NULL WHERE kind = 'board'")
        visit.goto(url)
        expect(visit.get_by_role("heading", name="Shared with you")).to_be_visible()
        dialog.get_by_role("button", name="Close").click()
        page.once("dialog", lambda d: d.accept())
        page.get_by_role("button", name="Delete board").click()
        expect(page.locator(".board-list button", has_text="Night boats")).to_have_count(0)
        visit.goto(url)
        expect(visit.get_by_role("heading", name="This link does not exist or no longer works.")).to_be_visible()
        stranger.close()
    finally:
        context.close()
