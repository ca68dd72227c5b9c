"""The retry policy: after an engine error, whether a task gets another attempt, when, and what its row
records meanwhile (README, "Errors and retries"). Pure decisions over the task and the error; the run
applies them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import F

from . import clock
from .engines.base import EngineError, Retry
from .model_specs import SEED_MAX
from .models import GenerationTask, Stage


def retry_delay(retry_count: int) -> float:
    """Seconds before the next attempt after `retry_count` earlier retries (README: exponential backoff
    from IMAGEGEN_RETRY_BASE_DELAY, capped at IMAGEGEN_RETRY_MAX_DELAY, with +/-25% jitter so that tasks
    failed together do not come back together)."""
    # Doubling stops once far past any cap (2.0 ** 1100 would not fit a float); a float product that grows
    # too large is inf, which the cap takes.
    base = settings.IMAGEGEN_RETRY_BASE_DELAY * 2.0 ** min(retry_count, 1000)
    return min(settings.IMAGEGEN_RETRY_MAX_DELAY, base) * random.uniform(0.75, 1.25)


def costs_nothing(err: EngineError) -> bool:
    """Rate/concurrency rejections and requests that never reached the service (an outage) did no work and
    cost nothing: they wait on their own, larger budget and do not count as attempts."""
    return err.code == "quota_exceeded" or not err.reached


def may_retry(task: GenerationTask, err: EngineError, *, retries_at_start: int) -> bool:
    """`retries_at_start` is the task's retry count when this run began: the budget of free retries is per
    run, so a staff retry starts with a fresh one."""
    if err.retry == Retry.NEVER:
        return False
    if costs_nothing(err):
        allowed = task.retry_count - retries_at_start < settings.IMAGEGEN_QUOTA_RETRIES
    else:
        allowed = task.attempts < settings.IMAGEGEN_MAX_ATTEMPTS
    if err.retry in (Retry.ONCE, Retry.ONCE_NEW_SEED):
        # "Retry once": a second failure with the same code in a row is final.
        allowed = allowed and task.error_code != err.code
    return allowed


@dataclass(frozen=True)
class RetryPlan:
    delay: float  # seconds until the next attempt
    fields: dict  # what the task row records while it waits (status and lease aside)


def plan_retry(task: GenerationTask, err: EngineError) -> RetryPlan:
    delay = err.delay if err.delay is not None else retry_delay(task.retry_count)
    fields = dict(
        stage=Stage.WAITING_RETRY,
        retry_count=F("retry_count") + 1,
        next_attempt_at=clock.now() + timedelta(seconds=delay),
        error_code=err.code,
        error_message=err.message[:2000],
        upstream_error_code=err.upstream_code[:50],
        upstream_request_id=err.request_id[:100],
    )
    if err.upstream_task_id:
        fields["upstream_task_id"] = err.upstream_task_id[:100]
    elif err.retry != Retry.BACKOFF:
        # A fresh submission is needed: the failed upstream job cannot be polled again.
        fields["upstream_task_id"] = ""
    if err.retry == Retry.ONCE_NEW_SEED:
        fields["seed"] = random.randint(0, SEED_MAX)
    if costs_nothing(err):
        fields["attempts"] = F("attempts") - 1
    return RetryPlan(delay=delay, fields=fields)
