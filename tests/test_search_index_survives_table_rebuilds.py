"""SQLite remakes a table to change most of its columns (migration 0014 adds fields with defaults to `tasks`:
CREATE new__tasks, copy, DROP, RENAME), and the remade table has lost the search index's triggers. After
migrating, the index is made again (generation/signals.py, post_migrate), so search keeps finding new tasks."""

from __future__ import annotations

from django.core.management import call_command
from django.db import connection

from generation import search_index

from .admin_helpers import make_tasks
from .test_prompt_search import found, indexed


def triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tasks'")
        return {name for (name,) in cursor.fetchall()}


def test_the_migrated_test_database_has_every_search_trigger(db):
    assert triggers() >= set(search_index.SEARCH_TRIGGERS)


def test_after_a_migration_drops_the_triggers_migrating_makes_the_index_again(transactional_db, api):
    with connection.cursor() as cursor:
        for name in search_index.SEARCH_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    make_tasks(1, prompt="a heron before the triggers came back")
    assert indexed("heron") == 0  # no trigger saw it

    call_command("migrate", verbosity=0)

    assert triggers() >= set(search_index.SEARCH_TRIGGERS)
    assert indexed("heron") == 1  # made again from the tasks
    make_tasks(1, prompt="a second heron, written by the trigger")
    assert found(api, "heron") == ["a second heron, written by the trigger", "a heron before the triggers came back"]


def test_with_its_triggers_in_place_nothing_is_made_again(db):
    assert search_index.search_index_ensure() is False
