"""A staff retry counts again in the daily quota: a failed task stops counting, and once staff retry it
its images count again (it is a new, counted attempt), so the user's own next request sees less room."""

import pytest

from generation.quotas import quota_usage
from generation import services
from generation.engines.base import Retry
from generation.models import GenerationTask

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import SEED_EXAMPLE, EngineError, run

pytestmark = pytest.mark.django_db


def test_a_retried_task_counts_again_and_leaves_less_room(accounts, settings, media, scripted):
    settings.IMAGEGEN_DEFAULT_DAILY_IMAGES = 3
    settings.IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS = 10
    alice = make_user("alice")
    api = signed_in(alice)
    scripted(EngineError("content_rejected", "no", retry=Retry.NEVER), "ok")
    task_id = api.generate(num_images=2)
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "failed"
    assert quota_usage(user=alice)["daily_images"]["used"] == 0  # a failed task does not count

    assert services.task_retry(task=task) is True
    assert quota_usage(user=alice)["daily_images"]["used"] == 2
    refused = api.post("generate", {**SEED_EXAMPLE, "num_images": 2})
    assert refused.status_code == 429
    assert refused.json()["details"]["remaining"] == 1
    assert api.post("generate", {**SEED_EXAMPLE, "num_images": 1}).status_code == 201
