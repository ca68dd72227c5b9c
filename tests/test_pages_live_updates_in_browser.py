"""The generate page follows its tasks over the WebSocket when the stream is there, and by polling when it
is not: both ways a generation is seen through to its images, without a console error or CSP violation
(save the browser's own report of the refused socket, when the stream is down)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .browser import PageWatch, require_chromium, save_screenshot
from .stack import Stack
from .test_pages_in_browser import browser, card, generate, unique, wait_done  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.processes, pytest.mark.browser]

REFUSED = re.compile(r"^console: WebSocket connection to 'ws://127\.0\.0\.1:\d+/api/v1/generate/stream' failed")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("live") / "data", static=True, IMAGEGEN_PREVIEW_LATENCY="1.5",
                  IMAGEGEN_STREAM_POLL="0.2")
    stack.start_stream()
    stack.start_web()
    stack.start_worker()
    yield stack
    stack.close()


@pytest.fixture
def watch(request, app, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=f"http://127.0.0.1:{app.port}",
                                  locale="en-US")
    context.set_default_timeout(20_000)
    w = PageWatch(context)
    w.polls = []
    w.page.on("request", lambda r: re.search(r"/api/v1/task/[^/?]+$", r.url) and w.polls.append(r.url))
    yield w
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        save_screenshot(w.page, request.node.name)
    context.close()


def test_the_page_follows_a_generation_over_the_socket_without_polling(watch):
    page = watch.page
    page.goto("/")
    page.locator('.studio[data-live="socket"]').wait_for()
    prompt = unique("a kite over the sea")
    generate(page, prompt)
    # Every stage reaches the page: the progress shows while it runs, then the images.
    card(page, prompt).locator(".task-progress").wait_for(state="visible")
    wait_done(page, prompt)
    expect(card(page, prompt).locator(".thumb img")).to_have_count(1)
    # One read of the new task when it was submitted; every change after that came over the socket.
    assert len(watch.polls) == 1, watch.polls
    assert watch.problems == []


def test_the_page_falls_back_to_polling_when_the_stream_goes_away_and_returns_to_it(watch, app):
    page = watch.page
    page.goto("/")
    page.locator('.studio[data-live="socket"]').wait_for()
    app.stop_stream()
    try:
        page.locator('.studio[data-live="polling"]').wait_for()
        prompt = unique("a tram in the rain")
        generate(page, prompt)
        wait_done(page, prompt)
        assert len(watch.polls) > 1  # the page polled its task to the end
        expect(card(page, prompt).locator(".thumb img")).to_have_count(1)
    finally:
        app.start_stream()
    # The page tries the socket again by itself and goes back to it.
    page.locator('.studio[data-live="socket"]').wait_for(timeout=40_000)
    assert [p for p in watch.problems if not REFUSED.match(p)] == []


def test_a_page_whose_stream_never_answers_works_by_polling(watch, app):
    app.stop_stream()
    try:
        page = watch.page
        page.goto("/")
        prompt = unique("a bridge in fog")
        generate(page, prompt)
        wait_done(page, prompt)
        assert page.locator(".studio").get_attribute("data-live") == "polling"
        assert [p for p in watch.problems if not REFUSED.match(p)] == []
    finally:
        app.start_stream()
