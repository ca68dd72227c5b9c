"""The generate page's quota line says what is left of each spending cap (README, "Cost and spending caps"):
the page carries the same figures as GET /api/v1/account's spending_caps (which it asks again after each
submission), the site's and the user's own, never another user's."""

from __future__ import annotations

import json
import re

import pytest

from generation.cost_models import SpendingCap

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def page_config(api) -> dict:
    html = api.client.get("/").content.decode()
    assert 'id="quota-caps"' in html
    return json.loads(re.search(r'id="page-config" type="application/json">(.*?)</script>', html).group(1))


def test_the_page_carries_what_the_api_says_is_left_of_each_cap(accounts, settings):
    settings.IMAGEGEN_CAP_MONTHLY_IMAGES = 100
    alice, bob = make_user("alice"), make_user("bob")
    SpendingCap.objects.create(user=alice, daily_images=10)
    SpendingCap.objects.create(user=bob, daily_images=3, monthly_money=50, currency="USD")
    as_alice, as_bob = signed_in(alice), signed_in(bob)
    as_alice.generate(num_images=2)
    as_bob.generate(num_images=1)

    caps = page_config(as_alice)["spendingCaps"]
    assert caps == as_alice.get("account").json()["spending_caps"]
    assert [(c["cap"], c["limit"], c["remaining"]) for c in caps] == [
        ("site_monthly_images", "100", "97"),  # everyone's images count against the site's cap
        ("user_daily_images", "10", "8"),  # only hers against her own
    ]
    assert not any(c["cap"].startswith("user_monthly_money") for c in caps)  # Bob's cap is not hers
    assert [(c["cap"], c["remaining"]) for c in page_config(as_bob)["spendingCaps"]] == [
        ("site_monthly_images", "97"), ("user_daily_images", "2"), ("user_monthly_money_USD", "50")]


def test_without_caps_the_page_carries_none(accounts):
    assert page_config(signed_in(make_user("alice")))["spendingCaps"] == []


def test_open_mode_carries_the_site_s_caps_and_no_quota(api, settings):
    assert page_config(api)["spendingCaps"] == []  # no cap set
    settings.IMAGEGEN_CAP_DAILY_IMAGES = 20
    api.generate(num_images=3)
    config = page_config(api)
    assert "quota" not in config
    assert [(c["cap"], c["remaining"]) for c in config["spendingCaps"]] == [("site_daily_images", "17")]
    # What the page asks again after each submission, in open mode.
    assert api.get("spending-caps").json() == config["spendingCaps"]


def test_the_caps_api_answers_in_accounts_mode_too_with_the_user_s_own(accounts, settings):
    settings.IMAGEGEN_CAP_MONTHLY_IMAGES = 100
    alice = make_user("alice")
    SpendingCap.objects.create(user=alice, daily_images=10)
    as_alice = signed_in(alice)
    assert as_alice.get("spending-caps").json() == as_alice.get("account").json()["spending_caps"]
