"""Writes asked for by people: create tasks and batches, cancel, retry and delete tasks. The run itself is
in run.py, the fair claim and the queue moves in scheduling.py, recovery in recovery.py."""

from __future__ import annotations

import hashlib
import json
import logging
import random

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, RateLimited
from imagegen.accounts.services import quota_check

from . import queueing, selectors, storage, webhooks
from .engines import get_engine_for
from .model_specs import SEED_MAX
from .models import FINISHED, UNFINISHED, Batch, GenerationTask, Stage, Status
from .planning import GenerationPlan

log = logging.getLogger(__name__)


# --- Submission -----------------------------------------------------------------------------------------


def request_fingerprint(data: dict) -> str:
    """A stable digest of a request body, to tell a replay from a different request under the same key."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def task_create(
    *, plan: GenerationPlan, client_id: str, idempotency_key: str | None = None, fingerprint: str = "", owner=None,
    webhook: tuple[str, list[str]] = ("", []),
) -> tuple[GenerationTask, bool]:
    """Create and enqueue a task. Returns (task, created); created is False for an idempotent replay.
    `webhook` is (url, events) from webhooks.webhook_request.

    `owner` (accounts mode) is the user the task belongs to; their quotas are checked in the same
    transaction. In accounts mode `client_id` names the user too, so idempotency keys are per user."""
    with transaction.atomic():
        queueing.lock_client(client_id)
        existing = _replayed(GenerationTask, client_id, idempotency_key, fingerprint)
        if existing is not None:
            return existing, False
        _check_room(client_id=client_id, owner=owner, plans=[plan])
        task = _new_task(plan, client_id=client_id, owner=owner, idempotency_key=idempotency_key,
                         fingerprint=fingerprint, webhook=webhook)
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
              fingerprint: str = "", batch_id: str = "", webhook: tuple[str, list[str]] = ("", [])) -> GenerationTask:
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
        engine=get_engine_for(plan.model).name,
        client_id=client_id,
        owner=owner,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        batch_id=batch_id,
        webhook_url=webhook[0],
        webhook_events=list(webhook[1]),
        enqueued_at=timezone.now(),
    )
    queueing.enqueue(task, stamp=False)
    return task


def batch_create(
    *, plans: list[GenerationPlan], kind: str, client_id: str, idempotency_key: str | None = None,
    fingerprint: str = "", owner=None, webhook: tuple[str, list[str]] = ("", []),
) -> tuple[Batch, list[GenerationTask], bool]:
    """Create a batch of ordinary tasks in one transaction: all of them, or (over a limit) none.
    Returns (batch, its tasks in order, created); created is False for an idempotent replay."""
    with transaction.atomic():
        queueing.lock_client(client_id)
        existing = _replayed(Batch, client_id, idempotency_key, fingerprint)
        if existing is not None:
            return existing, list(selectors.batch_tasks(existing.batch_id)), False
        _check_room(client_id=client_id, owner=owner, plans=plans)
        batch = Batch.objects.create(owner=owner, client_id=client_id, idempotency_key=idempotency_key,
                                     request_fingerprint=fingerprint, kind=kind, size=len(plans))
        tasks = [_new_task(plan, client_id=client_id, owner=owner, batch_id=batch.batch_id, webhook=webhook)
                 for plan in plans]
    log.info("batch %s created: %d tasks (%s)", batch.batch_id, len(tasks), kind)
    return batch, tasks, True


def batch_cancel(*, batch_id: str, user=None) -> int:
    """Cancel the batch's unfinished tasks; how many were cancelled."""
    return sum(task_cancel(task=task) for task in selectors.batch_tasks(batch_id, user=user).filter(status__in=UNFINISHED))


# --- Cancel and delete ----------------------------------------------------------------------------------


def task_cancel(*, task: GenerationTask) -> bool:
    """Cancel an unfinished task. A worker running it notices at its next step and discards its work."""
    now = timezone.now()
    with transaction.atomic():
        changed = GenerationTask.objects.filter(pk=task.pk, status__in=UNFINISHED).update(
            status=Status.CANCELLED,
            stage=Stage.DONE,
            error_code="cancelled",
            error_message="cancelled by request",
            completed_at=now,
            next_attempt_at=None,
        )
        if changed:
            webhooks.task_event(task, "cancelled")
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
            queueing.enqueue(task)
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
