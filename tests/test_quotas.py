"""Per-user quotas (accounts mode): images per UTC day and unfinished tasks at once, a site default that
staff override per user in the admin, checked in the create transaction; 429 with the reset time."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from generation.models import GenerationTask, Quota

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import SEED_EXAMPLE, EngineError, run

pytestmark = pytest.mark.django_db


def next_utc_midnight() -> str:
    now = datetime.now(UTC)
    return (now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).isoformat().replace(
        "+00:00", "Z")


@pytest.fixture
def alice(accounts, settings, media):
    settings.IMAGEGEN_DEFAULT_DAILY_IMAGES = 3
    settings.IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS = 10
    return make_user("alice")


def test_a_user_at_the_daily_limit_gets_a_429_with_the_reset_time(alice):
    api = signed_in(alice)
    api.generate(num_images=2)
    api.generate(num_images=1)
    response = api.post("generate", SEED_EXAMPLE)
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "quota_exceeded"
    assert body["details"] == {"quota": "daily_images", "limit": 3, "used": 3, "remaining": 0, "requested": 1,
                               "resets_at": next_utc_midnight()}
    assert body["message"] == (f"You have used all 3 images of your daily quota. It resets at "
                               f"{next_utc_midnight()}.")
    wait = int(response["Retry-After"])
    assert body["retry_after"] == wait and 0 < wait <= 86400
    assert GenerationTask.objects.count() == 2


def test_a_request_for_more_images_than_remain_is_refused_whole(alice):
    api = signed_in(alice)
    api.generate(num_images=1)
    response = api.post("generate", {**SEED_EXAMPLE, "num_images": 3})
    assert response.status_code == 429
    assert response.json()["details"]["remaining"] == 2
    assert response.json()["message"] == ("This request asks for 3 images but only 2 of your 3 images for today "
                                          f"remain. The quota resets at {next_utc_midnight()}.")
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 2}).status_code == 201


def test_the_quota_message_is_in_chinese_for_chinese_clients(alice):
    Quota.objects.filter(user=alice).update(daily_images=0)
    body = signed_in(alice, "zh-hans").post("generate", SEED_EXAMPLE).json()
    assert body["error"] == "quota_exceeded"
    assert "每日" in body["message"] and next_utc_midnight() in body["message"]


def test_images_of_earlier_utc_days_do_not_count(alice):
    api = signed_in(alice)
    task_id = api.generate(num_images=3)
    start_of_day = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    GenerationTask.objects.filter(task_id=task_id).update(created_at=start_of_day - timedelta(seconds=1))
    assert api.post("generate", SEED_EXAMPLE).status_code == 201


def test_failed_tasks_give_their_images_back(alice, scripted):
    scripted(EngineError("content_rejected", "rejected by moderation"))
    api = signed_in(alice)
    task_id = api.generate(num_images=3)
    assert api.post("generate", SEED_EXAMPLE).status_code == 429
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "failed"
    assert api.get("account").json()["quota"]["daily_images"]["used"] == 0
    assert api.post("generate", SEED_EXAMPLE).status_code == 201


def test_a_task_cancelled_before_a_worker_took_it_does_not_count(alice):
    api = signed_in(alice)
    task_id = api.generate(num_images=3)
    assert api.delete(f"task/{task_id}").status_code == 202
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 3}).status_code == 201


def test_a_task_cancelled_after_its_worker_started_counts(alice):
    """The image service may already have made (and billed) its images."""
    api = signed_in(alice)
    task_id = api.generate(num_images=3)
    GenerationTask.objects.filter(task_id=task_id).update(status="processing", started_at=timezone.now())
    assert api.delete(f"task/{task_id}").status_code == 202
    assert api.post("generate", SEED_EXAMPLE).status_code == 429


def test_staff_raising_the_limit_in_the_admin_lets_the_user_go_on(alice):
    api = signed_in(alice)
    api.generate(num_images=3)
    assert api.post("generate", SEED_EXAMPLE).status_code == 429

    staff = signed_in(make_user("carol", staff=True)).client
    url = f"/admin/generation/quota/{alice.pk}/change/"
    form = staff.get(url)
    assert form.status_code == 200
    assert "3 of 3 images used" in form.content.decode()
    response = staff.post(url, {"daily_images": "5", "max_concurrent_tasks": "", "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Quota.objects.get(user=alice).daily_images == 5

    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 2}).status_code == 201
    assert api.post("generate", SEED_EXAMPLE).status_code == 429
    # The change is in the audit log.
    assert staff.get("/admin/admin/logentry/").content.decode().count("alice") >= 1


def test_the_admin_quota_list_shows_every_user_with_the_defaults(alice):
    make_user("bob", daily_images=50)
    staff = signed_in(make_user("carol", staff=True)).client
    page = staff.get("/admin/generation/quota/").content.decode()
    assert "alice" in page and "bob" in page and "carol" in page
    assert "default (3)" in page and ">50<" in page


def test_the_concurrent_task_quota_limits_running_tasks_not_queued_ones(alice):
    from generation import scheduling
    from generation.models import GenerationTask

    Quota.objects.filter(user=alice).update(max_concurrent_tasks=2, daily_images=100)
    api = signed_in(alice)
    ids = [api.generate() for _ in range(3)]  # all three are accepted: they queue
    assert scheduling.claim_next(ids[0]) is not None
    assert scheduling.claim_next(ids[1]) is not None
    assert api.get("account").json()["quota"]["concurrent_tasks"] == {"limit": 2, "used": 2, "remaining": 0}
    # A worker with the third task's message may not start it while two run.
    assert scheduling.claim_next(ids[2]) is None
    assert GenerationTask.objects.get(task_id=ids[2]).lease_holder == ""
    # One finishes: the third may start.
    GenerationTask.objects.filter(task_id=ids[0]).update(status="completed", lease_holder="")
    claimed = scheduling.claim_next(ids[2])
    assert claimed is not None and claimed.task_id == ids[2]


def test_a_replayed_idempotent_request_uses_no_quota(alice):
    api = signed_in(alice)
    key = {"Idempotency-Key": "once"}
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 3}, **key).status_code == 201
    replay = api.post("generate", {**SEED_EXAMPLE, "num_images": 3}, **key)
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"


def test_the_account_api_reports_limits_use_and_the_reset_time(alice):
    api = signed_in(alice)
    api.generate(num_images=2)
    body = api.get("account").json()
    assert body == {
        "username": "alice",
        "is_staff": False,
        "quota": {
            "daily_images": {"limit": 3, "used": 2, "remaining": 1, "resets_at": next_utc_midnight()},
            "concurrent_tasks": {"limit": 10, "used": 0, "remaining": 10},  # queued, not running
        },
        "spending_caps": [],  # none set (tests/test_spending_caps.py has them)
    }


def test_the_generate_page_carries_the_remaining_quota(alice):
    api = signed_in(alice)
    api.generate(num_images=1)
    html = api.client.get("/").content.decode()
    config = json.loads(re.search(r'id="page-config" type="application/json">(.*?)</script>', html).group(1))
    assert config["quota"]["daily_images"]["remaining"] == 2
    assert 'id="quota"' in html


def test_the_account_page_shows_the_quota(alice):
    api = signed_in(alice)
    api.generate(num_images=2)
    assert "2 of 3 used, 1 left" in api.client.get("/account").content.decode()


def test_the_account_endpoint_is_described_in_the_openapi_schema(accounts):
    import yaml
    from django.test import Client

    schema = yaml.safe_load(Client().get("/api/v1/schema").content)
    operation = schema["paths"]["/api/v1/account"]["get"]
    assert {"200", "401", "429"} <= set(operation["responses"])
    assert {"bearerAuth": []} in operation["security"]
    quota = schema["components"]["schemas"]["QuotaOutput"]["properties"]
    daily = schema["components"]["schemas"]["DailyImagesOutput"]["properties"]
    assert set(quota) == {"daily_images", "concurrent_tasks"}
    assert set(daily) == {"limit", "used", "remaining", "resets_at"} and daily["resets_at"]["format"] == "date-time"


def test_the_day_is_the_utc_day_whatever_the_servers_zone(monkeypatch):
    import time

    from generation import quotas

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        at = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)  # 04:30 the next morning in Shanghai
        assert quotas.utc_day(at) == (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
        assert quotas.utc_day(at)[0].utcoffset() == timedelta(0)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_one_users_images_and_running_tasks_never_count_against_another(alice, settings):
    from generation import quotas

    bob = make_user("bob")
    bobs_api = signed_in(bob)
    bobs = [bobs_api.generate(num_images=1) for _ in range(3)]
    GenerationTask.objects.filter(task_id=bobs[0]).update(status="processing", lease_holder="w:1:aaaa")
    # A task cancelled while its worker had not yet noticed still names the worker: it is not running.
    GenerationTask.objects.filter(task_id=bobs[1]).update(status="cancelled", lease_holder="w:1:bbbb")
    usage = quotas.quota_usage(user=alice)
    assert (usage["daily_images"]["used"], usage["concurrent_tasks"]["used"]) == (0, 0)
    assert quotas.quota_usage(user=bob)["concurrent_tasks"]["used"] == 1
    assert quotas.images_counted(user=alice, since=timezone.now() - timedelta(days=1)) == 0
    assert signed_in(alice).post("generate", {**SEED_EXAMPLE, "num_images": 3}).status_code == 201


def test_the_usage_is_for_the_day_asked_about(alice):
    from generation import quotas

    signed_in(alice).generate(num_images=2)
    yesterday = timezone.now() - timedelta(days=1)
    usage = quotas.quota_usage(user=alice, now=yesterday)
    assert usage["daily_images"]["resets_at"] == quotas.utc_day(yesterday)[1]
    assert usage["daily_images"]["used"] == 2  # counted since the start of that day: today's included


def test_the_refusal_says_the_reset_in_utc_whatever_the_servers_zone(alice, monkeypatch):
    import time

    api = signed_in(alice)
    api.generate(num_images=3)
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        body = api.post("generate", SEED_EXAMPLE).json()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert body["details"]["resets_at"] == next_utc_midnight() and body["message"].endswith(f"{next_utc_midnight()}.")


def test_only_the_check_takes_the_row_lock(alice, monkeypatch):
    from generation import quotas

    locks = []
    real = Quota.objects.select_for_update
    monkeypatch.setattr(Quota.objects, "select_for_update", lambda *a, **k: (locks.append(True), real(*a, **k))[1])
    quotas.quota_usage(user=alice)
    quotas.quota_of(user=alice)
    assert locks == []
    quotas.quota_check(user=alice, num_images=1, retry_after_busy=5)
    assert locks == [True]


def test_staff_set_a_users_own_limits_and_none_means_the_sites(alice, settings):
    from generation import quotas

    bob = make_user("bob")
    quota = quotas.quota_set(user=alice, daily_images=50, max_concurrent_tasks=4)
    assert (quota.user, quota.daily_images, quota.max_concurrent_tasks) == (alice, 50, 4)
    assert (Quota.objects.get(user=bob).daily_images, Quota.objects.get(user=bob).max_concurrent_tasks) == (None, None)
    assert Quota.objects.filter(user=alice).count() == 1
    quotas.quota_set(user=alice, daily_images=None, max_concurrent_tasks=2)
    quota = Quota.objects.get(user=alice)
    assert (quota.daily_images, quota.max_concurrent_tasks) == (None, 2)
    assert (quota.daily_images_limit, quota.concurrent_tasks_limit) == (3, 2)  # the site's 3 a day (fixture)
