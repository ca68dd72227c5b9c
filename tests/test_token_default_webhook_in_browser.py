"""The account page's token form takes a default webhook (README, "Webhooks"), desktop English and phone
Chinese: a URL the policy refuses is refused at the field, in the page's language, and kept there to be
corrected; an allowed one makes the token, which the list shows with its webhook's host and the API with
its URL."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .accounts import stack_user
from .browser import browser, desktop_en_and_phone_zh, prepare, require_chromium, sign_in, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

WORDS = {"en": {"sign_in": "Sign in", "create": "Create token", "field": "Default webhook (optional)",
                "refused": "This webhook URL is not allowed:", "listed": "webhook to hooks.example.com"},
         "zh-hans": {"sign_in": "登录", "create": "创建令牌", "field": "默认 webhook（可选）",
                     "refused": "不允许使用此 webhook 地址：", "listed": "webhook 发往 hooks.example.com"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("token-webhook") / "data", static=True, IMAGEGEN_ACCESS="accounts")
    stack.token = stack_user(stack, "alice")
    stack.start_web()
    yield stack
    stack.close()


@desktop_en_and_phone_zh
def test_the_token_form_takes_a_default_webhook_and_refuses_one_the_policy_refuses(watch, app, language, viewport):
    words = WORDS[language]
    page = watch.page
    prepare(page, app, language=language, viewport=viewport)
    sign_in(page, "/account", "alice", button=words["sign_in"])

    name = f"hooked-{language}"
    page.fill("input[name=name]", name)
    field = page.get_by_label(words["field"])
    field.fill("https://10.0.0.1/in")
    page.get_by_role("button", name=words["create"]).click()
    error = page.locator("#token-webhook-error")
    expect(error).to_contain_text(words["refused"])
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("https://10.0.0.1/in")
    expect(page.locator("#new-token")).to_have_count(0)
    # The refusal is the form page answered with 400, which Chromium logs; it is what the test asked for.
    refused = [p for p in watch.problems if "status of 400" in p and "/account/tokens" in p]
    assert len(refused) == 1, watch.problems
    watch.problems.remove(refused[0])

    field.fill("https://hooks.example.com/in?key=s3cret")
    page.get_by_role("button", name=words["create"]).click()
    expect(page.locator("#new-token")).to_have_value(re.compile(r"^igt_"))
    expect(page.locator("#token-webhook-error")).to_have_count(0)
    row = page.locator("tr", has=page.locator(".token-name", has_text=name))
    expect(row.locator(".token-webhook")).to_have_text(words["listed"])
    assert "s3cret" not in row.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    status, tokens = app.request("GET", "/api/v1/account/tokens", headers={"Authorization": f"Bearer {app.token}"})
    assert status == 200
    assert [t["webhook"] for t in tokens if t["name"] == name] == ["https://hooks.example.com/in?key=s3cret"]
