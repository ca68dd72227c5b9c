"""Headless Chromium (Debian's `chromium`) driven by Playwright, for the page tests. Every page records
console errors, uncaught exceptions and Content-Security-Policy violations; a test fails on any."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

WATCH_CSP = """
document.addEventListener('securitypolicyviolation', (e) =>
  console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber));
"""


def require_chromium():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: .ci/run should have installed it")
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")


def launch(playwright):
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run", "--disable-quic"],
    )


class PageWatch:
    """A page plus everything the browser complained about while it was open."""

    def __init__(self, context):
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.page = context.new_page()
        self.page.add_init_script(WATCH_CSP)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"uncaught: {exc}"))
        self.page.on("dialog", self._dialog)
        self.accept_confirms = True

    def _console(self, message):
        if message.type != "error":
            return
        source = (message.location or {}).get("url", "")
        # Chromium logs every non-2xx fetch; API answers like 400/404 are handled and shown by the page.
        if message.text.startswith("Failed to load resource") and "/api/v1/" in source and "status of 4" in message.text:
            return
        self.problems.append(f"console: {message.text} ({source or self.page.url})")

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        if dialog.type == "confirm" and self.accept_confirms:
            dialog.accept()
        else:
            dialog.dismiss()


def save_screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_browser():
    """Chromium for a module's tests: `yield from open_browser()` in a module-scoped fixture."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def watched_page(request, browser, base_url: str, **context_options):
    """A PageWatch in a fresh context, for `yield from` in a fixture: on failure a screenshot is saved;
    otherwise the test fails on anything the browser complained about, or an alert."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base_url, locale="en-US",
                                  **context_options)
    context.set_default_timeout(20_000)
    watch = PageWatch(context)
    yield watch
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        save_screenshot(watch.page, request.node.name)
    context.close()
    if not failed:
        assert watch.problems == [], "the browser reported problems:\n" + "\n".join(watch.problems)
        assert not any(d.startswith("alert") for d in watch.dialogs), watch.dialogs


@pytest.fixture(scope="module")
def browser(app):
    """Chromium for the module; the module defines `app` (its Stack)."""
    yield from open_browser()


@pytest.fixture
def watch(request, app, browser):
    """A watched page on the module's `app`, desktop-sized, in English."""
    yield from watched_page(request, browser, f"http://127.0.0.1:{app.port}")


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# The sizes and languages the page tests run in (issue 21: desktop and phone, English and Chinese).
each_size = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
each_language = pytest.mark.parametrize("language", ["en", "zh-hans"])
# Both sizes and both languages in two runs instead of four, where size and language do not interact.
desktop_en_and_phone_zh = pytest.mark.parametrize("language, viewport", [("en", DESKTOP), ("zh-hans", PHONE)],
                                                  ids=["desktop-en", "phone-zh"])


def prepare(page, app, *, language: str = "en", viewport: dict = DESKTOP) -> None:
    """The page at this size, with the site's language chosen (the switch's cookie)."""
    page.set_viewport_size(viewport)
    page.context.add_cookies([{"name": "django_language", "value": language, "url": f"http://127.0.0.1:{app.port}"}])


def sign_in(page, path: str, username: str, *, button: str) -> None:
    """Open `path` signed out (it shows the sign-in form), sign in as `username` with the tests' password,
    pressing the form's button by its label in the page's language, and wait to be back at `path`."""
    from .accounts import PASSWORD

    page.goto(path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(re.compile(re.escape(path) + "$"))
