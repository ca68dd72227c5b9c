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
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.access import owned_by
from core.errors import NotFound

from .catalogue import get_model
from .models import (
    FINISHED,
    UNFINISHED,
    Batch,
    GenerationTask,
    Image,
    ImageTag,
    Quota,
    Reference,
    Status,
    is_batch_id,
    is_image_id,
    is_reference_id,
    is_task_id,
)
from .offering import engine_name_for, preview_stands_in
from .search import PromptSearch

# Recent durations per model, cached briefly per process: estimates need not be exact, lists must be fast.
_DURATION_CACHE: dict[str, tuple[float, float]] = {}
_DURATION_TTL = 30.0


def _default_duration(model: str) -> float:
    spec = get_model(model)
    if (spec is None and preview_stands_in()) or (spec is not None and engine_name_for(spec) == "preview"):
        return settings.IMAGEGEN_PREVIEW_LATENCY + 1.0
    if spec is not None and spec.engine == "ark":
        return 60.0  # one Ark image takes 30 s to 3 min (third-party measurements; no official figure)
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


# --- The queue and the fair rule (generation.scheduling.claim_next; README, "Limits") -----------------


def _free_lease(now) -> Q:
    return Q(lease_holder="") | Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)


def waiting_tasks(now=None):
    """Unfinished tasks no worker holds: the queue."""
    now = now or timezone.now()
    return GenerationTask.objects.filter(status__in=UNFINISHED).filter(_free_lease(now))


def running_counts(now=None, clients=None) -> dict[str, int]:
    now = now or timezone.now()
    held = GenerationTask.objects.filter(status__in=UNFINISHED).exclude(lease_holder="").filter(lease_expires_at__gte=now)
    if clients is not None:
        held = held.filter(client_id__in=clients)
    return {row["client_id"]: row["n"] for row in held.values("client_id").annotate(n=Count("id")).order_by()}


def _running_caps(clients) -> dict[str, int]:
    """The concurrent-task quota of each client that is a user (accounts mode)."""
    owners = {int(c.split(":", 1)[1]): c for c in clients if c.startswith("user:") and c[5:].isdigit()}
    if not owners:
        return {}
    caps = {c: settings.IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS for c in owners.values()}
    for quota in Quota.objects.filter(user_id__in=owners):
        caps[owners[quota.user_id]] = quota.concurrent_tasks_limit
    return caps


def fair_order(now=None) -> list[str]:
    """The clients with waiting tasks, in the order the fair rule serves them (capped clients left out)."""
    now = now or timezone.now()
    # Each waiting client's oldest waiting task and its latest start (one index seek per client on
    # idx_task_client_started, however many tasks the client ran before).
    latest_start = (GenerationTask.objects.filter(client_id=OuterRef("client_id"), started_at__isnull=False)
                    .order_by("-started_at").values("started_at")[:1])
    rows = list(waiting_tasks(now).values("client_id").order_by()
                .annotate(first=Min("created_at"), last=Subquery(latest_start)))
    if not rows:
        return []
    heads = {row["client_id"]: row["first"] for row in rows}
    last_start = {row["client_id"]: from_db(row["last"], GenerationTask._meta.get_field("started_at")) for row in rows}
    clients = list(heads)
    running = running_counts(now, clients)
    caps = _running_caps(clients)
    never = datetime.min.replace(tzinfo=UTC)
    eligible = [c for c in clients if running.get(c, 0) < caps.get(c, float("inf"))]
    return sorted(eligible, key=lambda c: (running.get(c, 0), last_start.get(c) or never, heads[c]))


def queue_position(task) -> int:
    """About how many tasks will start before this waiting one (0 = next), by the fair rule: tasks staff
    moved to the front, this client's own waiting tasks that go before it (k: moved ahead, or older), up to k from each other
    client's waiting tasks (one per turn of the round), and the tasks running now that were created
    before it (they hold the workers)."""
    waiting = GenerationTask.objects.filter(status__in=UNFINISHED, lease_holder="").exclude(task_id=task.task_id)
    running_before = GenerationTask.objects.filter(status__in=UNFINISHED, created_at__lt=task.created_at).exclude(
        lease_holder="").count()
    priority = getattr(task, "priority", 0) or 0
    if priority > 0:
        return running_before + waiting.filter(
            Q(priority__gt=priority) | Q(priority=priority, created_at__lt=task.created_at)).count()
    # Among the client's own, tasks it moved ahead (a lower, negative priority) come first, then the oldest.
    ahead_of_own = Q(priority__lt=priority) | Q(priority=priority, created_at__lt=task.created_at)
    rows = (waiting.values("client_id").order_by()
            .annotate(n=Count("id", filter=Q(priority__lte=0)), front=Count("id", filter=Q(priority__gt=0)),
                      before=Count("id", filter=Q(priority__lte=0) & ahead_of_own)))
    rows = list(rows)
    own = next((r["before"] for r in rows if r["client_id"] == task.client_id), 0)
    others = sum(min(r["n"], own) for r in rows if r["client_id"] != task.client_id)
    return running_before + sum(r["front"] for r in rows) + own + others


def estimated_time(task: GenerationTask, *, ahead: int | None = None) -> int | None:
    """Seconds until the task is likely done: its own remaining time plus the queue ahead of it (`ahead`
    when the caller has counted it already)."""
    if task.is_finished:
        return 0
    per_task = expected_duration(task.model)
    workers = max(1, settings.IMAGEGEN_WORKERS)
    if task.status == Status.PENDING and not task.lease_holder:
        if ahead is None:
            ahead = queue_position(task)
        return per_task * (1 + ahead // workers)
    remaining = per_task * (1 - task.progress / 100)
    return max(1, round(remaining))


def _with_images(qs: QuerySet) -> QuerySet:
    """With the task's images that are not in the trash (an image trashed alone leaves its task's others)."""
    return qs.prefetch_related(
        Prefetch("images", queryset=Image.objects.filter(deleted_at__isnull=True).order_by("index").prefetch_related("tags"))
    )


def task_get(*, task_id: str, user=None) -> GenerationTask:
    """The task, if it is `user`'s (accounts mode): another user's is "not found", like a missing one, and so is
    one in the trash."""
    qs = _with_images(owned_by(GenerationTask.objects.filter(task_id=task_id, deleted_at__isnull=True), user))
    task = qs.first() if is_task_id(task_id) else None
    if task is None:
        raise NotFound(_("Task not found."))
    return task


# The task columns a task's JSON shows, and its images' (tags come as one name per joined row).
SNAPSHOT_TASK_FIELDS = (
    "id", "task_id", "status", "stage", "progress", "prompt", "negative_prompt", "model", "engine", "width",
    "height", "num_images", "group", "steps", "scale", "seed", "enhance_prompt", "use_sr", "ignored_params",
    "error_code", "retry_count", "batch_id", "next_attempt_at", "lease_holder", "revised_prompt", "upstream_request_id",
    "created_at", "started_at", "completed_at", "owner", "client_id", "priority",
    "images_billed", "tokens_billed", "price_per_image", "currency", "cost",
)
SNAPSHOT_IMAGE_FIELDS = ("image_id", "index", "width", "height", "file_size", "format", "sha256", "seed")


@lru_cache(maxsize=1)
def _snapshot_sql() -> str:
    q = connection.ops.quote_name

    def col(model, name):
        return q(model._meta.get_field(name).column)

    def columns(model, alias, names):
        return ", ".join(f"{alias}.{col(model, name)}" for name in names)

    return (
        f"SELECT {columns(GenerationTask, 't', SNAPSHOT_TASK_FIELDS)}, "
        f"{columns(Image, 'i', SNAPSHOT_IMAGE_FIELDS)}, g.{col(ImageTag, 'tag_name')} "
        f"FROM {q(GenerationTask._meta.db_table)} t "
        f"LEFT JOIN {q(Image._meta.db_table)} i ON i.{col(Image, 'task')} = t.{col(GenerationTask, 'id')} "
        f"AND i.{col(Image, 'deleted_at')} IS NULL "
        f"LEFT JOIN {q(ImageTag._meta.db_table)} g ON g.{col(ImageTag, 'image')} = i.{col(Image, 'id')} "
        # The trash is "not found" (the unique task_id index finds the row; its deleted_at is then read).
        f"WHERE t.{col(GenerationTask, 'task_id')} = %s AND t.{col(GenerationTask, 'deleted_at')} IS NULL"
    )


@lru_cache(maxsize=1)
def _owner_condition() -> str:
    return f" AND t.{connection.ops.quote_name(GenerationTask._meta.get_field('owner').column)} = %s"


def from_db(value, field):
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


from_db = from_db  # `value` of `field` as the ORM would give it, from a raw cursor (gallery.selectors too)


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
    task_fields, image_fields = snapshot_fields()
    n = len(task_fields)
    task = TaskSnapshot(**{f.attname: from_db(v, f) for f, v in zip(task_fields, rows[0][:n])})
    images: dict[str, tuple[SimpleNamespace, list[str]]] = {}
    for row in rows:
        image_id, tag = row[n], row[-1]
        if image_id is None:
            continue
        if image_id not in images:
            images[image_id] = (SimpleNamespace(**{f.attname: from_db(v, f) for f, v in zip(image_fields, row[n:-1])}), [])
        if tag is not None:
            images[image_id][1].append(tag)
    ordered = sorted(images.values(), key=lambda pair: pair[0].index)
    return task, [(image, sorted(tags)) for image, tags in ordered]


@lru_cache(maxsize=1)
def snapshot_fields():
    return (
        [GenerationTask._meta.get_field(name) for name in SNAPSHOT_TASK_FIELDS],
        [Image._meta.get_field(name) for name in SNAPSHOT_IMAGE_FIELDS],
    )


def task_list(*, filters: dict, user=None) -> QuerySet:
    """`user`'s tasks (every task in open mode) newest first, filtered by status, model, tag, creation date
    range and prompt text (then a PromptSearch: the index's pages and a capped count); none in the trash."""
    qs = owned_by(GenerationTask.objects.filter(deleted_at__isnull=True), user)
    if filters.get("status"):
        qs = qs.filter(status__in=filters["status"])
    if filters.get("model"):
        qs = qs.filter(model=filters["model"])
    if filters.get("tag"):
        # One filter(): the tag must be on an image that is itself out of the trash.
        qs = qs.filter(images__tags__tag_name=filters["tag"], images__deleted_at__isnull=True).distinct()
    if filters.get("created_after"):
        qs = qs.filter(created_at__gte=filters["created_after"])
    if filters.get("created_before"):
        qs = qs.filter(created_at__lt=filters["created_before"])
    if filters.get("batch"):
        qs = qs.filter(batch_id=filters["batch"])
    if filters.get("q"):
        return PromptSearch(_with_images(qs), filters["q"], user=user)
    return _with_images(qs.order_by("-created_at", "-id"))


def batch_get(*, batch_id: str, user=None) -> Batch:
    """The batch, if it is `user`'s (accounts mode); another user's is "not found", like a missing one."""
    batch = owned_by(Batch.objects.filter(batch_id=batch_id), user).first() if is_batch_id(batch_id) else None
    if batch is None:
        raise NotFound(_("Batch not found."))
    return batch


def batch_tasks(batch_id: str, *, user=None) -> QuerySet:
    """A batch's tasks in the order they were made (those not deleted or put in the trash since)."""
    tasks = GenerationTask.objects.filter(batch_id=batch_id, deleted_at__isnull=True)
    return _with_images(owned_by(tasks, user).order_by("created_at", "id"))


def batch_progress(tasks: list[GenerationTask]) -> dict:
    """How far a batch is: tasks per status, the share done (a finished task counts whole), finished or not."""
    counts = {status.value: 0 for status in Status}
    for task in tasks:
        counts[task.status] += 1
    done = sum(counts[s] for s in FINISHED)
    share = sum(100 if t.status in FINISHED else t.progress for t in tasks) / len(tasks) if tasks else 100
    return {"total": len(tasks), "counts": counts, "progress": int(share), "finished": done == len(tasks)}


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


def image_get(*, image_id: str, user=None, in_trash: bool = False) -> Image:
    """The image, if it is `user`'s and out of the trash (alone or with its task), else "not found"; with
    `in_trash`, one in the trash (the trash page's thumbnails)."""
    qs = owned_by(Image.objects.select_related("task").filter(image_id=image_id, deleted_at__isnull=not in_trash), user)
    image = qs.first() if is_image_id(image_id) else None
    if image is None:
        raise NotFound(_("Image not found."))
    return image


def queue_list(*, user=None, everyone: bool = False) -> list[GenerationTask]:
    """Unfinished tasks (`user`'s in accounts mode unless `everyone`), in the order they will run as far as
    it is known: running ones first, then the waiting by their place in the queue (at most 200)."""
    qs = GenerationTask.objects.filter(status__in=UNFINISHED)
    if not everyone:
        qs = owned_by(qs, user)
    return list(_with_images(qs.order_by("created_at", "id"))[:200])


# --- Reference images -------------------------------------------------------------------------------------


def reference_sources(*, ids: list[str], user=None) -> list:
    """What each id names, in order: an upload or a task's reference (ref_…), or a gallery image out of the
    trash (img_…). One that does not exist or is not `user`'s is "not found", naming it: the same answer
    either way, so ids of other people's images cannot be probed."""
    refs = {r.reference_id: r for r in owned_by(Reference.objects.filter(
        reference_id__in=[i for i in ids if is_reference_id(i)]), user)}
    images = {i.image_id: i for i in owned_by(Image.objects.filter(
        image_id__in=[i for i in ids if is_image_id(i)], deleted_at__isnull=True), user)}
    found = []
    for value in ids:
        source = refs.get(value) or images.get(value)
        if source is None:
            raise NotFound(_("Reference image %(id)s not found.") % {"id": value},
                           details={"reference_images": [value]})
        found.append(source)
    return found


def task_references(*, task_pk: int) -> list[Reference]:
    """A task's reference images, in order (its owner was checked with the task)."""
    return list(Reference.objects.filter(task_id=task_pk).order_by("index"))


def reference_get(*, reference_id: str, user=None) -> Reference:
    """A reference image, if it is `user`'s (any in open mode), else "not found"."""
    ref = owned_by(Reference.objects.filter(reference_id=reference_id), user).first() \
        if is_reference_id(reference_id) else None
    if ref is None:
        raise NotFound(_("Reference image not found."))
    return ref
