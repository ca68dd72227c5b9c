"""The progress a run reports per stage (TaskRun._estimate) and what a stage report writes (TaskRun.stage):
queued upstream 5-15, generating 15-85 (from the engine's fraction, else from the time taken against the
expected duration, at most 95 % of it), downloading 88, saving 95; progress never goes back; a report of
the same stage writes at most once a second; a new stage or an upstream task id writes at once."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from generation import run as run_module
from generation import scheduling, webhooks
from generation.models import GenerationTask

pytestmark = pytest.mark.django_db


@pytest.fixture
def mono(monkeypatch):
    """The run's monotonic clock, set by the test."""
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(run_module, "time", SimpleNamespace(monotonic=lambda: clock.now, sleep=lambda s: None))
    return clock


def claimed_run(api) -> run_module.TaskRun:
    task = scheduling.claim_next(api.generate())
    return run_module.TaskRun(task, task.lease_holder)


def row(run):
    return GenerationTask.objects.get(pk=run.task.pk)


@pytest.mark.parametrize("fraction, expected", [(None, 5), (0, 5), (0.5, 10), (0.99, 14), (1.0, 15)])
def test_queued_upstream_counts_from_five_to_fifteen(api, mono, fraction, expected):
    assert claimed_run(api)._estimate("queued_upstream", fraction) == expected


@pytest.mark.parametrize("fraction, expected", [(0, 15), (0.5, 50), (0.99, 84), (1.0, 85), (1.7, 85), (-0.5, 15)])
def test_generating_counts_from_fifteen_to_eighty_five_by_the_engine_s_fraction(api, mono, fraction, expected):
    assert claimed_run(api)._estimate("generating", fraction) == expected


@pytest.mark.parametrize("expected_seconds, started, now, progress",
                         [(10, 1000, 1005, 50), (10, 1000, 1002, 29), (10, 1000, 1100, 81), (0, 0, 0.05, 50)])
def test_generating_without_a_fraction_counts_the_time_against_the_expected_duration(api, mono, expected_seconds,
                                                                                    started, now, progress):
    run = claimed_run(api)
    run.expected = expected_seconds
    run.attempt_started = started
    mono.now = now
    assert run._estimate("generating", None) == progress


def test_downloading_and_saving_have_fixed_estimates_and_other_stages_keep_the_progress(api, mono):
    run = claimed_run(api)
    run._progress = 42
    assert (run._estimate("downloading", None), run._estimate("saving", None)) == (88, 95)
    assert (run._estimate("downloading", 0.1), run._estimate("saving", 0.9)) == (88, 95)
    assert run._estimate("done", 0.5) == 42


def test_a_stage_report_writes_stage_progress_and_a_lease_for_the_expected_duration(api, mono, settings):
    settings.IMAGEGEN_LEASE_MARGIN = 30
    run = claimed_run(api)
    run.expected = 20
    before = timezone.now()
    run.stage("generating", fraction=0.5)
    task = row(run)
    assert (task.stage, task.progress) == ("generating", 50)
    assert before + timedelta(seconds=50) <= task.lease_expires_at <= timezone.now() + timedelta(seconds=50)
    assert (run._stage, run._progress, run._last_write) == ("generating", 50, 1000.0)


def test_progress_never_goes_back(api, mono):
    run = claimed_run(api)
    run.stage("generating", fraction=0.5)
    mono.now += 5
    run.stage("generating", fraction=0.1)
    assert row(run).progress == 50
    run.stage("queued_upstream", fraction=0)
    assert (row(run).stage, row(run).progress) == ("queued_upstream", 50)


def test_the_same_stage_is_written_at_most_once_a_second(api, mono):
    run = claimed_run(api)
    run.stage("generating", fraction=0.2)
    assert row(run).progress == 29
    mono.now += 0.99
    run.stage("generating", fraction=0.5)
    assert row(run).progress == 29 and run._progress == 29
    mono.now += 0.01  # exactly one second after the last write
    run.stage("generating", fraction=0.5)
    assert row(run).progress == 50 and run._last_write == mono.now


def test_a_new_stage_or_an_upstream_task_id_is_written_at_once(api, mono):
    run = claimed_run(api)
    run.stage("generating", fraction=0.2)
    run.stage("downloading")
    assert (row(run).stage, row(run).progress) == ("downloading", 88)
    run.stage("downloading", upstream_task_id="up-77")
    assert row(run).upstream_task_id == "up-77" and run.task.upstream_task_id == "up-77"


def test_a_new_stage_sends_one_progress_event_to_a_webhook_that_asked_for_it(api, mono, monkeypatch):
    sent = []
    monkeypatch.setattr(webhooks, "task_event", lambda task, event: sent.append((task.task_id, event)))
    run = claimed_run(api)
    run.task.webhook_events = ["progress"]
    run.stage("generating", fraction=0.2)
    assert sent == [(run.task.task_id, "progress")]
    mono.now += 2
    run.stage("generating", fraction=0.6)
    run.stage("generating", fraction=0.6, upstream_task_id="up-1")
    assert row(run).progress == 57 and len(sent) == 1  # written, but the same stage
    run.stage("saving")
    assert sent == [(run.task.task_id, "progress")] * 2
    other = claimed_run(api)
    other.task.webhook_events = ["completed"]
    other.stage("generating", fraction=0.2)
    assert len(sent) == 2
