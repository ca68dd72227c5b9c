"""History's filters live in the address (issue 21, item 5): a reload or a shared link shows the same list,
with the same filters set in the form."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from .browser import browser, require_chromium, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("history-filters") / "data", static=True)
    stack.start_web()
    for prompt, status in (("filtered: a failed fox", "failed"), ("filtered: a failed owl", "failed"),
                           ("filtered: a cancelled fox", "cancelled")):
        task_id = stack.generate(prompt=prompt, model="jimeng_t2i_v31")
        stack.query("UPDATE tasks SET status = ?, error_code = 'upstream_error' WHERE task_id = ?", [status, task_id])
    yield stack
    stack.close()


def prompts(page) -> list[str]:
    return sorted(page.locator(".history-row .task-prompt").all_inner_texts())


def test_the_filters_survive_a_reload_and_a_shared_link(watch, browser, app):
    page = watch.page
    page.goto("/history")
    expect(page.locator(".history-row")).to_have_count(3)
    page.select_option("#history-status", "failed")
    page.fill("#history-q", "fox")
    page.locator("#history-q").press("Enter")
    page.wait_for_url(re.compile(r"/history\?.*status=failed"))
    assert "q=fox" in page.url
    expect(page.locator(".history-row")).to_have_count(1)
    assert prompts(page) == ["filtered: a failed fox"]

    page.reload()
    expect(page.locator(".history-row")).to_have_count(1)
    assert prompts(page) == ["filtered: a failed fox"]
    expect(page.locator("#history-status")).to_have_value("failed")
    expect(page.locator("#history-q")).to_have_value("fox")

    # The same address in another browser context: the same list.
    other = browser.new_context(base_url=f"http://127.0.0.1:{app.port}")
    try:
        shared = other.new_page()
        shared.goto(page.url)
        expect(shared.locator(".history-row")).to_have_count(1)
        expect(shared.locator("#history-status")).to_have_value("failed")
    finally:
        other.close()

    # Clearing a filter takes it out of the address.
    page.select_option("#history-status", "")
    page.wait_for_url(lambda url: "status=" not in url)
    expect(page.locator(".history-row")).to_have_count(2)




HELD = re.compile(r"/api/v1/tasks\?(?!.*q=).*status=failed")  # the status alone, without the text


def test_a_filter_changed_while_a_page_is_loading_is_not_lost(watch, app):
    """The list shows the answer to the latest filters, whatever order the answers come in: here the answer
    for the status alone is held back until the one for the status and the text has been shown."""
    page = watch.page
    page.goto("/history")
    expect(page.locator(".history-row")).to_have_count(3)

    def hold(route):  # only the status-only request is routed here; the later one goes straight through
        time.sleep(1.5)
        route.continue_()

    page.route(HELD, hold)
    with page.expect_event("requestfinished", lambda request: bool(HELD.search(request.url)), timeout=20_000):
        # Both changes in one go, as a quick user makes them: the status (a request), then the text (another).
        page.evaluate("""() => {
            const status = document.querySelector("#history-status");
            status.value = "failed";
            status.dispatchEvent(new Event("change", { bubbles: true }));
            document.querySelector("#history-q").value = "fox";
            document.querySelector("#history-q").form.requestSubmit();
        }""")
        page.wait_for_function("() => document.querySelectorAll('.history-row').length === 1")
    # The held answer is in the browser: two frames later the page has done whatever it does with it.
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    expect(page.locator(".history-row")).to_have_count(1)
    assert prompts(page) == ["filtered: a failed fox"]
