"""A staff retry is a new run, asked of the image service and billed now: it counts in the period of the retry
(today's quota and caps, even for a task made on an earlier day), at today's price, and is refused, changing
nothing, when it would pass a spending cap of the site or of the task's owner."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import SpendingCapReached
from generation import services, spending
from generation.cost_models import Price, SpendingCap
from generation.engines.base import EngineError, Retry
from generation.models import GenerationTask
from generation.quotas import quota_usage

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .admin_helpers import TASKS, act, messages_of
from .conftest import SEED_EXAMPLE, run

pytestmark = pytest.mark.django_db

MODEL = "high_aes_general_v20"  # the default model


def failed_task(api, scripted, *, num_images=2, days_ago=0) -> GenerationTask:
    scripted(EngineError("content_rejected", "no", retry=Retry.NEVER))
    task_id = api.generate(num_images=num_images)
    run(task_id)
    if days_ago:
        when = timezone.now() - timedelta(days=days_ago)
        GenerationTask.objects.filter(task_id=task_id).update(created_at=when, completed_at=when)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "failed"
    return task


def test_a_task_from_an_earlier_day_counts_today_once_staff_retry_it(api, settings, media, scripted):
    settings.IMAGEGEN_CAP_DAILY_IMAGES = 3
    task = failed_task(api, scripted, num_images=2, days_ago=3)
    assert services.task_retry(task=task) is True
    assert task.retried_at is not None
    refused = api.post("generate", {**SEED_EXAMPLE, "num_images": 2})
    assert refused.status_code == 429
    assert refused.json()["details"]["used"] == "2"
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 1}).status_code == 201


def test_a_retry_that_would_pass_the_site_cap_is_refused_and_changes_nothing(api, settings, media, scripted):
    settings.IMAGEGEN_CAP_DAILY_IMAGES = 3
    task = failed_task(api, scripted, num_images=2)
    api.generate(num_images=2)  # 2 of 3 used today
    with pytest.raises(SpendingCapReached) as refused:
        services.task_retry(task=task)
    assert refused.value.details["cap"] == "site_daily_images" and refused.value.details["requested"] == "2"
    task.refresh_from_db()
    assert task.status == "failed" and task.retry_count == 0 and task.retried_at is None


def test_the_task_itself_is_not_counted_twice_when_it_is_checked(api, settings, media, scripted):
    # Cancelled after its worker started, it counts today already; its retry replaces that count.
    settings.IMAGEGEN_CAP_DAILY_IMAGES = 2
    task_id = api.generate(num_images=2)
    GenerationTask.objects.filter(task_id=task_id).update(status="cancelled", started_at=timezone.now())
    task = GenerationTask.objects.get(task_id=task_id)
    assert spending.used(spending.site_caps()[0]) == 2
    assert services.task_retry(task=task) is True
    assert spending.used(spending.site_caps()[0]) == 2


def test_the_owner_s_own_cap_refuses_a_retry_in_the_console_naming_the_user_s_cap(accounts, admin_client, media,
                                                                                   scripted):
    alice = make_user("alice")
    SpendingCap.objects.create(user=alice, daily_images=2)
    as_alice = signed_in(alice)
    task = failed_task(as_alice, scripted, num_images=2)
    as_alice.generate(num_images=1)

    response = act(admin_client, TASKS, "retry_tasks", [task.pk])
    said = " | ".join(messages_of(response))
    assert "Not retried: This request would pass the user's daily cap of 2 images" in said
    assert "queued for another attempt" not in said
    task.refresh_from_db()
    assert task.status == "failed" and task.retry_count == 0


def test_a_retry_is_priced_anew_and_counts_in_the_money_cap(api, settings, media, scripted):
    settings.IMAGEGEN_CAP_DAILY_MONEY = "CNY:1"
    task = failed_task(api, scripted, num_images=2, days_ago=1)
    assert task.price_per_image is None  # unpriced when it was made
    Price.objects.create(model=MODEL, price_per_image=Decimal("0.4"), currency="CNY")
    assert services.task_retry(task=task) is True
    task.refresh_from_db()
    assert (task.price_per_image, task.currency) == (Decimal("0.4"), "CNY")
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 1}).status_code == 429  # 0.8 + 0.4 > 1


def test_the_retried_run_counts_in_today_s_quota_and_cost_per_day(accounts, settings, media, scripted):
    settings.IMAGEGEN_DEFAULT_DAILY_IMAGES = 10
    alice = make_user("alice")
    task = failed_task(signed_in(alice), scripted, num_images=2, days_ago=2)
    assert quota_usage(user=alice)["daily_images"]["used"] == 0
    assert services.task_retry(task=task) is True
    assert quota_usage(user=alice)["daily_images"]["used"] == 2
    GenerationTask.objects.filter(pk=task.pk).update(status="completed", images_billed=2)
    days = spending.daily_totals(user=alice, days=3)
    assert [day["images"] for day in days] == [0, 0, 2]
