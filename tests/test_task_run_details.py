"""Details of a task run that the mutants of generation/services.py showed no test held: what each write
sets, what each log line says, the edges of the retry policy."""

import logging

import pytest

from generation.models import GenerationTask

from .conftest import run

pytestmark = pytest.mark.django_db


def test_a_completed_run_logs_its_attempt_and_its_completion(api, media, scripted, caplog):
    caplog.set_level(logging.INFO, logger="generation.run")
    scripted("ok")
    task_id = api.generate()
    caplog.clear()
    run(task_id)
    messages = [r.getMessage() for r in caplog.records if r.name == "generation.run"]
    assert messages[0] == f"task {task_id} attempt 1 on scripted"
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.upstream_request_id.startswith("preview-")
    assert messages[-1] == f"task {task_id} completed images=1 upstream_request_id={task.upstream_request_id}"
    assert (task.status, task.stage, task.progress, task.lease_holder, task.lease_expires_at) == (
        "completed", "done", 100, "", None)


def test_a_final_failure_writes_the_whole_error_and_frees_the_task(api, media, scripted, caplog):
    from django.utils import timezone

    from generation.engines.base import EngineError, Retry

    caplog.set_level(logging.INFO, logger="generation.run")
    scripted(EngineError("content_rejected", "Text Risk Not Pass " + "x" * 3000, retry=Retry.NEVER,
                         upstream_code="50412" + "9" * 60, request_id="req-" + "r" * 200))
    task_id = api.generate()
    before = timezone.now()
    caplog.clear()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.stage, task.error_code) == ("failed", "done", "content_rejected")
    assert task.error_message.startswith("Text Risk Not Pass") and len(task.error_message) == 2000
    assert task.upstream_error_code == ("50412" + "9" * 60)[:50]
    assert task.upstream_request_id == ("req-" + "r" * 200)[:100]
    assert before <= task.completed_at <= timezone.now()
    assert (task.lease_holder, task.lease_expires_at, task.next_attempt_at) == ("", None, None)
    failed = [r for r in caplog.records if r.name == "generation.run" and " failed: " in r.getMessage()]
    assert len(failed) == 1 and failed[0].levelname == "WARNING"
    assert failed[0].getMessage() == (f"task {task_id} failed: content_rejected (upstream {'50412' + '9' * 60}, "
                                      f"request {'req-' + 'r' * 200}) Text Risk Not Pass {'x' * 3000}")


def test_a_failure_without_upstream_details_logs_dashes(api, media, scripted, caplog):
    from generation.engines.base import EngineError, Retry

    caplog.set_level(logging.INFO, logger="generation.run")
    scripted(EngineError("invalid_parameters", "bad", retry=Retry.NEVER))
    task_id = api.generate()
    run(task_id)
    assert f"task {task_id} failed: invalid_parameters (upstream -, request -) bad" in [
        r.getMessage() for r in caplog.records]


def test_a_retry_waits_in_one_second_steps_keeping_a_short_lease_then_resumes(api, media, scripted, settings,
                                                                              fake_clock):
    from generation import clock
    from generation.engines.base import EngineError, Retry

    settings.IMAGEGEN_LEASE_MARGIN = 30
    seen = {}

    def second(request, progress):
        row = GenerationTask.objects.get(task_id=task_id)
        seen.update(status=row.status, next_attempt_at=row.next_attempt_at, at=clock.now(), stage=row.stage)
        return engine._preview.generate(request, progress)

    engine = scripted(EngineError("upstream_unreachable", "refused", retry=Retry.BACKOFF), second)
    settings.IMAGEGEN_RETRY_BASE_DELAY, settings.IMAGEGEN_RETRY_MAX_DELAY = 8.0, 60.0
    task_id = api.generate()
    leases = []

    def note(n, seconds):
        row = GenerationTask.objects.get(task_id=task_id)
        real_now = clock.now() - fake_clock.offset
        leases.append(((row.lease_expires_at - real_now).total_seconds(),
                       (row.next_attempt_at - clock.now()).total_seconds(), row.status))
        if n == 1:
            seen["due"] = row.next_attempt_at

    fake_clock.on_sleep = note
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"
    assert all(0 < s <= 1.0 for s in fake_clock.slept) and len(fake_clock.slept) >= 6
    # waiting as `retrying`; the lease covers the next step: what is left (at most 5 s) + 5 s + the margin
    for lease, left, status in leases:
        assert status == "retrying"
        assert lease == pytest.approx(min(left, 5) + 5 + 30, abs=1.0)
    # resumed as `processing`, at the retry time and not before, with no retry time left on the row
    assert seen["status"] == "processing" and seen["next_attempt_at"] is None and seen["stage"] == "generating"
    assert seen["due"] <= seen["at"]


def test_the_cancellation_check_renews_the_lease_at_most_once_a_second(api, media, scripted, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    settings.IMAGEGEN_LEASE_MARGIN = 30
    seen = {}

    def engine_call(request, progress):
        progress._last_write = 0.0  # the last write long ago: the next check writes
        with CaptureQueriesContext(connection) as first:
            assert progress.cancelled() is False
        row = GenerationTask.objects.get(task_id=task_id)
        seen["left"] = (row.lease_expires_at - timezone.now()).total_seconds()
        seen["expected"] = progress.expected
        with CaptureQueriesContext(connection) as second:
            assert progress.cancelled() is False  # within the second: no write
        seen["writes"] = (len(first.captured_queries), len(second.captured_queries))
        return engine._preview.generate(request, progress)

    engine = scripted(engine_call)
    task_id = api.generate()
    run(task_id)
    assert seen["writes"] == (1, 0)
    assert seen["expected"] + 30 - 5 < seen["left"] <= seen["expected"] + 30


def test_a_lease_covers_a_promise_only_with_half_its_margin_to_spare(api, settings):
    from generation.lease import Lease

    settings.IMAGEGEN_LEASE_MARGIN = 30
    task = GenerationTask.objects.get(task_id=api.generate())
    lease = Lease(task, "me:1:aaaa")
    assert lease.covers(0) is False  # nothing written yet
    lease.until(100)  # written: 100 s and the 30 s margin from now
    assert lease.covers(114) is True  # 15 s of margin to spare, and a little more
    assert lease.covers(115.5) is False
