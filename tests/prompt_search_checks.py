"""The prompt search's checks, run inside `manage.py shell` against a real PostgreSQL database by
tests/test_prompt_search_postgresql.py (the settings read DATABASE_URL once, at start). Prints "ok" at the end."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from generation import search as prompt_search
from generation import services
from generation.models import GenerationTask
from history.selectors import history_list

from .admin_helpers import make_tasks


def found(q: str, user=None, **filters) -> list[str]:
    return [task.prompt for task in history_list(filters={"q": q, **filters}, user=user)[0:100]]


def one(prompt: str, **fields) -> GenerationTask:
    return make_tasks(1, prompt=prompt, **fields)[0]


class _Undo(Exception):
    pass


def plan(q: str) -> str:
    """How PostgreSQL answers the search's filter for this text: for a rare one on a big table, from
    idx_task_prompt_trgm. A test's table is small, so the other ways are taken away for the question (the
    table scan switched off, the one b-tree that holds deleted_at dropped inside a transaction undone after)."""
    query = prompt_search._prompt_matches(GenerationTask.objects.filter(deleted_at__isnull=True), q).order_by()
    sql, params = query.values("pk").query.get_compiler(connection=connection).as_sql()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("DROP INDEX idx_task_created_status")
            cursor.execute("EXPLAIN " + sql, params)
            found = "\n".join(row[0] for row in cursor.fetchall())
            raise _Undo
    except _Undo:
        return found


def check() -> None:
    assert connection.vendor == "postgresql"
    # English words and Chinese substrings, case-insensitively, through the pg_trgm index.
    one("A Lighthouse at dawn")
    one("一只在日落时分奔跑的小狐狸")
    assert found("LIGHTHOUSE") == ["A Lighthouse at dawn"] and found("ghthou") == ["A Lighthouse at dawn"]
    assert found("日落时分") == ["一只在日落时分奔跑的小狐狸"] and found("狐狸") == ["一只在日落时分奔跑的小狐狸"]
    assert "idx_task_prompt_trgm" in plan("lighthouse"), plan("lighthouse")
    assert "idx_task_prompt_trgm" in plan("日落时分"), plan("日落时分")

    # The user's text is literal: no wildcard, no operator.
    for prompt in ["100% sure", "1000 sure", "snake_case", "snakeXcase", "back\\slash", 'say "NEAR( please', "a OR b"]:
        one(prompt)
    assert found("0%") == ["100% sure"] and found("%") == ["100% sure"]
    assert found("e_c") == ["snake_case"] and found("_") == ["snake_case"]
    assert found("\\") == ["back\\slash"] and found("k\\s") == ["back\\slash"]
    assert found('"NEAR(') == ['say "NEAR( please'] and found("a OR b") == ["a OR b"]

    # Create, trash, restore, delete; bulk update and delete; the cleanup.
    task = one("an orchard in bloom")
    assert found("orchard") == ["an orchard in bloom"]
    services.task_trash(task=task)
    assert found("orchard") == []
    services.task_restore(task=task)
    assert found("orchard") == ["an orchard in bloom"]
    services.task_delete(task=task)
    assert found("orchard") == []
    rivers = make_tasks(3, prompt="river {n}")
    GenerationTask.objects.filter(pk=rivers[0].pk).update(prompt="a frozen lake")
    GenerationTask.objects.filter(pk=rivers[1].pk).update(deleted_at=timezone.now())
    assert found("river") == ["river 2"] and found("frozen") == ["a frozen lake"]
    GenerationTask.objects.filter(prompt__startswith="river").delete()
    assert found("river") == []
    make_tasks(2, prompt="old harbour {n}", age=timedelta(days=40))
    one("new harbour")
    call_command("cleanup", "--older-than", "30", "--no-files", stdout=StringIO())
    assert found("harbour") == ["new harbour"]

    # Users apart; the count capped.
    alice, bob = (get_user_model().objects.create_user(name) for name in ("alice", "bob"))
    make_tasks(2, prompt="alice's secret meadow {n}", owner=alice)
    one("bob's meadow", owner=bob)
    assert found("meadow", user=bob) == ["bob's meadow"] and found("secret", user=bob) == []
    assert found("meadow", user=alice) == ["alice's secret meadow 1", "alice's secret meadow 0"]
    cap = prompt_search.SEARCH_COUNT_CAP
    prompt_search.SEARCH_COUNT_CAP = 2
    try:
        search = history_list(filters={"q": "meadow"})
        assert search.count() == 2 and search.count_capped
        assert [t.prompt for t in search[0:2]] == ["bob's meadow", "alice's secret meadow 1"]
    finally:
        prompt_search.SEARCH_COUNT_CAP = cap

    # When the planner expects many more matches than the cap, the count is not made: it says the cap.
    search = history_list(filters={"q": "meadow"})
    assert 1 <= search._estimated_matches() < 100
    search._estimated_matches = lambda: 10_000.0
    assert search.count() == prompt_search.SEARCH_COUNT_CAP and search.count_capped
    assert [t.prompt for t in search[0:2]] == ["bob's meadow", "alice's secret meadow 1"]

    # The rebuild: an index that went missing is made again.
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX idx_task_prompt_trgm")
    assert "idx_task_prompt_trgm" not in plan("lighthouse")
    out = StringIO()
    call_command("rebuild_search_index", stdout=out)  # (and ANALYZE)
    assert "search index rebuilt" in out.getvalue() and "idx_task_prompt_trgm" in plan("lighthouse")
    call_command("rebuild_search_index", stdout=StringIO())  # again: REINDEX of the one there
    assert found("LIGHTHOUSE") == ["A Lighthouse at dawn"]
    print("ok")
