"""run.task_hand_back: a worker that is stopping sends the task's message again instead of running it,
unless the task is finished or held by a live lease (someone runs it: no second message)."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from generation import run
from generation.models import GenerationTask

from .admin_helpers import make_tasks

pytestmark = pytest.mark.django_db


def messages_for(task) -> int:
    return sum(1 for m in OrmQ.objects.all() if task.task_id in str(m.task["args"]))


def test_a_pending_task_gets_a_new_message_and_the_log_says_why(caplog):
    caplog.set_level(logging.INFO, logger="generation.run")
    task, other = make_tasks(2, status="pending")
    run.task_hand_back(task_id=task.task_id)
    assert messages_for(task) == 1 and messages_for(other) == 0
    assert GenerationTask.objects.get(pk=task.pk).enqueued_at is not None
    assert [r.getMessage() for r in caplog.records if r.name == "generation.run"] == [
        f"task {task.task_id} handed back: its worker is stopping"]


def test_a_task_whose_lease_ran_out_gets_a_new_message():
    task = make_tasks(1, status="processing", lease_holder="elsewhere:1:aaaa",
                      lease_expires_at=timezone.now() - timedelta(seconds=1))[0]
    run.task_hand_back(task_id=task.task_id)
    assert messages_for(task) == 1


def test_a_lease_without_an_expiry_does_not_hold_the_task():
    task = make_tasks(1, status="retrying", lease_holder="elsewhere:1:aaaa", lease_expires_at=None)[0]
    run.task_hand_back(task_id=task.task_id)
    assert messages_for(task) == 1


def test_an_expiry_without_an_owner_does_not_hold_the_task():
    task = make_tasks(1, status="pending", lease_holder="", lease_expires_at=timezone.now() + timedelta(minutes=5))[0]
    run.task_hand_back(task_id=task.task_id)
    assert messages_for(task) == 1


def test_a_task_held_by_a_live_lease_gets_no_second_message(caplog):
    caplog.set_level(logging.INFO, logger="generation.run")
    task = make_tasks(1, status="processing", lease_holder="elsewhere:1:aaaa",
                      lease_expires_at=timezone.now() + timedelta(minutes=5))[0]
    run.task_hand_back(task_id=task.task_id)
    assert messages_for(task) == 0
    assert not [r for r in caplog.records if r.name == "generation.run"]


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_a_finished_task_gets_no_message(status):
    pending = make_tasks(1, status="pending")[0]  # another task that could be picked by mistake
    task = make_tasks(1, status=status)[0]
    run.task_hand_back(task_id=task.task_id)
    assert OrmQ.objects.count() == 0
    assert messages_for(pending) == 0


def test_an_unknown_task_gets_no_message():
    make_tasks(1, status="pending")
    run.task_hand_back(task_id="no-such-task")
    assert OrmQ.objects.count() == 0


def test_a_lease_ending_this_very_instant_still_holds_the_task():
    import time_machine

    end = timezone.now() + timedelta(seconds=30)
    task = make_tasks(1, status="processing", lease_holder="elsewhere:1:aaaa", lease_expires_at=end)[0]
    with time_machine.travel(end, tick=False):
        run.task_hand_back(task_id=task.task_id)
    assert messages_for(task) == 0
    with time_machine.travel(end + timedelta(microseconds=1), tick=False):
        run.task_hand_back(task_id=task.task_id)
    assert messages_for(task) == 1
