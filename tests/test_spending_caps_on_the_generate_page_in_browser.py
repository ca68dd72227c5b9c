"""The studio's quota line says what is left of each spending cap (README, "Cost and spending caps"), desktop
English and phone Chinese: the site's cap and the user's own, in images and in money, the same figures as
GET /api/v1/account, read again after each submission; a cap with nothing left is marked."""

from __future__ import annotations


import pytest
from playwright.sync_api import expect

from .accounts import stack_user
from .browser import browser, desktop_en_and_phone_zh, prepare, require_chromium, sign_in, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

WORDS = {"en": {"sign_in": "Sign in", "generate": "Generate",
                "user_daily_images": "{remaining} of {limit} images left under your daily cap",
                "user_daily_money_CNY": "{remaining} of {limit} CNY left under your daily spending cap",
                "site_monthly_images": "{remaining} of {limit} images left under the site's monthly cap"},
         "zh-hans": {"sign_in": "登录", "generate": "生成",
                     "user_daily_images": "你的每日上限 {limit} 张，还剩 {remaining} 张",
                     "user_daily_money_CNY": "你的每日花费上限 {limit} CNY，还剩 {remaining} CNY",
                     "site_monthly_images": "本站每月上限 {limit} 张，还剩 {remaining} 张"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("studio-caps") / "data", static=True, IMAGEGEN_ACCESS="accounts",
                  IMAGEGEN_CAP_MONTHLY_IMAGES="50")
    stack.start_web()  # no worker: a waiting task counts against the caps in full
    yield stack
    stack.close()


def expect_caps_as_the_api_says(page, app, token: str, words: dict) -> dict:
    status, account = app.request("GET", "/api/v1/account", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    caps = {cap["cap"]: cap for cap in account["spending_caps"]}
    assert set(caps) == {"site_monthly_images", "user_daily_images", "user_daily_money_CNY"}
    lines = page.locator("#quota-caps li")
    expect(lines).to_have_count(3)
    for key, cap in caps.items():
        expect(page.locator(f'#quota-caps li[data-cap="{key}"]')).to_have_text(
            words[key].format(remaining=cap["remaining"], limit=cap["limit"]))
    return caps


@desktop_en_and_phone_zh
def test_the_quota_line_says_what_is_left_of_each_cap_after_each_submission(watch, app, language, viewport):
    words = WORDS[language]
    name = f"caps-{language}"
    token = stack_user(app, name)
    [(user_id,)] = app.query("SELECT id FROM auth_user WHERE username = ?", [name])
    app.query("INSERT INTO user_spending_caps (user_id, daily_images, daily_money, currency, updated_at) "
              "VALUES (?, 2, 1, 'CNY', CURRENT_TIMESTAMP)", [user_id])

    page = watch.page
    prepare(page, app, language=language, viewport=viewport)
    sign_in(page, "/", name, button=words["sign_in"])
    own = page.locator('#quota-caps li[data-cap="user_daily_images"]')
    expect(own).to_have_text(words["user_daily_images"].format(remaining=2, limit=2))
    expect(page.locator('#quota-caps li[data-cap="user_daily_money_CNY"]')).to_have_text(
        words["user_daily_money_CNY"].format(remaining=1, limit=1))
    expect_caps_as_the_api_says(page, app, token, words)
    expect(own).to_have_attribute("data-exhausted", "false")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    model = page.locator("#model").input_value()  # the studio's default: its price is what a task records
    if not app.query("SELECT 1 FROM model_prices WHERE model = ?", [model]):
        app.query("INSERT INTO model_prices (model, price_per_image, currency, updated_at) "
                  "VALUES (?, 0.25, 'CNY', CURRENT_TIMESTAMP)", [model])
    page.fill("#prompt", f"a lighthouse that counts ({language})")
    button = page.get_by_role("button", name=words["generate"], exact=True)
    button.click()
    expect(own).to_have_text(words["user_daily_images"].format(remaining=1, limit=2))
    expect(page.locator('#quota-caps li[data-cap="user_daily_money_CNY"]')).to_have_text(
        words["user_daily_money_CNY"].format(remaining="0.75", limit=1))
    expect_caps_as_the_api_says(page, app, token, words)

    expect(button).to_be_enabled()
    button.click()
    expect(own).to_have_text(words["user_daily_images"].format(remaining=0, limit=2))
    expect(own).to_have_attribute("data-exhausted", "true")
    caps = expect_caps_as_the_api_says(page, app, token, words)
    assert caps["user_daily_money_CNY"]["remaining"] == "0.5"
