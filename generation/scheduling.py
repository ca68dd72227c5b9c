"""Fair scheduling: which waiting task a worker takes, the claim that makes it the worker's, and the moves
that change the order. It is decided by queries on the task table, so the rule holds for every broker and
across machines. The rule (README, "Limits"):
  1. tasks staff moved to the front (priority > 0) first, the highest priority, then the oldest;
     (a negative priority is a task its owner moved ahead of their own other tasks: it orders them only)
  2. otherwise clients (users in accounts mode) whose running tasks are below their concurrent-task
     quota (accounts mode) are served in turn: the client with the fewest tasks running goes first, among
     equals the one whose latest task started longest ago (one that never ran goes first), then the one
     whose oldest waiting task is oldest; of that client's waiting tasks the worker takes the one its
     queue message names if that one waits, else the oldest.
So a batch of 50 from one client delays another client's single task by at most the tasks already
running when it arrived.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from . import queueing, selectors, storage, webhooks
from .models import UNFINISHED, GenerationTask, Stage, Status
from .processes import new_lease_holder

log = logging.getLogger(__name__)


def next_claimable(now, preferred: str | None = None) -> GenerationTask | None:
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


def claim_next(task_id: str) -> GenerationTask | None:
    """Claim the task the fair rule picks; a lost race (another worker took it) picks again."""
    for _attempt in range(10):
        candidate = next_claimable(timezone.now(), preferred=task_id)
        if candidate is None:
            return None
        task = _claim(candidate.task_id)
        if task is not None:
            return task
    return None


def wake_capped(task: GenerationTask) -> None:
    """A task of a client at its running cap ended: the messages its waiting tasks had may have been spent
    by workers that found nothing they were allowed to run, so send one for the next of them."""
    if not task.client_id.startswith("user:"):
        return
    try:
        waiting = selectors.waiting_tasks().filter(client_id=task.client_id).order_by("created_at", "id").first()
        if waiting is not None:
            with transaction.atomic():
                queueing.enqueue(waiting, stamp=False)
    except Exception:  # bookkeeping: the recovery sweep enqueues forgotten tasks anyway
        log.warning("could not enqueue the next task of %s", task.client_id, exc_info=True)


def task_move_to_front(*, task: GenerationTask) -> bool:
    """Staff: the task is the next one a worker takes (ahead of the fair rule). False if it is not waiting."""
    top = max(selectors.waiting_tasks().aggregate(top=Max("priority"))["top"] or 0, 0)  # owners' moves are < 0
    with transaction.atomic():
        moved = selectors.waiting_tasks().filter(pk=task.pk).update(priority=top + 1)
        if moved:
            queueing.enqueue(task)
    task.refresh_from_db()
    return bool(moved)


def task_move_ahead_of_own(*, task: GenerationTask) -> bool:
    """The owner's move: the task goes before the client's own other waiting tasks (not before anyone
    else's: the fair rule between clients stands). False if it is not waiting."""
    with transaction.atomic():
        queueing.lock_client(task.client_id)
        own = selectors.waiting_tasks().filter(client_id=task.client_id)
        priority = own.filter(pk=task.pk).values_list("priority", flat=True).first()
        if priority is None:
            return False
        if priority > 0:
            return True  # staff moved it ahead of everyone already
        # The lowest of the client's waiting priorities is this one's or below it, so at most 0.
        own.filter(pk=task.pk).update(priority=own.aggregate(low=Min("priority"))["low"] - 1)
        queueing.enqueue(task)
    task.refresh_from_db()
    return True


def _claim(task_id: str) -> GenerationTask | None:
    now = timezone.now()
    task = GenerationTask.objects.filter(task_id=task_id).first()
    if task is None or task.is_finished:
        return None
    if task.lease_holder and task.lease_expires_at and task.lease_expires_at >= now:
        return None  # another worker holds it (a lease holds through its last instant)
    if task.attempts >= settings.IMAGEGEN_MAX_ATTEMPTS:
        # Every allowed attempt was started and none finished: its workers kept dying.
        with transaction.atomic():
            gave_up = GenerationTask.objects.filter(pk=task.pk, status__in=UNFINISHED, lease_holder=task.lease_holder)\
                .update(status=Status.FAILED, stage=Stage.DONE, completed_at=now, error_code="interrupted",
                        error_message=f"gave up after {task.attempts} interrupted attempts", lease_holder="",
                        lease_expires_at=None)
            if gave_up:
                webhooks.task_event(task, "failed")
        if gave_up:
            log.error("task %s gave up after %d interrupted attempts", task_id, task.attempts)
            # The last attempt may have died after writing its files: no run will come to remove them.
            remove_debris(task)
        return None
    owner = new_lease_holder()
    expected = selectors.expected_duration(task.model)
    claimed = (
        GenerationTask.objects.filter(pk=task.pk, status__in=UNFINISHED)
        .filter(Q(lease_holder="") | Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True))
        .filter(lease_holder=task.lease_holder)
        .update(
            status=Status.PROCESSING,
            lease_holder=owner,
            lease_expires_at=now + timedelta(seconds=expected + settings.IMAGEGEN_LEASE_MARGIN),
            started_at=task.started_at or now,
        )
    )
    if not claimed:
        return None
    task.refresh_from_db()
    return task


def remove_debris(task: GenerationTask) -> None:
    """Files under the task's prefix that no image row references were left by a crashed attempt."""
    keep = {p for row in task.images.values_list("file_path", "thumbnail_path") for p in row}
    debris = [path for path in storage.list_prefix(task.file_prefix()) if path not in keep]
    if debris:
        log.info("task %s: removing %d files left by an interrupted attempt", task.task_id, len(debris))
        storage.delete_files(debris)
