"""A task cancelled while its worker waits to retry it stays cancelled: the worker never runs it again.

The wait is on the fake clock, so the test cancels at a chosen moment of it: in the middle (the next
lease extension notices) or at its very end (the resume itself must notice)."""

from datetime import timedelta

import pytest

from generation import services
from generation.engines.base import EngineError, Retry
from generation.models import GenerationTask

from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def transient():
    return EngineError("upstream_unreachable", "connection refused", retry=Retry.BACKOFF)


lease_at_cancel = []


def cancel_at_sleep(fake_clock, task_id, *, at: int, end_wait: bool):
    def act(n, seconds):
        if n == at:
            services.task_cancel(task=GenerationTask.objects.get(task_id=task_id))
            lease_at_cancel.append(GenerationTask.objects.get(task_id=task_id).lease_expires_at)
            if end_wait:
                fake_clock.offset += timedelta(seconds=3600)  # the wait is over

    fake_clock.on_sleep = act


@pytest.mark.parametrize("end_wait", [False, True], ids=["in-the-middle-of-the-wait", "at-the-end-of-the-wait"])
def test_it_is_not_resumed(api, media, scripted, settings, fake_clock, end_wait):
    engine = scripted(transient(), "ok")
    settings.IMAGEGEN_RETRY_BASE_DELAY, settings.IMAGEGEN_RETRY_MAX_DELAY = 4.0, 60.0  # several one-second sleeps
    task_id = api.generate()
    lease_at_cancel.clear()
    cancel_at_sleep(fake_clock, task_id, at=1, end_wait=end_wait)
    run(task_id)

    task = GenerationTask.objects.get(task_id=task_id)
    assert len(engine.calls) == 1
    assert task.status == "cancelled" and task.error_code == "cancelled"
    assert task.images.count() == 0 and files_under(media) == []
    if end_wait:
        assert len(fake_clock.slept) >= 1
    else:
        # noticed at the next lease extension: the worker stops waiting at once instead of sitting out the delay
        assert len(fake_clock.slept) == 1
        assert task.lease_expires_at is None or task.lease_expires_at <= lease_at_cancel[0]


@pytest.mark.parametrize("end_wait", [False, True], ids=["in-the-middle-of-the-wait", "at-the-end-of-the-wait"])
def test_a_restarted_run_does_not_wait_for_a_cancelled_task(api, media, scripted, settings, fake_clock, end_wait):
    # A task picked up after a restart with a retry time still ahead waits in sleep_until.
    engine = scripted("ok")
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(
        status="retrying", next_attempt_at=fake_clock.now() + timedelta(seconds=5)
    )
    cancel_at_sleep(fake_clock, task_id, at=1, end_wait=end_wait)
    run(task_id)
    assert engine.calls == []
    assert GenerationTask.objects.get(task_id=task_id).status == "cancelled"
    if not end_wait:
        # The lease extension after the first one-second sleep finds the task cancelled: the worker stops
        # there instead of sitting out the four seconds left of the wait.
        assert fake_clock.slept == [1.0]


@pytest.mark.parametrize("end_wait", [False, True], ids=["in-the-middle-of-the-wait", "at-the-end-of-the-wait"])
def test_the_run_says_once_that_it_stopped(api, media, scripted, settings, fake_clock, caplog, end_wait):
    import logging

    scripted(transient(), "ok")
    settings.IMAGEGEN_RETRY_BASE_DELAY, settings.IMAGEGEN_RETRY_MAX_DELAY = 4.0, 60.0
    task_id = api.generate()
    cancel_at_sleep(fake_clock, task_id, at=1, end_wait=end_wait)
    caplog.set_level(logging.INFO, logger="generation.run")
    run(task_id)
    said = [r.getMessage() for r in caplog.records if r.name == "generation.run"]
    assert said.count(f"task {task_id}: stopped (cancelled or taken over)") == 1


def test_a_run_whose_task_is_failed_for_good_does_not_say_it_stopped(api, media, scripted, caplog):
    import logging

    scripted(EngineError("content_rejected", "no", retry=Retry.NEVER))
    task_id = api.generate()
    caplog.set_level(logging.INFO, logger="generation.run")
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "failed"
    assert not [r for r in caplog.records if r.name == "generation.run" and "stopped" in r.getMessage()]


def test_a_task_that_fails_for_good_after_waiting_keeps_no_retry_time(api, media, scripted, settings, fake_clock):
    scripted(transient(), EngineError("content_rejected", "no", retry=Retry.NEVER))
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.error_code, task.next_attempt_at, task.retry_count) == ("failed", "content_rejected", None, 1)


def test_a_run_waiting_after_a_storage_error_says_once_that_it_stopped(api, media, scripted, settings, fake_clock,
                                                                          caplog, monkeypatch):
    import errno
    import logging

    from generation import storage

    def full(**kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "store_results", full)
    scripted("ok", "ok")
    settings.IMAGEGEN_RETRY_BASE_DELAY, settings.IMAGEGEN_RETRY_MAX_DELAY = 4.0, 60.0
    task_id = api.generate()
    cancel_at_sleep(fake_clock, task_id, at=1, end_wait=False)
    caplog.set_level(logging.INFO, logger="generation.run")
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "cancelled"
    said = [r.getMessage() for r in caplog.records if r.name == "generation.run"]
    assert said.count(f"task {task_id}: stopped (cancelled or taken over)") == 1
