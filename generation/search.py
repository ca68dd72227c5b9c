"""Prompt search: the index (SQLite FTS5 trigram, PostgreSQL pg_trgm; its tables and triggers: migration
0013_prompt_search, rebuilt by search_index.search_index_rebuild), its pages and its capped count."""

from __future__ import annotations

import json

from django.db import connection
from django.db.models import (
    BooleanField,
    QuerySet,
)
from django.db.models.expressions import RawSQL

from core.access import owned_by

from .models import (
    GenerationTask,
)

SEARCH_COUNT_CAP = 1000  # a search counts up to this many matches; beyond, the count says "1,000+"
SEARCH_INDEXED_LENGTH = 3  # trigrams: shorter text has none, so it is looked for by a scan (README)
_SEARCH_KEY_ID = 0xFFFFFFFF  # the low 32 bits of the SQLite index's rowid are the task's id (migration 0013)


def _like_pattern(text: str) -> str:
    # The user's % and _ are characters to find, not wildcards.
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts_quoted(text: str) -> str:
    # A quoted phrase: FTS5's operators (OR, NEAR(, *, ^, column filters) inside it are plain text.
    return '"' + text.replace('"', '""') + '"'


def _fts_query(text: str, user, *, rows_checked: bool = False) -> str:
    if user is None:
        return f"prompt : {_fts_quoted(text)}"
    # Accounts mode: the owner is in the index ("<id>", exactly that substring), so one user's search never
    # walks the other users' matches.
    if not rows_checked:
        return f'owner : "<{user.pk}>" AND prompt : {_fts_quoted(text)}'
    # When the caller checks each row for the whole text (PromptSearch._fts_sql), the prompt is asked for as
    # trigrams that cover it (every third one and the last) rather than as the phrase of all of them:
    # checking a phrase's positions in each of the user's rows costs five times more. (That check is LIKE,
    # which folds ASCII case only: "Ä" finds "ä" in open mode's phrase, not here.)
    starts = sorted({*range(0, len(text) - 2, 3), len(text) - 3})
    terms = " AND ".join(_fts_quoted(text[i:i + 3]) for i in starts)
    return f'owner : "<{user.pk}>" AND prompt : ({terms})'


def _uses_fts(text: str) -> bool:
    return connection.vendor == "sqlite" and len(text) >= SEARCH_INDEXED_LENGTH


def _prompt_matches(qs: QuerySet, text: str) -> QuerySet:
    """`qs` narrowed to prompts containing `text`, case-insensitively, as the ORM runs it (no FTS)."""
    if connection.vendor == "postgresql":
        # ILIKE on the column itself, which the pg_trgm GIN index serves (icontains would be UPPER(..) LIKE).
        column = f"{connection.ops.quote_name(GenerationTask._meta.db_table)}.{connection.ops.quote_name('prompt')}"
        return qs.filter(RawSQL(f"{column} ILIKE %s", (_like_pattern(text),), output_field=BooleanField()))
    return qs.filter(prompt__icontains=text)


def prompt_task_ids(*, text: str, user=None) -> QuerySet | RawSQL:
    """The ids of `user`'s tasks out of the trash whose prompt contains `text`, for an `__in` filter (the
    gallery's): the whole set at once, which the index finds without a scan for text of 3 characters or more."""
    if _uses_fts(text):
        return RawSQL(f"SELECT rowid & {_SEARCH_KEY_ID} FROM tasks_search WHERE tasks_search MATCH %s",
                      (_fts_query(text, user),))
    return _prompt_matches(owned_by(GenerationTask.objects.filter(deleted_at__isnull=True), user), text).values("pk")


class PromptSearch:
    """The tasks of `base` whose prompt contains `text`, newest first, in pages: what Django's paginator
    needs (count(), slicing). Each page is one pass over the index that stops after the page's rows, and the
    count stops at SEARCH_COUNT_CAP + 1 (then `count_capped`), so neither grows with the number of tasks.

    SQLite (text of 3 characters or more): the FTS5 index hands matching rows out in the order of its rowid,
    the (second of created_at, id) key, newest first; each is checked against `base`'s other filters (status,
    model, trash, owner, ...) by its primary key, and the page is put in the lists' exact order (created_at,
    id) from what the index gave up to it and the rest of its last second.

    PostgreSQL: ILIKE, which pg_trgm's index serves; the planner walks the (created_at, id) index instead
    when its estimate says matches are many (its estimates of LIKE come from a sample of prompts ANALYZE
    keeps, made ten times the default by migration 0013: with the default it guessed a word in 1 % of a
    million tasks at 100 rows and took 0.4 s). The page is its plan. For the count, the planner's estimate of the matches is read first
    (EXPLAIN: nothing is read): over twice the cap, counting would read every match up to the cap (a word in
    1 % of the tasks: 100,000 rows), so the count says the cap uncounted ("1,000+", `count_capped`);
    below, the matches are few and counted, up to the cap.

    Text shorter than 3 characters has no trigram: SQLite walks `base` newest first with LIKE (a common
    one's page and count stop early; a rare one reads every task), PostgreSQL as above."""

    ordered = True

    def __init__(self, base: QuerySet, text: str, *, user=None):
        self.base, self.text, self.user = base, text, user
        self.count_capped = False

    def _fts_sql(self, select: str, tail: str, *, keys: tuple[int, int] | None = None) -> tuple[str, list]:
        # base's filters, correlated with the index row by the id in the key: a primary-key lookup per row.
        check = self.base.order_by().filter(pk=RawSQL(f"tasks_search.rowid & {_SEARCH_KEY_ID}", ()))
        if self.user is not None:  # the index was asked for trigrams of the text, not the whole (_fts_query)
            check = check.filter(prompt__icontains=self.text)
        check = check.values("pk")
        check_sql, check_params = check.query.get_compiler(connection=connection).as_sql()
        within = "AND rowid >= %s AND rowid < %s " if keys else ""
        sql = f"SELECT {select} FROM tasks_search WHERE tasks_search MATCH %s {within}AND EXISTS ({check_sql}) {tail}"
        return sql, [_fts_query(self.text, self.user, rows_checked=True), *(keys or ()), *check_params]

    def _fts_rows(self, limit: int, keys: tuple[int, int] | None = None) -> list[tuple[int, str]]:
        """(key, created_at) of the matches in the index's order, newest second first."""
        created = (f"(SELECT t.created_at FROM {connection.ops.quote_name(GenerationTask._meta.db_table)} t "
                   f"WHERE t.id = tasks_search.rowid & {_SEARCH_KEY_ID})")
        sql, params = self._fts_sql(f"rowid, {created}", "ORDER BY rowid DESC LIMIT %s", keys=keys)
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit])
            return cursor.fetchall()

    def _fts_page(self, start: int, stop: int) -> list[int]:
        # The index orders by the second of created_at, then id; the lists by created_at, then id. The first
        # `stop` matches in the index's order hold every match of a newer second than the last one's; adding
        # the rest of that last second gives a set that holds the true first `stop`, which sorting then finds.
        rows = self._fts_rows(stop)
        if len(rows) == stop and stop:
            last = rows[-1][0]
            rows += self._fts_rows(-1, keys=((last >> 32) << 32, last))
        # SQLite's datetimes are ISO text: they sort as they compare (a value without microseconds is a prefix).
        rows.sort(key=lambda row: (row[1], row[0] & _SEARCH_KEY_ID), reverse=True)
        return [key & _SEARCH_KEY_ID for key, _created in rows[start:stop]]

    def _estimated_matches(self) -> float:
        """PostgreSQL: the planner's row estimate for the matches (EXPLAIN plans, it reads no row)."""
        query = _prompt_matches(self.base.order_by(), self.text).values("pk").query
        sql, params = query.get_compiler(connection=connection).as_sql()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return float(plan[0]["Plan"]["Plan Rows"])

    def count(self) -> int:
        limit = SEARCH_COUNT_CAP + 1
        if _uses_fts(self.text):
            sql, params = self._fts_sql("1", "LIMIT %s")
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM ({sql})", [*params, limit])
                found = cursor.fetchone()[0]
        elif connection.vendor == "postgresql" and self._estimated_matches() > 2 * limit:
            found = limit  # estimated, not counted: see the class's docstring
        else:
            found = _prompt_matches(self.base.order_by(), self.text).values("pk")[:limit].count()
        self.count_capped = found > SEARCH_COUNT_CAP
        return min(found, SEARCH_COUNT_CAP)

    def __len__(self) -> int:
        return self.count()

    def page_ids(self, index: slice) -> list[int]:
        """The primary keys of a page of matches, in the lists' order."""
        if not isinstance(index, slice) or index.step is not None:
            raise TypeError("PromptSearch takes a slice")
        start, stop = index.start or 0, index.stop
        if not _uses_fts(self.text):
            matches = _prompt_matches(self.base, self.text).order_by("-created_at", "-id")
            return list(matches.values_list("pk", flat=True)[start:stop])
        return self._fts_page(start, self.count() if stop is None else stop)

    def __getitem__(self, index: slice) -> list[GenerationTask]:
        ids = self.page_ids(index)
        found = {task.pk: task for task in self.base.filter(pk__in=ids)}  # with base's prefetches
        return [found[pk] for pk in ids if pk in found]
