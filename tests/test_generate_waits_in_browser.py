"""The generate page over the generation budget: it shows the wait Retry-After announced, counting down,
keeps the button disabled meanwhile, and re-enables it by itself when the window ends; the next click then
generates."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .browser import open_browser, require_chromium, watched_page
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    # No worker: the tasks wait, which is all this test needs. One generation per 4-second window.
    stack = Stack(tmp_path_factory.mktemp("budget") / "data", static=True, IMAGEGEN_CREATE_RATE="1/4s")
    stack.start_web()
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def browser(app):
    yield from open_browser()


@pytest.fixture
def watch(request, app, browser):
    yield from watched_page(request, browser, f"http://127.0.0.1:{app.port}")


def test_the_page_shows_the_wait_and_re_enables_generate_when_it_ends(watch, app):
    page = watch.page
    page.goto("/")
    button, wait = page.locator("button.primary"), page.locator("#generate-wait")
    cards = page.locator(".task-card")
    # Spend the window (a first generation may land at the very end of one: then the next is accepted too).
    for n in range(3):
        page.fill("#prompt", f"a kite over the dunes {n}")
        button.click()
        page.wait_for_function("n => document.querySelectorAll('.task-card').length > n"
                               " || document.querySelector('#generate-wait').offsetParent !== null", arg=n)
        if wait.is_visible():
            break
    expect(wait).to_be_visible()
    expect(wait).to_have_text(re.compile(r"Generation limit reached\. You can generate again in [1-4] s\."))
    expect(button).to_be_disabled()
    made = cards.count()
    # Nobody clicks: the page re-enables the button when the window ends.
    expect(button).to_be_enabled(timeout=10_000)
    expect(wait).to_be_hidden()
    page.fill("#prompt", "after the wait")
    button.click()
    expect(cards).to_have_count(made + 1)
    expect(wait).to_be_hidden()
