"""Boards and stars in the gallery (issue 21, item 4), desktop and phone, English and Chinese: make a
board, select images and add them, show the board, take one off; star from the grid and the viewer and
show "Starred"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import (  # noqa: F401  (fixtures)
    browser, desktop_en_and_phone_zh, each_language, each_size, prepare, require_chromium, watch,
)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

WORDS = {"en": {"select": "Select", "add": "Add to board", "starred": "Starred", "all": "All images",
                "make": "Make", "star": "Star this image", "unstar": "Remove the star", "done": "Done"},
         "zh-hans": {"select": "选择", "add": "添加到画板", "starred": "已加星标", "all": "全部图片",
                     "make": "创建", "star": "给这张图片加星标", "unstar": "取消星标", "done": "完成"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("boards") / "data", static=True, IMAGEGEN_PREVIEW_LATENCY="0.2")
    stack.start_web()
    stack.start_worker()
    task_id = stack.generate(prompt="three boats for boards", num_images=3, width=512, height=512)
    stack.wait_for(lambda: stack.task(task_id)["status"] == "completed", timeout=60, what="the images")
    yield stack
    stack.close()


@desktop_en_and_phone_zh
def test_a_board_is_made_filled_shown_and_an_image_taken_off(watch, app, language, viewport):
    words = WORDS[language]
    page = watch.page
    prepare(page, app, language=language, viewport=viewport)
    page.goto("/gallery")
    grid = page.locator(".grid-item")
    expect(grid).to_have_count(3)
    name = f"Boats {language} {viewport['width']}"
    page.fill("#board-name", name)
    page.get_by_role("button", name=words["make"], exact=True).click()
    board = page.locator(".board-list button", has_text=name)
    expect(board).to_have_text(f"{name} (0)")

    page.get_by_role("button", name=words["select"], exact=True).click()
    grid.nth(0).locator(".thumb").click()
    grid.nth(1).locator(".thumb").click()
    page.select_option("#add-board", label=name)
    page.get_by_role("button", name=words["add"]).click()
    expect(board).to_have_text(f"{name} (2)")
    page.locator(".selection-bar").get_by_role("button", name=words["done"], exact=True).click()

    board.click()
    assert "board=board_" in page.url
    expect(grid).to_have_count(2)
    grid.nth(0).locator(".unboard").click()
    expect(grid).to_have_count(1)
    expect(board).to_have_text(f"{name} (1)")
    page.reload()  # the board is in the address
    expect(grid).to_have_count(1)
    page.get_by_role("button", name=words["all"]).click()
    expect(grid).to_have_count(3)


def test_stars_from_the_grid_and_the_viewer_and_the_starred_filter(watch, app):
    page = watch.page
    words = WORDS["en"]
    for image in app.request("GET", "/api/v1/images")[1]["results"]:
        app.request("DELETE", f"/api/v1/images/{image['image_id']}/star")
    page.goto("/gallery")
    grid = page.locator(".grid-item")
    expect(grid).to_have_count(3)
    first = grid.nth(0).get_by_role("button", name=words["star"])
    first.click()
    expect(grid.nth(0).locator(".star-toggle")).to_have_attribute("aria-pressed", "true")
    grid.nth(1).locator(".thumb").click()
    viewer = page.locator("dialog.viewer")
    viewer.get_by_role("button", name=words["star"]).click()
    expect(viewer.get_by_role("button", name=words["unstar"])).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("button", name=f"★ {words['starred']}").click()
    expect(grid).to_have_count(2)
    grid.nth(0).get_by_role("button", name=words["unstar"]).click()
    expect(grid).to_have_count(1)
    assert app.request("GET", "/api/v1/images?starred=true")[1]["count"] == 1
