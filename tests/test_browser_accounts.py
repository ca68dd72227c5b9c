"""Accounts mode in headless Chromium against the real processes: sign in, see what is left of the quota on
the generate page, make an API token on the account page (shown once), revoke it, sign out. Fails on any
console error, uncaught exception or CSP violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .accounts import PASSWORD, stack_user
from .browser import open_browser, require_chromium, watched_page
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("browser-accounts") / "data", static=True, IMAGEGEN_ACCESS="accounts",
                  IMAGEGEN_DEFAULT_DAILY_IMAGES="5", IMAGEGEN_PREVIEW_LATENCY="0.5")
    stack_user(stack, "alice")
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def browser(app):
    yield from open_browser()


@pytest.fixture
def watch(request, app, browser):
    yield from watched_page(request, browser, f"http://127.0.0.1:{app.port}")


def test_sign_in_see_the_quota_make_a_token_once_and_revoke_it(watch, app):
    page = watch.page
    page.goto("/gallery")
    page.wait_for_url(re.compile(r"/login\?next=/gallery$"))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".form-error")).to_contain_text("Please enter a correct username and password")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/gallery$"))

    # The generate page says what is left today, and counts a new request.
    page.goto("/")
    quota = page.locator("#quota")
    expect(quota).to_have_text("5 of 5 images left today · 0 of 4 tasks running")
    page.fill("#prompt", "a lighthouse for alice")
    page.click("button.primary")
    expect(quota).to_contain_text("4 of 5 images left today")
    page.locator(".task-card .badge").filter(has_text=re.compile("^Done$")).wait_for(timeout=60_000)

    # A token: made on the account page, shown once.
    page.get_by_role("link", name="Account").click()
    page.wait_for_url(re.compile(r"/account$"))
    expect(page.locator("#quota-images")).to_have_text("1 of 5 used, 4 left")
    page.fill("input[name=name]", "laptop script")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").input_value()
    assert re.fullmatch(r"igt_[A-Za-z0-9_-]{40,}", token)
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.request("GET", "/api/v1/account", headers=bearer)[1]["username"] == "alice"

    page.goto("/account")
    expect(page.locator("#new-token")).to_have_count(0)
    assert token not in page.content()
    row = page.locator("tr", has=page.locator(".token-name", has_text="laptop script"))
    expect(row).to_have_count(1)
    expect(row.locator(".token-used")).not_to_have_text("never")  # it was used just now

    row.get_by_role("button", name=re.compile("Revoke")).click()
    expect(page.locator(".notices")).to_contain_text("was revoked")
    expect(page.locator(".token-name", has_text="laptop script")).to_have_count(0)
    status, body = app.request("GET", "/api/v1/account", headers=bearer)
    assert status == 401 and body["error"] == "authentication_failed"

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto("/")
    page.wait_for_url(re.compile(r"/login\?next=/$"))
