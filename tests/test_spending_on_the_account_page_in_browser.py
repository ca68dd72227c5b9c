"""The account page's spending (issue 21, item 7), desktop English and phone Chinese: the daily chart drawn
on the server (bars, no script), the day's totals, and what is left of each spending cap; it fits the
window without sideways scrolling."""

from __future__ import annotations


import pytest
from playwright.sync_api import expect

from .accounts import stack_user
from .browser import browser, desktop_en_and_phone_zh, prepare, require_chromium, sign_in, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

MODEL = "high_aes_general_v20"
WORDS = {"en": {"title": "Spending", "cap": "Your daily cap of 10 images", "sign_in": "Sign in"},
         "zh-hans": {"title": "花费", "cap": "你的每日上限 10 张图片", "sign_in": "登录"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("spending") / "data", static=True, IMAGEGEN_ACCESS="accounts")
    token = stack_user(stack, "alice")
    stack.query("INSERT INTO model_prices (model, price_per_image, currency, updated_at) "
                "VALUES (?, 0.2, 'CNY', CURRENT_TIMESTAMP)", [MODEL])
    stack.start_web()
    headers = {"Authorization": f"Bearer {token}"}
    status, body = stack.request("POST", "/api/v1/generate", {"prompt": "billed", "model": MODEL, "num_images": 3},
                                 headers=headers)
    assert status == 201, body
    # As a worker leaves it: three images billed at the price the task recorded.
    stack.query("UPDATE tasks SET status = 'completed', images_billed = 3, cost = 0.6 WHERE task_id = ?",
                [body["task_id"]])
    [(user_id,)] = stack.query("SELECT id FROM auth_user WHERE username = 'alice'")
    stack.query("INSERT INTO user_spending_caps (user_id, daily_images, currency, updated_at) "
                "VALUES (?, 10, 'CNY', CURRENT_TIMESTAMP)", [user_id])
    yield stack
    stack.close()


@desktop_en_and_phone_zh
def test_the_account_page_charts_the_days_and_says_what_is_left_of_each_cap(watch, app, language, viewport):
    words = WORDS[language]
    page = watch.page
    prepare(page, app, language=language, viewport=viewport)
    sign_in(page, "/account", "alice", button=words["sign_in"])
    section = page.locator("section", has=page.get_by_role("heading", name=words["title"], level=2))
    expect(section.locator("svg rect")).to_have_count(30)  # one bar per day
    expect(section.locator(".cost-days tbody tr")).to_have_count(1)
    expect(section.locator(".cost-days tbody td").nth(2)).to_have_text("0.6 CNY")
    cap = section.locator('tr[data-cap="user_daily_images"]')
    expect(cap.locator("td").first).to_have_text(words["cap"])
    expect(cap.locator("td").nth(2)).to_have_text("7")  # 3 of 10 used
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
