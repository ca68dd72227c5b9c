"""Reads: tasks, lists with filters, queue statistics and time estimates."""

from __future__ import annotations

import time
from datetime import datetime

from django.conf import settings
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from imagegen.errors import NotFound

from .models import UNFINISHED, GenerationTask, Image, Status, is_image_id, is_task_id

# Recent durations per model, cached briefly per process: estimates need not be exact, lists must be fast.
_DURATION_CACHE: dict[str, tuple[float, float]] = {}
_DURATION_TTL = 30.0


def _default_duration(model: str) -> float:
    from .catalogue import get_model
    from .engines import configured_engine_name

    if configured_engine_name() == "preview":
        return settings.IMAGEGEN_PREVIEW_LATENCY + 1.0
    spec = get_model(model)
    return 30.0 if spec is not None and spec.action == "async" else 15.0


def expected_duration(model: str) -> int:
    """Seconds one run of `model` takes: the mean of its last 20 completed runs, else a default."""
    now = time.monotonic()
    cached = _DURATION_CACHE.get(model)
    if cached and now - cached[1] < _DURATION_TTL:
        return max(1, round(cached[0]))
    recent = (
        GenerationTask.objects.filter(model=model, status=Status.COMPLETED, started_at__isnull=False)
        .order_by("-completed_at")
        .annotate(took=ExpressionWrapper(F("completed_at") - F("started_at"), output_field=DurationField()))
        .values_list("took", flat=True)[:20]
    )
    durations = [d.total_seconds() for d in recent if d is not None]
    value = sum(durations) / len(durations) if durations else _default_duration(model)
    _DURATION_CACHE[model] = (value, now)
    return max(1, round(value))


def queue_position(task: GenerationTask) -> int:
    """How many unfinished tasks were created before this one (0 = next)."""
    return GenerationTask.objects.filter(status__in=UNFINISHED, created_at__lt=task.created_at).count()


def estimated_time(task: GenerationTask) -> int | None:
    """Seconds until the task is likely done: its own remaining time plus the queue ahead of it."""
    if task.is_finished:
        return 0
    per_task = expected_duration(task.model)
    workers = max(1, settings.IMAGEGEN_WORKERS)
    if task.status == Status.PENDING and not task.lease_owner:
        ahead = queue_position(task)
        return per_task * (1 + ahead // workers)
    remaining = per_task * (1 - task.progress / 100)
    return max(1, round(remaining))


def _with_images(qs: QuerySet) -> QuerySet:
    return qs.prefetch_related(
        Prefetch("images", queryset=Image.objects.order_by("index").prefetch_related("tags"))
    )


def task_get(*, task_id: str) -> GenerationTask:
    task = _with_images(GenerationTask.objects.filter(task_id=task_id)).first() if is_task_id(task_id) else None
    if task is None:
        raise NotFound(_("Task not found."))
    return task


def task_list(*, filters: dict) -> QuerySet:
    """Tasks newest first, filtered by status, model, tag, creation date range and prompt text."""
    qs = GenerationTask.objects.all()
    if filters.get("status"):
        qs = qs.filter(status__in=filters["status"])
    if filters.get("model"):
        qs = qs.filter(model=filters["model"])
    if filters.get("tag"):
        qs = qs.filter(images__tags__tag_name=filters["tag"]).distinct()
    if filters.get("created_after"):
        qs = qs.filter(created_at__gte=filters["created_after"])
    if filters.get("created_before"):
        qs = qs.filter(created_at__lt=filters["created_before"])
    if filters.get("q"):
        qs = qs.filter(prompt__icontains=filters["q"])
    return _with_images(qs.order_by("-created_at", "-id"))


def queue_stats() -> dict:
    counts = dict(GenerationTask.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {status.value: counts.get(status.value, 0) for status in Status}


def success_rate(since: datetime | None = None) -> float | None:
    qs = GenerationTask.objects.filter(status__in=[Status.COMPLETED, Status.FAILED])
    if since:
        qs = qs.filter(completed_at__gte=since)
    agg = qs.aggregate(total=Count("id"), ok=Count("id", filter=Q(status=Status.COMPLETED)))
    return round(agg["ok"] / agg["total"], 4) if agg["total"] else None


def average_duration() -> float | None:
    agg = GenerationTask.objects.filter(status=Status.COMPLETED, started_at__isnull=False).aggregate(
        avg=Avg(ExpressionWrapper(F("completed_at") - F("started_at"), output_field=DurationField()))
    )
    return agg["avg"].total_seconds() if agg["avg"] else None


def image_get(*, image_id: str) -> Image:
    image = Image.objects.select_related("task").filter(image_id=image_id).first() if is_image_id(image_id) else None
    if image is None:
        raise NotFound(_("Image not found."))
    return image
