"""The account page lists the user's working share links (README, "Share links"), desktop English and phone
Chinese: the Share links page's list (the same component and partial), only the links that work, newest
first, each with its state and views, "Copy link" and "Revoke"; never another user's links; a revoke
ends the link at once and the page says so and counts one fewer."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from .accounts import stack_user
from .browser import browser, desktop_en_and_phone_zh, prepare, require_chromium, sign_in, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

WORDS = {"en": {"sign_in": "Sign in", "title": "Share links", "live": "Live", "revoked": "Revoked",
                "views": "1 view", "copy": "Copy link", "revoke": "Revoke", "copied": "Link copied.",
                "working": "{n} working", "hidden": "prompt hidden"},
         "zh-hans": {"sign_in": "登录", "title": "分享链接", "live": "有效", "revoked": "已撤销",
                     "views": "1 次浏览", "copy": "复制链接", "revoke": "撤销", "copied": "链接已复制。",
                     "working": "{n} 个有效", "hidden": "隐藏提示词"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("account-shares") / "data", static=True, IMAGEGEN_ACCESS="accounts",
                  IMAGEGEN_PREVIEW_LATENCY="0.1")
    stack.tokens = {name: {"Authorization": f"Bearer {stack_user(stack, name)}"} for name in ("alice", "bob")}
    stack.start_web()
    stack.start_worker()
    stack.images = {}
    for name, headers in stack.tokens.items():
        status, task = stack.request("POST", "/api/v1/generate", {"prompt": f"a harbour of {name}"}, headers=headers)
        assert status == 201, task
        done = stack.wait_for(lambda: (stack.request("GET", f"/api/v1/task/{task['task_id']}", headers=headers)[1]
                                       if stack.row(task["task_id"])["status"] == "completed" else None),
                              timeout=60, what="the task to finish")
        stack.images[name] = done["images"][0]["image_id"]
    yield stack
    stack.close()


def share(app, name: str, **options) -> dict:
    status, link = app.request("POST", "/api/v1/shares", {"kind": "image", "target_id": app.images[name], **options},
                               headers=app.tokens[name])
    assert status == 201, link
    return link


def public_status(app, url: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{app.port}{url}", timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def live_links(app, name: str) -> int:
    return sum(link["live"] for link in app.request("GET", "/api/v1/shares", headers=app.tokens[name])[1])


@desktop_en_and_phone_zh
def test_the_account_page_lists_the_working_links_with_copy_and_revoke(watch, app, language, viewport):
    words = WORDS[language]
    revoked = share(app, "alice")
    assert app.request("DELETE", f"/api/v1/shares/{revoked['share_id']}", headers=app.tokens["alice"])[0] == 200
    working = share(app, "alice", show_prompt=False)
    assert public_status(app, working["url"]) == 200  # one view
    bobs = share(app, "bob")
    live = live_links(app, "alice")

    page = watch.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    prepare(page, app, language=language, viewport=viewport)
    sign_in(page, "/account", "alice", button=words["sign_in"])

    section = page.locator("section", has=page.get_by_role("heading", name=words["title"], level=2))
    row = section.locator(f'li[data-share="{working["share_id"]}"]')
    expect(row).to_be_visible()
    expect(section.locator("li[data-share]").first).to_have_attribute("data-share", working["share_id"])  # newest
    expect(section.locator(f'li[data-share="{revoked["share_id"]}"]')).to_have_count(0)  # not working
    expect(section.locator(f'li[data-share="{bobs["share_id"]}"]')).to_have_count(0)  # not hers
    assert bobs["url"] not in page.content()
    expect(section.locator("li[data-share]")).to_have_count(live)
    expect(row.locator(".badge")).to_have_text(words["live"])
    expect(row).to_contain_text(words["views"])
    expect(row).to_contain_text(words["hidden"])
    expect(section.locator("#share-links-count")).to_have_text(words["working"].format(n=live))
    expect(section.locator("#share-links")).to_have_attribute("href", "/shares")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    row.get_by_role("button", name=words["copy"]).click()
    expect(page.locator(".toast")).to_contain_text(words["copied"])
    assert page.evaluate("navigator.clipboard.readText()") == f"http://127.0.0.1:{app.port}{working['url']}"

    row.get_by_role("button", name=words["revoke"]).click()
    expect(row.locator(".badge")).to_have_text(words["revoked"])  # stays in view, as revoked
    expect(row.get_by_role("button", name=words["revoke"])).to_be_hidden()
    expect(section.locator("#share-links-count")).to_have_text(words["working"].format(n=live - 1))
    assert public_status(app, working["url"]) == 404
    assert public_status(app, bobs["url"]) == 200  # Bob's link was never hers to revoke
