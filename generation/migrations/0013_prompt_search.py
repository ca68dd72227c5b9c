"""The prompt search index (README, "How it works": prompt search), per database vendor.

SQLite: an FTS5 table with the trigram tokenizer (substrings, Chinese included, for 3 characters and more),
kept in sync by triggers on `tasks`, so bulk UPDATE and DELETE (queryset.update(), the cleanup, raw SQL)
keep it right too. It holds only tasks out of the trash. Its rowid is not the task's id but a sort key,
created_at's second in the high 32 bits and the id in the low 32: the index then hands matches out newest
first and a page stops after its rows, for a common word as for a rare one. Contentless (content=''): the
prompt is not stored twice; a trigger removes a row with the values it was added with (OLD.*).
The owner goes in as "<id>" in a column of its own, so one user's search in accounts mode is an AND
inside the index instead of a check of every other user's matches.

PostgreSQL: pg_trgm and a GIN trigram index on the prompt of tasks out of the trash (ILIKE uses it)."""

from django.db import migrations

# The SQL below is frozen here on purpose (a migration must not change with the code); the rebuild command
# (generation.search_index.search_index_rebuild) repeats the fill and must stay equal to it.
SQLITE_KEY = "((CAST(strftime('%s', {row}.created_at) AS INTEGER) << 32) + {row}.id)"
SQLITE_OWNER = "COALESCE('<' || {row}.owner_id || '>', '')"


def _add(row: str) -> str:
    return (f"INSERT INTO tasks_search(rowid, prompt, owner) SELECT {SQLITE_KEY.format(row=row)}, {row}.prompt, "
            f"{SQLITE_OWNER.format(row=row)} WHERE {row}.deleted_at IS NULL;")


def _remove(row: str) -> str:
    return (f"INSERT INTO tasks_search(tasks_search, rowid, prompt, owner) SELECT 'delete', "
            f"{SQLITE_KEY.format(row=row)}, {row}.prompt, {SQLITE_OWNER.format(row=row)} WHERE {row}.deleted_at IS NULL;")


SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE tasks_search USING fts5(prompt, owner, content='', tokenize='trigram')",
    f"CREATE TRIGGER tasks_search_insert AFTER INSERT ON tasks BEGIN {_add('NEW')} END",
    f"CREATE TRIGGER tasks_search_delete AFTER DELETE ON tasks BEGIN {_remove('OLD')} END",
    # Only when an indexed value changes: progress updates and saves of other columns cost nothing here.
    "CREATE TRIGGER tasks_search_update AFTER UPDATE OF prompt, owner_id, created_at, deleted_at ON tasks "
    "WHEN OLD.prompt IS NOT NEW.prompt OR OLD.owner_id IS NOT NEW.owner_id OR OLD.created_at IS NOT NEW.created_at "
    f"OR OLD.deleted_at IS NOT NEW.deleted_at BEGIN {_remove('OLD')} {_add('NEW')} END",
    "INSERT INTO tasks_search(rowid, prompt, owner) SELECT " + SQLITE_KEY.format(row="tasks") + ", prompt, "
    + SQLITE_OWNER.format(row="tasks") + " FROM tasks WHERE deleted_at IS NULL",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS tasks_search_insert",
    "DROP TRIGGER IF EXISTS tasks_search_delete",
    "DROP TRIGGER IF EXISTS tasks_search_update",
    "DROP TABLE IF EXISTS tasks_search",
]
POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS idx_task_prompt_trgm ON tasks USING gin (prompt gin_trgm_ops) WHERE deleted_at IS NULL",
    # The planner estimates ILIKE '%…%' from a sample of prompts: with the default 100 it often sees none of
    # a word in 1 % of the tasks, guesses 100 rows and reads 100,000 through the index to sort them. With
    # 1,000 its estimates held within a factor of 2 at a million tasks (BENCHMARKS.md, "Search at 1,000,000
    # tasks"); ANALYZE reads more rows for it (5 s at a million).
    "ALTER TABLE tasks ALTER COLUMN prompt SET STATISTICS 1000",
]
POSTGRESQL_BACKWARD = ["ALTER TABLE tasks ALTER COLUMN prompt SET STATISTICS -1", "DROP INDEX IF EXISTS idx_task_prompt_trgm"]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)  # None: "%s" in strftime is not a placeholder
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0012_merge_trash_and_webhooks'),
    ]

    operations = [
        migrations.RunPython(_run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
                             _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD})),
    ]
