"""In open mode the studio has no quota line but shows what is left of the site's spending caps, read again
after each submission from GET /api/v1/spending-caps (desktop English, phone Chinese)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import browser, desktop_en_and_phone_zh, prepare, require_chromium, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

WORDS = {"en": {"generate": "Generate", "line": "{remaining} of {limit} images left under the site's daily cap"},
         "zh-hans": {"generate": "生成", "line": "本站每日上限 {limit} 张，还剩 {remaining} 张"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("open-caps") / "data", static=True, IMAGEGEN_CAP_DAILY_IMAGES="40")
    stack.start_web()  # no worker: a waiting task counts against the cap in full
    yield stack
    stack.close()


def remaining(app) -> str:
    [cap] = app.request("GET", "/api/v1/spending-caps")[1]
    return cap["remaining"]


@desktop_en_and_phone_zh
def test_the_site_s_cap_is_shown_and_follows_each_submission(watch, app, language, viewport):
    words = WORDS[language]
    page = watch.page
    prepare(page, app, language=language, viewport=viewport)
    page.goto("/")
    line = page.locator('#quota-caps li[data-cap="site_daily_images"]')
    expect(line).to_have_text(words["line"].format(remaining=remaining(app), limit=40))
    expect(page.locator("#quota")).to_be_hidden()  # no per-user quota in open mode
    before = int(remaining(app))
    page.fill("#prompt", f"a kite under the site's cap ({language})")
    page.get_by_role("button", name=words["generate"], exact=True).click()
    expect(line).to_have_text(words["line"].format(remaining=before - 1, limit=40))
    assert remaining(app) == str(before - 1)
