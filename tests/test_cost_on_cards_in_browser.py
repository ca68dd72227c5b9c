"""The cost of a task on the studio's and the history's cards (issue 21, item 7), desktop and phone, English
and Chinese: while it runs, what it may cost at most; once billed, the images billed and what they cost."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import browser, desktop_en_and_phone_zh, prepare, require_chromium, watch  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes, pytest.mark.browser]

MODEL = "high_aes_general_v20"
WORDS = {"en": {"estimate": "Up to 0.60 CNY", "billed": "2 images billed · 0.40 CNY"},
         "zh-hans": {"estimate": "最多 0.60 CNY", "billed": "已计费 2 张图片 · 0.40 CNY"}}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require_chromium()
    stack = Stack(tmp_path_factory.mktemp("cost") / "data", static=True)  # no worker: the test bills the task
    stack.query("INSERT INTO model_prices (model, price_per_image, currency, updated_at) "
                "VALUES (?, 0.2, 'CNY', CURRENT_TIMESTAMP)", [MODEL])
    stack.start_web()
    yield stack
    stack.close()


@desktop_en_and_phone_zh
def test_a_card_shows_what_the_task_may_cost_and_then_what_it_cost(watch, app, language, viewport):
    words = WORDS[language]
    page = watch.page
    prepare(page, app, language=language, viewport=viewport)
    prompt = f"a priced lighthouse {language}"
    task_id = app.generate(prompt=prompt, num_images=3, model=MODEL)
    page.goto("/")
    card = page.locator(".task-card", has=page.get_by_text(prompt, exact=True))
    expect(card.locator(".task-cost")).to_have_text(words["estimate"])
    # As a worker leaves it: two of three images made and billed, at the price the task recorded.
    app.query("UPDATE tasks SET status = 'completed', stage = 'done', progress = 100, images_billed = 2, "
              "cost = 0.4 WHERE task_id = ?", [task_id])
    page.reload()
    expect(card.locator(".task-cost")).to_have_text(words["billed"])
    page.goto("/history")
    row = page.locator(".task-card, li, article", has=page.get_by_text(prompt, exact=True)).first
    expect(row.locator(".task-cost")).to_have_text(words["billed"])
