""""Try again" on the queue page and in the studio runs the same task again (POST /api/v1/task/{id}/retry):
no new task is made, the row or card goes back to waiting and is followed until it is done (desktop and
phone, English and Chinese)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from .browser import browser, desktop_en_and_phone_zh, prepare, require_chromium, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

WORDS = {"en": {"again": "Try again", "done": "Done"}, "zh-hans": {"again": "重试", "done": "已完成"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("try-again") / "data", static=True, IMAGEGEN_PREVIEW_LATENCY="1",
                  IMAGEGEN_STREAM_POLL="0.2")
    stack.start_stream()
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


def failed_task(app, prompt: str) -> str:
    """A task that failed with an error trying again can fix (made finished, as the worker would leave it)."""
    app.stop("worker")
    task_id = app.generate(prompt=prompt, seed=777)
    app.query("UPDATE tasks SET status = 'failed', error_code = 'upstream_error', stage = 'done', "
              "completed_at = CURRENT_TIMESTAMP WHERE task_id = ?", [task_id])
    app.start_worker()
    return task_id


def tasks_named(app, prompt: str) -> int:
    return app.query("SELECT COUNT(*) FROM tasks WHERE prompt = ?", [prompt])[0][0]


@desktop_en_and_phone_zh
def test_try_again_on_the_queue_page_runs_the_same_task_to_its_end(watch, app, language, viewport):
    words = WORDS[language]
    prompt = f"again from the queue {language}-{viewport['width']}"
    task_id = failed_task(app, prompt)
    page = watch.page
    prepare(page, app, language=language, viewport=viewport)
    page.goto("/queue")
    page.locator('[data-live="following"]').wait_for()
    lists = page.locator(".queue-list")
    lists.nth(1).locator(f'.queue-row[data-task="{task_id}"]').get_by_role("button", name=words["again"]).click()

    expect(lists.first.locator(f'.queue-row[data-task="{task_id}"]')).to_have_count(1)  # back in the queue
    done = lists.nth(1).locator(f'.queue-row[data-task="{task_id}"]')
    expect(done.locator(".badge")).to_have_text(words["done"], timeout=20_000)
    assert tasks_named(app, prompt) == 1  # the same task, not a new one
    task = app.task(task_id)
    assert (task["status"], task["seed"], task["retry_count"]) == ("completed", 777, 1)


@desktop_en_and_phone_zh
def test_try_again_on_a_studio_card_runs_the_same_task_to_its_end(watch, app, language, viewport):
    words = WORDS[language]
    prompt = f"again from the studio {language}-{viewport['width']}"
    task_id = failed_task(app, prompt)
    page = watch.page
    page.add_init_script(f"window.localStorage.setItem('imagegen.tasks', {json.dumps(json.dumps([task_id]))})")
    prepare(page, app, language=language, viewport=viewport)
    page.goto("/")
    card = page.locator(".task-card", has=page.get_by_text(prompt, exact=True))
    card.get_by_role("button", name=words["again"]).click()

    expect(card.locator(".badge")).to_have_text(words["done"], timeout=20_000)
    expect(card.locator(".thumb img")).to_have_count(1)
    expect(page.locator(".task-card", has=page.get_by_text(prompt, exact=True))).to_have_count(1)
    assert tasks_named(app, prompt) == 1
    assert app.task(task_id)["retry_count"] == 1
