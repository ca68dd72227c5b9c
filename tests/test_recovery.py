"""Recovery: tasks whose worker is gone are handed back; lost queue messages are sent again."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from generation import recovery
from generation.models import GenerationTask

from .conftest import run

pytestmark = pytest.mark.django_db


def dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def hold(task_id, owner, *, expires_in=300):
    GenerationTask.objects.filter(task_id=task_id).update(
        status="processing", lease_holder=owner, lease_expires_at=timezone.now() + timedelta(seconds=expires_in),
        attempts=1,
    )


def test_a_task_whose_worker_process_died_on_this_machine_is_recovered_at_once(api, media):
    import socket

    task_id = api.generate()
    hold(task_id, f"{socket.gethostname()}:{dead_pid()}:abcd")
    messages_before = OrmQ.objects.count()
    assert recovery.tasks_recover() == 1
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "retrying" and task.lease_holder == "" and task.error_code == "worker_lost"
    assert task.retry_count == 1
    assert OrmQ.objects.count() == messages_before + 1
    run(task_id)
    task.refresh_from_db()
    assert task.status == "completed" and task.images.count() == 1 and task.attempts == 2


def test_a_live_worker_on_this_machine_keeps_its_task(api):
    import os
    import socket

    task_id = api.generate()
    hold(task_id, f"{socket.gethostname()}:{os.getpid()}:abcd")
    assert recovery.tasks_recover() == 0
    assert GenerationTask.objects.get(task_id=task_id).status == "processing"


def test_a_task_held_on_another_machine_is_recovered_only_after_its_lease_expires(api):
    task_id = api.generate()
    hold(task_id, "other-host:123:abcd")
    assert recovery.tasks_recover() == 0
    GenerationTask.objects.filter(task_id=task_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert recovery.tasks_recover() == 1
    assert GenerationTask.objects.get(task_id=task_id).status == "retrying"


def test_a_task_whose_workers_keep_dying_is_given_up_with_a_clear_error(api, settings):
    settings.IMAGEGEN_MAX_ATTEMPTS = 2
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(status="retrying", attempts=2)
    run(task_id)
    body = api.get(f"task/{task_id}").json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "interrupted"


def test_a_task_given_up_after_its_last_attempt_died_mid_write_leaves_no_file(api, media, settings):
    # Found by tests/faults/test_worker_killed.py: the last attempt was killed after writing its images.
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from .conftest import files_under

    settings.IMAGEGEN_MAX_ATTEMPTS = 2
    task_id = api.generate()
    task = GenerationTask.objects.get(task_id=task_id)
    default_storage.save(f"{task.file_prefix()}/dead0001-0.png", ContentFile(b"half an image"))
    GenerationTask.objects.filter(task_id=task_id).update(status="retrying", attempts=2)
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).error_code == "interrupted"
    assert files_under(media) == []


def test_a_worker_whose_cluster_is_stopping_hands_its_message_back_instead_of_running(api, media, monkeypatch):
    # A graceful stop lets workers drain the messages their cluster already took, a whole task each; those
    # are handed back so the stop ends within the task timeout (tests/faults/test_graceful_stop.py).
    import os
    import socket
    from types import SimpleNamespace

    from django_q.conf import Conf
    from django_q.status import Stat

    from generation.tasks import run_generation

    task_id = api.generate()
    sentinel = SimpleNamespace(sentinel=os.getppid(), host=socket.gethostname(), status=Conf.STOPPING)
    monkeypatch.setattr(Stat, "get_all", staticmethod(lambda broker=None: [sentinel]))
    messages = OrmQ.objects.count()
    run_generation(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.attempts, task.lease_holder) == ("pending", 0, "")
    assert OrmQ.objects.count() == messages + 1

    sentinel.status = Conf.WORKING  # a running cluster runs it
    run_generation(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"


def test_a_pending_task_whose_message_was_lost_is_enqueued_again(api, settings):
    task_id = api.generate()
    OrmQ.objects.all().delete()
    assert recovery.tasks_recover() == 0  # not yet: it may simply be waiting in a long queue
    GenerationTask.objects.filter(task_id=task_id).update(
        enqueued_at=timezone.now() - timedelta(seconds=settings.IMAGEGEN_REQUEUE_AFTER + 1)
    )
    assert recovery.tasks_recover() == 1
    assert OrmQ.objects.count() == 1


def test_the_recovery_sweep_is_scheduled_every_minute(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="generation.tasks.recover_tasks")
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1 and schedule.repeats == -1


def test_recovery_releases_exactly_the_lost_tasks_and_says_so(api, caplog):
    # Three tasks: one lost on another machine (lease ran out), one held by a live lease, one lost message.
    import logging

    caplog.set_level(logging.INFO, logger="generation.recovery")
    lost, held = api.generate(), api.generate()
    GenerationTask.objects.filter(task_id=lost).update(
        status="processing", stage="generating", lease_holder="other-host:1:aaaa", attempts=1,
        lease_expires_at=timezone.now() - timedelta(seconds=1))
    hold(held, "other-host:2:bbbb")
    OrmQ.objects.all().delete()
    caplog.clear()

    assert recovery.tasks_recover() == 1
    row = GenerationTask.objects.get(task_id=lost)
    assert (row.status, row.stage, row.lease_holder, row.lease_expires_at) == ("retrying", "waiting_retry", "", None)
    assert (row.error_code, row.error_message) == ("worker_lost", "the worker running this task stopped")
    assert row.retry_count == 1
    other = GenerationTask.objects.get(task_id=held)
    assert (other.status, other.lease_holder, other.retry_count) == ("processing", "other-host:2:bbbb", 0)
    assert OrmQ.objects.count() == 1
    assert [r.getMessage() for r in caplog.records if r.name == "generation.recovery"] == [
        f"task {lost}: its worker (other-host:1:aaaa) is gone; enqueued again"]


def test_every_lost_task_is_recovered_in_one_sweep(api):
    ids = [api.generate() for _ in range(3)]
    for i, task_id in enumerate(ids):
        GenerationTask.objects.filter(task_id=task_id).update(
            status="processing", lease_holder=f"other-host:{i}:aaaa", lease_expires_at=None if i == 1 else
            timezone.now() - timedelta(seconds=1))
    # The middle one is held by a live lease: the sweep goes on past it.
    GenerationTask.objects.filter(task_id=ids[1]).update(lease_expires_at=timezone.now() + timedelta(minutes=5))
    assert recovery.tasks_recover() == 2
    assert [GenerationTask.objects.get(task_id=t).status for t in ids] == ["retrying", "processing", "retrying"]


def test_a_lease_without_an_expiry_is_lost(api):
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(status="processing", lease_holder="other-host:1:aaaa",
                                                          lease_expires_at=None)
    assert recovery.tasks_recover() == 1


def test_a_task_taken_by_another_worker_during_the_sweep_is_left_alone(api, monkeypatch):
    # The sweep read the row with the old owner; a new worker claims it before the sweep writes.
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(status="processing", lease_holder="other-host:1:aaaa",
                                                          lease_expires_at=timezone.now() - timedelta(seconds=1))
    import generation.recovery as module

    real = module.holder_is_dead

    def claimed_meanwhile(owner):
        GenerationTask.objects.filter(task_id=task_id).update(
            lease_holder="other-host:2:new", lease_expires_at=timezone.now() + timedelta(minutes=5))
        return real(owner)

    monkeypatch.setattr(module, "holder_is_dead", claimed_meanwhile)
    # (holder_is_dead is not asked when the lease ran out; ask the sweep with a live-looking lease instead)
    GenerationTask.objects.filter(task_id=task_id).update(lease_expires_at=timezone.now() + timedelta(minutes=5),
                                                          lease_holder=f"{__import__('socket').gethostname()}:{dead_pid()}:x")
    assert recovery.tasks_recover() == 0
    row = GenerationTask.objects.get(task_id=task_id)
    assert (row.status, row.lease_holder, row.retry_count) == ("processing", "other-host:2:new", 0)


def test_a_task_finished_during_the_sweep_is_not_reopened(api, monkeypatch):
    import socket

    import generation.recovery as module

    task_id = api.generate()
    owner = f"{socket.gethostname()}:{dead_pid()}:x"
    GenerationTask.objects.filter(task_id=task_id).update(status="processing", lease_holder=owner,
                                                          lease_expires_at=timezone.now() + timedelta(minutes=5))
    real = module.holder_is_dead

    def finished_meanwhile(who):
        GenerationTask.objects.filter(task_id=task_id).update(status="completed", stage="done")
        return real(who)

    monkeypatch.setattr(module, "holder_is_dead", finished_meanwhile)
    assert recovery.tasks_recover() == 0
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"


def test_lost_messages_are_counted_and_logged_each(api, settings, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="generation.recovery")
    ids = [api.generate() for _ in range(2)]
    finished = api.generate()
    OrmQ.objects.all().delete()
    old = timezone.now() - timedelta(seconds=settings.IMAGEGEN_REQUEUE_AFTER + 1)
    GenerationTask.objects.update(enqueued_at=old)
    GenerationTask.objects.filter(task_id=finished).update(status="completed", stage="done")
    caplog.clear()
    assert recovery.tasks_recover() == 2
    assert OrmQ.objects.count() == 2
    assert sorted(r.getMessage() for r in caplog.records if r.name == "generation.recovery") == sorted(
        f"task {t}: no worker took it for {settings.IMAGEGEN_REQUEUE_AFTER}s; enqueued again" for t in ids)


def test_a_task_with_an_owner_is_not_a_lost_message(api, settings):
    import os
    import socket

    task_id = api.generate()
    OrmQ.objects.all().delete()
    GenerationTask.objects.filter(task_id=task_id).update(
        enqueued_at=timezone.now() - timedelta(seconds=settings.IMAGEGEN_REQUEUE_AFTER + 1),
        status="processing", lease_holder=f"{socket.gethostname()}:{os.getpid()}:abcd",
        lease_expires_at=timezone.now() + timedelta(minutes=5))
    assert recovery.tasks_recover() == 0
    assert OrmQ.objects.count() == 0


def test_the_sweep_reads_every_candidate_in_one_query(api):
    # Each field the sweep reads is in its one read: a field left out would cost a query per task.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ids = [api.generate() for _ in range(3)]
    for i, task_id in enumerate(ids):
        GenerationTask.objects.filter(task_id=task_id).update(
            status="processing", lease_holder=f"other-host:{i}:aaaa", lease_expires_at=timezone.now() - timedelta(seconds=1))
    lost = [api.generate() for _ in range(2)]  # and two whose queue message was lost
    GenerationTask.objects.filter(task_id__in=lost).update(enqueued_at=timezone.now() - timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        assert recovery.tasks_recover() == 5
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT") and '"tasks"' in q["sql"]]
    assert len(reads) == 2, reads  # the leased candidates, then the lost messages


def test_a_lease_holds_until_its_last_instant(api):
    import time_machine

    task_id = api.generate()
    end = timezone.now() + timedelta(seconds=30)
    GenerationTask.objects.filter(task_id=task_id).update(status="processing", lease_holder="other-host:1:aaaa",
                                                          lease_expires_at=end)
    with time_machine.travel(end, tick=False):
        assert recovery.tasks_recover() == 0
    with time_machine.travel(end + timedelta(microseconds=1), tick=False):
        assert recovery.tasks_recover() == 1
