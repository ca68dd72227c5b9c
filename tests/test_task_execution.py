"""Running a task: the state machine, retries by the error taxonomy, leases, cancellation, no debris."""

import pytest
from django.utils import timezone

from generation import services
from generation.engines.base import Cancelled, EngineError, Retry
from generation.models import GenerationTask
from generation.run import TaskRun

from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def transient(code="upstream_unreachable"):
    return EngineError(code, "connection refused", retry=Retry.BACKOFF, upstream_code="", request_id="r-1")


def rate_limited():
    return EngineError("quota_exceeded", "VolcEngine error 50429", retry=Retry.BACKOFF, upstream_code="50429")


def test_a_transient_error_is_retried_with_backoff_until_it_succeeds(api, media, scripted):
    engine = scripted(transient(), transient(), "ok")
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "completed"
    assert len(engine.calls) == 3
    assert task.retry_count == 2
    assert task.attempts == 3
    assert task.images.count() == 1
    assert api.get(f"task/{task_id}").json()["error"] is None


def test_it_gives_up_after_the_configured_attempts_with_the_last_error(api, media, scripted, settings):
    settings.IMAGEGEN_MAX_ATTEMPTS = 3
    engine = scripted(*[transient() for _ in range(5)])
    task_id = api.generate()
    run(task_id)
    body = api.get(f"task/{task_id}").json()
    assert body["status"] == "failed"
    assert len(engine.calls) == 3
    assert body["error"]["code"] == "upstream_unreachable"
    assert body["error"]["message"]
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.upstream_request_id == "r-1"
    assert files_under(media) == []


def test_rate_limit_rejections_do_not_use_up_the_attempts(api, media, scripted, settings):
    settings.IMAGEGEN_MAX_ATTEMPTS = 2
    engine = scripted(*[rate_limited() for _ in range(5)], "ok")
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "completed"
    assert len(engine.calls) == 6
    assert task.attempts == 1 and task.retry_count == 5


def test_rate_limit_rejections_have_their_own_budget(api, media, scripted, settings):
    settings.IMAGEGEN_QUOTA_RETRIES = 3
    engine = scripted(*[rate_limited() for _ in range(10)])
    task_id = api.generate()
    run(task_id)
    assert len(engine.calls) == 4
    body = api.get(f"task/{task_id}").json()
    assert body["status"] == "failed" and body["error"]["code"] == "quota_exceeded"


def test_a_final_error_is_not_retried(api, media, scripted):
    engine = scripted(EngineError("content_rejected", "Text Risk Not Pass", retry=Retry.NEVER, upstream_code="50412"))
    task_id = api.generate()
    run(task_id)
    assert len(engine.calls) == 1
    body = api.get(f"task/{task_id}").json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "content_rejected"
    assert "rephrase" in body["error"]["message"].lower()


def test_retry_once_with_a_new_seed_changes_the_seed_and_stops_at_the_second_failure(api, media, scripted):
    rejected = lambda: EngineError("content_rejected", "Post Img Risk Not Pass", retry=Retry.ONCE_NEW_SEED)  # noqa: E731
    engine = scripted(rejected(), rejected(), "ok")
    task_id = api.generate(seed=5)
    run(task_id)
    assert len(engine.calls) == 2
    assert engine.calls[0].seed == 5 and engine.calls[1].seed != 5
    assert GenerationTask.objects.get(task_id=task_id).status == "failed"


def test_retry_once_succeeds_on_the_second_attempt(api, media, scripted):
    engine = scripted(EngineError("upstream_error", "50500", retry=Retry.ONCE), "ok")
    task_id = api.generate()
    run(task_id)
    assert len(engine.calls) == 2
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"


def test_a_task_is_retrying_with_a_next_attempt_time_while_it_waits(api, media, scripted, settings):
    settings.IMAGEGEN_RETRY_BASE_DELAY = 0.2
    seen = {}

    def look(request, progress):
        task = GenerationTask.objects.get(task_id=task_id)
        seen.update(status=task.status, next_attempt_at=task.next_attempt_at, error=task.error_code)
        return scripted_engine._preview.generate(request, progress)

    scripted_engine = scripted(transient(), look)
    task_id = api.generate()
    original = TaskRun._resume_after_wait

    def spy(self):
        row = GenerationTask.objects.get(pk=self.task.pk)
        seen["waiting"] = (row.status, row.stage, row.next_attempt_at is not None, row.retry_count)
        return original(self)

    TaskRun._resume_after_wait = spy
    try:
        run(task_id)
    finally:
        TaskRun._resume_after_wait = original
    assert seen["waiting"] == ("retrying", "waiting_retry", True, 1)
    assert seen["status"] == "processing"
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"


def test_a_task_held_by_a_live_lease_is_not_run_again(api, media, scripted):
    engine = scripted()
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(
        status="processing", lease_holder="elsewhere:1:abc", lease_expires_at=timezone.now() + timezone.timedelta(minutes=5)
    )
    run(task_id)
    assert engine.calls == []
    assert GenerationTask.objects.get(task_id=task_id).status == "processing"


def test_a_finished_task_is_never_run_again(api, media, scripted):
    engine = scripted()
    task_id = api.generate()
    run(task_id)
    run(task_id)
    assert len(engine.calls) == 1
    assert GenerationTask.objects.get(task_id=task_id).images.count() == 1


def test_cancelling_during_generation_discards_the_result(api, media, scripted):
    seen = {}

    def cancel_midway(request, progress):
        services.task_cancel(task=GenerationTask.objects.get(task_id=task_id))
        progress.stage("generating", fraction=0.5)
        # Noted, not asserted here: the run's catch-all would swallow an AssertionError raised in the engine.
        seen["cancelled"] = progress.cancelled()
        if seen["cancelled"]:
            raise Cancelled()
        return engine._preview.generate(request, progress)

    engine = scripted(cancel_midway)
    task_id = api.generate()
    run(task_id)
    assert seen["cancelled"] is True, "the engine should have seen the cancellation"
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "cancelled" and task.error_code == "cancelled"
    assert task.images.count() == 0
    assert files_under(media) == []


def test_the_engine_s_own_cancellation_check_sees_a_cancellation(api, media, scripted):
    seen = {}

    def cancelled_before_any_report(request, progress):
        services.task_cancel(task=GenerationTask.objects.get(task_id=task_id))
        seen["cancelled"] = progress.cancelled()  # the first check of the run: no report came before it
        return engine._preview.generate(request, progress)

    engine = scripted(cancelled_before_any_report)
    task_id = api.generate()
    run(task_id)
    assert seen["cancelled"] is True
    assert GenerationTask.objects.get(task_id=task_id).status == "cancelled"
    assert files_under(media) == []


def test_a_cancellation_after_generation_leaves_no_files(api, media, scripted):
    def cancel_after(request, progress):
        result = engine._preview.generate(request, progress)
        GenerationTask.objects.filter(task_id=task_id).update(status="cancelled")
        return result

    engine = scripted(cancel_after)
    task_id = api.generate()
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).images.count() == 0
    assert files_under(media) == []


def test_files_left_by_an_interrupted_attempt_are_removed_before_the_next(api, media, scripted):
    scripted()
    task_id = api.generate()
    task = GenerationTask.objects.get(task_id=task_id)
    debris = media / task.file_prefix() / "deadbeef-0.png"
    debris.parent.mkdir(parents=True)
    debris.write_bytes(b"half a png")
    run(task_id)
    assert not debris.exists()
    assert len(files_under(media)) == 2


def test_corrupt_upstream_data_fails_the_task_with_a_clear_message(api, media, scripted):
    from generation.engines.base import EngineResult

    scripted(lambda request, progress: EngineResult(images=[b"\x89PNG\r\n\x1a\nnot really"]))
    task_id = api.generate()
    run(task_id)
    body = api.get(f"task/{task_id}").json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "bad_upstream_data"
    assert files_under(media) == []


def test_a_storage_failure_is_retried_and_leaves_no_partial_files(api, media, scripted, monkeypatch):
    from generation import storage

    real_save = storage._save
    calls = {"n": 0}

    def flaky_save(path, data):
        calls["n"] += 1
        if calls["n"] == 2:  # the first original is written, then the disk is full
            raise OSError(28, "No space left on device")
        return real_save(path, data)

    monkeypatch.setattr(storage, "_save", flaky_save)
    scripted()
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "completed"
    assert task.retry_count == 1
    assert len(files_under(media)) == 2


def test_a_write_that_fails_half_way_leaves_no_partial_file(api, media, scripted, monkeypatch, settings):
    # A full disk fails the write after part of the file is on disk, and Django's file storage leaves that
    # part behind (found by tests/faults/test_disk_full.py, which fills a real tmpfs).
    import errno
    import os

    from django.core.files.storage import FileSystemStorage

    def disk_full(self, name, content):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(content.read()[:1000])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", disk_full)
    settings.IMAGEGEN_MAX_ATTEMPTS = 2
    scripted()
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.error_code, task.attempts) == ("failed", "storage_error", 2)
    assert "No space left on device" in task.error_message
    assert files_under(media) == []


def test_progress_is_written_while_the_engine_works(api, media, scripted):
    seen = []

    def slow(request, progress):
        for fraction in (0.25, 0.5, 0.75):
            progress.stage("generating", fraction=fraction)
            progress._last_write = 0  # write every report in this test
            seen.append(GenerationTask.objects.get(task_id=task_id).progress)
        return engine._preview.generate(request, progress)

    engine = scripted(slow)
    task_id = api.generate()
    run(task_id)
    assert seen == sorted(seen) and seen[-1] > seen[0] > 0
