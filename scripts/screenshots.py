"""Screenshots of the pages for the README (docs/screenshots/): desktop and phone, English and Chinese; the
account page and the signed-in studio from a second stack in accounts mode.

    .venv/bin/python scripts/screenshots.py

Starts the app (web + worker, preview engine) in a temporary data directory, makes a few images and
photographs the pages in headless Chromium. CJK glyphs need a CJK font (Debian: fonts-noto-cjk)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import os  # noqa: E402

import django  # noqa: E402

# The test helpers it reuses (tests/stack.py, tests/browser.py) import Django models.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagegen.settings_test")
django.setup()

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.accounts import PASSWORD, stack_user  # noqa: E402
from tests.browser import launch  # noqa: E402
from tests.stack import Stack  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PROMPTS = [
    ("a red fox in fresh snow, watercolor", "jimeng_t2i_v31", {}),
    ("一只在窗台上晒太阳的橘猫，胶片质感", "high_aes_general_v30l_zt2i", {"width": 1472, "height": 1104}),
    ("a lighthouse at dawn, long exposure", "jimeng_t2i_v31", {"width": 1664, "height": 936}),
    ("isometric tiny city on a floating island", "high_aes_general_v20", {"num_images": 2}),
]


def pages(browser, stack):
    """A fresh page for each size and language, with its file-name suffix ("desktop-en", "phone-zh", …)."""
    for name, viewport in (("desktop", {"width": 1366, "height": 900}), ("phone", {"width": 390, "height": 844})):
        for lang in ("en", "zh-CN"):
            context = browser.new_context(viewport=viewport, locale=lang, device_scale_factor=1,
                                          base_url=f"http://127.0.0.1:{stack.port}")
            try:
                yield context.new_page(), f"{name}-{'zh' if lang.startswith('zh') else 'en'}"
            finally:
                context.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp) / "data", static=True, IMAGEGEN_PREVIEW_LATENCY="0.5", IMAGEGEN_WORKERS="1")
        try:
            stack.start_web()
            stack.start_worker()
            ids = [stack.generate(prompt=p, model=m, **extra) for p, m, extra in PROMPTS]
            stack.wait_for(lambda: all(stack.task(i)["status"] == "completed" for i in ids), timeout=120, what="images")
            tag_image = stack.task(ids[0])["images"][0]["image_id"]
            stack.request("POST", f"/api/v1/images/{tag_image}/tags", {"tags": ["winter", "animals"]})
            stack.request("PUT", f"/api/v1/images/{tag_image}/star")
            # One task in the trash, for the Trash page.
            stack.request("DELETE", f"/api/v1/history/{ids[3]}")
            status, board = stack.request("POST", "/api/v1/boards", {"name": "Landscapes"})
            stack.request("POST", f"/api/v1/boards/{board['board_id']}/images",
                          {"image_ids": [stack.task(ids[2])["images"][0]["image_id"]]})
            with sync_playwright() as playwright:
                browser = launch(playwright)
                for page, suffix in pages(browser, stack):
                    page.goto("/")
                    page.fill("#prompt", "a paper boat on a rainy street, cinematic")
                    page.click("button.primary")
                    page.wait_for_timeout(700)
                    page.screenshot(path=OUT / f"generate-{suffix}.png")
                    page.goto("/gallery")
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=OUT / f"gallery-{suffix}.png")
                    page.locator(".grid-item .thumb").first.click()
                    page.wait_for_timeout(500)
                    page.screenshot(path=OUT / f"viewer-{suffix}.png")
                    page.goto("/history")
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=OUT / f"history-{suffix}.png")
                    # A batch waiting behind the running task, seen from the queue page.
                    stack.request("POST", "/api/v1/batches", {"prompt": "a paper boat, variations", "variations": 3})
                    page.goto("/queue")
                    page.locator(".queue-row").first.wait_for()
                    page.screenshot(path=OUT / f"queue-{suffix}.png")
                    page.goto("/trash")
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=OUT / f"trash-{suffix}.png")
                browser.close()
        finally:
            stack.close()
        accounts_mode(Path(tmp) / "accounts")
    print(f"screenshots in {OUT}")


def accounts_mode(data_dir: Path) -> None:
    """The account page (tokens, share links, spending caps) and the studio's quota and cap lines, signed in."""
    stack = Stack(data_dir, static=True, IMAGEGEN_ACCESS="accounts", IMAGEGEN_PREVIEW_LATENCY="0.5",
                  IMAGEGEN_WORKERS="1", IMAGEGEN_CAP_DAILY_IMAGES="200", IMAGEGEN_DEFAULT_DAILY_IMAGES="50")
    try:
        stack.start_web()
        stack.start_worker()
        token = stack_user(stack, "mei")
        stack.headers = {"Authorization": f"Bearer {token}"}
        ids = [stack.generate(prompt=p, model=m, **extra) for p, m, extra in PROMPTS[:2]]
        stack.wait_for(lambda: all(stack.task(i)["status"] == "completed" for i in ids), timeout=120, what="images")
        image = stack.task(ids[0])["images"][0]["image_id"]
        stack.request("POST", "/api/v1/shares", {"kind": "image", "target_id": image, "show_prompt": True})
        stack.request("POST", "/api/v1/shares", {"kind": "task", "target_id": ids[1], "expires_in_days": 7})
        with sync_playwright() as playwright:
            browser = launch(playwright)
            for page, suffix in pages(browser, stack):
                page.goto("/login")
                page.fill("input[name=username]", "mei")
                page.fill("input[name=password]", PASSWORD)
                page.click("button.primary")
                page.wait_for_url(lambda url: "/login" not in url)
                page.goto("/account")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=OUT / f"account-{suffix}.png", full_page=True)
                page.goto("/")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=OUT / f"studio-signed-in-{suffix}.png")
            browser.close()
    finally:
        stack.close()


if __name__ == "__main__":
    main()
