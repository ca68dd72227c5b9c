"""A task taken up again with a retry time still ahead (after a restart or a recovery) waits for that time
before its next attempt — not less — keeping its lease alive at least every second, on the fake clock."""

from datetime import timedelta

import pytest

from generation import clock
from generation.models import GenerationTask

from .conftest import run

pytestmark = pytest.mark.django_db


def test_it_waits_until_the_retry_time_then_runs(api, media, scripted, settings, fake_clock):
    settings.IMAGEGEN_LEASE_MARGIN = 30
    seen = {}

    def call(request, progress):
        seen["at"] = clock.now()
        return engine._preview.generate(request, progress)

    engine = scripted(call)
    task_id = api.generate()
    due = fake_clock.now() + timedelta(seconds=7.5)
    GenerationTask.objects.filter(task_id=task_id).update(status="retrying", next_attempt_at=due)
    leases = []

    def note_lease(n, seconds):
        row = GenerationTask.objects.get(task_id=task_id)
        # real seconds the lease covers from now, against what is left of the (fake) wait
        leases.append(((row.lease_expires_at - clock.clock.now() + fake_clock.offset).total_seconds(),
                       (due - fake_clock.now()).total_seconds()))

    fake_clock.on_sleep = note_lease
    run(task_id)

    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "completed" and task.next_attempt_at is None
    assert seen["at"] >= due  # not a moment early
    assert (seen["at"] - due).total_seconds() < 1.0
    # One-second steps (the lease is renewed between them), the last one what was left.
    assert fake_clock.slept and all(0 < s <= 1.0 for s in fake_clock.slept)
    assert sum(fake_clock.slept) == pytest.approx(7.5, abs=0.5)
    # While waiting the lease covers what is left of the wait (up to 5 s) + 5 s + the margin.
    first_lease, first_left = leases[0]
    assert first_lease == pytest.approx(min(first_left, 5) + 5 + 30, abs=1.5)


def test_a_task_due_already_runs_at_once(api, media, scripted, fake_clock):
    engine = scripted("ok")
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(status="retrying",
                                                          next_attempt_at=fake_clock.now() - timedelta(seconds=1))
    run(task_id)
    assert len(engine.calls) == 1 and fake_clock.slept == []
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"


def test_a_wait_that_ends_this_very_instant_neither_sleeps_nor_writes(api, django_assert_num_queries):
    from django.utils import timezone

    from generation.lease import Lease

    class Frozen:
        def __init__(self):
            self.at, self.slept = timezone.now(), []

        def now(self):
            return self.at

        def sleep(self, seconds):
            self.slept.append(seconds)
            raise AssertionError(f"slept {seconds} s at the end of the wait")

    task = GenerationTask.objects.get(task_id=api.generate())
    GenerationTask.objects.filter(pk=task.pk).update(status="processing", lease_holder="me:1:aaaa")
    frozen = Frozen()
    previous = clock.install(frozen)
    try:
        with django_assert_num_queries(0):
            assert Lease(task, "me:1:aaaa").hold_until(frozen.at) is True
    finally:
        clock.install(previous)
    assert frozen.slept == []
