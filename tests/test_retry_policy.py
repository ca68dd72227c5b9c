"""The retry policy (README: exponential backoff from IMAGEGEN_RETRY_BASE_DELAY, capped at
IMAGEGEN_RETRY_MAX_DELAY, +/-25 % jitter), measured on the fake clock: no test sleeps for it."""

import random

import pytest

from generation import clock
from generation.engines.base import EngineError, Retry
from generation.engines.volcengine import business_error
from generation.models import GenerationTask
from generation.retries import retry_delay

from .conftest import run

pytestmark = pytest.mark.django_db


def transient():
    return EngineError("upstream_unreachable", "connection refused", retry=Retry.BACKOFF)


def engine_call_times(scripted, outcomes):
    """A scripted engine that notes the (fake) time of each call."""
    times = []

    def noting(outcome):
        def call(request, progress):
            times.append(clock.now())
            if isinstance(outcome, EngineError):
                raise outcome
            return engine._preview.generate(request, progress)

        return call

    engine = scripted(*[noting(o) for o in outcomes])
    return engine, times


def test_it_doubles_the_wait_after_each_failure_up_to_the_cap(api, media, scripted, settings, fake_clock):
    engine, times = engine_call_times(scripted, [transient()] * 5 + ["ok"])
    settings.IMAGEGEN_MAX_ATTEMPTS = 6
    settings.IMAGEGEN_RETRY_BASE_DELAY = 2.0
    settings.IMAGEGEN_RETRY_MAX_DELAY = 10.0
    task_id = api.generate()
    run(task_id)

    assert GenerationTask.objects.get(task_id=task_id).status == "completed"
    waits = [(later - earlier).total_seconds() for earlier, later in zip(times, times[1:])]
    nominal = [2, 4, 8, 10, 10]  # 2 * 2**n, capped at 10
    assert len(waits) == len(nominal)
    slack = 1.0  # the real time an attempt takes on a loaded machine, added to the fake wait
    for wait, base in zip(waits, nominal):
        assert 0.75 * base <= wait <= 1.25 * base + slack, (waits, nominal)
    # The waits took no real time: they were slept on the fake clock, and add up to the fake time.
    assert sum(fake_clock.slept) == pytest.approx(sum(waits), abs=slack * len(waits))


def test_the_delay_is_jittered_around_the_backoff_within_a_quarter(settings):
    settings.IMAGEGEN_RETRY_BASE_DELAY = 2.0
    settings.IMAGEGEN_RETRY_MAX_DELAY = 60.0
    random.seed(19)
    for retries, base in ((0, 2.0), (1, 4.0), (3, 16.0), (5, 60.0), (40, 60.0)):
        delays = [retry_delay(retries) for _ in range(200)]
        assert all(0.75 * base <= d <= 1.25 * base for d in delays)
        # spread over the whole band, not one value: tasks failed together come back apart
        assert min(delays) < 0.8 * base and max(delays) > 1.2 * base
        assert len(set(delays)) == len(delays)


def test_a_small_first_delay_keeps_doubling_until_the_cap_however_many_retries(settings, monkeypatch):
    # A tenth of a second doubles fifteen times before it reaches an hour; and a retry count far past any
    # cap (a task retried for days) still gives the cap, not an overflow.
    settings.IMAGEGEN_RETRY_BASE_DELAY = 0.1
    settings.IMAGEGEN_RETRY_MAX_DELAY = 3600.0
    monkeypatch.setattr(random, "uniform", lambda low, high: 1.0)
    assert [retry_delay(n) for n in (0, 10, 11, 15, 16, 5000)] == [0.1, 102.4, 204.8, 3276.8, 3600.0, 3600.0]


def test_an_upstream_internal_error_waits_the_configured_pause(settings):
    settings.IMAGEGEN_RETRY_INTERNAL_ERROR_DELAY = 7.5
    for code in (50500, 50501):
        err = business_error({"code": code, "message": "Internal Error", "request_id": "r"})
        assert err.delay == 7.5 and err.retry == Retry.ONCE
    assert business_error({"code": 50429, "message": "limit"}).delay is None  # backoff


def test_the_run_waits_out_an_error_s_own_delay_instead_of_the_backoff(api, media, scripted, settings, fake_clock):
    settings.IMAGEGEN_RETRY_INTERNAL_ERROR_DELAY = 30.0
    internal = business_error({"code": 50500, "message": "Internal Error", "request_id": "r"})
    engine, times = engine_call_times(scripted, [internal, "ok"])
    settings.IMAGEGEN_RETRY_BASE_DELAY = 2.0
    task_id = api.generate()
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"
    assert 30.0 <= (times[1] - times[0]).total_seconds() <= 31.0


def test_the_free_retries_of_quota_refusals_are_counted_from_the_start_of_this_run(settings):
    # A task retried by staff three times before starts its run with a fresh budget of free retries.
    from generation.retries import may_retry

    settings.IMAGEGEN_QUOTA_RETRIES = 3
    refused = EngineError("quota_exceeded", "too many requests", retry=Retry.BACKOFF, upstream_code="50430")
    assert [may_retry(GenerationTask(retry_count=n, attempts=1), refused, retries_at_start=3) for n in (3, 4, 5, 6, 7)] \
        == [True, True, True, False, False]
    assert may_retry(GenerationTask(retry_count=2, attempts=1), refused, retries_at_start=0) is True
