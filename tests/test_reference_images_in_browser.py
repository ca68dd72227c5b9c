"""The studio's reference images (issue 22, item 2) in headless Chromium, against the real web server and
worker with the Ark engine pointed at tests/ark_server.py: upload a picture, pick one from the gallery, generate;
the viewer shows them; "Reuse settings" brings them back and they go out again."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from .ark_server import FakeArk
from .browser import browser, require_chromium, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

KEY = "ark-browser-test-key-0123456789"
S40 = "doubao-seedream-4-0-250828"


@pytest.fixture(scope="module")
def ark():
    server = FakeArk(api_key=KEY).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app(tmp_path_factory, ark):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("refs") / "data", static=True, IMAGEGEN_ENGINE="auto", ARK_API_KEY=KEY,
                  ARK_BASE_URL=ark.base_url)
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


def picture_file(tmp_path) -> str:
    path = tmp_path / "fox.png"
    out = io.BytesIO()
    Image.new("RGB", (96, 64), "orange").save(out, "PNG")
    path.write_bytes(out.getvalue())
    return str(path)


def test_upload_pick_from_the_gallery_generate_view_and_reuse(watch, app, ark, tmp_path):
    # Something in the gallery to pick.
    first = app.generate(prompt="a fox in the grass", model=S40, width=1280, height=720)
    app.wait_for(lambda: app.task(first)["status"] == "completed", timeout=30, what="the first task")

    page = watch.page
    page.goto("/")
    page.select_option("#model", S40)
    refs = page.locator(".references .ref")
    page.set_input_files("#reference-files", picture_file(tmp_path))
    expect(refs).to_have_count(1)
    page.click("#reference-from-gallery")
    page.locator(".ref-picker [data-pick]").first.click()
    expect(refs).to_have_count(2)

    page.fill("#prompt", "the fox in the snow")
    page.click("button.primary")
    card = page.locator(".task-card").first
    expect(card).to_have_attribute("data-status", "completed", timeout=30_000)
    task_id = card.get_attribute("data-task")
    assert [r["width"] for r in app.task(task_id)["reference_images"]] == [96, 1280]
    sent = ark.calls()[-1].body["image"]
    assert len(sent) == 2 and sent[0].startswith("data:image/png;base64,")

    card.locator(".thumb").first.click()
    expect(page.locator(".viewer-refs img")).to_have_count(2)
    page.keyboard.press("Escape")

    # Emptied, then "Reuse settings" brings both back, and they go out again.
    for _ in range(2):
        page.locator(".references .ref-remove").first.click()
    expect(refs).to_have_count(0)
    card.get_by_role("button", name="Reuse settings").click()
    expect(refs).to_have_count(2)
    page.click("button.primary")
    expect(page.locator(".task-card").first).not_to_have_attribute("data-task", task_id)
    newest = page.locator(".task-card").first
    expect(newest).to_have_attribute("data-status", "completed", timeout=30_000)
    assert len(ark.calls()[-1].body["image"]) == 2
