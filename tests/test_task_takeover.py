"""A worker whose task was taken over by another (its lease ran out and another worker claimed it) stops
writing: no progress, no result, no images, no retry state, and it says so to the engine."""

from datetime import timedelta

import pytest
from django.utils import timezone

from generation.engines.base import EngineError, Retry
from generation.models import GenerationTask

from .conftest import files_under, run

pytestmark = pytest.mark.django_db

OTHER = "otherhost:4242:feedface"


def take_over(task_id):
    """What another worker's claim writes once this worker's lease has run out."""
    GenerationTask.objects.filter(task_id=task_id).update(
        status="processing",
        stage="queued_upstream",
        progress=7,
        lease_holder=OTHER,
        lease_expires_at=timezone.now() + timedelta(minutes=5),
    )


def assert_untouched_by_the_old_run(task_id, media):
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.stage, task.progress, task.lease_holder) == ("processing", "queued_upstream", 7, OTHER)
    assert task.images.count() == 0 and task.completed_at is None
    assert files_under(media) == []


def test_it_stops_reporting_progress_and_discards_its_result(api, media, scripted):
    seen = {}

    def taken_over_midway(request, progress):
        progress.stage("generating", fraction=0.1)
        take_over(task_id)
        progress.stage("generating", fraction=0.9)
        progress.stage("downloading")
        seen["cancelled"] = progress.cancelled()
        return engine._preview.generate(request, progress)

    engine = scripted(taken_over_midway)
    task_id = api.generate()
    run(task_id)
    assert seen["cancelled"] is True
    assert_untouched_by_the_old_run(task_id, media)


def test_it_tells_the_engine_at_the_first_check_after_the_takeover(api, media, scripted, django_assert_num_queries):
    seen = {}

    def taken_over(request, progress):
        take_over(task_id)
        seen["cancelled"] = progress.cancelled()
        # Once it knows, it asks the database no more: later reports cost nothing.
        with django_assert_num_queries(0):
            progress.stage("generating", fraction=0.5)
            progress.extend(120)
            seen["still"] = progress.cancelled()
        return engine._preview.generate(request, progress)

    engine = scripted(taken_over)
    task_id = api.generate()
    run(task_id)
    assert seen["cancelled"] is True and seen["still"] is True
    assert_untouched_by_the_old_run(task_id, media)


def test_a_failure_after_the_takeover_writes_no_error(api, media, scripted):
    def taken_over_then_failing(request, progress):
        take_over(task_id)
        raise EngineError("content_rejected", "Text Risk Not Pass", retry=Retry.NEVER, upstream_code="50412")

    scripted(taken_over_then_failing)
    task_id = api.generate()
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).error_code == ""
    assert_untouched_by_the_old_run(task_id, media)


def test_a_retryable_failure_after_the_takeover_schedules_nothing(api, media, scripted):
    def taken_over_then_failing(request, progress):
        take_over(task_id)
        raise EngineError("upstream_unreachable", "refused", retry=Retry.BACKOFF)

    engine = scripted(taken_over_then_failing, "ok")
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert len(engine.calls) == 1
    assert task.retry_count == 0 and task.next_attempt_at is None and task.error_code == ""
    assert_untouched_by_the_old_run(task_id, media)


def test_a_takeover_while_waiting_to_retry_ends_the_wait(api, media, scripted, settings, fake_clock):
    engine = scripted(EngineError("upstream_unreachable", "refused", retry=Retry.BACKOFF), "ok")
    settings.IMAGEGEN_RETRY_BASE_DELAY, settings.IMAGEGEN_RETRY_MAX_DELAY = 4.0, 60.0  # several one-second sleeps

    def act(n, seconds):
        if n == 1:
            take_over(task_id)

    fake_clock.on_sleep = act
    task_id = api.generate()
    run(task_id)
    assert len(engine.calls) == 1
    assert_untouched_by_the_old_run(task_id, media)


def test_a_takeover_at_the_end_of_the_wait_is_not_resumed(api, media, scripted, settings, fake_clock):
    engine = scripted(EngineError("upstream_unreachable", "refused", retry=Retry.BACKOFF), "ok")
    settings.IMAGEGEN_RETRY_BASE_DELAY, settings.IMAGEGEN_RETRY_MAX_DELAY = 4.0, 60.0  # several one-second sleeps

    def act(n, seconds):
        if n == 1:
            # The other worker claimed it and is itself waiting to retry.
            take_over(task_id)
            GenerationTask.objects.filter(task_id=task_id).update(status="retrying")
            fake_clock.offset += timedelta(hours=1)

    fake_clock.on_sleep = act
    task_id = api.generate()
    run(task_id)
    assert len(engine.calls) == 1
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.lease_holder) == ("retrying", OTHER)


def test_the_run_that_lost_its_task_says_so_in_the_log(api, media, scripted, caplog):
    import logging

    def taken_over(request, progress):
        take_over(task_id)
        progress.stage("generating", fraction=0.5)
        return engine._preview.generate(request, progress)

    engine = scripted(taken_over)
    task_id = api.generate()
    caplog.set_level(logging.INFO, logger="generation.run")
    run(task_id)
    assert f"task {task_id}: stopped (cancelled or taken over)" in [
        r.getMessage() for r in caplog.records if r.name == "generation.run"]
