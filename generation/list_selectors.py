"""Reads of list pages (/api/v1/tasks, history, the gallery): the page's rows in one query, their images and
tags in one more, and a total from index counts (BENCHMARKS.md, "Lists under load")."""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

from django.db import connection
from django.db.models import (
    BooleanField,
    DateTimeField,
    JSONField,
    QuerySet,
)

from . import selectors
from .search import PromptSearch
from .models import (
    UNFINISHED,
    GenerationTask,
    Image,
    ImageTag,
)
from .selectors import SNAPSHOT_IMAGE_FIELDS, SNAPSHOT_TASK_FIELDS, TaskSnapshot, from_db, snapshot_fields


def task_rows(qs: QuerySet | PromptSearch):
    """A task list's rows as tuples of the columns a task's JSON shows (task_page turns a page of them into
    snapshots): no model instances and no prefetch, which together cost more than the page's SQL."""
    if isinstance(qs, PromptSearch):
        return SearchRows(qs)
    return qs.prefetch_related(None).values_list(*SNAPSHOT_TASK_FIELDS)


class SearchRows:
    """A prompt search's rows as task_rows gives them: the index finds the page's keys (generation/search.py),
    one query by primary key reads their columns. Counted, and capped, as the search is."""

    def __init__(self, search: PromptSearch):
        self.search = search

    @property
    def count_capped(self) -> bool:
        return self.search.count_capped

    def count(self) -> int:
        return self.search.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[tuple]:
        ids = self.search.page_ids(window)
        by_id = SNAPSHOT_TASK_FIELDS.index("id")
        rows = {row[by_id]: row for row in GenerationTask.objects.filter(pk__in=ids).values_list(*SNAPSHOT_TASK_FIELDS)}
        return [rows[pk] for pk in ids if pk in rows]


def unfiltered(filters: dict) -> bool:
    """No filter but the page: the lists' common request, which gets the cheap count and the plain page."""
    return not any(value for name, value in filters.items() if name not in ("page", "page_size"))


class PlainRows:
    """An unfiltered list's rows as task_rows gives them, read by a hand-written SQL statement when the
    paginator slices a page out of them (LIMIT/OFFSET on the list's index walk). Building, compiling and
    converting the ORM's query cost three times running it; the filtered lists keep the ORM's. Never counted
    (the cheap count comes with it: task_count, history.selectors.history_count)."""

    def __init__(self, *, user=None, finished_only: bool = False):
        self.user, self.finished_only = user, finished_only  # finished_only: history's rows

    def __getitem__(self, window: slice) -> list[tuple]:
        sql, params = _plain_rows_sql(self.user is not None, self.finished_only), []
        if self.user is not None:
            params.append(self.user.pk)
        if self.finished_only:
            params += [str(status) for status in UNFINISHED]
        params += [window.stop - window.start, window.start]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        convert = _plain_rows_conversions()
        return [tuple(row[n] if c is None else c(row[n]) for n, c in enumerate(convert)) for row in rows]


@lru_cache(maxsize=1)
def _plain_rows_conversions() -> list:
    """Per column of the rows, the conversion from_db makes (None: the driver's value as it is). Seven of the
    31 columns need one; asking from_db for each of 620 values was a tenth of a page's cost."""
    def conversion(field):
        if isinstance(field, (DateTimeField, JSONField, BooleanField)):
            return lambda value: from_db(value, field)
        return None

    return [conversion(field) for field in snapshot_fields()[0]]


@lru_cache(maxsize=4)
def _plain_rows_sql(owned: bool, finished_only: bool) -> str:
    q = connection.ops.quote_name

    def col(name):
        return q(GenerationTask._meta.get_field(name).column)

    where = [f"{col('deleted_at')} IS NULL"]
    if owned:
        where.append(f"{col('owner')} = %s")
    if finished_only:  # as history_list: "not unfinished" walks the (created_at, id, status) index in order
        where.append(f"{col('status')} NOT IN ({', '.join('%s' for _ in UNFINISHED)})")
    # The order task_list gives (newest first): the (created_at, id) indexes walk it as it is.
    return (f"SELECT {', '.join(col(name) for name in SNAPSHOT_TASK_FIELDS)} FROM {q(GenerationTask._meta.db_table)} "
            f"WHERE {' AND '.join(where)} ORDER BY {col('created_at')} DESC, {col('id')} DESC LIMIT %s OFFSET %s")


def task_list_rows(*, filters: dict, user=None):
    """task_list's rows as task_rows gives them: by hand-written SQL when only a page is asked for."""
    if unfiltered(filters):
        return PlainRows(user=user)
    return task_rows(selectors.task_list(filters=filters, user=user))


def task_page(rows) -> list[tuple[TaskSnapshot, list[tuple[SimpleNamespace, list[str]]]]]:
    """A page of task_rows' tuples as task_snapshot gives one task, in the page's order: one more indexed
    query (the images' task foreign key) reads the images out of the trash and their tag names."""
    task_fields, _image_fields = snapshot_fields()
    tasks = [TaskSnapshot(**{f.attname: v for f, v in zip(task_fields, row)}) for row in rows]
    images = task_images([task.id for task in tasks])
    return [(task, images.get(task.id, [])) for task in tasks]


@lru_cache(maxsize=1)
def _page_images_sql() -> str:
    q = connection.ops.quote_name

    def col(model, name):
        return q(model._meta.get_field(name).column)

    image_columns = ", ".join(f"i.{col(Image, name)}" for name in SNAPSHOT_IMAGE_FIELDS)
    return (
        f"SELECT i.{col(Image, 'task')}, {image_columns}, g.{col(ImageTag, 'tag_name')} "
        f"FROM {q(Image._meta.db_table)} i "
        f"LEFT JOIN {q(ImageTag._meta.db_table)} g ON g.{col(ImageTag, 'image')} = i.{col(Image, 'id')} "
        f"WHERE i.{col(Image, 'deleted_at')} IS NULL AND i.{col(Image, 'task')} IN "
    )


def task_images(task_pks: list[int]) -> dict[int, list[tuple[SimpleNamespace, list[str]]]]:
    """The images out of the trash of these tasks (by primary key), in their order, each with its sorted tag
    names; one query however many tasks."""
    if not task_pks:
        return {}
    sql = _page_images_sql() + "(" + ", ".join("%s" for _ in task_pks) + ")"
    with connection.cursor() as cursor:
        cursor.execute(sql, task_pks)
        rows = cursor.fetchall()
    # The image columns are text and integers, which the driver gives as they are (no conversion).
    found: dict[str, tuple[int, SimpleNamespace, list[str]]] = {}
    for row in rows:
        image_id, tag = row[1], row[-1]
        if image_id not in found:
            found[image_id] = (row[0], SimpleNamespace(**dict(zip(SNAPSHOT_IMAGE_FIELDS, row[1:-1]))), [])
        if tag is not None:
            found[image_id][2].append(tag)
    by_task: dict[int, list[tuple[SimpleNamespace, list[str]]]] = {}
    for task_pk, image, tags in sorted(found.values(), key=lambda entry: (entry[0], entry[1].index)):
        by_task.setdefault(task_pk, []).append((image, sorted(tags)))
    return by_task


def task_count(*, filters: dict, user=None):
    """A cheaper count for the unfiltered task list, or None: every task minus those in the trash (on the
    trash's small partial index), instead of a scan that reads each row's deleted_at."""
    if not unfiltered(filters):
        return None
    return lambda: count_less(GenerationTask, user, trashed=True)


def count_less(model, user=None, *, trashed: bool = False, statuses=()) -> int:
    """How many rows of `model` (`user`'s; all in open mode), less those in the trash (`trashed`) and those in
    `statuses`, as one statement of index counts: a bare COUNT(*) walks the narrowest index, the others
    the small partial trash index and the status index. Three ORM counts cost twice as much to compile
    as to run."""
    q = connection.ops.quote_name

    def col(name):
        return q(model._meta.get_field(name).column)

    table, parts, params = q(model._meta.db_table), [], []

    def count(*conditions, values=()):
        if user is not None:
            conditions, values = (*conditions, f"{col('owner')} = %s"), (*values, user.pk)
        parts.append(f"(SELECT COUNT(*) FROM {table}{' WHERE ' if conditions else ''}{' AND '.join(conditions)})")
        params.extend(values)

    count()
    if trashed:
        count(f"{col('deleted_at')} IS NOT NULL")
    if statuses:
        count(f"{col('status')} IN ({', '.join('%s' for _ in statuses)})", values=[str(s) for s in statuses])
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + " - ".join(parts), params)
        return cursor.fetchone()[0]


