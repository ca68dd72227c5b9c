"""The cost people can see (issue 21, item 7) and staff's warnings (issue 22, item 3): daily totals with a
chart and what is left of each cap on the account page and in the console; a cap at 80% or more is a warning
in the console and in /api/v1/health's details."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generation.cost_models import Price, SpendingCap
from generation.models import GenerationTask

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def billed(api, *, images: int, cost: str | None) -> str:
    """A task made through the API, then marked billed as a worker would leave it."""
    task_id = api.generate(num_images=images)
    GenerationTask.objects.filter(task_id=task_id).update(
        status="completed", images_billed=images, currency="CNY" if cost else "",
        price_per_image=Decimal(cost) / images if cost else None, cost=Decimal(cost) if cost else None)
    return task_id


def test_the_account_page_shows_daily_totals_a_chart_and_what_is_left_of_each_cap(accounts):
    alice = make_user("alice")
    SpendingCap.objects.create(user=alice, daily_images=10, monthly_money=Decimal("5"), currency="CNY")
    api = signed_in(alice)
    billed(api, images=2, cost="0.5")
    page = api.client.get("/account").content.decode()
    assert "<svg" in page and "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "2 images billed" in page and "0.5 CNY" in page
    assert "Your daily cap of 10 images" in page and "Your monthly spending cap of 5 CNY" in page
    assert '<tr class="" data-cap="user_daily_images">' in page
    assert "<td>2</td>\n      <td>8</td>" in page  # 2 used, 8 left
    assert "4.5 CNY" in page  # what is left of the money cap


def test_staff_edit_prices_in_the_console_and_see_the_spending_overview(admin_client, api, settings):
    response = admin_client.post("/admin/generation/price/add/", {
        "model": "jimeng_t2i_v31", "price_per_image": "0.3", "currency": "CNY"})
    assert response.status_code == 302, response.content
    assert Price.objects.get(model="jimeng_t2i_v31").price_per_image == Decimal("0.3")
    settings.IMAGEGEN_CAP_DAILY_IMAGES = 100
    billed(api, images=3, cost="0.9")
    page = admin_client.get("/admin/generation/price/").content.decode()
    assert "<svg" in page and "3 images billed" in page and "0.9 CNY" in page
    assert "The site&#x27;s daily cap of 100 images" in page


def test_a_cap_at_80_percent_warns_staff_in_the_console_and_in_health(admin_client, api, settings):
    settings.IMAGEGEN_CAP_DAILY_IMAGES = 10
    for images in (4, 3):
        billed(api, images=images, cost=None)
    assert api.get("health").json()["checks"]["spending"]["warnings"] == []
    assert "Spending:" not in admin_client.get("/admin/generation/generationtask/").content.decode()
    billed(api, images=1, cost=None)
    spending = api.get("health").json()["checks"]["spending"]
    assert spending["ok"] is True
    assert [(w["cap"], w["used"], w["remaining"]) for w in spending["warnings"]] == [("site_daily_images", "8", "2")]
    for path in ("/admin/", "/admin/generation/generationtask/"):
        page = admin_client.get(path).content.decode()
        assert "Spending: the site&#x27;s daily cap of 10 images is 8 used, 2 left" in page, path


def test_health_counts_users_near_their_own_caps_without_naming_them(accounts, api, settings):
    alice = make_user("alice")
    SpendingCap.objects.create(user=alice, daily_images=1)
    billed(signed_in(alice), images=1, cost=None)
    spending = api.get("health").json()["checks"]["spending"]
    assert spending["users_near_a_cap"] == 1 and "alice" not in str(spending)


def test_staff_see_which_user_is_near_their_own_cap(accounts):
    alice, boss = make_user("alice"), make_user("boss", staff=True)
    SpendingCap.objects.create(user=alice, daily_images=1)
    billed(signed_in(alice), images=1, cost=None)
    page = signed_in(boss).client.get("/admin/generation/price/").content.decode()
    assert "Spending: the user&#x27;s daily cap of 1 image (user alice) is 1 used, 0 left" in page


def test_a_users_money_cap_near_its_end_warns_staff_and_one_far_from_it_does_not(accounts):
    alice, bob, boss = make_user("alice"), make_user("bob"), make_user("boss", staff=True)
    SpendingCap.objects.create(user=alice, monthly_money=Decimal("1"), currency="CNY")
    SpendingCap.objects.create(user=bob, monthly_money=Decimal("10"), currency="CNY")
    billed(signed_in(alice), images=2, cost="0.8")
    billed(signed_in(bob), images=2, cost="0.8")
    page = signed_in(boss).client.get("/admin/generation/generationtask/").content.decode()
    assert "the user&#x27;s monthly spending cap of 1 CNY (user alice) is 0.8 used, 0.2 left" in page
    assert "(user bob)" not in page


def test_a_tasks_page_in_the_console_shows_what_it_was_billed_and_cost(admin_client, api):
    task_id = billed(api, images=2, cost="0.5")
    pk = GenerationTask.objects.get(task_id=task_id).pk
    page = admin_client.get(f"/admin/generation/generationtask/{pk}/change/").content.decode()
    assert "Images billed:" in page and "0.500000" in page and "0.250000" in page
