"""The queue page (issue 21, item 2), desktop and phone, English and Chinese: a task made elsewhere (the
API, as another device or the command line would) shows up by itself, in order, with its place; a waiting
task can be moved ahead of one's others and cancelled; finished tasks move to "Recently finished"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .browser import (  # noqa: F401  (fixtures)
    browser, desktop_en_and_phone_zh, each_language, each_size, prepare, require_chromium, watch,
)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

WORDS = {"en": {"title": "Queue", "move": "Move ahead of my others", "cancel": "Cancel", "next": "Next",
                "recent": "Recently finished", "cancelled": "Cancelled"},
         "zh-hans": {"title": "队列", "move": "排到我的其他任务前面", "cancel": "取消", "next": "下一个",
                     "recent": "最近完成", "cancelled": "已取消"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("queue") / "data", static=True)  # no worker: tasks wait
    stack.start_web()
    yield stack
    stack.close()


@desktop_en_and_phone_zh
def test_tasks_from_elsewhere_appear_in_order_and_can_be_moved_and_cancelled(watch, app, language, viewport):
    words = WORDS[language]
    page = watch.page
    prepare(page, app, language=language, viewport=viewport)
    for row in app.query("SELECT task_id FROM tasks WHERE status = 'pending'"):
        app.request("DELETE", f"/api/v1/task/{row[0]}")
    page.goto("/queue")
    expect(page.get_by_role("heading", name=words["title"], level=1)).to_be_visible()
    tag = f"{language}-{viewport['width']}"
    ids = [app.generate(prompt=f"queued {tag} {n}") for n in range(3)]  # made elsewhere, after the page loaded

    rows = page.locator(".queue-list").first.locator(".queue-row")
    expect(rows).to_have_count(3, timeout=10_000)  # it re-reads the queue by itself
    expect(rows.locator(".task-prompt")).to_have_text([f"queued {tag} {n}" for n in range(3)])
    expect(rows.first.locator(".queue-place")).to_have_text(words["next"])
    # A waiting task's bar stands at 0, not the indeterminate "working" animation (position -1).
    assert rows.first.locator("progress").evaluate("(bar) => bar.position") == 0

    rows.nth(2).get_by_role("button", name=words["move"]).click()
    expect(rows.locator(".task-prompt")).to_have_text([f"queued {tag} {n}" for n in (2, 0, 1)])
    assert app.request("GET", f"/api/v1/task/{ids[2]}")[1]["queue_position"] == 0

    rows.first.get_by_role("button", name=words["cancel"], exact=True).click()
    expect(rows).to_have_count(2)
    recent = page.locator(".queue-list").nth(1).locator(".queue-row", has=page.get_by_text(f"queued {tag} 2", exact=True))
    expect(recent.locator(".badge")).to_have_text(words["cancelled"])
    assert app.request("GET", f"/api/v1/task/{ids[2]}")[1]["status"] == "cancelled"
    assert re.search(r"/queue$", page.url)
