"""Trash with undo in the pages (issue 21, item 5): deleting in the gallery says so in the status line, whose
Undo button (a real button, reached and pressed with the keyboard) brings the image back; the Trash page,
linked from the header on every page, lists what was deleted with its thumbnails, restores an entry, deletes
one forever and empties the rest, asking first. Desktop in English and a phone in Chinese."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .browser import (  # noqa: F401  (fixtures)
    browser, desktop_en_and_phone_zh, prepare, require_chromium, watch,
)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

WORDS = {
    "en": {"trash": "Trash", "moved": "Image moved to the trash.", "undo": "Undo", "restored": "Restored.",
           "restore": "Restore", "forever": "Delete forever", "empty": "Empty trash", "is_empty": "The trash is empty.",
           "delete_image": "Delete image", "generation": "Generation", "image": "Image"},
    "zh-hans": {"trash": "回收站", "moved": "图片已移入回收站。", "undo": "撤销", "restored": "已恢复。",
                "restore": "恢复", "forever": "永久删除", "empty": "清空回收站", "is_empty": "回收站是空的。",
                "delete_image": "删除图片", "generation": "生成记录", "image": "图片"},
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("trash") / "data", static=True, IMAGEGEN_PREVIEW_LATENCY="0.2")
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


def finished(app, prompt: str, images: int = 1) -> dict:
    task_id = app.generate(prompt=prompt, num_images=images, width=512, height=512)
    app.wait_for(lambda: app.task(task_id)["status"] == "completed", timeout=60, what="the images")
    return app.task(task_id)


def empty_the_trash(app) -> None:
    assert app.request("DELETE", "/api/v1/trash")[0] == 200


@desktop_en_and_phone_zh
def test_undo_in_the_status_line_brings_a_deleted_image_back(watch, app, language, viewport):
    words = WORDS[language]
    empty_the_trash(app)
    prompt = f"a lantern to undo {language}"
    image_id = finished(app, prompt)["images"][0]["image_id"]
    page = watch.page
    prepare(page, app, language=language, viewport=viewport)
    page.goto(f"/gallery?q={prompt.replace(' ', '+')}")
    item = page.locator(f".grid-item[data-image='{image_id}']")
    item.locator(".thumb").click()
    page.locator("dialog.viewer").get_by_role("button", name=words["delete_image"]).click()
    expect(item).to_have_count(0)
    toast = page.locator(".toast")
    expect(toast).to_have_attribute("role", "status")  # announced to screen readers
    expect(toast).to_contain_text(words["moved"])
    assert app.request("GET", f"/api/v1/images/{image_id}")[0] == 404
    undo = toast.get_by_role("button", name=words["undo"])
    undo.focus()
    page.keyboard.press("Enter")
    expect(toast).to_contain_text(words["restored"])
    expect(item).to_have_count(1)
    assert app.request("GET", f"/api/v1/images/{image_id}")[0] == 200
    assert app.request("GET", "/api/v1/trash")[1]["count"] == 0


@desktop_en_and_phone_zh
def test_the_trash_page_restores_deletes_forever_and_empties(watch, app, language, viewport):
    words = WORDS[language]
    empty_the_trash(app)
    restored, forgotten, emptied = (finished(app, f"{what} {language}") for what in ("restored", "forgotten", "emptied"))
    alone = finished(app, f"an image alone {language}", images=2)["images"][0]["image_id"]
    for task in (restored, forgotten, emptied):
        assert app.request("DELETE", f"/api/v1/history/{task['task_id']}")[0] == 204
    assert app.request("DELETE", f"/api/v1/images/{alone}")[0] == 204
    page = watch.page
    prepare(page, app, language=language, viewport=viewport)
    page.goto("/history")
    page.get_by_role("navigation").get_by_role("link", name=words["trash"], exact=True).click()
    page.wait_for_url("**/trash")
    rows = page.locator(".trash-row")
    expect(rows).to_have_count(4)
    expect(page.locator(f".trash-row[data-item='{alone}'] .badge")).to_have_text(words["image"])
    row = page.locator(f".trash-row[data-item='{restored['task_id']}']")
    expect(row.locator(".badge")).to_have_text(words["generation"])
    thumbnail = row.locator("img")
    expect(thumbnail).to_have_count(1)
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())

    row.get_by_role("button", name=re.compile("^" + words["restore"])).click()
    expect(rows).to_have_count(3)
    assert app.request("GET", f"/api/v1/task/{restored['task_id']}")[0] == 200

    forgotten_row = page.locator(f".trash-row[data-item='{forgotten['task_id']}']")
    forgotten_row.get_by_role("button", name=re.compile("^" + words["forever"])).click()
    dialog = page.locator("dialog.confirm")
    dialog.get_by_role("button", name=words["forever"]).click()
    expect(rows).to_have_count(2)
    assert forgotten["task_id"] not in [e["item_id"] for e in app.request("GET", "/api/v1/trash")[1]["results"]]
    assert app.query("SELECT COUNT(*) FROM tasks WHERE task_id = ?", [forgotten["task_id"]]) == [(0,)]

    page.get_by_role("button", name=words["empty"]).click()
    dialog.get_by_role("button", name=words["forever"]).click()
    expect(rows).to_have_count(0)
    expect(page.locator(".empty")).to_have_text(words["is_empty"])
    assert app.request("GET", "/api/v1/trash")[1]["count"] == 0
    assert app.query("SELECT COUNT(*) FROM images WHERE image_id = ?", [alone]) == [(0,)]
    page.goto("/history")
    expect(page.locator(".history-row", has=page.get_by_text(restored["prompt"], exact=True))).to_have_count(1)
