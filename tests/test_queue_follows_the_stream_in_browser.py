"""The queue page follows the queue over the stream: a task made elsewhere (the API, as another device or the
command line would) shows up, runs and leaves for "Recently finished" with no re-read of the list, the
progress of each listed task coming over the socket (desktop and phone, English and Chinese)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .browser import browser, desktop_en_and_phone_zh, prepare, require_chromium, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

WORDS = {"en": {"title": "Queue", "completed": "Done"}, "zh-hans": {"title": "队列", "completed": "已完成"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("queue-live") / "data", static=True, IMAGEGEN_PREVIEW_LATENCY="3",
                  IMAGEGEN_STREAM_POLL="0.2")
    stack.start_stream()
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


@desktop_en_and_phone_zh
def test_a_task_from_elsewhere_arrives_runs_and_finishes_without_a_re_read(watch, app, language, viewport):
    words = WORDS[language]
    page = watch.page
    reads = []
    page.on("request", lambda r: re.search(r"/api/v1/queue", r.url) and reads.append(r.url))
    prepare(page, app, language=language, viewport=viewport)
    page.goto("/queue")
    expect(page.get_by_role("heading", name=words["title"], level=1)).to_be_visible()
    page.locator('[data-live="following"]').wait_for()  # the server has accepted follow_queue
    read_before = len(reads)

    prompt = f"from the command line {language}-{viewport['width']}"
    task_id = app.generate(prompt=prompt)
    row = page.locator(f'.queue-row[data-task="{task_id}"]')
    expect(row.first).to_be_visible(timeout=10_000)
    expect(page.locator(".queue-list").first.locator(f'.queue-row[data-task="{task_id}"]')).to_have_count(0,
                                                                                                      timeout=20_000)
    finished = page.locator(".queue-list").nth(1).locator(f'.queue-row[data-task="{task_id}"]')
    expect(finished.locator(".badge")).to_have_text(words["completed"])
    # It came, ran and left over the socket: the list was not read again meanwhile (that is every 30 s).
    assert len(reads) == read_before, reads
