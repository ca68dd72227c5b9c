"""What a run does with an error it may retry (TaskRun._retry_or_fail, retries.plan_retry): the metric and
the upstream-trouble note get the error, the row waits as `retrying` with the error, the retry time and a
lease covering the wait, one warning line says so; and the give-up path keeps the last error."""

import logging
import random
from datetime import timedelta
from types import SimpleNamespace

import pytest

from generation import clock, retries, upstream
from generation import run as run_module
from generation.engines.base import EngineError, Retry
from generation.model_specs import SEED_MAX
from generation.models import GenerationTask
from generation.run import TaskRun

from .conftest import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting_rows(monkeypatch):
    """The task row as it waits for its retry (read when the run starts waiting), one per retry."""
    rows = []
    original = TaskRun._resume_after_wait

    def spy(self):
        rows.append((GenerationTask.objects.get(pk=self.task.pk), clock.now()))
        return original(self)

    monkeypatch.setattr(TaskRun, "_resume_after_wait", spy)
    return rows


def test_the_waiting_row_holds_the_error_the_retry_time_and_a_lease_covering_the_wait(
        api, media, scripted, settings, fake_clock, waiting_rows):
    settings.IMAGEGEN_LEASE_MARGIN = 30
    scripted(EngineError("upstream_error", "E" * 2100, retry=Retry.BACKOFF, upstream_code="5" * 60,
                         request_id="q" * 120, delay=40.0), "ok")
    task_id = api.generate()
    run(task_id)
    (row, at), = waiting_rows
    assert (row.status, row.stage, row.retry_count, row.attempts) == ("retrying", "waiting_retry", 1, 1)
    assert (row.error_code, row.error_message) == ("upstream_error", "E" * 2000)
    assert (row.upstream_error_code, row.upstream_request_id) == ("5" * 50, "q" * 100)
    assert row.next_attempt_at - at == pytest.approx(timedelta(seconds=40), abs=timedelta(seconds=1))
    # the lease is on real time: the fake clock's offset is 0 until the wait's first sleep
    assert row.lease_expires_at - at == pytest.approx(timedelta(seconds=70), abs=timedelta(seconds=1))
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.error_code, task.next_attempt_at) == ("completed", "", None)


@pytest.mark.parametrize("retry, error_upstream_task, kept", [
    (Retry.BACKOFF, "", "up-first"),  # polling the same upstream job again
    (Retry.ONCE, "", ""),  # a fresh submission
    (Retry.ONCE, "up-new", "up-new"),
    (Retry.BACKOFF, "up-new", "up-new"),
])
def test_the_upstream_task_id_is_kept_for_a_backoff_and_dropped_for_a_fresh_submission(
        api, media, scripted, waiting_rows, retry, error_upstream_task, kept):
    engine = scripted(EngineError("upstream_error", "boom", retry=retry, upstream_task_id=error_upstream_task), "ok")
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(upstream_task_id="up-first")
    run(task_id)
    (row, _at), = waiting_rows
    assert row.upstream_task_id == kept
    assert engine.calls[1].upstream_task_id == kept


def test_only_a_new_seed_retry_changes_the_seed(api, media, scripted, waiting_rows):
    engine = scripted(EngineError("upstream_error", "boom", retry=Retry.ONCE), "ok")
    task_id = api.generate(seed=5)
    run(task_id)
    assert waiting_rows[0][0].seed == 5 and [c.seed for c in engine.calls] == [5, 5]


def test_the_error_goes_to_the_metric_by_its_upstream_code_else_its_own(api, media, scripted, monkeypatch):
    counted, noted = [], []
    monkeypatch.setattr(run_module, "record_upstream_error", counted.append)
    monkeypatch.setattr(upstream, "note_error", noted.append)
    first = EngineError("quota_exceeded", "limit", retry=Retry.BACKOFF, upstream_code="50429")
    second = EngineError("upstream_unreachable", "refused", retry=Retry.BACKOFF)
    scripted(first, second, "ok")
    run(api.generate())
    assert counted == ["50429", "upstream_unreachable"]
    assert noted == [first, second]


def test_each_retry_logs_one_warning_with_the_attempt_codes_and_wait(api, media, scripted, caplog, fake_clock):
    caplog.set_level(logging.INFO, logger="generation.run")
    scripted(EngineError("upstream_error", "boom", retry=Retry.BACKOFF, upstream_code="50500", request_id="rq-1",
                         delay=12.25),
             EngineError("upstream_timeout", "slow", retry=Retry.BACKOFF, delay=3.0), "ok")
    task_id = api.generate()
    run(task_id)
    warnings = [(r.levelname, r.getMessage()) for r in caplog.records if "retrying" in r.getMessage()]
    assert warnings == [
        ("WARNING", f"task {task_id} attempt 1 failed (upstream_error, upstream 50500, request rq-1); retrying in 12.2s"),
        ("WARNING", f"task {task_id} attempt 2 failed (upstream_timeout, upstream -, request -); retrying in 3.0s"),
    ]


def test_giving_up_keeps_the_last_error_and_clears_the_retry_time(api, media, scripted, settings, fake_clock):
    settings.IMAGEGEN_MAX_ATTEMPTS = 2
    engine = scripted(EngineError("upstream_timeout", "first", retry=Retry.BACKOFF, upstream_code="A", request_id="r1"),
                      EngineError("upstream_error", "second", retry=Retry.BACKOFF, upstream_code="B", request_id="r2"),
                      "ok")
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert len(engine.calls) == 2
    assert (task.status, task.stage, task.attempts, task.retry_count) == ("failed", "done", 2, 1)
    assert (task.error_code, task.error_message, task.upstream_error_code, task.upstream_request_id) == (
        "upstream_error", "second", "B", "r2")
    assert (task.next_attempt_at, task.lease_holder, task.lease_expires_at) == (None, "", None)


@pytest.mark.parametrize("code, reached, costs", [("quota_exceeded", True, True), ("upstream_unreachable", False, True),
                                                  ("upstream_unreachable", True, False), ("upstream_error", True, False)])
def test_only_rejections_and_requests_that_never_arrived_cost_nothing(code, reached, costs):
    assert retries.costs_nothing(EngineError(code, "x", retry=Retry.BACKOFF, reached=reached)) is costs


def test_a_retry_once_error_after_a_different_error_is_still_retried(api, media, scripted):
    engine = scripted(EngineError("upstream_timeout", "slow", retry=Retry.BACKOFF),
                      EngineError("upstream_error", "50500", retry=Retry.ONCE),
                      EngineError("upstream_error", "50500", retry=Retry.ONCE), "ok")
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert len(engine.calls) == 3 and (task.status, task.error_code) == ("failed", "upstream_error")


def test_a_new_seed_retry_draws_the_seed_from_the_whole_range_and_sends_it(api, media, scripted, waiting_rows,
                                                                             monkeypatch):
    drawn = []
    monkeypatch.setattr(retries, "random", SimpleNamespace(
        randint=lambda low, high: drawn.append((low, high)) or 4242, uniform=random.uniform))
    engine = scripted(EngineError("content_rejected", "Post Img Risk Not Pass", retry=Retry.ONCE_NEW_SEED), "ok")
    run(api.generate(seed=5))
    assert drawn == [(0, SEED_MAX)]
    assert waiting_rows[0][0].seed == 4242 and [c.seed for c in engine.calls] == [5, 4242]


def test_the_upstream_task_id_of_an_error_is_cut_to_100(api, media, scripted, waiting_rows):
    scripted(EngineError("upstream_timeout", "slow", retry=Retry.BACKOFF, upstream_task_id="T" * 130), "ok")
    run(api.generate())
    assert waiting_rows[0][0].upstream_task_id == "T" * 100
