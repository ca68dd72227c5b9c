"""How the studio and History word a task's state (issue 21, item 2 and 4): red only for a failure, a
retry in progress as a note, a cancel said by its badge alone, "Try again" only where trying again can help,
and models by name, not by id. Tasks are put in each state directly in the database (no worker runs), so
what is checked is the wording alone."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from .browser import browser, require_chromium, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("wording") / "data", static=True)
    stack.start_web()
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def tasks(app) -> dict[str, str]:
    """One task in each state, by name."""
    made = {}
    for name, status, code in (("not activated", "failed", "not_activated"),
                               ("server error", "failed", "upstream_error"),
                               ("retrying", "retrying", "quota_exceeded"),
                               ("cancelled", "cancelled", "cancelled")):
        task_id = app.generate(prompt=f"wording: {name}", model="jimeng_t2i_v31")
        app.query("UPDATE tasks SET status = ?, error_code = ?, retry_count = ? WHERE task_id = ?",
                  [status, code, 1 if status == "retrying" else 0, task_id])
        made[name] = task_id
    return made


def model_name(app, model_id: str) -> str:
    status, body = app.request("GET", "/api/v1/models")
    return next(m["name"] for m in body["models"] if m["id"] == model_id)


def studio_card(page, name: str):
    return page.locator(".task-card", has=page.get_by_text(f"wording: {name}", exact=True))


def test_the_studio_words_each_state_as_what_it_is(watch, app, tasks):
    page = watch.page
    # The studio's own list of tasks, in place before its script runs (set after a first load, it raced the
    # page's own save of what it had found).
    page.add_init_script(f"window.localStorage.setItem('imagegen.tasks', {json.dumps(json.dumps(list(tasks.values())))})")
    page.goto("/")
    expect(page.locator(".task-card")).to_have_count(4)

    retrying = studio_card(page, "retrying")
    expect(retrying.locator(".task-note")).to_contain_text("will be retried shortly")
    expect(retrying.locator(".task-error")).to_be_hidden()
    expect(retrying).not_to_contain_text("still could not run")

    cancelled = studio_card(page, "cancelled")
    expect(cancelled.locator(".badge")).to_have_text("Cancelled")
    expect(cancelled.locator(".task-error")).to_be_hidden()
    expect(cancelled.get_by_role("button", name="Try again")).to_be_visible()

    not_activated = studio_card(page, "not activated")
    expect(not_activated.locator(".task-error")).to_contain_text("not activated")
    expect(not_activated.get_by_role("button", name="Try again")).to_be_hidden()
    expect(not_activated.get_by_role("button", name="Reuse settings")).to_be_visible()

    server_error = studio_card(page, "server error")
    expect(server_error.locator(".task-error")).to_be_visible()
    expect(server_error.get_by_role("button", name="Try again")).to_be_visible()

    # Models by name.
    expect(server_error.locator(".task-model")).to_have_text(model_name(app, "jimeng_t2i_v31"))


def test_history_shows_model_names_and_dates_in_the_chosen_language(watch, app, tasks):
    page = watch.page
    page.goto("/history")
    row = page.locator(".history-row", has=page.get_by_text("wording: cancelled", exact=True))
    expect(row).to_contain_text(model_name(app, "jimeng_t2i_v31"))
    expect(row).not_to_contain_text("jimeng_t2i_v31")
    expect(row.locator(".task-error")).to_be_hidden()
    english = row.locator("time").inner_text()
    page.get_by_role("button", name="中文").click()
    page.wait_for_url("**/history")
    row = page.locator(".history-row", has=page.get_by_text("wording: cancelled", exact=True))
    chinese = row.locator("time").inner_text()
    assert chinese != english and ("年" in chinese or "/" in chinese), (english, chinese)
    created = app.task(tasks["cancelled"])["created_at"]
    expected = page.evaluate("(iso) => new Date(iso).toLocaleString('zh-hans')", created)
    assert chinese == expected, (chinese, expected)


def test_the_api_says_a_retry_is_coming_until_the_task_has_given_up(app, tasks):
    status, body = app.request("GET", f"/api/v1/task/{tasks['retrying']}")
    assert body["error"]["code"] == "quota_exceeded"
    assert "will be retried shortly" in body["error"]["message"]
    app.query("UPDATE tasks SET status = 'failed' WHERE task_id = ?", [tasks["retrying"]])
    status, body = app.request("GET", f"/api/v1/task/{tasks['retrying']}")
    assert "still could not run" in body["error"]["message"]
    assert json.dumps(body).count("will be retried") == 0
