"""services.task_retry: a staff retry is a new, counted attempt of the same task with a fresh budget."""

import pytest
from django_q.models import OrmQ

from generation import services
from generation.engines.base import EngineError, Retry
from generation.models import GenerationTask

from .admin_helpers import make_tasks
from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def test_it_resets_the_task_and_enqueues_it_once(api, media, scripted):
    scripted(EngineError("upstream_error", "boom", retry=Retry.NEVER, upstream_code="50500", request_id="r-1"))
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    messages = OrmQ.objects.count()

    assert services.task_retry(task=task) is True
    assert task.status == "pending" and task.stage == "queued" and task.progress == 0
    assert (task.error_code, task.error_message, task.upstream_error_code, task.upstream_request_id) == ("", "", "", "")
    assert task.lease_owner == "" and task.lease_expires_at is None
    assert task.started_at is None and task.completed_at is None
    assert task.attempts == 0 and task.retry_count == 1
    assert OrmQ.objects.count() == messages + 1
    assert services.task_retry(task=task) is False  # already pending: nothing happens
    assert OrmQ.objects.count() == messages + 1


def test_a_task_that_used_up_its_attempts_gets_a_new_budget(api, media, scripted, settings):
    settings.IMAGEGEN_MAX_ATTEMPTS = 2
    transient = EngineError("upstream_unreachable", "refused", retry=Retry.BACKOFF)
    engine = scripted(transient, transient, transient, "ok")
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "failed" and task.attempts == 2

    services.task_retry(task=task)
    run(task_id)
    task.refresh_from_db()
    assert task.status == "completed" and len(engine.calls) == 4
    assert task.attempts == 2 and task.retry_count == 3  # two retries in runs, one by staff
    assert len(files_under(media)) == 2


def test_a_retry_once_error_is_tried_again_after_a_staff_retry(api, media, scripted):
    # "Retry once" compares with the previous error code; the staff retry clears it, so the new run may
    # retry once more rather than failing at the first repeat.
    ambiguous = EngineError("upstream_error", "internal error", retry=Retry.ONCE, upstream_code="50500")
    engine = scripted(ambiguous, ambiguous, ambiguous, "ok")
    task_id = api.generate()
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "failed"
    services.task_retry(task=GenerationTask.objects.get(task_id=task_id))
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"
    assert len(engine.calls) == 4


def test_a_cancelled_task_can_be_retried_and_the_old_run_cannot_write(api, media):
    task_id = api.generate()
    task = GenerationTask.objects.get(task_id=task_id)
    old_owner = "otherhost:123:abcd"
    GenerationTask.objects.filter(pk=task.pk).update(status="processing", lease_owner=old_owner)
    services.task_cancel(task=task)
    assert services.task_retry(task=task) is True
    task.refresh_from_db()
    assert task.lease_owner == ""
    # The cancelled run's lease-guarded writes no longer match the row.
    assert not GenerationTask.objects.filter(pk=task.pk, lease_owner=old_owner, status="processing").exists()
    run(task_id)
    assert GenerationTask.objects.get(pk=task.pk).status == "completed"


def test_completed_and_unfinished_tasks_are_not_retried(db):
    for status in ("completed", "pending", "processing", "retrying"):
        task = make_tasks(1, status=status)[0]
        assert services.task_retry(task=task) is False
        assert GenerationTask.objects.get(pk=task.pk).status == status
