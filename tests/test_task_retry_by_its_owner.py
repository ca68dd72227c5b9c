"""POST /api/v1/task/{id}/retry: the owner runs their own failed or cancelled task again — the same task, with
its settings, seed and references — held to everything a new task is held to (the generation rate, the
queued-task limit, the daily quota, the spending caps), its earlier run no longer counting."""

import pytest
from django.utils import timezone

from generation.engines.base import EngineError, Retry
from generation.models import GenerationTask

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import SEED_EXAMPLE, run

pytestmark = pytest.mark.django_db


def rejected():
    return EngineError("content_rejected", "Text Risk Not Pass", retry=Retry.NEVER)


def test_a_failed_task_runs_again_with_its_own_settings_and_completes(api, media, scripted):
    engine = scripted(rejected(), "ok")
    task_id = api.generate(num_images=2, seed=4242)
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "failed"

    response = api.post(f"task/{task_id}/retry", {})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["task_id"] == task_id and body["status"] == "pending" and body["error"] is None
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "completed" and task.images.count() == 2 and task.retry_count == 1
    first, second = engine.calls
    assert (second.prompt, second.seed, second.num_images) == (first.prompt, first.seed, first.num_images) == (
        SEED_EXAMPLE["prompt"], 4242, 2)


@pytest.mark.parametrize("status", ["pending", "processing", "completed"])
def test_only_a_failed_or_cancelled_task_can_be_run_again(api, status):
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(status=status)
    response = api.post(f"task/{task_id}/retry", {})
    assert response.status_code == 409
    assert response.json()["error"] == "task_not_retryable"
    assert GenerationTask.objects.get(task_id=task_id).retry_count == 0


def test_a_task_in_the_trash_is_not_run_again(api):
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(status="failed", deleted_at=timezone.now())
    assert api.post(f"task/{task_id}/retry", {}).status_code in (404, 409)
    assert GenerationTask.objects.get(task_id=task_id).status == "failed"


def test_another_user_s_task_is_not_found(accounts):
    alice, bob = make_user("alice"), make_user("bob")
    task_id = signed_in(alice).generate()
    GenerationTask.objects.filter(task_id=task_id).update(status="failed")
    response = signed_in(bob).post(f"task/{task_id}/retry", {})
    assert response.status_code == 404
    assert GenerationTask.objects.get(task_id=task_id).status == "failed"


def test_the_daily_quota_refuses_it_and_nothing_changes(accounts, settings, media, scripted):
    settings.IMAGEGEN_DEFAULT_DAILY_IMAGES = 3
    alice = make_user("alice")
    api = signed_in(alice)
    scripted(rejected())
    failed = api.generate(num_images=2)
    run(failed)  # failed: it no longer counts
    api.generate(num_images=2)  # 2 of 3 used
    refused = api.post(f"task/{failed}/retry", {})
    assert refused.status_code == 429
    assert refused.json()["error"] == "quota_exceeded" and refused.json()["details"]["remaining"] == 1
    task = GenerationTask.objects.get(task_id=failed)
    assert task.status == "failed" and task.retry_count == 0


def test_its_earlier_run_is_not_counted_twice(accounts, settings):
    # Cancelled after its worker started, it counts already; the retry takes its place in the count.
    settings.IMAGEGEN_DEFAULT_DAILY_IMAGES = 2
    api = signed_in(make_user("alice"))
    task_id = api.generate(num_images=2)
    GenerationTask.objects.filter(task_id=task_id).update(status="cancelled", started_at=timezone.now())
    assert api.post(f"task/{task_id}/retry", {}).status_code == 202


def test_the_queued_task_limit_refuses_it(api, settings):
    settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT = 2
    cancelled = api.generate()
    api.delete(f"task/{cancelled}")
    api.generate()
    api.generate()  # 2 unfinished: the limit
    refused = api.post(f"task/{cancelled}/retry", {})
    assert refused.status_code == 429
    assert refused.json()["details"]["unfinished"] == 2
    assert GenerationTask.objects.get(task_id=cancelled).status == "cancelled"


def test_it_spends_the_generation_budget(api, settings):
    settings.IMAGEGEN_CREATE_RATE = "2/m"
    cancelled = api.generate()
    api.delete(f"task/{cancelled}")
    assert api.post(f"task/{cancelled}/retry", {}).status_code == 202  # the second generation of the minute
    api.delete(f"task/{cancelled}")
    refused = api.post(f"task/{cancelled}/retry", {})
    assert refused.status_code == 429 and "Retry-After" in refused


def test_the_refusal_is_translated(api_zh):
    task_id = api_zh.generate()
    assert "只有" in api_zh.post(f"task/{task_id}/retry", {}).json()["message"]
