"""Reads: tasks, lists with filters, queue statistics and time estimates."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from functools import lru_cache
from types import SimpleNamespace

from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    JSONField,
    Prefetch,
    Q,
    QuerySet,
)
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from imagegen.accounts.access import owned_by
from imagegen.errors import NotFound

from .models import FINISHED, UNFINISHED, GenerationTask, Image, Status, is_image_id, is_task_id

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


def estimated_time(task: GenerationTask, *, ahead: int | None = None) -> int | None:
    """Seconds until the task is likely done: its own remaining time plus the queue ahead of it (`ahead`
    when the caller has counted it already)."""
    if task.is_finished:
        return 0
    per_task = expected_duration(task.model)
    workers = max(1, settings.IMAGEGEN_WORKERS)
    if task.status == Status.PENDING and not task.lease_owner:
        if ahead is None:
            ahead = queue_position(task)
        return per_task * (1 + ahead // workers)
    remaining = per_task * (1 - task.progress / 100)
    return max(1, round(remaining))


def _with_images(qs: QuerySet) -> QuerySet:
    return qs.prefetch_related(
        Prefetch("images", queryset=Image.objects.order_by("index").prefetch_related("tags"))
    )


def task_get(*, task_id: str, user=None) -> GenerationTask:
    """The task, if it is `user`'s (accounts mode): another user's is "not found", like a missing one."""
    qs = _with_images(owned_by(GenerationTask.objects.filter(task_id=task_id), user))
    task = qs.first() if is_task_id(task_id) else None
    if task is None:
        raise NotFound(_("Task not found."))
    return task


# The task columns a task's JSON shows, and its images' (tags come as one name per joined row).
_SNAPSHOT_TASK_FIELDS = (
    "id", "task_id", "status", "stage", "progress", "prompt", "negative_prompt", "model", "engine", "width",
    "height", "num_images", "steps", "scale", "seed", "enhance_prompt", "use_sr", "ignored_params",
    "error_code", "retry_count", "next_attempt_at", "lease_owner", "revised_prompt", "upstream_request_id",
    "created_at", "started_at", "completed_at", "owner",
)
_SNAPSHOT_IMAGE_FIELDS = ("image_id", "index", "width", "height", "file_size", "format", "sha256", "seed")


@lru_cache(maxsize=1)
def _snapshot_sql() -> str:
    from gallery.models import ImageTag

    q = connection.ops.quote_name

    def col(model, name):
        return q(model._meta.get_field(name).column)

    def columns(model, alias, names):
        return ", ".join(f"{alias}.{col(model, name)}" for name in names)

    return (
        f"SELECT {columns(GenerationTask, 't', _SNAPSHOT_TASK_FIELDS)}, "
        f"{columns(Image, 'i', _SNAPSHOT_IMAGE_FIELDS)}, g.{col(ImageTag, 'tag_name')} "
        f"FROM {q(GenerationTask._meta.db_table)} t "
        f"LEFT JOIN {q(Image._meta.db_table)} i ON i.{col(Image, 'task')} = t.{col(GenerationTask, 'id')} "
        f"LEFT JOIN {q(ImageTag._meta.db_table)} g ON g.{col(ImageTag, 'image')} = i.{col(Image, 'id')} "
        f"WHERE t.{col(GenerationTask, 'task_id')} = %s"
    )


@lru_cache(maxsize=1)
def _owner_condition() -> str:
    return f" AND t.{connection.ops.quote_name(GenerationTask._meta.get_field('owner').column)} = %s"


def _from_db(value, field):
    # A raw cursor skips the ORM's converters: SQLite gives naive UTC datetimes and JSON as text.
    if value is None:
        return None
    if isinstance(field, DateTimeField):
        if isinstance(value, str):
            value = parse_datetime(value)
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(field, JSONField) and isinstance(value, str):
        return json.loads(value)
    if isinstance(field, BooleanField):
        return bool(value)
    return value


class TaskSnapshot(SimpleNamespace):
    """A task's columns as plain attributes (building model instances would double the cost)."""

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


def task_snapshot(*, task_id: str, user=None) -> tuple[TaskSnapshot, list[tuple[SimpleNamespace, list[str]]]]:
    """A task with its images and their tag names, read with one indexed query; as task_get, another user's
    task is "not found".

    GET /api/v1/task/{id} is what every client polls; compiling task_get's three ORM queries costs ten times
    running this one. Read-only: the attributes are the model fields' names.
    """
    if not is_task_id(task_id):
        raise NotFound(_("Task not found."))
    sql, params = _snapshot_sql(), [task_id]
    if user is not None:
        sql, params = sql + _owner_condition(), [task_id, user.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        raise NotFound(_("Task not found."))
    task_fields, image_fields = _snapshot_fields()
    n = len(task_fields)
    task = TaskSnapshot(**{f.attname: _from_db(v, f) for f, v in zip(task_fields, rows[0][:n])})
    images: dict[str, tuple[SimpleNamespace, list[str]]] = {}
    for row in rows:
        image_id, tag = row[n], row[-1]
        if image_id is None:
            continue
        if image_id not in images:
            images[image_id] = (SimpleNamespace(**{f.attname: _from_db(v, f) for f, v in zip(image_fields, row[n:-1])}), [])
        if tag is not None:
            images[image_id][1].append(tag)
    ordered = sorted(images.values(), key=lambda pair: pair[0].index)
    return task, [(image, sorted(tags)) for image, tags in ordered]


@lru_cache(maxsize=1)
def _snapshot_fields():
    return (
        [GenerationTask._meta.get_field(name) for name in _SNAPSHOT_TASK_FIELDS],
        [Image._meta.get_field(name) for name in _SNAPSHOT_IMAGE_FIELDS],
    )


def task_list(*, filters: dict, user=None) -> QuerySet:
    """`user`'s tasks (every task in open mode) newest first, filtered by status, model, tag, creation date
    range and prompt text."""
    qs = owned_by(GenerationTask.objects.all(), user)
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


def image_get(*, image_id: str, user=None) -> Image:
    qs = owned_by(Image.objects.select_related("task").filter(image_id=image_id), user)
    image = qs.first() if is_image_id(image_id) else None
    if image is None:
        raise NotFound(_("Image not found."))
    return image
