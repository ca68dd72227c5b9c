"""History's filters live in the address (issue 21, item 5): a reload or a shared link shows the same list,
with the same filters set in the form."""

from __future__ import annotations

import re

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
