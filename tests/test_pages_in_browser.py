"""The web pages, driven in headless Chromium against the running app (gunicorn, the stream process and
qcluster as separate processes: the pages follow their tasks over the WebSocket; see
test_pages_live_updates_in_browser.py for the polling fallback). Each test fails on any console error, uncaught exception or CSP violation, and saves a
screenshot under test-artifacts/ when it fails."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from .browser import open_browser, require_chromium, watched_page
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("browser") / "data", static=True, IMAGEGEN_PREVIEW_LATENCY="1.5")
    stack.start_stream()
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def browser(app):
    yield from open_browser()


@pytest.fixture
def watch(request, app, browser):
    yield from watched_page(request, browser, f"http://127.0.0.1:{app.port}", accept_downloads=True)


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:6]}"


def generate(page, prompt: str, *, images: int | None = None) -> None:
    page.fill("#prompt", prompt)
    if images:
        page.fill("#num_images", str(images))
    page.click("button.primary")


def card(page, prompt: str):
    return page.locator(".task-card", has=page.get_by_text(prompt, exact=True))


def wait_done(page, prompt: str):
    badge = card(page, prompt).locator(".badge")
    badge.filter(has_text=re.compile("^Done$")).wait_for(timeout=60_000)


def finished_task(app, prompt: str, **body) -> dict:
    """A completed task made through the API (for tests that start from existing images)."""
    task_id = app.generate(prompt=prompt, **body)
    app.wait_for(lambda: app.task(task_id)["status"] == "completed", timeout=60, what="the task to complete")
    return app.task(task_id)


def test_two_tasks_at_once_both_complete_with_progress_shown(watch):
    page = watch.page
    page.goto("/")
    first, second = unique("a red fox in snow"), unique("a lighthouse at dawn")
    generate(page, first)
    generate(page, second)
    expect(page.locator(".task-card").filter(has_text=first)).to_have_count(1)
    # Progress is visible while they run: a progress bar and a percentage.
    progress = card(page, second).locator(".task-progress")
    progress.wait_for(state="visible")
    assert re.search(r"\d+%", progress.inner_text())
    wait_done(page, first)
    wait_done(page, second)
    for prompt in (first, second):
        thumbnail = card(page, prompt).locator(".thumb img")
        expect(thumbnail).to_have_count(1)
        assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    # Reloading recovers the tasks of this browser.
    page.reload()
    card(page, first).wait_for()
    card(page, second).wait_for()


def test_the_form_validates_like_the_server_and_shows_server_errors_by_the_field(watch):
    page = watch.page
    page.goto("/")
    page.click("button.primary")
    assert page.locator("#prompt-error").inner_text() == "The prompt must not be empty."
    page.fill("#prompt", "x")
    page.fill("input[name=width]", "100")
    page.click("button.primary")
    assert "between" in page.locator(".field-error").filter(has_text="Width").inner_text()
    # An error only the server knows (an odd size for super-resolution) comes back next to its field.
    page.select_option("#model", "high_aes_general_v20")
    page.fill("input[name=width]", "1023")
    page.fill("input[name=height]", "1024")
    page.click("button.primary")
    error = page.locator(".field-error").filter(has_text="even")
    error.wait_for()
    expect(page.locator(".form-error")).to_be_visible()


def test_the_form_shows_only_what_the_model_supports(watch):
    page = watch.page
    page.goto("/")
    page.click("summary")
    page.select_option("#model", "jimeng_t2i_v31")
    expect(page.locator("#steps")).to_be_hidden()
    expect(page.locator("input[name=enhance_prompt]")).to_be_visible()
    page.select_option("#model", "high_aes_general_v20")
    expect(page.locator("#steps")).to_be_visible()
    expect(page.locator("#scale")).to_be_visible()
    expect(page.locator("input[name=width]")).to_have_value("1024")
    page.get_by_role("button", name="16:9", exact=True).click()
    expect(page.locator("input[name=width]")).to_have_value("1280")
    expect(page.locator("input[name=height]")).to_have_value("720")


def test_the_viewer_navigates_reuses_settings_and_downloads_the_original(watch, app, tmp_path):
    page = watch.page
    prompt = unique("a quiet harbour")
    task = finished_task(app, prompt, num_images=2, seed=4242, model="high_aes_general_v20", width=768, height=1024)
    page.goto("/history")
    row = page.locator(".history-row", has=page.get_by_text(prompt, exact=True))
    row.locator(".thumb").first.click()
    viewer = page.locator("dialog.viewer")
    viewer.wait_for(state="visible")
    assert viewer.locator(".viewer-prompt").inner_text() == prompt
    assert "4242" in viewer.locator(".params").inner_text()
    page.keyboard.press("ArrowRight")
    expect(viewer.locator(".params")).to_contain_text("4243")
    with page.expect_download() as download_info:
        viewer.get_by_text("Download original").click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert download.suggested_filename.endswith(".png")
    assert task["images"][1]["image_id"] in download.suggested_filename
    assert target.stat().st_size == task["images"][1]["file_size"]
    viewer.get_by_text("Reuse with this seed").click()
    page.wait_for_url(re.compile(r"/\?reuse="))
    expect(page.locator("#prompt")).to_have_value(prompt)
    assert page.locator("#model").input_value() == "high_aes_general_v20"
    assert page.locator("input[name=width]").input_value() == "768"
    assert page.locator("#seed").input_value() == "4243"
    # The seed that was loaded is in sight, not folded under "More settings".
    expect(page.locator("#seed")).to_be_visible()
    expect(page.locator("#num_images")).to_be_visible()


def test_a_tag_added_in_the_viewer_filters_the_gallery(watch, app):
    page = watch.page
    tagged, other = unique("a tagged cat"), unique("an untagged dog")
    finished_task(app, tagged)
    finished_task(app, other)
    tag = "cats-" + uuid.uuid4().hex[:4]
    page.goto("/gallery")
    page.locator(".grid-item img[alt='%s']" % tagged).click()
    viewer = page.locator("dialog.viewer")
    viewer.locator("#new-tag").fill(tag)
    viewer.get_by_role("button", name="Add", exact=True).click()
    viewer.locator(".tag", has_text=tag).wait_for()
    viewer.get_by_role("button", name="Close").click()
    page.select_option("#gallery-tag", tag)
    expect(page.locator(".grid-item")).to_have_count(1)
    assert page.locator(".grid-item img").get_attribute("alt") == tagged


def test_history_search_finds_by_prompt_text(watch, app):
    page = watch.page
    needle = "zebra" + uuid.uuid4().hex[:5]
    finished_task(app, f"a {needle} on the savannah")
    finished_task(app, unique("a plain meadow"))
    page.goto("/history")
    page.fill("#history-q", needle)
    page.press("#history-q", "Enter")
    expect(page.locator(".history-row")).to_have_count(1)
    assert needle in page.locator(".history-row .task-prompt").inner_text()


def test_deleting_from_history_moves_the_task_to_the_trash_at_once(watch, app):
    page = watch.page
    prompt = unique("to be deleted")
    task = finished_task(app, prompt)
    page.goto("/history")
    row = page.locator(".history-row", has=page.get_by_text(prompt, exact=True))
    row.get_by_role("button", name="Delete", exact=True).click()
    row.wait_for(state="detached")
    expect(page.locator(".toast")).to_contain_text("Generation moved to the trash.")
    assert watch.dialogs == []  # no question first: the toast offers Undo, the trash keeps it
    assert app.request("GET", f"/api/v1/task/{task['task_id']}")[0] == 404
    assert app.request("GET", task["images"][0]["url"])[0] == 404
    assert task["task_id"] in [e["item_id"] for e in app.request("GET", "/api/v1/trash")[1]["results"]]


def test_selected_images_download_as_a_zip_and_delete_together(watch, app, tmp_path):
    page = watch.page
    a, b = finished_task(app, unique("zip one")), finished_task(app, unique("zip two"))
    page.goto("/gallery")
    page.get_by_role("button", name="Select").click()
    for task in (a, b):
        page.locator(f".grid-item[data-image='{task['images'][0]['image_id']}'] .thumb").click()
    with page.expect_download() as info:
        page.get_by_text("Download zip").click()
    path = tmp_path / "images.zip"
    info.value.save_as(path)
    import zipfile

    with zipfile.ZipFile(path) as archive:
        assert len(archive.namelist()) == 2
    page.locator(".selection-bar").get_by_role("button", name="Delete").click()
    expect(page.locator(".grid-item[aria-selected=true]")).to_have_count(0)
    for task in (a, b):
        assert app.request("GET", task["images"][0]["url"])[0] == 404


def test_switching_to_chinese_translates_the_pages_and_api_errors(watch, app):
    page = watch.page
    page.goto("/")
    page.get_by_role("button", name="中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    expect(page.get_by_role("link", name="图库")).to_be_visible()
    page.click("button.primary")
    expect(page.locator("#prompt-error")).to_have_text("提示词不能为空")
    message = page.evaluate("fetch('/api/v1/task/nope').then(r => r.json()).then(b => b.message)")
    assert message == "任务不存在"
    page.goto("/history")
    assert page.locator("h1").inner_text() == "历史记录"


def test_the_pages_follow_the_browser_language(browser, app):
    context = browser.new_context(locale="zh-CN", base_url=f"http://127.0.0.1:{app.port}")
    page = context.new_page()
    page.goto("/gallery")
    assert page.locator("h1").inner_text() == "图库"
    context.close()


def test_a_hostile_prompt_shows_as_text_everywhere(watch, app):
    page = watch.page
    page.goto("/")
    generate(page, XSS)
    wait_done(page, XSS)
    assert card(page, XSS).locator(".task-prompt").inner_text() == XSS
    for path in ("/", "/history", "/gallery", "/queue"):
        page.goto(path)
        page.wait_for_load_state("networkidle")  # the page's lists are in (no request for 500 ms)
        assert page.locator("img[src='x']").count() == 0
    page.goto("/history")
    page.get_by_text(XSS, exact=True).first.wait_for()
    page.goto("/gallery")
    page.locator(f".grid-item img[alt='{XSS}']").first.click()
    assert page.locator(".viewer-prompt").inner_text() == XSS
    assert watch.dialogs == []


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}])
def test_the_pages_fit_the_window_without_sideways_scrolling(browser, app, viewport):
    finished_task(app, unique("a small screen test"))
    context = browser.new_context(viewport=viewport, base_url=f"http://127.0.0.1:{app.port}")
    page = context.new_page()
    for path in ("/", "/gallery", "/history", "/queue"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {viewport}"
    context.close()


def test_the_keyboard_alone_can_generate(watch):
    page = watch.page
    page.goto("/")
    prompt = unique("typed with the keyboard")
    page.focus("#prompt")
    page.keyboard.type(prompt)
    page.keyboard.press("Control+Enter")
    card(page, prompt).wait_for()


@pytest.mark.parametrize("language, back", [("en", "Back to the studio"), ("zh-hans", "返回工作室")])
def test_the_api_docs_and_the_browsable_api_lead_back_to_the_studio(watch, app, language, back):
    page = watch.page
    page.context.add_cookies([{"name": "django_language", "value": language, "url": f"http://127.0.0.1:{app.port}"}])
    page.goto("/api/v1/docs")
    page.locator(".swagger-ui .info").wait_for()  # Swagger UI ran under the page's CSP
    page.get_by_role("link", name=re.compile(back)).click()
    page.wait_for_url(re.compile(r"/$"))
    page.locator("#prompt").wait_for()
    page.goto("/api/v1/tasks")
    page.get_by_role("link", name=re.compile(back)).click()
    page.wait_for_url(re.compile(r"/$"))
