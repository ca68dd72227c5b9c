"""The attempts of a run (TaskRun.execute): the started event once, on the first attempt only; the lease
each attempt writes; and how each kind of failure ends the task: bad image data at once (counted as such),
a storage error retried with the OS's words, anything unexpected as internal_error with its type."""

import errno
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from generation import run as run_module
from generation import storage, webhooks
from generation.engines.base import EngineError, EngineResult, Retry
from generation.models import GenerationTask

from .conftest import run

pytestmark = pytest.mark.django_db


def test_the_started_event_is_sent_once_on_the_first_attempt(api, media, scripted, monkeypatch):
    events, seen_by_each_call = [], []
    monkeypatch.setattr(webhooks, "task_event", lambda task, event: events.append((task.task_id, event)))

    def call(outcome):
        def attempt(request, progress):
            seen_by_each_call.append(list(events))
            if isinstance(outcome, Exception):
                raise outcome
            return engine._preview.generate(request, progress)
        return attempt

    engine = scripted(call(EngineError("upstream_timeout", "slow", retry=Retry.BACKOFF)), call("ok"))
    task_id = api.generate()
    run(task_id)
    assert seen_by_each_call == [[(task_id, "started")], [(task_id, "started")]]  # before the first call, once
    assert events == [(task_id, "started"), (task_id, "completed")]


def test_an_attempt_holds_its_lease_from_its_first_write(api, media, scripted, settings):
    settings.IMAGEGEN_LEASE_MARGIN = 30
    seen = {}

    def attempt(request, progress):  # reads the row before reporting anything
        row = GenerationTask.objects.get(task_id=task_id)
        seen.update(left=(row.lease_expires_at - timezone.now()).total_seconds(), expected=progress.expected)
        return engine._preview.generate(request, progress)

    engine = scripted(attempt)
    task_id = api.generate()
    run(task_id)
    assert seen["expected"] + 30 - 5 < seen["left"] <= seen["expected"] + 30


def test_a_task_failed_for_good_sends_the_failed_event(api, media, scripted, monkeypatch):
    events = []
    monkeypatch.setattr(webhooks, "task_event", lambda task, event: events.append((task.task_id, event)))
    scripted(EngineError("content_rejected", "no", retry=Retry.NEVER))
    task_id = api.generate()
    run(task_id)
    assert events == [(task_id, "started"), (task_id, "failed")]


def test_a_cancelled_task_sends_the_cancelled_event(api, monkeypatch):
    from generation import services

    events = []
    monkeypatch.setattr(webhooks, "task_event", lambda task, event: events.append((task.task_id, event)))
    task_id = api.generate()
    assert services.task_cancel(task=GenerationTask.objects.get(task_id=task_id)) is True
    assert events == [(task_id, "cancelled")]


def test_each_attempt_holds_a_lease_for_the_expected_duration_and_reports_progress_by_time(api, media, scripted,
                                                                                          settings):
    settings.IMAGEGEN_LEASE_MARGIN = 30
    seen = {}

    def engine_call(request, progress):
        progress.stage("generating")  # no fraction: estimated from the time the attempt has taken
        row = GenerationTask.objects.get(task_id=task_id)
        seen.update(left=(row.lease_expires_at - timezone.now()).total_seconds(), expected=progress.expected,
                    stage=row.stage, progress=row.progress)
        return engine._preview.generate(request, progress)

    engine = scripted(engine_call)
    task_id = api.generate()
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"
    assert seen["left"] == pytest.approx(seen["expected"] + 30, abs=1.0)
    assert seen["stage"] == "generating" and 15 <= seen["progress"] < 85


def test_bad_image_data_fails_at_once_counted_as_bad_upstream_data(api, media, scripted, monkeypatch):
    counted = []
    monkeypatch.setattr(run_module, "record_upstream_error", counted.append)
    engine = scripted(lambda request, progress: EngineResult(images=[b"\x89PNG\r\n\x1a\nnot really"]), "ok")
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.error_code, task.attempts) == ("failed", "bad_upstream_data", 1)
    assert task.error_message and task.error_message != "bad_upstream_data"
    assert counted == ["bad_upstream_data"] and len(engine.calls) == 1


def test_a_storage_error_is_retried_and_says_what_the_disk_said(api, media, scripted, monkeypatch, settings):
    settings.IMAGEGEN_MAX_ATTEMPTS = 2

    def full(**kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "store_results", full)
    engine = scripted()
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.error_code, task.attempts, task.retry_count) == ("failed", "storage_error", 2, 1)
    assert task.error_message == "could not save the image: [Errno 28] No space left on device"
    assert len(engine.calls) == 2


def test_an_unexpected_error_fails_the_task_as_internal_error_and_logs_its_trace(api, media, scripted, caplog):
    def broken(request, progress):
        raise KeyError("width")

    caplog.set_level(logging.ERROR, logger="generation.run")
    engine = scripted(broken, "ok")
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.error_code, task.error_message) == ("failed", "internal_error", "KeyError: 'width'")
    assert len(engine.calls) == 1
    (record,) = [r for r in caplog.records if r.name == "generation.run" and r.levelname == "ERROR"]
    assert record.getMessage() == f"task {task_id} failed unexpectedly" and record.exc_info[0] is KeyError


def test_a_retry_time_still_ahead_is_waited_for_before_the_first_attempt(api, media, scripted, fake_clock):
    from generation import clock

    times = []

    def noting(request, progress):
        times.append(clock.now())
        return engine._preview.generate(request, progress)

    engine = scripted(noting)
    task_id = api.generate()
    due = clock.now() + timedelta(seconds=20)
    GenerationTask.objects.filter(task_id=task_id).update(next_attempt_at=due)
    run(task_id)
    assert times[0] >= due and sum(fake_clock.slept) == pytest.approx(20, abs=1.0)
    assert GenerationTask.objects.get(task_id=task_id).next_attempt_at is None


def test_after_a_storage_error_the_next_attempt_fetches_the_same_upstream_job(api, media, scripted, monkeypatch):
    # The images were made (and billed); only saving them failed: the job is fetched again, not submitted anew.
    seen, real, failures = [], storage.store_results, [OSError(errno.EIO, "I/O error")]

    def flaky(**kwargs):
        if failures:
            raise failures.pop()
        return real(**kwargs)

    def attempt(request, progress):
        seen.append(GenerationTask.objects.get(task_id=task_id).upstream_task_id)
        progress.stage("generating", upstream_task_id="job-1")
        return engine._preview.generate(request, progress)

    monkeypatch.setattr(storage, "store_results", flaky)
    engine = scripted(attempt, attempt)
    task_id = api.generate()
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"
    assert seen == ["", "job-1"]
