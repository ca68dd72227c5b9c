"""Recovery: tasks whose worker is gone go back to the queue, and tasks whose queue message was lost are
enqueued again. Run by the workers' periodic sweep and at start-up; safe to run anywhere, any number of
times (every write is a compare-and-set on the lease)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import queueing
from .models import UNFINISHED, GenerationTask, Stage, Status
from .processes import holder_is_dead

log = logging.getLogger(__name__)


def tasks_recover() -> int:
    """Hand back tasks whose worker is gone and re-enqueue tasks whose message was lost.

    A worker is gone when its lease ran out, or at once when it ran on this machine and its process no
    longer exists. Returns how many tasks were enqueued again."""
    now = timezone.now()
    recovered = 0
    candidates = GenerationTask.objects.filter(status__in=UNFINISHED).exclude(lease_holder="")
    for task in candidates.only("task_id", "lease_holder", "lease_expires_at"):  # and the primary key
        expired = task.lease_expires_at is None or task.lease_expires_at < now
        if not (expired or holder_is_dead(task.lease_holder)):
            continue
        with transaction.atomic():
            released = GenerationTask.objects.filter(pk=task.pk, lease_holder=task.lease_holder, status__in=UNFINISHED).update(
                status=Status.RETRYING,
                stage=Stage.WAITING_RETRY,
                lease_holder="",
                lease_expires_at=None,
                error_code="worker_lost",
                error_message="the worker running this task stopped",
                retry_count=F("retry_count") + 1,
            )
            if released:
                queueing.enqueue(task)
                recovered += 1
                log.warning("task %s: its worker (%s) is gone; enqueued again", task.task_id, task.lease_holder)
    stale = now - timedelta(seconds=settings.IMAGEGEN_REQUEUE_AFTER)
    lost_messages = GenerationTask.objects.filter(status__in=UNFINISHED, lease_holder="").filter(
        Q(enqueued_at__lt=stale) | Q(enqueued_at__isnull=True)
    )
    for task in lost_messages.only("task_id"):
        with transaction.atomic():
            queueing.enqueue(task)
        recovered += 1
        log.warning("task %s: no worker took it for %ss; enqueued again", task.task_id, settings.IMAGEGEN_REQUEUE_AFTER)
    return recovered
