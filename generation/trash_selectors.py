"""Reads of the trash: what a user deleted, still restorable, and what the daily cleanup purges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    QuerySet,
    Value,
)
from django.utils.translation import gettext as _

from core.access import owned_by
from core.errors import NotFound

from .models import (
    GenerationTask,
    Image,
    is_image_id,
    is_task_id,
)


@dataclass
class TrashEntry:
    """One entry of the trash: a task (with the images that went there with it) or an image trashed alone."""

    kind: str  # "task" | "image"
    item_id: str
    deleted_at: datetime
    task: GenerationTask
    images: list[Image]

    @property
    def image(self) -> Image:
        return self.images[0]


def trash_tasks(*, user=None, before: datetime | None = None) -> QuerySet:
    """`user`'s tasks in the trash (everyone's with None), or those put there before `before`."""
    qs = owned_by(GenerationTask.objects.filter(deleted_at__isnull=False), user).order_by()  # idx_task_trash, unsorted
    return qs.filter(deleted_at__lt=before) if before is not None else qs


def trash_images(*, user=None, before: datetime | None = None) -> QuerySet:
    """`user`'s images in the trash, alone or with their task, or those put there before `before`."""
    qs = owned_by(Image.objects.filter(deleted_at__isnull=False), user).order_by()  # idx_image_trash, unsorted
    return qs.filter(deleted_at__lt=before) if before is not None else qs


def _trashed_alone(qs: QuerySet) -> QuerySet:
    # An image whose task is in the trash is not an entry of its own: it comes back (or goes) with the task.
    return qs.filter(deleted_at__isnull=False, task__deleted_at__isnull=True)


def trash_list(*, user=None) -> QuerySet:
    """The entries of `user`'s trash (everyone's in open mode), last put there first, as (deleted_at, id, kind)
    rows (a page of them becomes TrashEntry objects with trash_entries)."""
    tasks = owned_by(GenerationTask.objects.filter(deleted_at__isnull=False), user).annotate(kind=Value("task"))
    images = _trashed_alone(owned_by(Image.objects.all(), user)).annotate(kind=Value("image"))
    rows = tasks.values_list("deleted_at", "id", "kind").order_by().union(
        images.values_list("deleted_at", "id", "kind").order_by(), all=True)
    return rows.order_by("-deleted_at", "-kind", "-id")


def trash_entries(rows) -> list[TrashEntry]:
    """The TrashEntry objects of trash_list's rows, in their order, with three queries for any page."""
    rows = list(rows)
    task_pks = [pk for _at, pk, kind in rows if kind == "task"]
    image_pks = [pk for _at, pk, kind in rows if kind == "image"]
    tasks = {t.pk: t for t in GenerationTask.objects.filter(pk__in=task_pks)}
    with_task: dict[int, list[Image]] = {}
    for image in Image.objects.filter(task_id__in=task_pks, deleted_at__isnull=False).order_by("index"):
        if image.deleted_at == tasks[image.task_id].deleted_at:  # went with it, not trashed alone before
            with_task.setdefault(image.task_id, []).append(image)
    alone = {i.pk: i for i in Image.objects.filter(pk__in=image_pks).select_related("task")}
    entries = []
    for _at, pk, kind in rows:
        if kind == "task" and pk in tasks:
            task = tasks[pk]
            entries.append(TrashEntry("task", task.task_id, task.deleted_at, task, with_task.get(pk, [])))
        elif kind == "image" and pk in alone:  # (a row restored or purged since the page was read is left out)
            image = alone[pk]
            entries.append(TrashEntry("image", image.image_id, image.deleted_at, image.task, [image]))
    return entries


def trash_get(*, item_id: str, user=None) -> TrashEntry:
    """The entry of `user`'s trash with this id (a task id or an image id); NotFound when it is not one."""
    found = None
    if is_task_id(item_id):
        found = owned_by(GenerationTask.objects.filter(task_id=item_id, deleted_at__isnull=False), user).values_list(
            "deleted_at", "id").first()
        kind = "task"
    elif is_image_id(item_id):
        found = _trashed_alone(owned_by(Image.objects.filter(image_id=item_id), user)).values_list(
            "deleted_at", "id").first()
        kind = "image"
    entries = trash_entries([(found[0], found[1], kind)]) if found else []
    if not entries:
        raise NotFound(_("This is not in the trash."))
    return entries[0]


