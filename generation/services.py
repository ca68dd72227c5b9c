"""Writes asked for by people: create tasks and batches, cancel, retry and delete tasks; the trash (move
tasks and images there, restore them, purge them). The run itself is in run.py, the fair claim and the
queue moves in scheduling.py, recovery in recovery.py."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound, RateLimited, ValidationFailed

from . import queueing, selectors, storage, trash_selectors, webhooks
from .engines import get_engine_for
from .imaging import ImageDataError, inspect_image
from .model_specs import REFERENCE_MAX_BYTES, REFERENCE_MAX_SIDE, REFERENCE_MIN_SIDE, SEED_MAX
from .models import FINISHED, UNFINISHED, Batch, GenerationTask, Image, ImageTag, Reference, Stage, Status
from .planning import GenerationPlan
from .quotas import quota_check
from .spending import price_of, spending_check

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
        prices = _check_room(client_id=client_id, owner=owner, plans=[plan])
        task = _new_task(plan, prices=prices, client_id=client_id, owner=owner, idempotency_key=idempotency_key,
                         fingerprint=fingerprint, webhook=webhook)
        _attach_references(task, plan.references)
    log.info("task %s created model=%s size=%dx%d", task.task_id, task.model, task.width, task.height)
    return task, True


def reference_upload(*, data: bytes, owner=None, client_id: str = "") -> Reference:
    """Store an uploaded reference image, not yet used by any task (README, "Reference images"). The limits
    common to every model are checked here; a model's own (count, formats, aspect ratio) when a task names it."""
    if len(data) > REFERENCE_MAX_BYTES:
        raise ValidationFailed(
            _("A reference image can be at most %(limit)d MB.") % {"limit": REFERENCE_MAX_BYTES // 2**20},
            details={"file": [_("Too large.")]}, code="reference_too_large")
    try:
        info = inspect_image(data)
    except ImageDataError:
        raise ValidationFailed(_("A reference image must be a PNG, JPEG or WebP picture."),
                               details={"file": [_("Not a PNG, JPEG or WebP picture.")]},
                               code="reference_unreadable") from None
    if min(info.width, info.height) < REFERENCE_MIN_SIDE or max(info.width, info.height) > REFERENCE_MAX_SIDE:
        raise ValidationFailed(
            _("Each side of a reference image must be between %(min)d and %(max)d pixels (this one is "
              "%(width)d×%(height)d).") % {"min": REFERENCE_MIN_SIDE, "max": REFERENCE_MAX_SIDE,
                                           "width": info.width, "height": info.height},
            details={"file": [_("Wrong size.")]}, code="reference_wrong_size")
    reference = Reference(owner=owner, client_id=client_id, file_size=len(data), width=info.width,
                          height=info.height, format=info.format, sha256=hashlib.sha256(data).hexdigest())
    reference.file_path = storage.save_reference(
        f"references/uploads/{reference.reference_id[4:6]}/{reference.reference_id}.{reference.extension}", data)
    try:
        reference.save()
    except BaseException:
        storage.delete_files([reference.file_path])
        raise
    return reference


def _attach_references(task: GenerationTask, sources: tuple) -> list[str]:
    """Give the task its own copy of each reference (an upload, another task's reference or a gallery image),
    so that its inputs outlive whatever they were copied from. Files are written inside the creation's
    transaction (the worker may start as soon as it commits); one that fails here deletes what it wrote.
    Returns the paths written, for a caller that may still roll the transaction back."""
    written: list[str] = []
    try:
        for index, source in enumerate(sources):
            try:
                data = storage.read(source.file_path)
            except OSError:
                # A gallery image whose file was lost (the cleanup reports those): say which, not a 500.
                name = getattr(source, "reference_id", None) or source.image_id
                raise NotFound(_("Reference image %(id)s not found.") % {"id": name},
                               details={"reference_images": [name]}) from None
            copy = Reference(owner=task.owner, client_id=task.client_id, task=task, index=index,
                             file_size=len(data), width=source.width, height=source.height, format=source.format,
                             sha256=hashlib.sha256(data).hexdigest())
            copy.file_path = storage.save_reference(f"references/{task.task_id[:2]}/{task.task_id}/"
                                                    f"{index}.{copy.extension}", data)
            written.append(copy.file_path)
            copy.save()
    except BaseException:
        storage.delete_files(written)
        raise
    return written


def references_purge_unused(*, now=None) -> int:
    """Delete reference uploads that no task named within a day (a task takes its own copy, so nothing
    else needs them), with their files. How many."""
    cutoff = (now or timezone.now()) - timedelta(days=1)
    with transaction.atomic():
        found = list(Reference.objects.filter(task__isnull=True, created_at__lt=cutoff).values_list("pk", "file_path"))
        Reference.objects.filter(pk__in=[pk for pk, _path in found]).delete()
        paths = [path for _pk, path in found]
        transaction.on_commit(lambda: storage.delete_files(paths))
    return len(found)


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


def _check_room(*, client_id: str, owner, plans: list[GenerationPlan] | None = None,
                retrying: GenerationTask | None = None) -> dict:
    """Refuse tasks beyond the client's queued-task limit, the owner's daily images or a spending cap (in the
    caller's transaction, after _lock_client). A batch is checked whole: all of it fits, or none of it is made.
    `retrying` instead of `plans`: the finished task its owner runs again, which replaces its own count.
    Returns the price of each model asked for (None: no price), which the tasks record."""
    asked = ([(plan.model.id, plan.num_images) for plan in plans] if retrying is None
             else [(retrying.model, retrying.num_images)])
    limit = settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT
    unfinished = GenerationTask.objects.filter(client_id=client_id, status__in=UNFINISHED).count()
    if unfinished + len(asked) > limit:
        if len(asked) == 1:
            message = _("Too many unfinished tasks (limit %(limit)d). Wait for some to finish.") % {"limit": limit}
        else:
            message = _(
                "This batch of %(size)d tasks does not fit: %(unfinished)d of your tasks are unfinished and the "
                "limit is %(limit)d. Wait for some to finish, or send a smaller batch."
            ) % {"size": len(asked), "unfinished": unfinished, "limit": limit}
        raise RateLimited(
            message,
            retry_after=selectors.expected_duration(asked[0][0]),
            details={"limit": limit, "unfinished": unfinished, "requested": len(asked)},
        )
    replaced = retrying.pk if retrying is not None else None
    if owner is not None:
        quota_check(user=owner, num_images=sum(n for _model, n in asked),
                    retry_after_busy=selectors.expected_duration(asked[0][0]), retrying=replaced)
    # Spending caps, site-wide and the owner's: last, so its site-wide lock is held as briefly as possible.
    prices = {model: price_of(model) for model, _n in asked}
    spending_check(user=owner, requested=[(n, prices[model]) for model, n in asked], retrying=replaced)
    return prices


def _new_task(plan: GenerationPlan, *, prices: dict, client_id: str, owner, idempotency_key: str | None = None,
              fingerprint: str = "", batch_id: str = "", webhook: tuple[str, list[str]] = ("", [])) -> GenerationTask:
    seed = plan.seed if plan.seed is not None and plan.seed >= 0 else random.randint(0, SEED_MAX)
    # The price in force now (read under the creation's locks), copied onto the task: its cost will be the
    # images billed at this price, whatever the table says later.
    price = prices[plan.model.id]
    task = GenerationTask.objects.create(
        price_per_image=price.price_per_image if price else None,
        currency=price.currency if price else "",
        prompt=plan.prompt,
        negative_prompt=plan.negative_prompt or "",
        model=plan.model.id,
        width=plan.width,
        height=plan.height,
        upstream_width=plan.upstream_width,
        upstream_height=plan.upstream_height,
        use_sr=plan.use_sr,
        num_images=plan.num_images,
        group=plan.group,
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
    fingerprint: str, owner=None, webhook: tuple[str, list[str]] = ("", []),
) -> tuple[Batch, bool]:
    """Create a batch of ordinary tasks in one transaction: all of them, or (over a limit) none.
    Returns (batch, created); created is False for an idempotent replay (selectors.batch_tasks reads its tasks)."""
    with transaction.atomic():
        queueing.lock_client(client_id)
        existing = _replayed(Batch, client_id, idempotency_key, fingerprint)
        if existing is not None:
            return existing, False
        prices = _check_room(client_id=client_id, owner=owner, plans=plans)
        batch = Batch.objects.create(owner=owner, client_id=client_id, idempotency_key=idempotency_key,
                                     request_fingerprint=fingerprint, kind=kind, size=len(plans))
        written = []
        try:
            for plan in plans:
                task = _new_task(plan, prices=prices, client_id=client_id, owner=owner, batch_id=batch.batch_id,
                                 webhook=webhook)
                written += _attach_references(task, plan.references)
        except BaseException:
            storage.delete_files(written)  # the earlier tasks' copies: their rows go with the transaction
            raise
    log.info("batch %s created: %d tasks (%s)", batch.batch_id, batch.size, kind)
    return batch, True


def batch_cancel(*, batch_id: str) -> int:
    """Cancel the batch's unfinished tasks; how many were cancelled. The caller found the batch as its user's
    (selectors.batch_get), and a batch's tasks are its owner's."""
    return sum(task_cancel(task=task) for task in selectors.batch_tasks(batch_id).filter(status__in=UNFINISHED))


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


def task_retry(*, task: GenerationTask, by_owner: bool = False) -> bool:
    """Run a failed or cancelled task again, as staff or (`by_owner`) as its owner: a new attempt of the same
    task, counted.

    The task goes back to `pending` with its error, lease and upstream job cleared (a fresh submission),
    `retry_count` goes up by one and the attempt budget starts again (`attempts` counts the engine calls
    of the current run, which `_claim` and the retry policy compare with IMAGEGEN_MAX_ATTEMPTS). The
    previous error is the caller's to record. Returns False when the task was not failed or cancelled.

    The new run is asked of the image service, and billed, now: it counts in today's quota and caps
    (`retried_at`, generation/counted.py) at today's price, and SpendingCapReached refuses it, changing
    nothing, when it would pass a spending cap of the site or of the task's owner. Its owner is held to
    everything a new task is (queued-task limit, daily quota: QuotaExceeded, RateLimited); staff are
    not held to the owner's daily quota."""
    retryable = GenerationTask.objects.filter(pk=task.pk, status__in=(Status.FAILED, Status.CANCELLED),
                                              deleted_at__isnull=True)
    with transaction.atomic():
        if by_owner:
            queueing.lock_client(task.client_id)
        price = price_of(task.model)
        if retryable.exists():
            if by_owner:
                price = _check_room(client_id=task.client_id, owner=task.owner, retrying=task)[task.model]
            else:
                spending_check(user=task.owner, requested=[(task.num_images, price)], retrying=task.pk,
                               for_staff=True)
        # Never a task in the trash: every unfinished task is out of it (the history's count relies on it).
        changed = retryable.update(
            retried_at=timezone.now(),
            price_per_image=price.price_per_image if price else None,
            currency=price.currency if price else "",
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
            lease_holder="",
            lease_expires_at=None,
            started_at=None,
            completed_at=None,
            # A new run is billed afresh: until it finishes, spending caps count it in full again.
            images_billed=None,
            tokens_billed=None,
            cost=None,
        )
        if changed:
            queueing.enqueue(task)
    task.refresh_from_db()
    if changed:
        log.info("task %s retried by %s (retry %d)", task.task_id, "its owner" if by_owner else "staff",
                 task.retry_count)
    return bool(changed)


def task_delete(*, task: GenerationTask, in_trash: bool = False) -> bool:
    """Delete a finished task, its images (in the trash or not), tags and files, for good. `in_trash`: only
    if it is in the trash (a purge; False when it is not, e.g. restored meanwhile)."""
    paths = [p for row in task.images.values_list("file_path", "thumbnail_path") for p in row]
    # Its reference images go with it: their rows cascade with the task's, their files are in references/.
    paths += list(task.references.values_list("file_path", flat=True))
    prefix = task.file_prefix()
    rows = GenerationTask.objects.filter(pk=task.pk, status__in=FINISHED)
    with transaction.atomic():
        deleted, _detail = (rows.filter(deleted_at__isnull=False) if in_trash else rows).delete()
        if not deleted:
            if in_trash:
                return False
            raise Conflict(_("The task is still running; cancel it first."), code="task_unfinished")
        # Files go only once the rows are gone for good; a crash in between leaves files the cleanup finds.
        transaction.on_commit(lambda: storage.delete_files(paths + storage.list_prefix(prefix)))
    log.info("task %s deleted with %d files", task.task_id, len(paths))
    return True


def images_delete(*, images, in_trash: bool = False) -> int:
    """Delete images with their tags, board places, stars and files, for good; their tasks stay. `in_trash`:
    only those in the trash (a purge). How many were deleted."""
    rows = Image.objects.filter(pk__in=[i.pk for i in images])
    if in_trash:
        rows = rows.filter(deleted_at__isnull=False)
    with transaction.atomic():
        found = list(rows.values_list("pk", "file_path", "thumbnail_path"))
        Image.objects.filter(pk__in=[pk for pk, *_paths in found]).delete()
        paths = [p for _pk, *pair in found for p in pair]
        transaction.on_commit(lambda: storage.delete_files(paths))
    return len(found)


# --- The trash --------------------------------------------------------------------------------------------
# A task or an image in the trash keeps its row, tags, boards, stars and files; every read for people leaves
# it out (selectors), so it is gone as if deleted until it is restored, or purged: emptied by its owner or by
# staff, or by the daily cleanup once it has been there IMAGEGEN_TRASH_DAYS.


def task_trash(*, task: GenerationTask) -> None:
    """Move a finished task to the trash, with its images that are not there already. An unfinished task is
    refused (409 task_unfinished), as its deletion always was."""
    now = timezone.now()
    with transaction.atomic():
        moved = GenerationTask.objects.filter(pk=task.pk, status__in=FINISHED, deleted_at__isnull=True).update(
            deleted_at=now)
        if not moved:
            state = GenerationTask.objects.filter(pk=task.pk).values_list("deleted_at", flat=True)
            if not state or state[0] is not None:  # purged or put in the trash meanwhile
                raise NotFound(_("Task not found."))
            raise Conflict(_("The task is still running; cancel it first."), code="task_unfinished")
        # The images go with it at its moment: that is how a restore tells them from images trashed alone before.
        Image.objects.filter(task_id=task.pk, deleted_at__isnull=True).update(deleted_at=now)
    task.deleted_at = now
    log.info("task %s moved to the trash", task.task_id)


def task_restore(*, task: GenerationTask) -> None:
    """Bring a task back from the trash with the images that went there with it (an image trashed alone
    before stays in the trash, on its own)."""
    with transaction.atomic():
        restored = task.deleted_at is not None and GenerationTask.objects.filter(
            pk=task.pk, deleted_at=task.deleted_at).update(deleted_at=None)
        if not restored:
            raise NotFound(_("This is not in the trash."))
        Image.objects.filter(task_id=task.pk, deleted_at=task.deleted_at).update(deleted_at=None)
    task.deleted_at = None
    log.info("task %s restored from the trash", task.task_id)


def images_trash(*, images) -> int:
    """Move images to the trash (their tasks stay in the history). How many were moved."""
    return Image.objects.filter(pk__in=[i.pk for i in images], deleted_at__isnull=True).update(deleted_at=timezone.now())


def image_restore(*, image: Image) -> None:
    """Bring an image trashed alone back; not while its task is in the trash (it comes back with the task)."""
    still_trashed = Image.objects.filter(pk=image.pk, deleted_at=image.deleted_at, task__deleted_at__isnull=True)
    if image.deleted_at is None or not still_trashed.update(deleted_at=None):
        raise NotFound(_("This is not in the trash."))
    image.deleted_at = None


def trash_item_delete(*, item) -> None:
    """Delete one entry of the trash for good (trash_selectors.trash_get's TrashEntry)."""
    gone = task_delete(task=item.task, in_trash=True) if item.kind == "task" else images_delete(images=[item.image], in_trash=True)
    if not gone:
        raise NotFound(_("This is not in the trash."))


def trash_empty(*, user=None, before=None) -> dict:
    """Delete for good what is in `user`'s trash (everyone's with None: open mode, staff), or only what went
    there before `before`. Returns {"tasks": n, "images": m}."""
    tasks = sum(task_delete(task=task, in_trash=True) for task in trash_selectors.trash_tasks(user=user, before=before))
    # After the tasks: their images went with them; what is left was trashed alone (or longer ago than its task).
    images = images_delete(images=trash_selectors.trash_images(user=user, before=before), in_trash=True)
    if tasks or images:
        log.info("trash: %d tasks and %d images deleted for good", tasks, images)
    return {"tasks": tasks, "images": images}


def trash_purge_expired(*, now=None) -> dict:
    """What has been in the trash longer than IMAGEGEN_TRASH_DAYS, deleted for good (the daily cleanup).
    IMAGEGEN_TRASH_DAYS = 0 keeps the trash until it is emptied."""
    days = settings.IMAGEGEN_TRASH_DAYS
    if not days:
        return {"tasks": 0, "images": 0}
    return trash_empty(before=(now or timezone.now()) - timedelta(days=days))


def unowned_adopt(*, user) -> int:
    """Give `user` every task, image and tag that has no owner (made in open mode). Returns the task count."""
    with transaction.atomic():
        tasks = GenerationTask.objects.filter(owner__isnull=True).update(owner=user)
        Image.objects.filter(owner__isnull=True).update(owner=user)
        ImageTag.objects.filter(owner__isnull=True).update(owner=user)
    return tasks
