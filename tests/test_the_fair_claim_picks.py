"""Which waiting task the fair rule picks (scheduling.next_claimable): staff's front first (highest
priority, then oldest), else the client whose turn it is, and of that client's tasks the one it moved
ahead of its own (the latest move first), else the one the queue message names, else its oldest."""

from datetime import timedelta

import pytest
from django.utils import timezone

from generation import scheduling
from generation.models import GenerationTask

from .conftest import Api

pytestmark = pytest.mark.django_db

START = timezone.now() - timedelta(hours=1)


def task(address: str, minute: int, priority: int = 0) -> str:
    api = Api()
    api.client.defaults["REMOTE_ADDR"] = address
    task_id = api.generate(prompt=f"{address} {minute}")
    GenerationTask.objects.filter(task_id=task_id).update(created_at=START + timedelta(minutes=minute),
                                                          priority=priority)
    return task_id


def picked(preferred=None) -> str | None:
    chosen = scheduling.next_claimable(timezone.now(), preferred=preferred)
    return None if chosen is None else chosen.task_id


def test_nothing_waiting_picks_nothing(db):
    assert picked() is None


def test_staff_s_highest_priority_goes_first_then_the_oldest_of_it(db):
    task("10.0.0.1", 0)
    task("10.0.0.2", 1, priority=1)
    task("10.0.0.4", 3, priority=3)
    older_top = task("10.0.0.3", 2, priority=3)  # created later, but its created_at is older
    assert picked() == older_top
    GenerationTask.objects.filter(priority=3).update(priority=0)
    assert picked() == GenerationTask.objects.get(priority=1).task_id


def test_of_the_client_s_own_tasks_its_latest_move_ahead_goes_first(db):
    task("10.0.0.1", 0)
    task("10.0.0.1", 1, priority=-1)
    latest_move = task("10.0.0.1", 2, priority=-2)
    task("10.0.0.2", 5, priority=-9)  # another client's own move does not give it the turn
    assert picked() == latest_move
    # among moves of one rank the oldest goes first (this one was created last, with an older created_at)
    GenerationTask.objects.filter(task_id=latest_move).update(priority=-1, created_at=START + timedelta(seconds=30))
    assert picked() == latest_move


def test_the_message_s_task_runs_if_it_is_the_client_s_own_else_the_client_s_oldest(db):
    oldest = task("10.0.0.1", 0)
    named = task("10.0.0.1", 3)
    other = task("10.0.0.2", 1)
    assert picked(preferred=named) == named
    assert picked(preferred=other) == oldest  # it is 10.0.0.1's turn: its oldest waiting task
    assert picked() == oldest
    assert picked(preferred="no-such-task") == oldest


def test_the_client_s_oldest_task_runs_not_its_first_created(db):
    task("10.0.0.1", 5)
    oldest = task("10.0.0.1", 1)
    assert picked() == oldest
