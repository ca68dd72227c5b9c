"""Spending caps, site-wide (IMAGEGEN_CAP_*) and a user's own (accounts mode): per UTC day and month, in
images billed or in money. A request that would pass one is refused when it is created (nothing is queued,
so nothing reaches the image service), in the envelope, naming the cap and when it resets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from generation.cost_models import Price, SpendingCap
from generation.spending import site_caps
from generation.models import GenerationTask

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import SEED_EXAMPLE, Api

pytestmark = pytest.mark.django_db

MODEL = "high_aes_general_v20"  # the default model


def next_utc_midnight() -> str:
    now = datetime.now(UTC)
    return (now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).isoformat().replace("+00:00", "Z")


def test_the_site_daily_image_cap_refuses_the_task_that_would_pass_it(api, settings):
    settings.IMAGEGEN_CAP_DAILY_IMAGES = 3
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 2}).status_code == 201
    refused = api.post("generate", {**SEED_EXAMPLE, "num_images": 2})
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "spending_cap_reached"
    assert body["details"]["cap"] == "site_daily_images"
    assert body["details"]["remaining"] == "1" and body["details"]["resets_at"] == next_utc_midnight()
    assert "daily cap of 3 images" in body["message"] and next_utc_midnight() in body["message"]
    assert int(refused["Retry-After"]) > 0
    assert GenerationTask.objects.count() == 1  # the refused task was never made, so never queued
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 1}).status_code == 201


def test_a_money_cap_counts_priced_images_in_its_currency_only(api, settings):
    settings.IMAGEGEN_CAP_MONTHLY_MONEY = "CNY:1,USD:5"
    Price.objects.create(model=MODEL, price_per_image=Decimal("0.4"), currency="CNY")
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 2}).status_code == 201  # 0.8 CNY
    refused = api.post("generate", {**SEED_EXAMPLE, "num_images": 1})  # 1.2 > 1
    assert refused.status_code == 429
    assert refused.json()["details"]["cap"] == "site_monthly_money_CNY"
    Price.objects.all().delete()  # an unpriced model costs nothing that a money cap could count
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 4}).status_code == 201


def test_what_a_finished_task_was_billed_replaces_what_it_asked_for(api, settings):
    settings.IMAGEGEN_CAP_DAILY_IMAGES = 4
    first = api.generate(num_images=4)
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 1}).status_code == 429
    GenerationTask.objects.filter(task_id=first).update(status="completed", images_billed=3)
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 1}).status_code == 201


def test_a_users_own_cap_refuses_them_and_not_others(accounts):
    alice, bob = make_user("alice"), make_user("bob")
    SpendingCap.objects.create(user=alice, daily_images=1)
    as_alice = signed_in(alice)
    assert as_alice.post("generate", SEED_EXAMPLE).status_code == 201
    refused = as_alice.post("generate", SEED_EXAMPLE)
    assert refused.status_code == 429
    assert refused.json()["details"]["cap"] == "user_daily_images"
    assert "your daily cap of 1 image" in refused.json()["message"]
    assert signed_in(bob).post("generate", SEED_EXAMPLE).status_code == 201


def test_a_batch_that_would_pass_a_cap_is_refused_whole(api, settings):
    settings.IMAGEGEN_CAP_DAILY_IMAGES = 2
    response = api.post("batches", {"prompt": "a red kite", "variations": 3})
    assert response.status_code == 429, response.content
    assert GenerationTask.objects.count() == 0


def test_the_refusal_is_translated(settings):
    settings.IMAGEGEN_CAP_MONTHLY_IMAGES = 0
    refused = Api("zh-hans").post("generate", SEED_EXAMPLE)
    assert refused.status_code == 429
    assert "每月" in refused.json()["message"]


def test_the_account_api_says_what_is_left_of_each_cap(accounts, settings):
    settings.IMAGEGEN_CAP_MONTHLY_MONEY = "CNY:10"
    alice = make_user("alice")
    SpendingCap.objects.create(user=alice, daily_images=5)
    Price.objects.create(model=MODEL, price_per_image=Decimal("0.5"), currency="CNY")
    api = signed_in(alice)
    api.generate(num_images=2)
    caps = {c["cap"]: c for c in api.get("account").json()["spending_caps"]}
    assert (caps["user_daily_images"]["used"], caps["user_daily_images"]["remaining"]) == ("2", "3")
    assert (caps["site_monthly_money_CNY"]["used"], caps["site_monthly_money_CNY"]["remaining"]) == ("1", "9")


def test_a_malformed_money_cap_is_refused_by_name(settings):
    settings.IMAGEGEN_CAP_DAILY_MONEY = "200 yuan"
    with pytest.raises(ImproperlyConfigured, match="CNY:200,USD:30"):
        site_caps()
