"""A worker's run of one task: the engine call and its attempts, storing the images, completing or failing
the row. Rules kept here (docs/spec/PRODUCT.md §5):
- the task row is the source of truth; a run starts with the fair rule's compare-and-set claim
  (scheduling.py), so duplicate or lost queue messages are harmless;
- one worker owns a task at a time, through a lease it keeps extending while it works (lease.py);
- no transaction is ever open across a network call or a sleep.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.logs import current_task_id
from core.metrics import record_upstream_error

from . import (
    concurrency,
    images_per_minute,
    imaging,
    queueing,
    retries,
    scheduling,
    selectors,
    storage,
    upstream,
    webhooks,
)
from .catalogue import get_model
from .engines import get_engine_for
from .engines.base import Cancelled, EngineError, EngineRequest, EngineResult, Retry
from .lease import Lease
from .model_specs import SEED_MAX
from .models import UNFINISHED, GenerationTask, Image, Stage, Status

log = logging.getLogger(__name__)


def task_run(*, task_id: str) -> None:
    """Run the task the fair rule picks next (README, "Limits"), which need not be `task_id`: a queue
    message means "a task is waiting", and every task has had one sent. Safe to call any number of times;
    a message that finds nothing it may run does nothing."""
    task = scheduling.claim_next(task_id)
    if task is None:
        return
    token = current_task_id.set(task.task_id)
    try:
        scheduling.remove_debris(task)
        TaskRun(task, task.lease_holder).execute()
    finally:
        current_task_id.reset(token)
        scheduling.wake_capped(task)


def billing(task: GenerationTask, result: EngineResult) -> dict:
    """The billed figures a completed task records: images (one per returned image unless the engine says
    otherwise), tokens where reported, and the cost at the price the task recorded when it was created."""
    images = len(result.images) if result.images_billed is None else result.images_billed
    cost = None if task.price_per_image is None else task.price_per_image * images
    return {"images_billed": images, "tokens_billed": result.tokens_billed, "cost": cost}


def task_hand_back(*, task_id: str) -> None:
    """Send a task's message again instead of running it (the worker that got it is stopping). A task that
    is finished, or held by a live lease, needs no new message."""
    now = timezone.now()
    task = GenerationTask.objects.filter(task_id=task_id, status__in=UNFINISHED).first()
    if task is None or (task.lease_holder and task.lease_expires_at and task.lease_expires_at >= now):
        return
    with transaction.atomic():
        queueing.enqueue(task)
    log.info("task %s handed back: its worker is stopping", task_id)


class TaskRun:
    """One worker's run of one task. It is also the engine's `Progress`: every report extends the lease,
    and a report that finds the lease gone (cancelled, or taken over) stops the run."""

    # Write progress at most this often (each write is a database write, shared by every worker).
    WRITE_INTERVAL = 1.0

    def __init__(self, task: GenerationTask, holder: str):
        self.task = task
        self.lease = Lease(task, holder)
        self.attempt_started = time.monotonic()
        self.expected = selectors.expected_duration(task.model)
        self._last_write = 0.0
        self._stage = task.stage
        self._progress = task.progress
        # Free retries (quota, outage) are budgeted per run, so a staff retry starts with a fresh budget.
        self.retries_at_start = task.retry_count

    @property
    def lost(self) -> bool:
        return self.lease.lost

    # -- Progress protocol (engines/base.py)

    def stage(self, stage: str, *, fraction: float | None = None, upstream_task_id: str = "") -> None:
        progress = max(self._progress, self._estimate(stage, fraction))
        now = time.monotonic()
        changed = stage != self._stage or upstream_task_id
        if not changed and now - self._last_write < self.WRITE_INTERVAL:
            return
        fields = {"stage": stage, "progress": progress, "lease_expires_at": self.lease.until(self.expected)}
        if upstream_task_id:
            fields["upstream_task_id"] = upstream_task_id
            self.task.upstream_task_id = upstream_task_id
        if self.lease.write(**fields):
            moved = stage != self._stage
            self._stage, self._progress, self._last_write = stage, progress, now
            if moved and "progress" in self.task.webhook_events:
                webhooks.task_event(self.task, "progress")  # a new stage, not every report

    def cancelled(self) -> bool:
        if self.lost:
            return True
        now = time.monotonic()
        if now - self._last_write >= self.WRITE_INTERVAL:
            # A cheap lease-extending write doubles as the cancellation check.
            if self.lease.write(lease_expires_at=self.lease.until(self.expected)):
                self._last_write = now
        return self.lost

    def extend(self, seconds: float) -> None:
        # No write while the lease already covers the promise: a fast engine reports many times a second,
        # and each write is a database write.
        if self.lease.covers(seconds):
            return
        if self.lease.write(lease_expires_at=self.lease.until(seconds)):
            self._last_write = time.monotonic()

    def upstream_slot(self, seconds: float):
        """Hold one unit of the upstream concurrency quota (VOLC_MAX_CONCURRENCY) while in flight."""
        self.stage(Stage.QUEUED_UPSTREAM)
        return concurrency.upstream_slot(
            holder=self.lease.holder,
            count=max(1, settings.VOLC_MAX_CONCURRENCY),
            seconds=seconds + settings.IMAGEGEN_LEASE_MARGIN,
            wait=lambda: self.extend(seconds),
            cancelled=self.cancelled,
        )

    def image_budget(self, key: str, per_minute: int) -> None:
        """Wait, keeping the lease, until one more image fits the shared per-minute budget (images_per_minute)."""
        while True:
            wait = images_per_minute.take(key, per_minute)
            if not wait:
                return
            if self.cancelled():
                raise Cancelled()
            self.stage(Stage.QUEUED_UPSTREAM)
            self.extend(wait + 5)
            time.sleep(min(wait, 1.0))

    def _estimate(self, stage: str, fraction: float | None) -> int:
        if stage == Stage.QUEUED_UPSTREAM:
            return 5 + int(10 * (fraction or 0))
        if stage == Stage.GENERATING:
            if fraction is None:
                elapsed = time.monotonic() - self.attempt_started
                fraction = min(0.95, elapsed / max(self.expected, 0.1))
            return 15 + int(70 * min(max(fraction, 0.0), 1.0))
        if stage == Stage.DOWNLOADING:
            return 88
        if stage == Stage.SAVING:
            return 95
        return self._progress

    # -- the attempts

    def sleep_until(self, when) -> bool:
        """Wait for a retry's time, keeping the lease; False if the task was cancelled meanwhile."""
        return self.lease.hold_until(when)

    def execute(self) -> None:
        engine = get_engine_for(self.task.model)
        while True:
            task = self.task
            if task.next_attempt_at and not self.sleep_until(task.next_attempt_at):
                return self._discard()
            task.attempts += 1
            self.attempt_started = time.monotonic()
            if not self.lease.write(
                attempts=F("attempts") + 1,
                stage=Stage.GENERATING,
                next_attempt_at=None,
                lease_expires_at=self.lease.until(self.expected),
            ):
                return self._discard()
            log.info("task %s attempt %d on %s", task.task_id, task.attempts, engine.name)
            if task.attempts == 1:
                webhooks.task_event(task, "started")
            try:
                result = engine.generate(self._engine_request(), self)
                if self.lost:
                    return self._discard()
                self.stage(Stage.SAVING)
                stored = self._store(result)
            except Cancelled:
                return self._discard()
            except EngineError as err:
                if self._retry_or_fail(err):
                    continue
                return self._discard() if self.lost else None
            except imaging.ImageDataError as err:
                record_upstream_error("bad_upstream_data")
                self._fail(EngineError("bad_upstream_data", err.message, retry=Retry.NEVER))
                return
            except OSError as err:
                failure = EngineError("storage_error", f"could not save the image: {err}", retry=Retry.BACKOFF)
                if self._retry_or_fail(failure):
                    continue
                return self._discard() if self.lost else None
            except Exception as err:  # a bug: fail the task with a clear code, keep the trace in the log
                log.exception("task %s failed unexpectedly", task.task_id)
                self._fail(EngineError("internal_error", f"{type(err).__name__}: {err}"))
                return
            self._complete(result, stored)
            return

    def _engine_request(self) -> EngineRequest:
        t = self.task
        spec = get_model(t.model)
        return EngineRequest(
            model=t.model,
            action=spec.action if spec else "sync",
            prompt=t.prompt,
            negative_prompt=self._negative_prompt(),
            width=t.width,
            height=t.height,
            upstream_width=t.upstream_width,
            upstream_height=t.upstream_height,
            use_sr=t.use_sr,
            num_images=t.num_images,
            steps=t.steps,
            scale=t.scale,
            seed=t.seed if t.seed is not None else 0,
            enhance_prompt=t.enhance_prompt,
            upstream_task_id=t.upstream_task_id,
            reference_images=self._reference_images(as_urls=bool(spec and spec.references_need_url)),
            group=t.group,
        )

    def _reference_images(self, *, as_urls: bool) -> tuple[str, ...]:
        """The task's references as the model takes them: presigned URLs of the bucket that the service fetches
        itself (made afresh for each attempt, so a retry never sends an expired one), or data URLs."""
        urls = []
        for ref in self.task.references.order_by("index"):
            if as_urls:
                urls.append(storage.fetchable_url(ref.file_path, seconds=settings.IMAGEGEN_S3_REFERENCE_URL_SECONDS))
                continue
            data = storage.read(ref.file_path)
            urls.append(f"data:{ref.mime_type};base64,{base64.b64encode(data).decode('ascii')}")
        return tuple(urls)

    def _negative_prompt(self) -> str | None:
        t = self.task
        return None if "negative_prompt" in t.ignored_params else (t.negative_prompt or None)

    # -- the results

    def _store(self, result: EngineResult) -> list[storage.StoredImage]:
        t = self.task
        if not result.images:
            raise EngineError("bad_upstream_data", "the image service returned no images")
        seeds = [(t.seed + i) % (SEED_MAX + 1) if t.seed is not None else None for i in range(len(result.images))]
        parameters = [
            imaging.a1111_parameters(
                prompt=t.prompt,
                negative_prompt=self._negative_prompt(),
                steps=t.steps,
                scale=t.scale,
                seed=seed if seed is not None else -1,
                width=t.width,
                height=t.height,
                model=t.model,
                extra={"Engine": t.engine, "Task": t.task_id},
            )
            for seed in seeds
        ]
        self.extend(60)
        # File names carry the attempt's token, so an earlier attempt's files can never be overwritten.
        attempt = self.lease.holder.rsplit(":", 1)[-1]
        return storage.store_results(
            prefix=t.file_prefix(),
            attempt=attempt,
            images=result.images,
            parameters=parameters,
            seeds=seeds,
            thumbnail_side=settings.IMAGEGEN_THUMBNAIL_SIZE,
        )

    def _complete(self, result: EngineResult, stored: list[storage.StoredImage]) -> None:
        t = self.task
        now = timezone.now()
        billed = billing(t, result)
        for name, value in billed.items():
            setattr(t, name, value)  # the completed webhook's body carries them
        with transaction.atomic():
            done = self.lease.write(
                status=Status.COMPLETED,
                stage=Stage.DONE,
                progress=100,
                completed_at=now,
                lease_holder="",
                lease_expires_at=None,
                error_code="",
                # Completed with fewer images than asked: which ones failed, and why (staff-facing).
                error_message=self._partial_note(result)[:2000],
                upstream_request_id=result.upstream_request_id[:100],
                upstream_task_id=(result.upstream_task_id or t.upstream_task_id)[:100],
                revised_prompt=result.revised_prompt,
                **billed,
            )
            if done:
                # A stored file's facts are its image's columns, name for name.
                Image.objects.bulk_create(
                    Image(task=t, owner_id=t.owner_id, created_at=now, **dataclasses.asdict(s)) for s in stored
                )
                webhooks.task_event(t, "completed")
        if not done:
            storage.delete_files([p for s in stored for p in (s.file_path, s.thumbnail_path)])
            log.info("task %s finished elsewhere or was cancelled; discarded its images", t.task_id)
            return
        log.info(
            "task %s completed images=%d upstream_request_id=%s", t.task_id, len(stored), result.upstream_request_id
        )
        upstream.note_success()

    def _partial_note(self, result: EngineResult) -> str:
        if not result.partial_failures:
            return ""
        if self.task.group:  # the model decides how many it makes: only the refused ones are known missing
            return (f"{len(result.partial_failures)} images of the group (up to {self.task.num_images}) not made: "
                    + "; ".join(result.partial_failures))
        missing = self.task.num_images - len(result.images)
        return f"{missing} of {self.task.num_images} images not made: " + "; ".join(result.partial_failures)

    # -- the errors

    def _retry_or_fail(self, err: EngineError) -> bool:
        """Apply the retry policy (retries.py): schedule another attempt (True) or fail the task (False)."""
        t = self.task
        record_upstream_error(err.upstream_code or err.code)
        upstream.note_error(err)
        if not retries.may_retry(t, err, retries_at_start=self.retries_at_start):
            self._fail(err)
            return False
        plan = retries.plan_retry(t, err)
        # The row says "retrying" while the worker waits, so the state is visible (and recoverable).
        if not self.lease.write(status=Status.RETRYING, lease_expires_at=self.lease.until(plan.delay), **plan.fields):
            return False
        log.warning(
            "task %s attempt %d failed (%s, upstream %s, request %s); retrying in %.1fs",
            t.task_id,
            t.attempts,
            err.code,
            err.upstream_code or "-",
            err.request_id or "-",
            plan.delay,
        )
        t.refresh_from_db()
        return self._resume_after_wait()

    def _resume_after_wait(self) -> bool:
        """Sleep until the retry time as a `retrying` task, then take it back to `processing`."""
        if not self.lease.hold_until(self.task.next_attempt_at, held_as=Status.RETRYING):
            return False
        # (next_attempt_at is cleared by the attempt's own first write)
        if not self.lease.write(held_as=Status.RETRYING, status=Status.PROCESSING):
            return False
        self.task.refresh_from_db()
        return True

    def _fail(self, err: EngineError) -> None:
        t = self.task
        with transaction.atomic():
            failed = self.lease.write(
                status=Status.FAILED,
                stage=Stage.DONE,
                completed_at=timezone.now(),
                error_code=err.code,
                error_message=err.message[:2000],
                upstream_error_code=err.upstream_code[:50],
                upstream_request_id=err.request_id[:100],
                lease_holder="",
                lease_expires_at=None,
            )  # (no retry time to clear: the attempt's first write cleared it)
            if failed:
                webhooks.task_event(t, "failed")
        if failed:
            log.warning(
                "task %s failed: %s (upstream %s, request %s) %s",
                t.task_id,
                err.code,
                err.upstream_code or "-",
                err.request_id or "-",
                err.message,
            )

    def _discard(self) -> None:
        log.info("task %s: stopped (cancelled or taken over)", self.task.task_id)
