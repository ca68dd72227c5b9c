"""Reads for the gallery: images with their task and tags, filterable; tag usage counts. Images in the trash
(alone or with their task) are left out of every one of them, as if deleted."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace

from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import owned_by
from core.errors import NotFound
from generation import list_selectors, search
from generation import selectors as generation_selectors
from generation.models import GenerationTask, Image, ImageTag, is_image_id

from .models import Board, ShareLink, Star, is_board_id, is_share_id


def image_list(*, filters: dict, user=None) -> QuerySet:
    """`user`'s images (everyone's in open mode), newest first, none in the trash."""
    # The task comes by prefetch, not a join: a join makes SQLite walk tasks first and sort 200,000 images.
    # An image carries its own deleted_at (set with its task's), so the trash needs no join either.
    qs = Image.objects.filter(deleted_at__isnull=True).prefetch_related(
        "task", "star", Prefetch("tags", queryset=ImageTag.objects.order_by("tag_name")))
    qs = owned_by(qs, user)
    if filters.get("tag"):
        qs = qs.filter(tags__tag_name=filters["tag"])
    if filters.get("model"):
        qs = qs.filter(task__model=filters["model"])
    if filters.get("q"):
        # The matching tasks' ids from the prompt index (generation.search.PromptSearch pages tasks, not images).
        qs = qs.filter(task_id__in=search.prompt_task_ids(text=filters["q"], user=user))
    if filters.get("batch"):
        qs = qs.filter(task__batch_id=filters["batch"])
    if filters.get("board"):
        qs = qs.filter(board_entries__board__board_id=filters["board"])
    if filters.get("starred"):
        qs = qs.filter(star__isnull=False)
    return qs.order_by("-created_at", "-id")


# The image columns a gallery row shows, with its task's primary key first.
_ROW_FIELDS = ("task", "created_at", "image_id", "index", "width", "height", "file_size", "format", "sha256", "seed")


def image_rows(qs: QuerySet) -> QuerySet:
    """image_list's images as tuples of the columns a gallery row shows (image_page reads the rest of a page):
    no model instances and no prefetches, which together cost more than the page's SQL."""
    return qs.prefetch_related(None).values_list("id", *_ROW_FIELDS)


class PlainImageRows:
    """The unfiltered gallery's rows as image_rows gives them, read by a hand-written SQL statement when the
    paginator slices a page out of them (as generation.list_selectors.PlainRows for the task lists)."""

    def __init__(self, *, user=None):
        self.user = user

    def __getitem__(self, window: slice) -> list[tuple]:
        params = [self.user.pk] if self.user is not None else []
        with connection.cursor() as cursor:
            cursor.execute(_plain_image_rows_sql(self.user is not None), [*params, window.stop - window.start, window.start])
            rows = cursor.fetchall()
        created = Image._meta.get_field("created_at")
        # created_at is the one column the driver does not give as the ORM would (SQLite: text).
        return [(*row[:2], generation_selectors.from_db(row[2], created), *row[3:]) for row in rows]


@lru_cache(maxsize=2)
def _plain_image_rows_sql(owned: bool) -> str:
    q = connection.ops.quote_name

    def col(name):
        return q(Image._meta.get_field(name).column)

    where = f"{col('deleted_at')} IS NULL" + (f" AND {col('owner')} = %s" if owned else "")
    # image_list's order (newest first), which idx_image_created / idx_image_owner_created walk as it is.
    return (f"SELECT {col('id')}, {', '.join(col(name) for name in _ROW_FIELDS)} FROM {q(Image._meta.db_table)} "
            f"WHERE {where} ORDER BY {col('created_at')} DESC, {col('id')} DESC LIMIT %s OFFSET %s")


def image_list_rows(*, filters: dict, user=None):
    """image_list's rows as image_rows gives them: by hand-written SQL when only a page is asked for."""
    if list_selectors.unfiltered(filters):
        return PlainImageRows(user=user)
    return image_rows(image_list(filters=filters, user=user))


@lru_cache(maxsize=1)
def _image_page_sql() -> str:
    q = connection.ops.quote_name

    def col(model, name):
        return q(model._meta.get_field(name).column)

    tasks, images = q(GenerationTask._meta.db_table), q(Image._meta.db_table)
    return (
        f"SELECT i.{col(Image, 'id')}, t.{col(GenerationTask, 'task_id')}, t.{col(GenerationTask, 'prompt')}, "
        f"t.{col(GenerationTask, 'model')}, s.{col(Star, 'id')}, g.{col(ImageTag, 'tag_name')} "
        f"FROM {images} i JOIN {tasks} t ON t.{col(GenerationTask, 'id')} = i.{col(Image, 'task')} "
        f"LEFT JOIN {q(Star._meta.db_table)} s ON s.{col(Star, 'image')} = i.{col(Image, 'id')} "
        f"LEFT JOIN {q(ImageTag._meta.db_table)} g ON g.{col(ImageTag, 'image')} = i.{col(Image, 'id')} "
        f"WHERE i.{col(Image, 'id')} IN "
    )


def image_page(rows) -> list[GalleryRow]:
    """A page of image_rows' tuples with each image's task (id, prompt, model), star and sorted tag names, read
    by one more query on the images' primary keys. An image whose task was deleted since the page was read
    went with it (the delete cascades) and is left out, rather than shown half."""
    rows = list(rows)
    if not rows:
        return []
    sql = _image_page_sql() + "(" + ", ".join("%s" for _ in rows) + ")"
    with connection.cursor() as cursor:
        cursor.execute(sql, [row[0] for row in rows])
        found = cursor.fetchall()
    extra: dict[int, tuple[tuple, list[str]]] = {}
    for pk, task_id, prompt, model, star, tag in found:
        if pk not in extra:
            extra[pk] = ((task_id, prompt, model, star is not None), [])
        if tag is not None:
            extra[pk][1].append(tag)
    fields = _row_fields()
    page = []
    for row in rows:
        if row[0] not in extra:
            continue
        (task_id, prompt, model, starred), tags = extra[row[0]]
        image = SimpleNamespace(**{f.attname: v for f, v in zip(fields, row[1:])})
        page.append(GalleryRow(image, SimpleNamespace(task_id=task_id, prompt=prompt, model=model), sorted(tags), starred))
    return page


@dataclass
class GalleryRow:
    image: SimpleNamespace  # the _ROW_FIELDS columns as attributes
    task: SimpleNamespace  # task_id, prompt, model
    tags: list[str]
    starred: bool


@lru_cache(maxsize=1)
def _row_fields():
    return [Image._meta.get_field(name) for name in _ROW_FIELDS]


def image_count(*, filters: dict, user=None):
    """A cheaper count for the unfiltered gallery, or None: every image minus those in the trash, two index
    counts (the second on the trash's small partial index)."""
    if not list_selectors.unfiltered(filters):
        return None
    return lambda: list_selectors.count_less(Image, user, trashed=True)


def tag_counts(*, user=None) -> list[dict]:
    """Every tag of `user`'s images (of all images in open mode) out of the trash, with how many carry it, most
    used first."""
    tags = owned_by(ImageTag.objects.filter(image__deleted_at__isnull=True), user)
    return list(tags.values("tag_name").annotate(count=Count("id")).order_by("-count", "tag_name"))


def images_by_ids(*, image_ids, user=None, with_task: bool = False) -> list[Image]:
    """The images among `image_ids` that are `user`'s (any in open mode) and out of the trash; others are left
    out, as if missing."""
    qs = owned_by(Image.objects.filter(image_id__in=[i for i in image_ids if is_image_id(i)], deleted_at__isnull=True),
                  user)
    return list(qs.select_related("task") if with_task else qs)


def board_list(*, user=None) -> list[Board]:
    """`user`'s boards (all in open mode) by name, each with its image count (images in the trash left out)."""
    count = Count("entries", filter=Q(entries__image__deleted_at__isnull=True))
    return list(owned_by(Board.objects.all(), user).annotate(count=count).order_by("name", "id"))


def board_get(*, board_id: str, user=None) -> Board:
    """The board, if it is `user`'s; another user's is "not found", like a missing one."""
    board = owned_by(Board.objects.filter(board_id=board_id), user).first() if is_board_id(board_id) else None
    if board is None:
        raise NotFound(_("Board not found."))
    return board


# --- Share links ------------------------------------------------------------------------------------------


def share_list(*, user=None) -> list[ShareLink]:
    return list(owned_by(ShareLink.objects.all(), user).order_by("-created_at", "-id"))


def share_live_count(*, user=None) -> int:
    """How many of `user`'s links work now (neither revoked nor expired)."""
    return owned_by(ShareLink.objects.filter(revoked_at__isnull=True), user).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())).count()


def share_get(*, share_id: str, user=None) -> ShareLink:
    link = owned_by(ShareLink.objects.filter(share_id=share_id), user).first() if is_share_id(share_id) else None
    if link is None:
        raise NotFound(_("Share link not found."))
    return link


def share_target_images(*, kind: str, target_id: str, user=None) -> list[Image]:
    """The images a link to this target shows, as `user` (the link's owner) sees them; NotFound when the
    target is gone (or is not theirs)."""
    if kind == ShareLink.Kind.IMAGE:
        return [generation_selectors.image_get(image_id=target_id, user=user)]
    if kind == ShareLink.Kind.TASK:
        task = generation_selectors.task_get(task_id=target_id, user=user)
        images = list(task.images.all())  # task_get's prefetch: those out of the trash
        for image in images:
            image.task = task  # the page names images by their task's prompt: no query per image
        return images
    board = board_get(board_id=target_id, user=user)
    return list(owned_by(Image.objects.filter(board_entries__board=board, deleted_at__isnull=True), user).select_related("task")
                .order_by("-board_entries__added_at", "-id"))


def share_open(*, token: str, count: bool = False) -> tuple[ShareLink, list[Image]]:
    """The live link with this token and its images; NotFound alike for an unknown, revoked or expired link
    and for one whose target is gone. `count`: this is a view of the page."""
    link = ShareLink.objects.filter(token=token).first() if isinstance(token, str) and 20 <= len(token) <= 64 else None
    if link is None or not link.is_live():
        raise NotFound(_("This link does not exist or no longer works."))
    owner = link.owner if link.owner_id else None
    try:
        images = share_target_images(kind=link.kind, target_id=link.target_id, user=owner)
    except NotFound:
        raise NotFound(_("This link does not exist or no longer works.")) from None
    if count:
        ShareLink.objects.filter(pk=link.pk).update(views=F("views") + 1)
    return link, images
