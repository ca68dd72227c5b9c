"""Operator work: the cleanup (old tasks, count and disk limits, orphan files, rows whose files are gone)
and the queue report. Used by `manage.py cleanup` / `queue_status`, the admin's Clean up page and the
daily schedule; the commands and the admin only parse input and print.

Cleanup rules:
- only finished tasks are deleted, always through `services.task_delete` (rows, tags and files together);
- nothing younger than the grace period is touched: no task created or finished within it, no file
  modified within it (a running task writes its files before its image rows exist), no recent row;
- files of unfinished tasks are never orphans;
- a plan is computed first (the dry run shows it) and every step is checked again when it is applied.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.audit.services import audit_prune
from core.errors import Conflict

from . import broker, imaging, selectors, services, storage, supervision, webhooks
from .models import FINISHED, UNFINISHED, GenerationTask, Image, Reference, Status

log = logging.getLogger(__name__)

# Top-level storage folders the sweep looks in: task files, and probe files of the health check.
SWEPT_ROOTS = ("images", "health", "references")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str | int | None) -> int | None:
    """'20G', '500 MB', '1.5t', '1048576' -> bytes (powers of 1024); empty or 0 -> None (no limit)."""
    if text is None or text == "":
        return None
    if isinstance(text, int):
        return text or None
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"not a size: {text!r} (examples: 500M, 20G, 1048576)")
    value = int(float(match[1]) * _UNITS[match[2].lower()])
    return value or None


def format_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


# --- Policy and plan ------------------------------------------------------------------------------------


@dataclass
class CleanupPolicy:
    older_than_days: float | None = None  # finished tasks created longer ago than this
    keep_latest: int | None = None  # keep only the newest N finished tasks
    max_bytes: int | None = None  # delete the oldest finished tasks until the images fit in this
    files: bool = True  # remove orphan files and image rows whose file is gone
    grace_hours: float = 24.0  # nothing younger than this is touched

    @classmethod
    def from_settings(cls) -> CleanupPolicy:
        try:
            max_bytes = parse_size(settings.IMAGEGEN_CLEANUP_MAX_SIZE)
        except ValueError as err:
            raise ImproperlyConfigured(f"IMAGEGEN_CLEANUP_MAX_SIZE: {err}") from err
        return cls(
            older_than_days=settings.IMAGEGEN_CLEANUP_DAYS or None,
            keep_latest=settings.IMAGEGEN_CLEANUP_KEEP or None,
            max_bytes=max_bytes,
            grace_hours=settings.IMAGEGEN_CLEANUP_GRACE_HOURS,
        )

    def describe(self) -> str:
        parts = []
        if self.older_than_days:
            parts.append(f"older than {self.older_than_days:g} days")
        if self.keep_latest:
            parts.append(f"beyond the newest {self.keep_latest}")
        if self.max_bytes:
            parts.append(f"beyond {format_size(self.max_bytes)} of images")
        tasks = ("finished tasks " + ", ".join(parts)) if parts else "no task limits"
        files = "orphan files and rows with missing files" if self.files else "no file sweep"
        return f"{tasks}; {files}; grace period {self.grace_hours:g} h"


@dataclass
class PlannedTask:
    pk: int
    task_id: str
    created_at: datetime
    status: str
    bytes: int
    reason: str  # "age" | "count" | "size"


@dataclass
class OrphanFile:
    path: str
    size: int


@dataclass
class BrokenImage:
    pk: int
    image_id: str
    task_id: str
    file_path: str
    thumbnail_path: str


@dataclass
class CleanupPlan:
    policy: CleanupPolicy
    now: datetime
    cutoff: datetime
    stored_bytes: int = 0  # original + thumbnail bytes of every image row, before the cleanup
    tasks: list[PlannedTask] = field(default_factory=list)
    orphan_files: list[OrphanFile] = field(default_factory=list)
    missing_files: list[BrokenImage] = field(default_factory=list)  # the original is gone: the row goes
    missing_thumbnails: list[BrokenImage] = field(default_factory=list)  # only the thumbnail: rebuilt

    @property
    def task_bytes(self) -> int:
        return sum(t.bytes for t in self.tasks)

    @property
    def orphan_bytes(self) -> int:
        return sum(f.size for f in self.orphan_files)

    @property
    def is_empty(self) -> bool:
        return not (self.tasks or self.orphan_files or self.missing_files or self.missing_thumbnails)

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for task in self.tasks:
            counts[task.reason] = counts.get(task.reason, 0) + 1
        return counts


@dataclass
class CleanupReport:
    deleted_tasks: list[GenerationTask] = field(default_factory=list)
    freed_bytes: int = 0
    removed_files: int = 0
    removed_rows: int = 0
    rebuilt_thumbnails: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"deleted {len(self.deleted_tasks)} tasks, removed {self.removed_files} orphan files and "
            f"{self.removed_rows} image rows with missing files, rebuilt {self.rebuilt_thumbnails} thumbnails; "
            f"freed {format_size(self.freed_bytes)}"
            + (f"; skipped {len(self.skipped)}" if self.skipped else "")
        )


def _eligible_tasks(cutoff: datetime):
    """Finished tasks neither created nor finished within the grace period."""
    return GenerationTask.objects.filter(status__in=FINISHED, created_at__lt=cutoff).filter(
        Q(completed_at__isnull=True) | Q(completed_at__lt=cutoff)
    )


def _bytes_per_task() -> dict[int, int]:
    rows = Image.objects.values("task_id").annotate(b=Sum(F("file_size") + F("thumbnail_size")))
    return {row["task_id"]: row["b"] or 0 for row in rows}


def _walk(root: str) -> list[str]:
    """Every file below `root` in the default storage."""
    found: list[str] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            dirs, files = default_storage.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        found.extend(f"{folder}/{name}" for name in files)
        pending.extend(f"{folder}/{name}" for name in dirs)
    return found


def _task_folder(path: str) -> str:
    return path.rsplit("/", 1)[0]


def _unfinished_prefixes() -> set[str]:
    ids = GenerationTask.objects.filter(status__in=UNFINISHED).values_list("task_id", flat=True)
    return {GenerationTask(task_id=task_id).file_prefix() for task_id in ids}


def cleanup_plan(*, policy: CleanupPolicy, now: datetime | None = None) -> CleanupPlan:
    """What a cleanup with this policy would do now. Reads only."""
    now = now or timezone.now()
    plan = CleanupPlan(policy=policy, now=now, cutoff=now - timedelta(hours=policy.grace_hours))
    sizes = _bytes_per_task()
    plan.stored_bytes = sum(sizes.values())
    eligible = _eligible_tasks(plan.cutoff)
    chosen: dict[int, str] = {}

    if policy.older_than_days:
        too_old = eligible.filter(created_at__lt=now - timedelta(days=policy.older_than_days))
        chosen.update((pk, "age") for pk in too_old.values_list("pk", flat=True))
    if policy.keep_latest:
        # The newest N the people see: what is in the trash is not kept (it may still be chosen).
        newest = GenerationTask.objects.filter(status__in=FINISHED, deleted_at__isnull=True).order_by("-created_at", "-id")
        boundary = newest.values("created_at", "id")[policy.keep_latest - 1 : policy.keep_latest].first()
        if boundary is not None:
            beyond = eligible.filter(
                Q(created_at__lt=boundary["created_at"]) | Q(created_at=boundary["created_at"], id__lt=boundary["id"])
            )
            for pk in beyond.values_list("pk", flat=True):
                chosen.setdefault(pk, "count")
    if policy.max_bytes:
        remaining = plan.stored_bytes - sum(sizes.get(pk, 0) for pk in chosen)
        if remaining > policy.max_bytes:
            for pk in eligible.order_by("created_at", "id").values_list("pk", flat=True).iterator():
                if remaining <= policy.max_bytes:
                    break
                if pk in chosen or not sizes.get(pk):
                    continue
                chosen[pk] = "size"
                remaining -= sizes[pk]

    rows = GenerationTask.objects.filter(pk__in=list(chosen)) if len(chosen) < 900 else None
    if rows is None:  # SQLite caps query parameters; fetch in a scan instead
        rows = eligible.filter(pk__gte=min(chosen), pk__lte=max(chosen))
    for pk, task_id, created_at, status in rows.order_by("created_at", "id").values_list(
        "pk", "task_id", "created_at", "status"
    ):
        if pk in chosen:
            plan.tasks.append(PlannedTask(pk, task_id, created_at, status, sizes.get(pk, 0), chosen[pk]))

    if policy.files:
        _plan_files(plan)
    return plan


def _plan_files(plan: CleanupPlan) -> None:
    existing = {path for root in SWEPT_ROOTS for path in _walk(root)}
    referenced: set[str] = set()
    going = {GenerationTask(task_id=t.task_id).file_prefix() for t in plan.tasks}
    images = Image.objects.values_list("pk", "image_id", "task__task_id", "file_path", "thumbnail_path", "created_at")
    for pk, image_id, task_id, file_path, thumbnail_path, created_at in images.iterator(chunk_size=2000):
        referenced.update((file_path, thumbnail_path))
        if created_at >= plan.cutoff or _task_folder(file_path) in going:
            continue
        broken = BrokenImage(pk, image_id, task_id, file_path, thumbnail_path)
        if file_path not in existing:
            plan.missing_files.append(broken)
        elif thumbnail_path not in existing:
            plan.missing_thumbnails.append(broken)
    # A reference file no row names: left by a task creation that was rolled back after writing it.
    referenced.update(Reference.objects.values_list("file_path", flat=True).iterator(chunk_size=2000))
    protected = _unfinished_prefixes() | going
    for path in sorted(existing - referenced):
        if _task_folder(path) in protected:
            continue
        try:
            if default_storage.get_modified_time(path) >= plan.cutoff:
                continue
            size = default_storage.size(path)
        except (FileNotFoundError, OSError):
            continue
        plan.orphan_files.append(OrphanFile(path, size))


# --- Applying a plan ------------------------------------------------------------------------------------


def cleanup_apply(*, plan: CleanupPlan, progress: Callable[[str, int, int], None] | None = None) -> CleanupReport:
    """Carry out a plan, checking each step again (things may have changed since it was made)."""
    report = CleanupReport()
    progress = progress or (lambda what, done, total: None)
    folders: set[str] = set()

    total = len(plan.tasks)
    for done, item in enumerate(plan.tasks, start=1):
        # Still finished, and not finished again within the grace period (retried since the plan).
        task = _eligible_tasks(plan.cutoff).filter(pk=item.pk).first()
        if task is None:
            report.skipped.append(f"task {item.task_id}: gone, no longer finished or finished again recently")
        else:
            try:
                services.task_delete(task=task)
            except Conflict:
                report.skipped.append(f"task {item.task_id}: no longer finished")
            else:
                report.deleted_tasks.append(task)
                report.freed_bytes += item.bytes
                folders.add(task.file_prefix())
        if done % 50 == 0 or done == total:
            progress("tasks", done, total)

    if plan.orphan_files:
        unfinished = _unfinished_prefixes()
        for done, orphan in enumerate(plan.orphan_files, start=1):
            still_orphan = (
                _task_folder(orphan.path) not in unfinished
                and not Image.objects.filter(Q(file_path=orphan.path) | Q(thumbnail_path=orphan.path)).exists()
                and not Reference.objects.filter(file_path=orphan.path).exists()
            )
            if still_orphan:
                storage.delete_files([orphan.path])
                if not default_storage.exists(orphan.path):
                    report.removed_files += 1
                    report.freed_bytes += orphan.size
                    folders.add(_task_folder(orphan.path))
            if done % 200 == 0 or done == len(plan.orphan_files):
                progress("orphan files", done, len(plan.orphan_files))

    for broken in plan.missing_files:
        image = Image.objects.filter(pk=broken.pk).first()
        if image is None or default_storage.exists(image.file_path):
            continue
        thumbnail_bytes = image.thumbnail_size if default_storage.exists(image.thumbnail_path) else 0
        with transaction.atomic():
            image.delete()
            transaction.on_commit(lambda path=image.thumbnail_path: storage.delete_files([path]))
        report.removed_rows += 1
        report.freed_bytes += thumbnail_bytes
        folders.add(_task_folder(image.file_path))
        log.warning("cleanup: image %s of task %s had no file; row removed", image.image_id, broken.task_id)

    for broken in plan.missing_thumbnails:
        if _rebuild_thumbnail(broken.pk):
            report.rebuilt_thumbnails += 1

    if folders:
        # After the deletions' own on_commit callbacks have removed the files.
        transaction.on_commit(lambda: _remove_empty_folders(folders))
    log.info("cleanup (%s): %s", plan.policy.describe(), report.summary())
    return report


def _rebuild_thumbnail(pk: int) -> bool:
    image = Image.objects.filter(pk=pk).first()
    if image is None or default_storage.exists(image.thumbnail_path):
        return False
    try:
        with default_storage.open(image.file_path, "rb") as fh:
            data = fh.read()
        thumb, _w, _h = imaging.make_thumbnail(data, max_side=settings.IMAGEGEN_THUMBNAIL_SIZE)
        saved = default_storage.save(image.thumbnail_path, ContentFile(thumb))
    except (OSError, imaging.ImageDataError):
        log.warning("cleanup: could not rebuild the thumbnail of %s", image.image_id, exc_info=True)
        return False
    Image.objects.filter(pk=pk).update(thumbnail_path=saved, thumbnail_size=len(thumb))
    return True


def _remove_empty_folders(folders: set[str]) -> None:
    """Task folders left empty on local disk (object stores have no folders). Never one of a running task."""
    if not isinstance(default_storage, FileSystemStorage):
        return
    unfinished = _unfinished_prefixes()
    for folder in folders:
        if folder in unfinished or not folder.startswith("images/"):
            continue
        try:
            os.rmdir(default_storage.path(folder))
        except OSError:
            pass  # not empty, or already gone


# --- The daily schedule ---------------------------------------------------------------------------------

SCHEDULE_NAME = "imagegen: daily cleanup"
SCHEDULE_FUNC = "generation.maintenance.cleanup_scheduled"


def cleanup_scheduled() -> str:
    """Run by django-q2 once a day: deletes for good what has been in the trash longer than
    IMAGEGEN_TRASH_DAYS, prunes the audit log past IMAGEGEN_AUDIT_RETENTION_DAYS and the webhook delivery log
    past IMAGEGEN_WEBHOOK_LOG_DAYS, and cleans up tasks and files only when IMAGEGEN_CLEANUP_SCHEDULE is on."""
    purged = services.trash_purge_expired()
    uploads = services.references_purge_unused()
    pruned = (f"; {uploads} reference uploads no task used deleted"
              f"; {purged['tasks']} tasks and {purged['images']} images deleted from the trash after "
              f"{settings.IMAGEGEN_TRASH_DAYS} days; {audit_prune()} audit events past retention deleted"
              f"; {webhooks.deliveries_prune()} webhook deliveries past retention deleted")
    if not settings.IMAGEGEN_CLEANUP_SCHEDULE:
        return "skipped: IMAGEGEN_CLEANUP_SCHEDULE is off" + pruned
    policy = CleanupPolicy.from_settings()
    report = cleanup_apply(plan=cleanup_plan(policy=policy))
    return report.summary() + pruned


# --- Queue report ---------------------------------------------------------------------------------------


def workers_seen() -> dict:
    """Clusters and worker processes that reported to django-q2's stats cache recently."""
    return broker.queue_figures()


def queue_status(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    counts = selectors.queue_stats()
    oldest = (
        GenerationTask.objects.filter(status=Status.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    finished_last_hour = GenerationTask.objects.filter(completed_at__gte=hour_ago)
    return {
        "pending": counts[Status.PENDING],
        "running": counts[Status.PROCESSING],
        "retrying": counts[Status.RETRYING],
        "failed_last_hour": finished_last_hour.filter(status=Status.FAILED).count(),
        "completed_last_hour": finished_last_hour.filter(status=Status.COMPLETED).count(),
        "oldest_pending_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
        **workers_seen(),
        "worker": supervision.worker_state(now=now).as_dict(),
    }
