"""Which tasks count against a period's limits: the daily image quota (quotas.py), the spending caps and the
cost per day (spending.py). One rule for all three (README, "Accounts" and "Cost"):

- a task counts in the period of its current run: when it was created, or, after a staff retry, when it was
  retried (a retried run is asked of the image service, and billed, anew);
- except a failed one (nothing billed) and one cancelled before a worker started it (nothing asked).

A task is in at most one of the two parts below, so their sums add up: each part is one range on its own
index (created_at; the partial retried_at index, as small as the set of retried tasks)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet, Sum

from .models import GenerationTask, Status


def counted_tasks(*, since: datetime, user=None) -> list[QuerySet]:
    """The tasks (a user's, or everyone's) that count in the period starting at `since`, as two disjoint
    querysets: created in it, and created before it but retried in it."""
    tasks = GenerationTask.objects.exclude(status=Status.FAILED).exclude(
        Q(status=Status.CANCELLED) & Q(started_at__isnull=True))
    if user is not None:
        tasks = tasks.filter(owner=user)
    return [tasks.filter(created_at__gte=since), tasks.filter(created_at__lt=since, retried_at__gte=since)]


def total(parts: list[QuerySet], expression, **extra) -> int | None:
    """The sum of `expression` over both parts (None when neither has a row)."""
    sums = [part.aggregate(n=Sum(expression, **extra))["n"] for part in parts]
    found = [s for s in sums if s is not None]
    return sum(found) if found else None
