"""Writes of the prompt search index (its reads: search.py): made again from the tasks (`manage.py
rebuild_search_index`), and after migrating when a remade `tasks` table lost its triggers (signals.py)."""

from __future__ import annotations

from django.db import connection, transaction

from .models import GenerationTask


# As migration 0013 makes them; the SQL is repeated here because a migration must not change with the code.
_SEARCH_KEY = "((CAST(strftime('%s', {row}.created_at) AS INTEGER) << 32) + {row}.id)"
_SEARCH_OWNER = "COALESCE('<' || {row}.owner_id || '>', '')"


def _search_add(row: str) -> str:
    return (f"INSERT INTO tasks_search(rowid, prompt, owner) SELECT {_SEARCH_KEY.format(row=row)}, {row}.prompt, "
            f"{_SEARCH_OWNER.format(row=row)} WHERE {row}.deleted_at IS NULL;")


def _search_remove(row: str) -> str:
    return (f"INSERT INTO tasks_search(tasks_search, rowid, prompt, owner) SELECT 'delete', "
            f"{_SEARCH_KEY.format(row=row)}, {row}.prompt, {_SEARCH_OWNER.format(row=row)} WHERE {row}.deleted_at IS NULL;")


_SEARCH_SQLITE = [
    "DROP TRIGGER IF EXISTS tasks_search_insert",
    "DROP TRIGGER IF EXISTS tasks_search_delete",
    "DROP TRIGGER IF EXISTS tasks_search_update",
    "DROP TABLE IF EXISTS tasks_search",
    "CREATE VIRTUAL TABLE tasks_search USING fts5(prompt, owner, content='', tokenize='trigram')",
    "INSERT INTO tasks_search(rowid, prompt, owner) SELECT " + _SEARCH_KEY.format(row="tasks") + ", prompt, "
    + _SEARCH_OWNER.format(row="tasks") + " FROM tasks WHERE deleted_at IS NULL",
    f"CREATE TRIGGER tasks_search_insert AFTER INSERT ON tasks BEGIN {_search_add('NEW')} END",
    f"CREATE TRIGGER tasks_search_delete AFTER DELETE ON tasks BEGIN {_search_remove('OLD')} END",
    "CREATE TRIGGER tasks_search_update AFTER UPDATE OF prompt, owner_id, created_at, deleted_at ON tasks "
    "WHEN OLD.prompt IS NOT NEW.prompt OR OLD.owner_id IS NOT NEW.owner_id OR OLD.created_at IS NOT NEW.created_at "
    f"OR OLD.deleted_at IS NOT NEW.deleted_at BEGIN {_search_remove('OLD')} {_search_add('NEW')} END",
    "INSERT INTO tasks_search(tasks_search) VALUES ('optimize')",  # one b-tree per term: the fastest reads
]
_SEARCH_POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # Made when missing, else made again (REINDEX: one that went bad, e.g. after a collation change).
    "DO $$ BEGIN IF to_regclass('idx_task_prompt_trgm') IS NULL THEN CREATE INDEX idx_task_prompt_trgm ON tasks "
    "USING gin (prompt gin_trgm_ops) WHERE deleted_at IS NULL; ELSE REINDEX INDEX idx_task_prompt_trgm; END IF; END $$",
    "ALTER TABLE tasks ALTER COLUMN prompt SET STATISTICS 1000",  # as migration 0013 says why
    "ANALYZE tasks",
]


def search_index_rebuild() -> int:
    """Make the prompt search index again from the tasks, with its triggers (SQLite) or as an index
    (PostgreSQL): for a database whose index is missing or out of step (made before migration 0013 by a
    copy that skipped it, a restore by hand, triggers dropped). Returns how many tasks it holds (those out of
    the trash). Writes to tasks wait for it. SQLite: in one transaction, so searches meanwhile see the old
    index; PostgreSQL: searches wait for it too (REINDEX)."""
    statements = {"sqlite": _SEARCH_SQLITE, "postgresql": _SEARCH_POSTGRESQL}.get(connection.vendor)
    if statements is None:
        raise NotImplementedError(f"no prompt search index on {connection.vendor}")
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, None)  # None: the "%s" in strftime is not a placeholder
    return GenerationTask.objects.filter(deleted_at__isnull=True).count()


SEARCH_TRIGGERS = ("tasks_search_insert", "tasks_search_delete", "tasks_search_update")


def search_index_ensure() -> bool:
    """After migrations (post_migrate): SQLite remakes a table to change most of its columns (a new field with
    a default, say), and the remade `tasks` has lost the search index's triggers; the index is then made again.
    True when it was. PostgreSQL keeps its index through such changes."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tasks'")
        present = {name for (name,) in cursor.fetchall()}
    if present.issuperset(SEARCH_TRIGGERS):
        return False
    search_index_rebuild()
    return True
