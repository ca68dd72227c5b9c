"""The gallery's selection and the viewer's delete (issue 21, item 5): shift-click selects a range,
"Select all" and "Select none" work on what is loaded, and deleting in the viewer moves on to the next
image instead of closing, closing only with the last one. Desktop and phone, English and Chinese."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import browser, each_language, each_size, prepare, require_chromium, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

WORDS = {"en": {"select": "Select", "all": "Select all", "none": "Select none", "selected": "{n} selected"},
         "zh-hans": {"select": "选择", "all": "全选", "none": "全不选", "selected": "已选 {n} 张"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("gallery-select") / "data", static=True, IMAGEGEN_PREVIEW_LATENCY="0.2")
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


def images(app, prompt: str, count: int) -> list[str]:
    task_id = app.generate(prompt=prompt, num_images=count, width=512, height=512)
    app.wait_for(lambda: app.task(task_id)["status"] == "completed", timeout=60, what="the images")
    return [img["image_id"] for img in app.task(task_id)["images"]]


@each_language
def test_shift_click_selects_a_range_and_select_all_and_none_work(watch, app, language):
    words = WORDS[language]
    made = images(app, f"a row of boats {language}", 4)
    page = watch.page
    prepare(page, app, language=language)
    page.goto("/gallery")
    grid = page.locator(".grid-item")
    expect(grid).to_have_count(len(app.query("SELECT image_id FROM images WHERE deleted_at IS NULL")))
    total = grid.count()
    page.get_by_role("button", name=words["select"], exact=True).click()

    shown = [grid.nth(i).get_attribute("data-image") for i in range(total)]
    first, last = shown.index(made[0]), shown.index(made[3])
    a, b = sorted((first, last))
    grid.nth(a).locator(".thumb").click()
    grid.nth(b).locator(".thumb").click(modifiers=["Shift"])
    expect(page.locator(".grid-item[aria-selected=true]")).to_have_count(b - a + 1)
    bar = page.locator(".selection-bar")
    expect(bar).to_contain_text(words["selected"].format(n=b - a + 1))
    # Shift-click from a deselected image clears the range back.
    grid.nth(a).locator(".thumb").click()
    grid.nth(b).locator(".thumb").click(modifiers=["Shift"])
    expect(page.locator(".grid-item[aria-selected=true]")).to_have_count(0)

    bar.get_by_role("button", name=words["all"], exact=True).click()
    expect(page.locator(".grid-item[aria-selected=true]")).to_have_count(total)
    expect(bar.get_by_role("button", name=words["all"], exact=True)).to_be_hidden()
    bar.get_by_role("button", name=words["none"], exact=True).click()
    expect(page.locator(".grid-item[aria-selected=true]")).to_have_count(0)


@each_size
def test_deleting_in_the_viewer_moves_on_to_the_next_image(watch, app, viewport):
    made = images(app, f"three lanterns {viewport['width']}", 3)
    page = watch.page
    prepare(page, app, viewport=viewport)
    prompt = f"three lanterns {viewport['width']}"
    page.goto(f"/gallery?q={prompt.replace(' ', '+')}")  # the viewer goes through these three alone
    thumbs = page.locator(".grid-item .thumb")
    expect(thumbs).to_have_count(3)
    thumbs.first.click()
    viewer = page.locator("dialog.viewer")
    viewer.wait_for(state="visible")
    shown = viewer.locator(".viewer-image img")
    first = shown.get_attribute("src")
    viewer.get_by_role("button", name="Delete image").click()
    expect(viewer).to_be_visible()
    expect(shown).not_to_have_attribute("src", first)
    assert app.request("GET", first)[0] == 404
    expect(thumbs).to_have_count(2)
    expect(viewer.locator(".viewer-nav")).to_contain_text("/ 2")
    viewer.get_by_role("button", name="Delete image").click()
    expect(viewer).to_be_visible()
    expect(thumbs).to_have_count(1)
    viewer.get_by_role("button", name="Delete image").click()
    expect(viewer).to_be_hidden()
    assert all(app.request("GET", f"/api/v1/images/{i}")[0] == 404 for i in made)
