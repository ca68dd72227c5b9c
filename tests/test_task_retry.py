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
    assert task.lease_holder == "" and task.lease_expires_at is None
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


def test_a_cancelled_task_can_be_retried_and_the_old_run_cannot_write(api, media, scripted):
    # The old run is still generating when staff cancel the task and retry it; the new run completes. The old
    # run then finishes its generation: none of its writes (progress, result, images, files) may land.
    seen = {}

    def old_run(request, progress):
        task = GenerationTask.objects.get(task_id=task_id)
        services.task_cancel(task=task)
        assert services.task_retry(task=task) is True
        run(task_id)  # the new run, start to finish, while the old one is still inside the engine
        seen["new"] = GenerationTask.objects.get(task_id=task_id)
        seen["new_files"] = files_under(media)
        progress.stage("downloading")
        return engine._preview.generate(request, progress)

    engine = scripted(old_run, "ok")
    task_id = api.generate()
    run(task_id)  # the old run

    assert len(engine.calls) == 2
    task = GenerationTask.objects.get(task_id=task_id)
    new = seen["new"]
    assert task.status == "completed" and task.retry_count == 1
    assert (task.completed_at, task.progress, task.stage) == (new.completed_at, 100, "done")
    assert task.images.count() == 1
    assert files_under(media) == seen["new_files"] and len(seen["new_files"]) == 2  # the new run's image + thumbnail


def test_completed_and_unfinished_tasks_are_not_retried(db):
    for status in ("completed", "pending", "processing", "retrying"):
        task = make_tasks(1, status=status)[0]
        assert services.task_retry(task=task) is False
        assert GenerationTask.objects.get(pk=task.pk).status == status


def test_a_staff_retry_clears_every_trace_of_the_old_run_and_logs_it(api, media, caplog):
    import logging
    from datetime import timedelta

    from django.utils import timezone

    caplog.set_level(logging.INFO, logger="generation.services")
    task_id = api.generate()
    other_id = api.generate()
    now = timezone.now()
    GenerationTask.objects.filter(task_id__in=[task_id, other_id]).update(
        status="failed", stage="done", progress=40, attempts=3, retry_count=2, error_code="upstream_error",
        error_message="boom", upstream_error_code="50500", upstream_request_id="r-1", upstream_task_id="job-1",
        next_attempt_at=now + timedelta(minutes=1), lease_holder="elsewhere:1:aaaa",
        lease_expires_at=now + timedelta(minutes=1), started_at=now, completed_at=now)
    task = GenerationTask.objects.get(task_id=task_id)
    caplog.clear()

    assert services.task_retry(task=task) is True
    assert (task.status, task.stage, task.progress, task.attempts, task.retry_count) == ("pending", "queued", 0, 0, 3)
    assert (task.error_code, task.error_message, task.upstream_error_code, task.upstream_request_id,
            task.upstream_task_id) == ("", "", "", "", "")
    assert (task.next_attempt_at, task.lease_holder, task.lease_expires_at, task.started_at, task.completed_at) == (
        None, "", None, None, None)
    other = GenerationTask.objects.get(task_id=other_id)  # only the one task
    assert (other.status, other.retry_count, other.upstream_task_id) == ("failed", 2, "job-1")
    assert [r.getMessage() for r in caplog.records if r.name == "generation.services"] == [
        f"task {task_id} retried by staff (retry 3)"]


def test_a_refused_staff_retry_enqueues_nothing_and_logs_nothing(api, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="generation.services")
    task = GenerationTask.objects.get(task_id=api.generate())
    messages = OrmQ.objects.count()
    caplog.clear()
    assert services.task_retry(task=task) is False
    assert OrmQ.objects.count() == messages
    assert not [r for r in caplog.records if r.name == "generation.services"]


def test_an_owners_retry_is_logged_as_theirs(api, media, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="generation.services")
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(status="failed", stage="done", error_code="x")
    caplog.clear()
    assert services.task_retry(task=GenerationTask.objects.get(task_id=task_id), by_owner=True) is True
    assert [r.getMessage() for r in caplog.records if r.name == "generation.services"] == [
        f"task {task_id} retried by its owner (retry 1)"]
