"""The shared upstream slots (VOLC_MAX_CONCURRENCY, generation/concurrency.py) in one process: at most
`count` holders at a time, a slot freed by its holder, its lease running out or its process dying, and a
waiter that keeps its own lease alive and gives up when its task is cancelled. (The process-level test,
tests/test_upstream_concurrency.py, drives it through two clusters.)"""

from __future__ import annotations

import socket
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from generation import concurrency
from generation.engines.base import Cancelled
from generation.models import UpstreamSlot
from generation.processes import new_lease_holder

pytestmark = pytest.mark.django_db


def a_dead_owner() -> str:
    # `true` has exited and been reaped: its pid names no process (until reused, which takes a while).
    probe = subprocess.Popen(["true"])
    probe.wait()
    return f"{socket.gethostname()}:{probe.pid}:deadbeef"


def test_no_more_than_count_holders_get_a_slot():
    holders = [f"elsewhere:{i}:aaaa" for i in range(4)]
    slots = [concurrency.try_acquire(holder=h, count=3, seconds=60) for h in holders]
    assert sorted(s for s in slots[:3]) == [0, 1, 2]
    assert slots[3] is None
    assert UpstreamSlot.objects.filter(slot__lt=3).exclude(holder="").count() == 3


def test_a_released_slot_is_taken_by_the_next_holder_and_only_its_holder_can_release_it():
    first = concurrency.try_acquire(holder="elsewhere:1:aaaa", count=1, seconds=60)
    assert first == 0
    concurrency.release(slot=0, holder="elsewhere:2:bbbb")  # not its holder: nothing happens
    assert concurrency.try_acquire(holder="elsewhere:2:bbbb", count=1, seconds=60) is None
    concurrency.release(slot=0, holder="elsewhere:1:aaaa")
    row = UpstreamSlot.objects.get(slot=0)
    assert (row.holder, row.expires_at, row.acquired_at) == ("", None, None)
    assert concurrency.try_acquire(holder="elsewhere:2:bbbb", count=1, seconds=60) == 0


def test_only_the_holder_extends_its_lease():
    concurrency.try_acquire(holder="elsewhere:1:aaaa", count=1, seconds=5)
    before = UpstreamSlot.objects.get(slot=0).expires_at
    assert concurrency.extend(slot=0, holder="elsewhere:2:bbbb", seconds=600) is False
    assert UpstreamSlot.objects.get(slot=0).expires_at == before
    assert concurrency.extend(slot=0, holder="elsewhere:1:aaaa", seconds=600) is True
    after = UpstreamSlot.objects.get(slot=0).expires_at
    assert after - timezone.now() > timedelta(seconds=500)


def test_a_slot_whose_lease_ran_out_is_taken_over():
    concurrency.try_acquire(holder="elsewhere:1:aaaa", count=1, seconds=60)
    assert concurrency.try_acquire(holder="elsewhere:2:bbbb", count=1, seconds=60) is None
    UpstreamSlot.objects.filter(slot=0).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert concurrency.try_acquire(holder="elsewhere:2:bbbb", count=1, seconds=60) == 0
    assert UpstreamSlot.objects.get(slot=0).holder == "elsewhere:2:bbbb"


def test_a_slot_without_an_expiry_is_free():
    UpstreamSlot.objects.create(slot=0, holder="elsewhere:1:aaaa", expires_at=None)
    assert concurrency.try_acquire(holder="elsewhere:2:bbbb", count=1, seconds=60) == 0


def test_a_slot_held_by_a_dead_process_on_this_machine_is_taken_at_once():
    dead = a_dead_owner()
    assert concurrency.try_acquire(holder=dead, count=1, seconds=600) == 0
    assert concurrency.try_acquire(holder=new_lease_holder(), count=1, seconds=600) == 0
    # A live process of this machine keeps its slot.
    assert concurrency.try_acquire(holder=new_lease_holder(), count=1, seconds=600) is None


def test_the_new_lease_lasts_the_promised_seconds():
    start = timezone.now()
    concurrency.try_acquire(holder="elsewhere:1:aaaa", count=1, seconds=120)
    row = UpstreamSlot.objects.get(slot=0)
    assert start <= row.acquired_at <= timezone.now()
    assert timedelta(seconds=119) <= row.expires_at - row.acquired_at <= timedelta(seconds=121)


def test_more_slots_can_be_added_later():
    assert concurrency.try_acquire(holder="elsewhere:1:aaaa", count=1, seconds=60) == 0
    assert concurrency.try_acquire(holder="elsewhere:2:bbbb", count=2, seconds=60) == 1
    assert UpstreamSlot.objects.count() == 2


def test_a_waiter_keeps_its_lease_and_gets_the_slot_when_it_is_freed():
    concurrency.try_acquire(holder="elsewhere:1:aaaa", count=1, seconds=60)
    waits = []

    def wait():
        waits.append(1)
        if len(waits) == 3:
            concurrency.release(slot=0, holder="elsewhere:1:aaaa")

    with concurrency.upstream_slot(holder="me:1:cccc", count=1, seconds=30, wait=wait, cancelled=lambda: False) as extend:
        assert UpstreamSlot.objects.get(slot=0).holder == "me:1:cccc"
        assert len(waits) == 3
        extend(900)  # the block's extender lengthens the slot's lease
        assert UpstreamSlot.objects.get(slot=0).expires_at - timezone.now() > timedelta(seconds=800)
    # Released on leaving the block.
    assert UpstreamSlot.objects.get(slot=0).holder == ""


def test_the_slot_is_released_when_the_call_fails():
    with pytest.raises(RuntimeError):
        with concurrency.upstream_slot(holder="me:1:cccc", count=1, seconds=30, wait=lambda: None,
                                       cancelled=lambda: False):
            raise RuntimeError("the upstream call failed")
    assert UpstreamSlot.objects.get(slot=0).holder == ""


def test_a_cancelled_waiter_gives_up_without_a_slot():
    concurrency.try_acquire(holder="elsewhere:1:aaaa", count=1, seconds=60)
    checks = []

    def cancelled():
        checks.append(1)
        return len(checks) >= 2

    with pytest.raises(Cancelled):
        with concurrency.upstream_slot(holder="me:1:cccc", count=1, seconds=30, wait=lambda: None,
                                       cancelled=cancelled):
            pytest.fail("a cancelled waiter must not get the slot")
    assert len(checks) == 2
    assert UpstreamSlot.objects.get(slot=0).holder == "elsewhere:1:aaaa"


def test_a_holder_that_loses_the_race_for_a_slot_does_not_take_it(monkeypatch):
    # Another worker takes the free slot between this one's read of the slots and its compare-and-set.
    real_shuffle = concurrency.random.shuffle
    raced = []

    def the_other_worker_wins(candidates):
        real_shuffle(candidates)
        if not raced:
            raced.append(1)
            assert concurrency.try_acquire(holder="elsewhere:9:rival", count=1, seconds=60) == 0

    concurrency.try_acquire(holder="elsewhere:1:aaaa", count=1, seconds=60)
    concurrency.release(slot=0, holder="elsewhere:1:aaaa")
    monkeypatch.setattr(concurrency.random, "shuffle", the_other_worker_wins)
    assert concurrency.try_acquire(holder="me:1:cccc", count=1, seconds=60) is None
    monkeypatch.undo()
    assert UpstreamSlot.objects.get(slot=0).holder == "elsewhere:9:rival"


def test_extending_or_releasing_one_slot_leaves_the_holder_s_other_slot_alone():
    # One holder name on two slots (a process that runs two calls at once under one owner).
    assert concurrency.try_acquire(holder="elsewhere:1:aaaa", count=1, seconds=60) == 0
    assert concurrency.try_acquire(holder="elsewhere:1:aaaa", count=2, seconds=60) == 1
    other = UpstreamSlot.objects.get(slot=1).expires_at
    concurrency.extend(slot=0, holder="elsewhere:1:aaaa", seconds=900)
    assert UpstreamSlot.objects.get(slot=1).expires_at == other
    concurrency.release(slot=0, holder="elsewhere:1:aaaa")
    assert UpstreamSlot.objects.get(slot=1).holder == "elsewhere:1:aaaa"


def test_a_waiter_s_poll_is_two_queries_once_the_slots_exist(django_assert_num_queries):
    concurrency.try_acquire(holder="elsewhere:1:aaaa", count=2, seconds=60)
    freed = concurrency.try_acquire(holder="elsewhere:2:bbbb", count=2, seconds=60)
    with django_assert_num_queries(1):  # all busy: one read, nothing to try
        assert concurrency.try_acquire(holder="me:1:cccc", count=2, seconds=60) is None
    concurrency.release(slot=freed, holder="elsewhere:2:bbbb")
    with django_assert_num_queries(2):  # one read, one compare-and-set
        assert concurrency.try_acquire(holder="me:1:cccc", count=2, seconds=60) == freed
