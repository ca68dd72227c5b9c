"""A run waits for one of the shared upstream slots (VOLC_MAX_CONCURRENCY) at the `queued_upstream` stage,
keeping its own lease alive while it waits, holds the slot under its own name for the call plus the lease
margin, and gives up waiting when its task is cancelled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from generation import concurrency, services
from generation.engines.base import Cancelled
from generation.models import GenerationTask, UpstreamSlot
from generation.run import TaskRun

from .conftest import run

pytestmark = pytest.mark.django_db(transaction=True)

OTHER = "elsewhere:1:aaaa"
CALL_SECONDS = 600


def test_a_run_waits_for_a_free_slot_keeping_its_lease_then_holds_it_in_its_own_name(api, media, scripted, settings,
                                                                                    monkeypatch):
    settings.VOLC_MAX_CONCURRENCY = 1
    settings.IMAGEGEN_LEASE_MARGIN = 30
    concurrency.try_acquire(holder=OTHER, count=1, seconds=600)
    seen = {}

    def call(request, progress):
        with progress.upstream_slot(CALL_SECONDS):
            slot = UpstreamSlot.objects.get(slot=0)
            seen.update(holder=slot.holder, expires_in=(slot.expires_at - timezone.now()).total_seconds(),
                        owner=GenerationTask.objects.get(task_id=task_id).lease_holder)
            return engine._preview.generate(request, progress)

    engine = scripted(call)
    task_id = api.generate()
    extend = TaskRun.extend

    def extend_then_free_the_slot(self, seconds):
        # The run's wait callback, called between polls of the busy slot: here the test looks at the task
        # as anyone would (it shows queued_upstream and its lease covers the promised call) and then the
        # other holder lets go. One thread: SQLite's shared test cache refuses concurrent writers at once.
        extend(self, seconds)
        seen["waits"] = seen.get("waits", 0) + 1
        row = GenerationTask.objects.get(task_id=task_id)
        if (UpstreamSlot.objects.get(slot=0).holder == OTHER and row.stage == "queued_upstream"
                and row.lease_expires_at > timezone.now() + timedelta(seconds=CALL_SECONDS)):
            seen["progress_while_waiting"] = row.progress
            concurrency.release(slot=0, holder=OTHER)
        elif seen["waits"] > 500:  # never showed the wait as it should: let the run end, and the test fail
            concurrency.release(slot=0, holder=OTHER)

    monkeypatch.setattr(TaskRun, "extend", extend_then_free_the_slot)
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"
    assert seen["progress_while_waiting"] == 5
    assert seen["holder"] == seen["owner"]
    assert CALL_SECONDS + 25 <= seen["expires_in"] <= CALL_SECONDS + 30
    assert UpstreamSlot.objects.get(slot=0).holder == ""  # released after the call


def test_with_no_concurrency_configured_one_slot_is_used(api, media, scripted, settings):
    settings.VOLC_MAX_CONCURRENCY = 0
    seen = {}

    def call(request, progress):
        with progress.upstream_slot(5):
            seen["held"] = list(UpstreamSlot.objects.exclude(holder="").values_list("slot", flat=True))
            return engine._preview.generate(request, progress)

    engine = scripted(call)
    task_id = api.generate()
    run(task_id)
    assert seen["held"] == [0] and UpstreamSlot.objects.count() == 1


def test_two_slots_let_a_second_run_in_without_waiting(api, media, scripted, settings):
    settings.VOLC_MAX_CONCURRENCY = 2
    concurrency.try_acquire(holder=OTHER, count=2, seconds=600)
    seen = {}

    def call(request, progress):
        with progress.upstream_slot(5):
            seen["held"] = sorted(UpstreamSlot.objects.exclude(holder="").values_list("holder", flat=True))
            return engine._preview.generate(request, progress)

    engine = scripted(call)
    task_id = api.generate()
    run(task_id)
    assert len(seen["held"]) == 2 and OTHER in seen["held"]


def test_a_run_cancelled_while_waiting_for_a_slot_stops_waiting(api, media, scripted, settings, monkeypatch):
    settings.VOLC_MAX_CONCURRENCY = 1
    concurrency.try_acquire(holder=OTHER, count=1, seconds=600)
    seen = {}

    def call(request, progress):
        try:
            with progress.upstream_slot(CALL_SECONDS):
                seen["got the slot"] = True
        except Cancelled:
            seen["cancelled"] = True
            raise
        return engine._preview.generate(request, progress)

    engine = scripted(call)
    task_id = api.generate()
    # Cancel while the run waits for a slot: at its first lease extension of the wait, from the same thread
    # (a second thread polling the in-memory test database can meet "table is locked" on either side).
    waits = []
    extend = TaskRun.extend

    def extend_then_cancel(run_, seconds):
        extend(run_, seconds)
        waits.append(GenerationTask.objects.get(task_id=task_id).stage)
        if len(waits) == 1:
            services.task_cancel(task=GenerationTask.objects.get(task_id=task_id))

    monkeypatch.setattr(TaskRun, "extend", extend_then_cancel)
    run(task_id)
    assert waits and waits[0] == "queued_upstream"
    assert seen == {"cancelled": True}
    assert GenerationTask.objects.get(task_id=task_id).status == "cancelled"
