"""Settings from a picture (issue 21, item 6): a PNG made by this app, by AUTOMATIC1111 or by ComfyUI,
chosen with the button or dropped on the form, fills in the studio — the prompt, the seed, or everything —
read in the browser; a picture without settings, or not a PNG, says so. The viewer's Reuse offers the
prompt only, the seed only, or all. English and Chinese."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from playwright.sync_api import expect

from .browser import browser, require_chromium, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

A1111 = ('a castle on a hill, "golden hour"\nNegative prompt: blurry, low quality\n'
         'Steps: 31, Sampler: Euler a, CFG scale: 6.5, Seed: 424242, Size: 768x1024, Model: high_aes_general_v20')
COMFY = {
    "3": {"class_type": "KSampler", "inputs": {"seed": 9876, "steps": 25, "cfg": 4.5, "positive": ["6", 0],
                                               "negative": ["7", 0], "model": ["4", 0], "latent_image": ["5", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 768, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a ferry in the fog", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
}


def png(texts: dict[str, str] | None = None, *, compressed: bool = False) -> bytes:
    info = PngInfo()
    for key, value in (texts or {}).items():
        if compressed:
            info.add_itxt(key, value, zip=True)
        else:
            info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(out, format="PNG", pnginfo=info)
    return out.getvalue()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("picture") / "data", static=True, IMAGEGEN_PREVIEW_LATENCY="0.2")
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


def choose(page, tmp_path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    page.set_input_files("#picture-file", str(path))


def drop(page, name: str, data: bytes, mime: str = "image/png") -> None:
    transfer = page.evaluate_handle(
        """([b64, name, mime]) => { const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
           const dt = new DataTransfer(); dt.items.add(new File([bytes], name, { type: mime })); return dt; }""",
        [base64.b64encode(data).decode(), name, mime])
    page.dispatch_event("form.generate-form", "dragover", {"dataTransfer": transfer})
    page.dispatch_event("form.generate-form", "drop", {"dataTransfer": transfer})


def test_an_automatic1111_picture_fills_everything(watch, tmp_path):
    page = watch.page
    page.goto("/")
    choose(page, tmp_path, "a1111.png", png({"parameters": A1111}))
    found = page.get_by_role("region", name="Settings found in the picture")
    expect(found).to_contain_text("seed 424242")
    expect(found).to_contain_text("768×1024")
    found.get_by_role("button", name="Use all").click()
    expect(page.locator("#prompt")).to_have_value('a castle on a hill, "golden hour"')
    expect(page.locator("#model")).to_have_value("high_aes_general_v20")
    expect(page.locator("#negative_prompt")).to_have_value("blurry, low quality")
    expect(page.locator("input[name=width]")).to_have_value("768")
    expect(page.locator("input[name=height]")).to_have_value("1024")
    expect(page.locator("#seed")).to_have_value("424242")
    expect(page.locator("#steps")).to_have_value("31")
    expect(page.locator("#scale")).to_have_value("6.5")
    expect(found).to_be_hidden()


def test_a_comfyui_picture_dropped_on_the_form_gives_its_prompt_or_its_seed(watch):
    page = watch.page
    page.goto("/")
    page.fill("#prompt", "my own words")
    drop(page, "comfy.png", png({"prompt": json.dumps(COMFY)}, compressed=True))
    found = page.get_by_role("region", name="Settings found in the picture")
    expect(found).to_contain_text("ComfyUI")
    found.get_by_role("button", name="Use the seed").click()
    expect(page.locator("#seed")).to_have_value("9876")
    expect(page.locator("#prompt")).to_have_value("my own words")  # only the seed was taken
    drop(page, "comfy.png", png({"prompt": json.dumps(COMFY)}))
    found.get_by_role("button", name="Use the prompt").click()
    expect(page.locator("#prompt")).to_have_value("a ferry in the fog")
    expect(page.locator("#seed")).to_have_value("9876")


def test_a_picture_made_here_round_trips_its_settings(watch, app, tmp_path):
    task_id = app.generate(prompt="a lantern festival, 夜晚", model="high_aes_general_v20", width=768, height=512,
                           seed=1234, steps=22, scale=5.5)
    app.wait_for(lambda: app.task(task_id)["status"] == "completed", timeout=60, what="the image")
    url = app.task(task_id)["images"][0]["url"]
    import urllib.request
    data = urllib.request.urlopen(f"http://127.0.0.1:{app.port}{url}").read()
    page = watch.page
    page.goto("/")
    choose(page, tmp_path, "made-here.png", data)
    page.get_by_role("region", name="Settings found in the picture").get_by_role("button", name="Use all").click()
    expect(page.locator("#prompt")).to_have_value("a lantern festival, 夜晚")
    expect(page.locator("#seed")).to_have_value("1234")
    expect(page.locator("#steps")).to_have_value("22")
    expect(page.locator("input[name=width]")).to_have_value("768")


@pytest.mark.parametrize("language, said", [("en", "No settings found in this picture"), ("zh-hans", "没有找到设置")])
def test_a_picture_without_settings_or_not_a_png_says_so(watch, app, tmp_path, language, said):
    page = watch.page
    page.context.add_cookies([{"name": "django_language", "value": language, "url": f"http://127.0.0.1:{app.port}"}])
    page.goto("/")
    choose(page, tmp_path, "plain.png", png())
    expect(page.locator(".toast")).to_contain_text(said)
    page.evaluate("window.dispatchEvent(new CustomEvent('toast', { detail: 'x' }))")
    drop(page, "notes.txt", b"Steps: 20, Seed: 5", "text/plain")
    expect(page.locator(".toast")).to_contain_text(said)
    expect(page.locator(".found")).to_be_hidden()


def test_the_viewer_reuses_the_prompt_only_or_the_seed_only(watch, app):
    task_id = app.generate(prompt="reuse me, only me", seed=777, width=512, height=512)
    app.wait_for(lambda: app.task(task_id)["status"] == "completed", timeout=60, what="the image")
    page = watch.page
    page.goto("/gallery?q=reuse+me")
    page.locator(".grid-item .thumb").first.click()
    viewer = page.locator("dialog.viewer")
    viewer.get_by_role("button", name="Reuse the seed only").click()
    page.wait_for_url(re.compile(r"only=seed"))
    expect(page.locator("#seed")).to_have_value("777")
    expect(page.locator("#prompt")).to_have_value("")
    page.goto("/gallery?q=reuse+me")
    page.locator(".grid-item .thumb").first.click()
    page.locator("dialog.viewer").get_by_role("button", name="Reuse the prompt only").click()
    page.wait_for_url(re.compile(r"only=prompt"))
    expect(page.locator("#prompt")).to_have_value("reuse me, only me")
    expect(page.locator("#seed")).to_have_value("")
