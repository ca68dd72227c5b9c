"""Batches in the studio and the gallery (issue 21, item 3), desktop and phone, English and Chinese:
variations and one task per line go out as one batch; the batch has a bar with its progress, a cancel and
a link to its images; the gallery shows one batch's images until told to show all."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .browser import (  # noqa: F401  (fixtures)
    browser, desktop_en_and_phone_zh, each_language, each_size, prepare, require_chromium, watch,
)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

WORDS = {"en": {"started": "Started a batch of 4 tasks", "bar": "Batch: 0 of 4 done", "cancel": "Cancel batch",
                "makes": "Makes 4 tasks as one batch.", "cancelled": "Cancelled"},
         "zh-hans": {"started": "已开始一个 4 个任务的批次", "bar": "批次：4 个中已完成 0 个", "cancel": "取消批次",
                     "makes": "将作为一个批次生成 4 个任务。", "cancelled": "已取消"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    # Slow enough that a batch is still running when the test cancels it.
    stack = Stack(tmp_path_factory.mktemp("batches") / "data", static=True, IMAGEGEN_PREVIEW_LATENCY="6",
                  IMAGEGEN_WORKERS="2")
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


@desktop_en_and_phone_zh
def test_two_lines_times_two_variations_go_out_as_one_batch_that_can_be_cancelled(watch, app, language, viewport):
    words = WORDS[language]
    page = watch.page
    prepare(page, app, language=language, viewport=viewport)
    page.goto("/")
    tag = f"{language}-{viewport['width']}"
    page.fill("#prompt", f"a kite {tag}\na boat {tag}")
    page.locator("input[name=per_line]").check()
    page.fill("#variations", "2")
    expect(page.locator("#batch-hint")).to_have_text(words["makes"])
    page.locator("button.primary").click()
    expect(page.locator(".toast")).to_contain_text(words["started"])

    cards = page.locator(".task-card", has=page.get_by_text(re.compile(f"^a (kite|boat) {tag}$")))
    expect(cards).to_have_count(4)
    bar = page.locator(".batch-bar")
    expect(bar).to_have_count(1)
    expect(bar).to_contain_text(words["bar"].split("0")[0])
    batch_id = bar.get_attribute("data-batch")
    assert re.fullmatch(r"batch_[0-9a-f]{32}", batch_id)
    state = app.request("GET", f"/api/v1/batches/{batch_id}")[1]
    assert state["total"] == 4 and sorted(t["prompt"] for t in state["tasks"]) == sorted([f"a kite {tag}", f"a boat {tag}"] * 2)
    assert len({t["seed"] for t in state["tasks"]}) == 4

    bar.get_by_role("button", name=words["cancel"]).click()
    expect(bar).to_have_count(0)
    expect(cards.locator(".badge").filter(has_text=words["cancelled"])).not_to_have_count(0)
    state = app.request("GET", f"/api/v1/batches/{batch_id}")[1]
    assert state["finished"] and state["counts"]["pending"] == 0


def test_the_gallery_shows_one_batch_until_told_to_show_all(watch, app):
    status, body = app.request("POST", "/api/v1/batches", {"prompt": "a gallery batch", "variations": 2,
                                                           "width": 512, "height": 512})
    assert status == 201, body
    other = app.generate(prompt="not in the batch", width=512, height=512)
    app.wait_for(lambda: app.request("GET", body["url"])[1]["finished"] and app.task(other)["status"] == "completed",
                 timeout=90, what="the batch and the other task")
    page = watch.page
    page.goto(f"/gallery?batch={body['batch_id']}")
    grid = page.locator(".grid-item")
    expect(grid).to_have_count(2)
    page.get_by_role("button", name="Show all").click()
    expect(grid).not_to_have_count(2)
    assert "batch=" not in page.url


@pytest.mark.parametrize("param, fill, field, expected", [
    ("seed", "11, 12 13", "seed", [11, 12, 13]),
    ("size", "1024x1024, 1280x720", "width", [1024, 1280]),
    ("model", ["jimeng_t2i_v31", "high_aes_general_v20"], "model", ["jimeng_t2i_v31", "high_aes_general_v20"]),
])
def test_a_sweep_from_the_studio_makes_one_task_per_value(watch, app, param, fill, field, expected):
    page = watch.page
    page.goto("/")
    prompt = f"a sweep over {param}"
    page.fill("#prompt", prompt)
    page.select_option("#sweep", param)
    if isinstance(fill, list):
        for model in fill:
            page.locator(f".sweep-models input[value='{model}']").check()
    else:
        page.fill("#sweep-values", fill)
    expect(page.locator("#batch-hint")).to_have_text(f"Makes {len(expected)} tasks as one batch.")
    page.locator("button.primary").click()
    bar = page.locator(".batch-bar")
    expect(bar).to_have_count(1)
    state = app.request("GET", f"/api/v1/batches/{bar.get_attribute('data-batch')}")[1]
    assert state["kind"] == param and [t[field] for t in state["tasks"]] == expected
    bar.get_by_role("button", name="Cancel batch").click()
    expect(bar).to_have_count(0)


def test_a_bad_sweep_value_is_shown_at_the_sweep(watch):
    page = watch.page
    page.goto("/")
    page.fill("#prompt", "a bad sweep")
    page.select_option("#sweep", "size")
    page.locator("button.primary").click()
    expect(page.locator(".sweep .field-error")).to_have_text("Give the values to sweep over.")
    page.fill("#sweep-values", "1024x1024, huge")
    page.locator("button.primary").click()
    expect(page.locator(".sweep .field-error")).to_contain_text("WIDTHxHEIGHT")
    expect(page.locator(".batch-bar")).to_have_count(0)
