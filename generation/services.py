"""Writes: create, run, retry, recover, cancel and delete generation tasks.

Rules kept here (PRODUCT.md §5):
- the task row is the source of truth; the queue only carries task ids, so duplicate or lost messages
  are harmless (a run starts with a compare-and-set claim; a sweep re-enqueues what was lost);
- one worker owns a task at a time, through a lease it keeps extending while it works;
- no transaction is ever open across a network call or a sleep.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, RateLimited
from core.logs import current_task_id
from core.metrics import record_upstream_error
from imagegen.accounts.services import quota_check

from . import broker, clock, concurrency, imaging, selectors, storage
from .catalogue import SEED_MAX, GenerationPlan, get_model
from .engines import get_engine
from .engines.base import Cancelled, EngineError, EngineRequest, EngineResult, Retry
from .models import FINISHED, UNFINISHED, Batch, GenerationTask, Image, Stage, Status
from .processes import new_owner, owner_is_dead

log = logging.getLogger(__name__)



# --- Submission -----------------------------------------------------------------------------------------


def request_fingerprint(data: dict) -> str:
    """A stable digest of a request body, to tell a replay from a different request under the same key."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _lock_client(client_id: str) -> None:
    # SQLite's IMMEDIATE transaction already serialises writers; PostgreSQL needs an explicit lock so that
    # two concurrent requests of one client cannot both pass the unfinished-task count.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"imagegen-client:{client_id}"])


def task_create(
    *, plan: GenerationPlan, client_id: str, idempotency_key: str | None = None, fingerprint: str = "", owner=None
) -> tuple[GenerationTask, bool]:
    """Create and enqueue a task. Returns (task, created); created is False for an idempotent replay.

    `owner` (accounts mode) is the user the task belongs to; their quotas are checked in the same
    transaction. In accounts mode `client_id` names the user too, so idempotency keys are per user."""
    with transaction.atomic():
        _lock_client(client_id)
        existing = _replayed(GenerationTask, client_id, idempotency_key, fingerprint)
        if existing is not None:
            return existing, False
        _check_room(client_id=client_id, owner=owner, plans=[plan])
        task = _new_task(plan, client_id=client_id, owner=owner, idempotency_key=idempotency_key,
                         fingerprint=fingerprint)
    log.info("task %s created model=%s size=%dx%d", task.task_id, task.model, task.width, task.height)
    return task, True


def _replayed(model, client_id: str, idempotency_key: str | None, fingerprint: str):
    """The task or batch this client already made under this Idempotency-Key, if any; a different body under
    the same key is a conflict."""
    if not idempotency_key:
        return None
    existing = model.objects.filter(client_id=client_id, idempotency_key=idempotency_key).first()
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise Conflict(_("This Idempotency-Key was already used with a different request body."),
                       code="idempotency_conflict")
    return existing


def _check_room(*, client_id: str, owner, plans: list[GenerationPlan]) -> None:
    """Refuse tasks beyond the client's queued-task limit or the owner's daily images (in the caller's
    transaction, after _lock_client). A batch is checked whole: all of it fits, or none of it is made."""
    limit = settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT
    unfinished = GenerationTask.objects.filter(client_id=client_id, status__in=UNFINISHED).count()
    if unfinished + len(plans) > limit:
        if len(plans) == 1:
            message = _("Too many unfinished tasks (limit %(limit)d). Wait for some to finish.") % {"limit": limit}
        else:
            message = _(
                "This batch of %(size)d tasks does not fit: %(unfinished)d of your tasks are unfinished and the "
                "limit is %(limit)d. Wait for some to finish, or send a smaller batch."
            ) % {"size": len(plans), "unfinished": unfinished, "limit": limit}
        raise RateLimited(
            message,
            retry_after=selectors.expected_duration(plans[0].model.id),
            details={"limit": limit, "unfinished": unfinished, "requested": len(plans)},
        )
    if owner is not None:
        quota_check(user=owner, num_images=sum(plan.num_images for plan in plans),
                    retry_after_busy=selectors.expected_duration(plans[0].model.id))


def _new_task(plan: GenerationPlan, *, client_id: str, owner, idempotency_key: str | None = None,
              fingerprint: str = "", batch_id: str = "") -> GenerationTask:
    seed = plan.seed if plan.seed is not None and plan.seed >= 0 else random.randint(0, SEED_MAX)
    task = GenerationTask.objects.create(
        prompt=plan.prompt,
        negative_prompt=plan.negative_prompt or "",
        model=plan.model.id,
        width=plan.width,
        height=plan.height,
        upstream_width=plan.upstream_width,
        upstream_height=plan.upstream_height,
        use_sr=plan.use_sr,
        num_images=plan.num_images,
        steps=plan.steps,
        scale=plan.scale,
        seed=seed,
        enhance_prompt=plan.enhance_prompt,
        ignored_params=list(plan.ignored),
        engine=get_engine().name,
        client_id=client_id,
        owner=owner,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        batch_id=batch_id,
        enqueued_at=timezone.now(),
    )
    _enqueue(task, stamp=False)
    return task


def batch_create(
    *, plans: list[GenerationPlan], kind: str, client_id: str, idempotency_key: str | None = None,
    fingerprint: str = "", owner=None,
) -> tuple[Batch, list[GenerationTask], bool]:
    """Create a batch of ordinary tasks in one transaction: all of them, or (over a limit) none.
    Returns (batch, its tasks in order, created); created is False for an idempotent replay."""
    with transaction.atomic():
        _lock_client(client_id)
        existing = _replayed(Batch, client_id, idempotency_key, fingerprint)
        if existing is not None:
            return existing, list(selectors.batch_tasks(existing.batch_id)), False
        _check_room(client_id=client_id, owner=owner, plans=plans)
        batch = Batch.objects.create(owner=owner, client_id=client_id, idempotency_key=idempotency_key,
                                     request_fingerprint=fingerprint, kind=kind, size=len(plans))
        tasks = [_new_task(plan, client_id=client_id, owner=owner, batch_id=batch.batch_id) for plan in plans]
    log.info("batch %s created: %d tasks (%s)", batch.batch_id, len(tasks), kind)
    return batch, tasks, True


def batch_cancel(*, batch_id: str, user=None) -> int:
    """Cancel the batch's unfinished tasks; how many were cancelled."""
    return sum(task_cancel(task=task) for task in selectors.batch_tasks(batch_id, user=user).filter(status__in=UNFINISHED))


def _enqueue(task: GenerationTask, *, stamp: bool = True) -> None:
    def send():
        broker.run_enqueue(task_id=task.task_id)

    if stamp:
        GenerationTask.objects.filter(pk=task.pk).update(enqueued_at=timezone.now())
    if settings.IMAGEGEN_BROKER == "orm":
        # The message is a row in the same database: it commits or rolls back with the task.
        send()
    else:
        transaction.on_commit(send)


# --- Cancel and delete ----------------------------------------------------------------------------------


def task_cancel(*, task: GenerationTask) -> bool:
    """Cancel an unfinished task. A worker running it notices at its next step and discards its work."""
    now = timezone.now()
    changed = GenerationTask.objects.filter(pk=task.pk, status__in=UNFINISHED).update(
        status=Status.CANCELLED,
        stage=Stage.DONE,
        error_code="cancelled",
        error_message="cancelled by request",
        completed_at=now,
        next_attempt_at=None,
    )
    task.refresh_from_db()
    if changed:
        log.info("task %s cancelled", task.task_id)
    return bool(changed)


def task_retry(*, task: GenerationTask) -> bool:
    """Run a failed or cancelled task again (a staff action): a new attempt of the same task, counted.

    The task goes back to `pending` with its error, lease and upstream job cleared (a fresh submission),
    `retry_count` goes up by one and the attempt budget starts again (`attempts` counts the engine calls
    of the current run, which `_claim` and the retry policy compare with IMAGEGEN_MAX_ATTEMPTS). The
    previous error is the caller's to record. Returns False when the task was not failed or cancelled."""
    with transaction.atomic():
        changed = GenerationTask.objects.filter(pk=task.pk, status__in=(Status.FAILED, Status.CANCELLED)).update(
            status=Status.PENDING,
            stage=Stage.QUEUED,
            progress=0,
            attempts=0,
            retry_count=F("retry_count") + 1,
            error_code="",
            error_message="",
            upstream_error_code="",
            upstream_request_id="",
            upstream_task_id="",
            next_attempt_at=None,
            lease_owner="",
            lease_expires_at=None,
            started_at=None,
            completed_at=None,
        )
        if changed:
            _enqueue(task)
    task.refresh_from_db()
    if changed:
        log.info("task %s retried by staff (retry %d)", task.task_id, task.retry_count)
    return bool(changed)


def task_delete(*, task: GenerationTask) -> None:
    """Delete a finished task, its images, tags and files."""
    paths = [p for row in task.images.values_list("file_path", "thumbnail_path") for p in row]
    prefix = task.file_prefix()
    with transaction.atomic():
        deleted, _detail = GenerationTask.objects.filter(pk=task.pk, status__in=FINISHED).delete()
        if not deleted:
            raise Conflict(_("The task is still running; cancel it first."), code="task_unfinished")
        # Files go only once the rows are gone for good; a crash in between leaves files the cleanup finds.
        transaction.on_commit(lambda: storage.delete_files(paths + storage.list_prefix(prefix)))
    log.info("task %s deleted with %d files", task.task_id, len(paths))


# --- Execution ------------------------------------------------------------------------------------------


def retry_delay(retry_count: int) -> float:
    """Seconds before the next attempt after `retry_count` earlier retries (README: exponential backoff
    from IMAGEGEN_RETRY_BASE_DELAY, capped at IMAGEGEN_RETRY_MAX_DELAY, with +/-25% jitter so that tasks
    failed together do not come back together)."""
    base = settings.IMAGEGEN_RETRY_BASE_DELAY * (2 ** min(retry_count, 10))
    return min(settings.IMAGEGEN_RETRY_MAX_DELAY, base) * random.uniform(0.75, 1.25)


class TaskRun:
    """One worker's run of one task. It is also the engine's `Progress`: every report extends the lease,
    and a report that finds the lease gone (cancelled, or taken over) stops the run."""

    # Write progress at most this often (each write is a database write, shared by every worker).
    WRITE_INTERVAL = 1.0

    def __init__(self, task: GenerationTask, owner: str):
        self.task = task
        self.owner = owner
        self.lost = False
        self.attempt_started = time.monotonic()
        self.expected = selectors.expected_duration(task.model)
        self._last_write = 0.0
        self._lease_deadline = 0.0  # unknown until this run writes the lease itself
        self._stage = task.stage
        self._progress = task.progress
        # Quota rejections are budgeted per run, so a staff retry starts with a fresh budget.
        self.retries_at_start = task.retry_count

    # -- lease-guarded writes

    def _mine(self):
        return GenerationTask.objects.filter(pk=self.task.pk, lease_owner=self.owner, status=Status.PROCESSING)

    def _update(self, **fields) -> bool:
        if self.lost:
            return False
        if not self._mine().update(**fields):
            self.lost = True
            return False
        return True

    def _lease_until(self, seconds: float):
        # Remembered (on this process's clock) so that extend() can tell when a write is not needed.
        self._lease_deadline = time.monotonic() + seconds + settings.IMAGEGEN_LEASE_MARGIN
        return timezone.now() + timedelta(seconds=seconds + settings.IMAGEGEN_LEASE_MARGIN)

    # -- Progress protocol

    def stage(self, stage: str, *, fraction: float | None = None, upstream_task_id: str = "") -> None:
        progress = max(self._progress, self._estimate(stage, fraction))
        now = time.monotonic()
        changed = stage != self._stage or upstream_task_id
        if not changed and now - self._last_write < self.WRITE_INTERVAL:
            return
        fields = {"stage": stage, "progress": progress, "lease_expires_at": self._lease_until(self.expected)}
        if upstream_task_id:
            fields["upstream_task_id"] = upstream_task_id
            self.task.upstream_task_id = upstream_task_id
        if self._update(**fields):
            self._stage, self._progress, self._last_write = stage, progress, now

    def cancelled(self) -> bool:
        if self.lost:
            return True
        now = time.monotonic()
        if now - self._last_write >= self.WRITE_INTERVAL:
            # A cheap lease-extending write doubles as the cancellation check.
            if self._update(lease_expires_at=self._lease_until(self.expected)):
                self._last_write = now
        return self.lost

    def extend(self, seconds: float) -> None:
        # Skip the write while the lease already covers the promise with half its safety margin to spare:
        # a fast engine reports many times a second, and each write is a database write.
        now = time.monotonic()
        if self._lease_deadline - settings.IMAGEGEN_LEASE_MARGIN / 2 >= now + seconds:
            return
        if self._update(lease_expires_at=self._lease_until(seconds)):
            self._last_write = now

    def upstream_slot(self, seconds: float):
        """Hold one unit of the upstream concurrency quota (VOLC_MAX_CONCURRENCY) while in flight."""
        self.stage(Stage.QUEUED_UPSTREAM, fraction=0)
        return concurrency.upstream_slot(
            holder=self.owner,
            count=max(1, settings.VOLC_MAX_CONCURRENCY),
            seconds=seconds + settings.IMAGEGEN_LEASE_MARGIN,
            wait=lambda: self.extend(seconds),
            cancelled=self.cancelled,
        )

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

    # -- the run

    def sleep_until(self, when) -> bool:
        """Wait for a retry's time, keeping the lease; False if the task was cancelled meanwhile."""
        while True:
            remaining = (when - clock.now()).total_seconds()
            if remaining <= 0:
                return not self.lost
            # A write every step (not extend(), which skips writes while the lease is long enough): it is
            # also the cancellation check, so a task cancelled meanwhile stops the wait at the next step.
            if not self._update(lease_expires_at=self._lease_until(min(remaining, 5) + 5)):
                return False
            clock.sleep(min(remaining, 1.0))

    def execute(self) -> None:
        engine = get_engine()
        while True:
            task = self.task
            if task.next_attempt_at and not self.sleep_until(task.next_attempt_at):
                return self._discard()
            task.attempts += 1
            self.attempt_started = time.monotonic()
            if not self._update(
                attempts=F("attempts") + 1,
                stage=Stage.GENERATING,
                next_attempt_at=None,
                lease_expires_at=self._lease_until(self.expected),
            ):
                return self._discard()
            log.info("task %s attempt %d on %s", task.task_id, task.attempts, engine.name)
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
                return
            except imaging.ImageDataError as err:
                record_upstream_error("bad_upstream_data")
                self._fail(EngineError("bad_upstream_data", err.message, retry=Retry.NEVER))
                return
            except OSError as err:
                failure = EngineError("storage_error", f"could not save the image: {err}", retry=Retry.BACKOFF)
                if self._retry_or_fail(failure):
                    continue
                return
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
            negative_prompt=None if "negative_prompt" in t.ignored_params else (t.negative_prompt or None),
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
        )

    def _store(self, result: EngineResult) -> list[storage.StoredImage]:
        t = self.task
        if not result.images:
            raise EngineError("bad_upstream_data", "the image service returned no images")
        seeds = [(t.seed + i) % (SEED_MAX + 1) if t.seed is not None else None for i in range(len(result.images))]
        parameters = [
            imaging.a1111_parameters(
                prompt=t.prompt,
                negative_prompt=None if "negative_prompt" in t.ignored_params else (t.negative_prompt or None),
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
        tag = self.owner.rsplit(":", 1)[-1]
        return storage.store_results(
            prefix=t.file_prefix(),
            tag=tag,
            images=result.images,
            parameters=parameters,
            seeds=seeds,
            thumbnail_side=settings.IMAGEGEN_THUMBNAIL_SIZE,
        )

    def _complete(self, result: EngineResult, stored: list[storage.StoredImage]) -> None:
        t = self.task
        now = timezone.now()
        with transaction.atomic():
            done = self._update(
                status=Status.COMPLETED,
                stage=Stage.DONE,
                progress=100,
                completed_at=now,
                lease_owner="",
                lease_expires_at=None,
                error_code="",
                error_message="",
                upstream_request_id=result.upstream_request_id[:100],
                upstream_task_id=(result.upstream_task_id or t.upstream_task_id)[:100],
                revised_prompt=result.revised_prompt,
            )
            if done:
                Image.objects.bulk_create(
                    Image(
                        task=t,
                        owner_id=t.owner_id,
                        index=s.index,
                        file_path=s.file_path,
                        thumbnail_path=s.thumbnail_path,
                        file_size=s.file_size,
                        thumbnail_size=s.thumbnail_size,
                        width=s.width,
                        height=s.height,
                        format=s.format,
                        sha256=s.sha256,
                        seed=s.seed,
                        created_at=now,
                    )
                    for s in stored
                )
        if not done:
            storage.delete_files([p for s in stored for p in (s.file_path, s.thumbnail_path)])
            log.info("task %s finished elsewhere or was cancelled; discarded its images", t.task_id)
            return
        log.info(
            "task %s completed images=%d upstream_request_id=%s", t.task_id, len(stored), result.upstream_request_id
        )
        note_upstream_success()

    def _retry_or_fail(self, err: EngineError) -> bool:
        """Apply the error taxonomy: schedule another attempt (True) or fail the task (False)."""
        t = self.task
        record_upstream_error(err.upstream_code or err.code)
        note_upstream_error(err)
        # Rate/concurrency rejections and requests that never reached the service (an outage) did no work
        # and cost nothing: they wait on their own, larger budget and do not count as attempts.
        quota = err.code == "quota_exceeded" or not err.reached
        allowed = t.attempts < settings.IMAGEGEN_MAX_ATTEMPTS
        if quota:
            allowed = t.retry_count - self.retries_at_start < settings.IMAGEGEN_QUOTA_RETRIES
        if err.retry == Retry.NEVER:
            allowed = False
        elif err.retry in (Retry.ONCE, Retry.ONCE_NEW_SEED):
            # "Retry once": a second failure with the same code in a row is final.
            allowed = allowed and t.error_code != err.code
        if not allowed:
            self._fail(err)
            return False
        delay = err.delay if err.delay is not None else retry_delay(t.retry_count)
        next_at = clock.now() + timedelta(seconds=delay)
        fields = dict(
            stage=Stage.WAITING_RETRY,
            retry_count=F("retry_count") + 1,
            next_attempt_at=next_at,
            error_code=err.code,
            error_message=err.message[:2000],
            upstream_error_code=err.upstream_code[:50],
            upstream_request_id=err.request_id[:100],
            lease_expires_at=self._lease_until(delay),
        )
        if err.upstream_task_id:
            fields["upstream_task_id"] = err.upstream_task_id[:100]
        elif err.retry != Retry.BACKOFF:
            # A fresh submission is needed: the failed upstream job cannot be polled again.
            fields["upstream_task_id"] = ""
        if err.retry == Retry.ONCE_NEW_SEED:
            fields["seed"] = random.randint(0, SEED_MAX)
        if quota:
            fields["attempts"] = F("attempts") - 1
        # The row says "retrying" while the worker waits, so the state is visible (and recoverable).
        if not self._update(status=Status.RETRYING, **fields):
            return False
        log.warning(
            "task %s attempt %d failed (%s, upstream %s, request %s); retrying in %.1fs",
            t.task_id,
            t.attempts,
            err.code,
            err.upstream_code or "-",
            err.request_id or "-",
            delay,
        )
        self.task.refresh_from_db()
        return self._resume_after_wait()

    def _resume_after_wait(self) -> bool:
        """Sleep until the retry time as a `retrying` task, then take it back to `processing`."""
        t = self.task
        while True:
            remaining = (t.next_attempt_at - clock.now()).total_seconds()
            if remaining <= 0:
                break
            if not GenerationTask.objects.filter(pk=t.pk, lease_owner=self.owner, status=Status.RETRYING).update(
                lease_expires_at=self._lease_until(min(remaining, 5) + 5)
            ):
                self.lost = True
                return False
            clock.sleep(min(remaining, 1.0))
        if not GenerationTask.objects.filter(pk=t.pk, lease_owner=self.owner, status=Status.RETRYING).update(
            status=Status.PROCESSING, next_attempt_at=None
        ):
            self.lost = True
            return False
        t.refresh_from_db()
        return True

    def _fail(self, err: EngineError) -> None:
        t = self.task
        if self._update(
            status=Status.FAILED,
            stage=Stage.DONE,
            completed_at=timezone.now(),
            error_code=err.code,
            error_message=err.message[:2000],
            upstream_error_code=err.upstream_code[:50],
            upstream_request_id=err.request_id[:100],
            lease_owner="",
            lease_expires_at=None,
            next_attempt_at=None,
        ):
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


def task_hand_back(*, task_id: str) -> None:
    """Send a task's message again instead of running it (the worker that got it is stopping). A task that
    is finished, or held by a live lease, needs no new message."""
    now = timezone.now()
    task = GenerationTask.objects.filter(task_id=task_id, status__in=UNFINISHED).first()
    if task is None or (task.lease_owner and task.lease_expires_at and task.lease_expires_at > now):
        return
    with transaction.atomic():
        _enqueue(task)
    log.info("task %s handed back: its worker is stopping", task_id)


def task_run(*, task_id: str) -> None:
    """Run the task the fair rule picks next (README, "Limits"), which need not be `task_id`: a queue
    message means "a task is waiting", and every task has had one sent. Safe to call any number of times;
    a message that finds nothing it may run does nothing."""
    task = _claim_next(task_id)
    if task is None:
        return
    owner = task.lease_owner
    token = current_task_id.set(task.task_id)
    try:
        _remove_debris(task)
        TaskRun(task, owner).execute()
    finally:
        current_task_id.reset(token)
        _wake_capped(task)


# --- Fair scheduling ------------------------------------------------------------------------------------
# Which waiting task a worker takes is decided here, by queries on the task table, so the rule holds for
# every broker and across machines. The rule (README, "Limits"):
#   1. tasks staff moved to the front (priority > 0) first, the highest priority, then the oldest;
#      (a negative priority is a task its owner moved ahead of their own other tasks: it orders them only)
#   2. otherwise clients (users in accounts mode) whose running tasks are below their concurrent-task
#      quota (accounts mode) are served in turn: the client with the fewest tasks running goes first, among
#      equals the one whose latest task started longest ago (one that never ran goes first), then the one
#      whose oldest waiting task is oldest; of that client's waiting tasks the worker takes the one its
#      queue message names if that one waits, else the oldest.
# So a batch of 50 from one client delays another client's single task by at most the tasks already
# running when it arrived.


def _next_claimable(now, preferred: str | None = None) -> GenerationTask | None:
    waiting = selectors.waiting_tasks(now)
    front = waiting.filter(priority__gt=0).order_by("-priority", "created_at", "id").first()
    if front is not None:
        return front
    for client in selectors.fair_order(now)[:1]:
        # Within the client's own tasks the order is theirs to choose: a task they moved to the front of
        # their own (priority < 0, the latest move lowest), else the message's task if it waits.
        moved = waiting.filter(client_id=client, priority__lt=0).order_by("priority", "created_at", "id").first()
        if moved is not None:
            return moved
        if preferred:
            own = waiting.filter(client_id=client, task_id=preferred).first()
            if own is not None:
                return own
        return waiting.filter(client_id=client).order_by("created_at", "id").first()
    return None


def _claim_next(task_id: str) -> GenerationTask | None:
    """Claim the task the fair rule picks; a lost race (another worker took it) picks again."""
    for _attempt in range(10):
        candidate = _next_claimable(timezone.now(), preferred=task_id)
        if candidate is None:
            return None
        task = _claim(candidate.task_id)
        if task is not None:
            return task
    return None


def _wake_capped(task: GenerationTask) -> None:
    """A task of a client at its running cap ended: the messages its waiting tasks had may have been spent
    by workers that found nothing they were allowed to run, so send one for the next of them."""
    if not task.client_id.startswith("user:"):
        return
    try:
        waiting = selectors.waiting_tasks().filter(client_id=task.client_id).order_by("created_at", "id").first()
        if waiting is not None:
            with transaction.atomic():
                _enqueue(waiting, stamp=False)
    except Exception:  # bookkeeping: the recovery sweep enqueues forgotten tasks anyway
        log.warning("could not enqueue the next task of %s", task.client_id, exc_info=True)


def task_move_to_front(*, task: GenerationTask) -> bool:
    """Staff: the task is the next one a worker takes (ahead of the fair rule). False if it is not waiting."""
    top = max(selectors.waiting_tasks().aggregate(top=Max("priority"))["top"] or 0, 0)  # owners' moves are < 0
    with transaction.atomic():
        moved = selectors.waiting_tasks().filter(pk=task.pk).update(priority=top + 1)
        if moved:
            _enqueue(task)
    task.refresh_from_db()
    return bool(moved)


def task_move_ahead_of_own(*, task: GenerationTask) -> bool:
    """The owner's move: the task goes before the client's own other waiting tasks (not before anyone
    else's: the fair rule between clients stands). False if it is not waiting."""
    with transaction.atomic():
        _lock_client(task.client_id)
        own = selectors.waiting_tasks().filter(client_id=task.client_id)
        lowest = own.aggregate(low=Min("priority"))["low"] or 0
        if own.filter(pk=task.pk, priority__gt=0).exists():
            return True  # staff moved it ahead of everyone already
        moved = own.filter(pk=task.pk).update(priority=min(lowest, 0) - 1)
        if moved:
            _enqueue(task)
    task.refresh_from_db()
    return bool(moved)


def _claim(task_id: str) -> GenerationTask | None:
    now = timezone.now()
    task = GenerationTask.objects.filter(task_id=task_id).first()
    if task is None or task.is_finished:
        return None
    if task.lease_owner and task.lease_expires_at and task.lease_expires_at > now:
        return None  # another worker holds it
    if task.attempts >= settings.IMAGEGEN_MAX_ATTEMPTS:
        # Every allowed attempt was started and none finished: its workers kept dying.
        gave_up = GenerationTask.objects.filter(pk=task.pk, status__in=UNFINISHED, lease_owner=task.lease_owner).update(
            status=Status.FAILED,
            stage=Stage.DONE,
            completed_at=now,
            error_code="interrupted",
            error_message=f"gave up after {task.attempts} interrupted attempts",
            lease_owner="",
            lease_expires_at=None,
        )
        if gave_up:
            log.error("task %s gave up after %d interrupted attempts", task_id, task.attempts)
            # The last attempt may have died after writing its files: no run will come to remove them.
            _remove_debris(task)
        return None
    owner = new_owner()
    expected = selectors.expected_duration(task.model)
    claimed = (
        GenerationTask.objects.filter(pk=task.pk, status__in=UNFINISHED)
        .filter(Q(lease_owner="") | Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True))
        .filter(lease_owner=task.lease_owner)
        .update(
            status=Status.PROCESSING,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=expected + settings.IMAGEGEN_LEASE_MARGIN),
            started_at=task.started_at or now,
        )
    )
    if not claimed:
        return None
    task.refresh_from_db()
    return task


def _remove_debris(task: GenerationTask) -> None:
    """Files under the task's prefix that no image row references were left by a crashed attempt."""
    keep = {p for row in task.images.values_list("file_path", "thumbnail_path") for p in row}
    debris = [path for path in storage.list_prefix(task.file_prefix()) if path not in keep]
    if debris:
        log.info("task %s: removing %d files left by an interrupted attempt", task.task_id, len(debris))
        storage.delete_files(debris)


# --- Upstream trouble, for /api/v1/health ---------------------------------------------------------------
# The health endpoint must stay cheap and must never call VolcEngine itself, so workers leave a note in the
# shared cache: the upstream errors seen since the last success. A success removes it; it expires after
# UPSTREAM_TROUBLE_SECONDS without another error. Rejections that say the service is working (quota,
# content, parameters) are not trouble.

UPSTREAM_TROUBLE_KEY = "imagegen:upstream-trouble"
UPSTREAM_TROUBLE_CODES = frozenset({"upstream_unreachable", "upstream_timeout", "upstream_error"})
UPSTREAM_TROUBLE_SECONDS = 600


def note_upstream_error(err: EngineError) -> None:
    if err.code not in UPSTREAM_TROUBLE_CODES:
        return
    try:
        now = time.time()
        seen = cache.get(UPSTREAM_TROUBLE_KEY) or {}
        codes = dict(seen.get("codes") or {})
        code = f"{err.code} ({err.upstream_code})" if err.upstream_code else err.code
        codes[code] = codes.get(code, 0) + 1
        cache.set(
            UPSTREAM_TROUBLE_KEY,
            {"since": seen.get("since", now), "last": now, "codes": codes, "message": err.message[:300]},
            UPSTREAM_TROUBLE_SECONDS,
        )
    except Exception:  # bookkeeping for the health report must never fail a task
        log.warning("could not record upstream trouble", exc_info=True)


def note_upstream_success() -> None:
    try:
        if cache.get(UPSTREAM_TROUBLE_KEY) is not None:
            cache.delete(UPSTREAM_TROUBLE_KEY)
    except Exception:
        log.warning("could not clear upstream trouble", exc_info=True)


# --- Recovery -------------------------------------------------------------------------------------------


def tasks_recover() -> int:
    """Hand back tasks whose worker is gone and re-enqueue tasks whose message was lost.

    A worker is gone when its lease ran out, or at once when it ran on this machine and its process no
    longer exists. Returns how many tasks were enqueued again."""
    now = timezone.now()
    recovered = 0
    candidates = GenerationTask.objects.filter(status__in=UNFINISHED).exclude(lease_owner="")
    for task in candidates.only("pk", "task_id", "lease_owner", "lease_expires_at", "status"):
        expired = task.lease_expires_at is None or task.lease_expires_at < now
        if not (expired or owner_is_dead(task.lease_owner)):
            continue
        with transaction.atomic():
            released = GenerationTask.objects.filter(pk=task.pk, lease_owner=task.lease_owner, status__in=UNFINISHED).update(
                status=Status.RETRYING,
                stage=Stage.WAITING_RETRY,
                lease_owner="",
                lease_expires_at=None,
                error_code="worker_lost",
                error_message="the worker running this task stopped",
                retry_count=F("retry_count") + 1,
            )
            if released:
                _enqueue(task)
                recovered += 1
                log.warning("task %s: its worker (%s) is gone; enqueued again", task.task_id, task.lease_owner)
    stale = now - timedelta(seconds=settings.IMAGEGEN_REQUEUE_AFTER)
    lost_messages = GenerationTask.objects.filter(status__in=UNFINISHED, lease_owner="").filter(
        Q(enqueued_at__lt=stale) | Q(enqueued_at__isnull=True)
    )
    for task in lost_messages.only("pk", "task_id"):
        with transaction.atomic():
            _enqueue(task)
        recovered += 1
        log.warning("task %s: no worker took it for %ss; enqueued again", task.task_id, settings.IMAGEGEN_REQUEUE_AFTER)
    return recovered
