"""Putting a task on the queue: the row's enqueue stamp and the broker message, and the per-client lock
that the writes counting a client's tasks take first."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import broker
from .models import GenerationTask


def lock_client(client_id: str) -> None:
    # SQLite's IMMEDIATE transaction already serialises writers; PostgreSQL needs an explicit lock so that
    # two concurrent requests of one client cannot both pass the unfinished-task count.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"imagegen-client:{client_id}"])


def enqueue(task: GenerationTask, *, stamp: bool = True) -> None:
    """Send the task's queue message (in the caller's transaction). The message only says "a task is
    waiting"; `stamp` records when, which the recovery sweep reads to find lost messages."""

    def send():
        broker.run_enqueue(task_id=task.task_id)

    if stamp:
        GenerationTask.objects.filter(pk=task.pk).update(enqueued_at=timezone.now())
    if settings.IMAGEGEN_BROKER == "orm":
        # The message is a row in the same database: it commits or rolls back with the task.
        send()
    else:
        transaction.on_commit(send)
