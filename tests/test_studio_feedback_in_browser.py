"""What the studio tells you after Generate (issue 21, items 1 and 5), on a phone and on a desktop, in
English and in Chinese: the new card is brought into view and a status line says it started; a task that
ends is announced; every thumbnail names which image of what it opens; the size fields read as fields."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .browser import PageWatch, require_chromium, save_screenshot
from .stack import Stack
from .test_pages_in_browser import browser, card, unique  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.processes, pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WORDS = {
    "en": {"started": "Started", "finished": "Finished: ", "open": "Open image 2 of 2: "},
    "zh-hans": {"started": "已开始", "finished": "已完成：", "open": "打开第 2 张（共 2 张）："},
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("feedback") / "data", static=True, IMAGEGEN_PREVIEW_LATENCY="2")
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


def open_studio(request, browser, app, viewport, language):
    context = browser.new_context(viewport=viewport, base_url=f"http://127.0.0.1:{app.port}", locale="en-US",
                                  is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    context.add_cookies([{"name": "django_language", "value": language, "url": f"http://127.0.0.1:{app.port}"}])
    context.set_default_timeout(20_000)
    watch = PageWatch(context)
    request.addfinalizer(lambda: finish(request, watch, context))
    watch.page.goto("/")
    return watch


def finish(request, watch, context):
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        save_screenshot(watch.page, request.node.name)
    context.close()


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_after_generate_the_new_card_is_in_view_and_its_start_and_end_are_said(request, browser, app, viewport, language):
    watch = open_studio(request, browser, app, viewport, language)
    page = watch.page
    words = WORDS[language]
    prompt = unique("a lighthouse at dusk")
    page.fill("#prompt", prompt)
    page.fill("#num_images", "2")
    page.locator("button.primary").click()

    toast = page.locator(".toast")
    expect(toast).to_contain_text(words["started"])
    new = card(page, prompt)
    new.wait_for()
    # Smooth scrolling takes a moment; the card ends up on screen (on a phone it starts below the form).
    page.wait_for_function("(el) => { const b = el.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight; }",
                           arg=new.element_handle())
    assert in_view(page, new)

    # The end is announced in the status line that screen readers follow.
    expect(toast).to_have_attribute("role", "status")
    expect(toast).to_contain_text(words["finished"] + prompt[:40], timeout=60_000)
    thumbs = new.locator(".thumb")
    expect(thumbs).to_have_count(2)
    names = [thumbs.nth(i).get_attribute("aria-label") for i in range(2)]
    assert names[0] != names[1], names
    assert names[1].startswith(words["open"]) and prompt in names[1], names
    assert watch.problems == []


def test_the_size_fields_read_as_fields_and_do_not_make_a_phone_zoom(request, browser, app):
    page = open_studio(request, browser, app, PHONE, "en").page
    width = page.locator("input[name=width]")
    style = width.evaluate("(el) => { const s = getComputedStyle(el); return [parseFloat(s.fontSize), s.color]; }")
    body_color = page.evaluate("getComputedStyle(document.body).color")
    assert style[0] >= 16, style
    assert style[1] == body_color, (style, body_color)
    for field in ("#prompt", "#model", "#seed", "#num_images"):
        size = page.locator(field).evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)")
        assert size >= 16, (field, size)


def test_the_gallery_names_each_thumbnail_by_its_prompt(request, browser, app):
    prompt = unique("a red bicycle")
    task_id = app.generate(prompt=prompt)
    app.wait_for(lambda: app.task(task_id)["status"] == "completed", timeout=60, what="the task to complete")
    page = open_studio(request, browser, app, DESKTOP, "en").page
    page.goto("/gallery")
    thumb = page.get_by_role("button", name=re.compile(re.escape(f"Open image: {prompt}")))
    expect(thumb).to_have_count(1)
