"""The claim (scheduling._claim): which rows it takes (waiting, a lease run out, no lease), which it leaves (a
live lease, finished), what it writes (processing, a new holder, a lease for the expected duration, the first
start kept), and the give-up when every allowed attempt was started and none finished."""

import logging
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from generation import scheduling, selectors, webhooks
from generation.models import GenerationTask

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0) + timedelta(days=1)


@pytest.fixture
def fixed_now(monkeypatch):
    monkeypatch.setattr(scheduling, "timezone", SimpleNamespace(now=lambda: NOW))
    return NOW


def row(task_id):
    return GenerationTask.objects.get(task_id=task_id)


def test_a_waiting_task_is_claimed_with_a_new_holder_and_a_lease_for_its_expected_duration(api, fixed_now, settings):
    settings.IMAGEGEN_LEASE_MARGIN = 30
    task_id, other = api.generate(), api.generate()
    expected = selectors.expected_duration(row(task_id).model)
    task = scheduling._claim(task_id)
    assert task.task_id == task_id and task.status == "processing"
    assert re.fullmatch(r"[^:]+:\d+:[0-9a-f]{8}", task.lease_holder)
    assert task.lease_expires_at == NOW + timedelta(seconds=expected + 30)
    assert task.started_at == NOW
    assert (row(other).status, row(other).lease_holder, row(other).started_at) == ("pending", "", None)


def test_a_task_started_before_keeps_its_first_start(api, fixed_now):
    task_id = api.generate()
    first = NOW - timedelta(hours=1)
    GenerationTask.objects.filter(task_id=task_id).update(started_at=first, attempts=1)
    assert scheduling._claim(task_id).started_at == first


def test_unknown_and_finished_tasks_are_not_claimed(api, fixed_now):
    assert scheduling._claim("no-such-task") is None
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(status="completed")
    assert scheduling._claim(task_id) is None
    assert row(task_id).lease_holder == ""


def test_a_live_lease_is_left_alone_and_a_run_out_one_is_taken_over(api, fixed_now):
    held, expired, boundless, holderless = (api.generate() for _ in range(4))
    GenerationTask.objects.filter(task_id=held).update(status="processing", lease_holder="w:1:aaaaaaaa",
                                                       lease_expires_at=NOW + timedelta(seconds=1))
    GenerationTask.objects.filter(task_id=expired).update(status="processing", lease_holder="w:1:bbbbbbbb",
                                                          lease_expires_at=NOW - timedelta(seconds=1))
    GenerationTask.objects.filter(task_id=boundless).update(status="processing", lease_holder="w:1:cccccccc",
                                                            lease_expires_at=None)
    GenerationTask.objects.filter(task_id=holderless).update(lease_expires_at=NOW + timedelta(minutes=5))
    assert scheduling._claim(held) is None
    assert (row(held).lease_holder, row(held).lease_expires_at) == ("w:1:aaaaaaaa", NOW + timedelta(seconds=1))
    for task_id in (expired, boundless, holderless):
        task = scheduling._claim(task_id)
        assert task is not None and task.lease_holder not in ("", "w:1:bbbbbbbb", "w:1:cccccccc")
        assert task.lease_expires_at > NOW


def test_the_last_allowed_attempt_may_still_be_claimed(api, fixed_now, settings):
    settings.IMAGEGEN_MAX_ATTEMPTS = 3
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(attempts=2)
    assert scheduling._claim(task_id).status == "processing"


def test_a_task_whose_every_attempt_was_interrupted_is_failed_with_its_debris_removed(api, media, fixed_now, settings,
                                                                                    monkeypatch, caplog):
    settings.IMAGEGEN_MAX_ATTEMPTS = 3
    sent = []
    monkeypatch.setattr(webhooks, "task_event", lambda task, event: sent.append((task.task_id, event)))
    caplog.set_level(logging.ERROR, logger="generation.scheduling")
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(
        attempts=3, status="processing", lease_holder="w:1:dddddddd", lease_expires_at=NOW - timedelta(seconds=5))
    debris = media / row(task_id).file_prefix() / "dddddddd-0.png"
    debris.parent.mkdir(parents=True)
    debris.write_bytes(b"half")
    assert scheduling._claim(task_id) is None
    task = row(task_id)
    assert (task.status, task.stage, task.completed_at, task.error_code, task.error_message) == (
        "failed", "done", NOW, "interrupted", "gave up after 3 interrupted attempts")
    assert (task.lease_holder, task.lease_expires_at) == ("", None)
    assert sent == [(task_id, "failed")]
    assert [r.getMessage() for r in caplog.records if r.name == "generation.scheduling"] == [
        f"task {task_id} gave up after 3 interrupted attempts"]
    assert not debris.exists()


def test_the_lease_is_for_the_expected_duration_of_the_task_s_own_model(api, fixed_now, settings, monkeypatch):
    settings.IMAGEGEN_LEASE_MARGIN = 30
    task_id = api.generate()
    model = row(task_id).model
    monkeypatch.setattr(selectors, "expected_duration", lambda name: 77 if name == model else 5)
    assert scheduling._claim(task_id).lease_expires_at == NOW + timedelta(seconds=77 + 30)


def test_giving_up_on_one_task_fails_no_other(api, fixed_now, settings):
    settings.IMAGEGEN_MAX_ATTEMPTS = 2
    dead, waiting = api.generate(), api.generate()
    GenerationTask.objects.filter(task_id=dead).update(attempts=2)  # its holder was cleared, like the other's
    assert scheduling._claim(dead) is None
    assert (row(dead).status, row(waiting).status) == ("failed", "pending")


def test_a_lease_ending_this_very_instant_still_holds_its_task(api, fixed_now, settings):
    # Even a task out of attempts is not given up while a lease holds it: its worker may still finish.
    settings.IMAGEGEN_MAX_ATTEMPTS = 1
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(status="processing", lease_holder="w:1:aaaaaaaa",
                                                          lease_expires_at=NOW, attempts=1)
    assert scheduling._claim(task_id) is None
    assert (row(task_id).status, row(task_id).lease_holder) == ("processing", "w:1:aaaaaaaa")


def test_debris_is_every_file_of_the_task_no_image_row_names(api, media, caplog):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from generation.models import Image

    from .conftest import files_under

    task = row(api.generate())
    prefix = task.file_prefix()
    for name in ("kept-0.png", "kept-0.webp", "dead-0.png", "dead-0.webp"):
        default_storage.save(f"{prefix}/{name}", ContentFile(b"x"))
    Image.objects.create(task=task, index=0, file_path=f"{prefix}/kept-0.png", thumbnail_path=f"{prefix}/kept-0.webp",
                         file_size=1, width=1, height=1)
    caplog.set_level(logging.INFO, logger="generation.scheduling")
    scheduling.remove_debris(task)
    assert sorted(p.rsplit("/", 1)[1] for p in files_under(media)) == ["kept-0.png", "kept-0.webp"]
    assert [r.getMessage() for r in caplog.records if r.name == "generation.scheduling"] == [
        f"task {task.task_id}: removing 2 files left by an interrupted attempt"]


def test_a_task_cancelled_between_the_claims_read_and_its_write_is_not_claimed(api, fixed_now, monkeypatch):
    from generation import services

    task_id = api.generate()
    real = selectors.expected_duration

    def cancelled_meanwhile(model):  # read by the claim after it read the row, before it writes
        services.task_cancel(task=row(task_id))
        return real(model)

    monkeypatch.setattr(selectors, "expected_duration", cancelled_meanwhile)
    assert scheduling._claim(task_id) is None
    assert (row(task_id).status, row(task_id).lease_holder) == ("cancelled", "")
