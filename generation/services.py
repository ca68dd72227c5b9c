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
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from imagegen.accounts.services import quota_check
from imagegen.errors import Conflict, RateLimited
from imagegen.logs import current_task_id
from imagegen.metrics import record_upstream_error

from . import concurrency, imaging, selectors, storage
from .catalogue import SEED_MAX, GenerationPlan, get_model
from .engines import get_engine
from .engines.base import Cancelled, EngineError, EngineRequest, EngineResult, Retry
from .models import FINISHED, UNFINISHED, GenerationTask, Image, Stage, Status
from .processes import new_owner, owner_is_dead

log = logging.getLogger(__name__)

RUN_FUNCTION = "generation.tasks.run_generation"


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
        if idempotency_key:
            existing = GenerationTask.objects.filter(client_id=client_id, idempotency_key=idempotency_key).first()
            if existing is not None:
                if existing.request_fingerprint != fingerprint:
                    raise Conflict(
                        _("This Idempotency-Key was already used with a different request body."),
                        code="idempotency_conflict",
                    )
                return existing, False
        limit = settings.IMAGEGEN_MAX_UNFINISHED_PER_CLIENT
        unfinished = GenerationTask.objects.filter(client_id=client_id, status__in=UNFINISHED).count()
        if unfinished >= limit:
            raise RateLimited(
                _("Too many unfinished tasks (limit %(limit)d). Wait for some to finish.") % {"limit": limit},
                retry_after=selectors.expected_duration(plan.model.id),
                details={"limit": limit, "unfinished": unfinished},
            )
        if owner is not None:
            quota_check(user=owner, num_images=plan.num_images,
                        retry_after_busy=selectors.expected_duration(plan.model.id))
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
            enqueued_at=timezone.now(),
        )
        _enqueue(task, stamp=False)
    log.info("task %s created model=%s size=%dx%d", task.task_id, task.model, task.width, task.height)
    return task, True


def _enqueue(task: GenerationTask, *, stamp: bool = True) -> None:
    from django_q.tasks import async_task

    def send():
        async_task(RUN_FUNCTION, task.task_id, task_name=f"generate {task.task_id}", group="generation")

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
            remaining = (when - timezone.now()).total_seconds()
            if remaining <= 0:
                return not self.lost
            self.extend(min(remaining, 5) + 5)
            if self.lost:
                return False
            time.sleep(min(remaining, 1.0))

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
        delay = err.delay
        if delay is None:
            base = settings.IMAGEGEN_RETRY_BASE_DELAY * (2 ** min(t.retry_count, 10))
            delay = min(settings.IMAGEGEN_RETRY_MAX_DELAY, base) * random.uniform(0.75, 1.25)
        next_at = timezone.now() + timedelta(seconds=delay)
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
            remaining = (t.next_attempt_at - timezone.now()).total_seconds()
            if remaining <= 0:
                break
            if not GenerationTask.objects.filter(pk=t.pk, lease_owner=self.owner, status=Status.RETRYING).update(
                lease_expires_at=self._lease_until(min(remaining, 5) + 5)
            ):
                self.lost = True
                return False
            time.sleep(min(remaining, 1.0))
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
    """Run a task if nobody else is running it. Safe to call any number of times for the same id."""
    task = _claim(task_id)
    if task is None:
        return
    owner = task.lease_owner
    token = current_task_id.set(task.task_id)
    try:
        _remove_debris(task)
        TaskRun(task, owner).execute()
    finally:
        current_task_id.reset(token)


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
