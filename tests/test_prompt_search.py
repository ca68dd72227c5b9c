"""Prompt search (`q`) on SQLite, the test database: the FTS5 trigram index answers it and stays in step with
the tasks through every way they change (create, trash and restore, delete, bulk update and delete, the
cleanup), matches substrings in English and Chinese, takes the user's text literally, keeps users apart,
and counts only up to its cap. PostgreSQL: tests/test_prompt_search_postgresql.py."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from generation import search as prompt_search
from generation import services
from generation.models import GenerationTask

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .admin_helpers import make_tasks

pytestmark = pytest.mark.django_db


def found(api, q: str, path: str = "history", **params) -> list[str]:
    response = api.get(path, q=q, **params)
    assert response.status_code == 200, response.content
    return [item["prompt"] for item in response.json()["results"]]


def indexed(text: str) -> int:
    """How many rows of the index hold `text` (the index itself, not the list through it)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tasks_search WHERE tasks_search MATCH %s",
                       ['prompt : "' + text.replace('"', '""') + '"'])
        return cursor.fetchone()[0]


def one(prompt: str, *, created_at=None, **fields) -> GenerationTask:
    task = make_tasks(1, prompt=prompt, **fields)[0]
    if created_at is not None:
        GenerationTask.objects.filter(pk=task.pk).update(created_at=created_at)
    return task


def test_an_english_word_is_found_anywhere_in_the_prompt_whatever_its_case(api):
    one("A Lighthouse at dawn")
    one("the old lighthouses of the coast")
    one("a harbour at night")
    assert found(api, "LIGHTHOUSE") == ["the old lighthouses of the coast", "A Lighthouse at dawn"]
    assert found(api, "ghthou") == ["the old lighthouses of the coast", "A Lighthouse at dawn"]  # a substring
    assert found(api, "lighthouse at", path="tasks") == ["A Lighthouse at dawn"]
    assert found(api, "submarine") == []


def test_chinese_text_is_found_as_a_substring_also_below_three_characters(api):
    one("一只在日落时分奔跑的小狐狸")
    one("雪山下的小木屋")
    one("a fox at sunset")
    assert found(api, "日落时分") == ["一只在日落时分奔跑的小狐狸"]
    assert found(api, "奔跑的小") == ["一只在日落时分奔跑的小狐狸"]
    # One and two characters have no trigram: a scan finds them all the same (README).
    assert found(api, "狐狸") == ["一只在日落时分奔跑的小狐狸"]
    assert found(api, "小") == ["雪山下的小木屋", "一只在日落时分奔跑的小狐狸"]
    assert found(api, "fo") == ["a fox at sunset"]


def test_the_users_text_is_taken_literally_never_as_query_syntax(api):
    for prompt in ['say "NEAR( please', "a OR b", "a or not b", "100% sure", "1000 sure", "snake_case name",
                   "snakeXcase", "star* and ^caret", "prompt : colon", "back\\slash"]:
        one(prompt)
    one("a cat")
    one("b dog")
    assert found(api, '"NEAR(') == ['say "NEAR( please']
    assert found(api, "NEAR(") == ['say "NEAR( please']
    assert found(api, '"') == ['say "NEAR( please']
    assert found(api, "a OR b") == ["a OR b"]  # not "a" or "b"
    assert found(api, "a AND b") == []
    assert found(api, "0%") == ["100% sure"]  # % is a character, not "anything"
    assert found(api, "%") == ["100% sure"]
    assert found(api, "e_c") == ["snake_case name"]  # _ is a character, not "any one"
    assert found(api, "_") == ["snake_case name"]
    assert found(api, "star*") == ["star* and ^caret"]
    assert found(api, "^caret") == ["star* and ^caret"]
    assert found(api, "prompt : colon") == ["prompt : colon"]
    assert found(api, "owner : ") == []
    assert found(api, "k\\s") == ["back\\slash"]
    assert found(api, "\\") == ["back\\slash"]


def test_results_are_newest_first_in_pages_with_every_other_filter(api):
    make_tasks(5, prompt="castle {n}", model="jimeng_t2i_v31", age=timedelta(minutes=10))
    make_tasks(3, prompt="castle in red {n}", model="jimeng_t2i_v30", status="failed", age=timedelta(minutes=5))
    make_tasks(2, prompt="castle unfinished {n}", status="pending")
    page = api.get("tasks", q="castle", page_size=4).json()
    assert page["count"] == 10 and "count_capped" not in page and page["next"]
    assert [t["prompt"] for t in page["results"]] == ["castle unfinished 1", "castle unfinished 0", "castle in red 2",
                                                      "castle in red 1"]
    assert [t["prompt"] for t in api.get("tasks", q="castle", page_size=4, page=3).json()["results"]] == [
        "castle 1", "castle 0"]
    assert found(api, "castle") == [*(f"castle in red {n}" for n in (2, 1, 0)), *(f"castle {n}" for n in range(4, -1, -1))]
    assert found(api, "castle", status="failed") == ["castle in red 2", "castle in red 1", "castle in red 0"]
    assert found(api, "castle", path="tasks", model="jimeng_t2i_v30", page_size=2) == ["castle in red 2", "castle in red 1"]
    assert found(api, "castle", path="tasks", status="pending") == ["castle unfinished 1", "castle unfinished 0"]


def test_tasks_made_in_the_same_second_out_of_id_order_come_in_the_lists_order(api):
    # The index orders by the second, then the id; a page is put in the lists' order (created_at, then id).
    second = timezone.now().replace(microsecond=0) - timedelta(minutes=1)
    for micro, name in ((100, "b"), (900_000, "a"), (500_000, "c"), (100, "d")):  # ids in this order
        one(f"twin {name}", created_at=second + timedelta(microseconds=micro))
    one("twin newer", created_at=second + timedelta(seconds=1))
    one("twin older", created_at=second - timedelta(seconds=1))
    expected = ["twin newer", "twin a", "twin c", "twin d", "twin b", "twin older"]
    assert found(api, "twin") == found(api, "tw") == expected
    assert [p for n in range(1, 7) for p in found(api, "twin", page_size=1, page=n)] == expected
    assert [p for n in range(1, 4) for p in found(api, "twin", page_size=2, page=n)] == expected


def test_the_count_stops_at_its_cap_and_says_so(api, monkeypatch):
    monkeypatch.setattr(prompt_search, "SEARCH_COUNT_CAP", 3)
    make_tasks(5, prompt="meadow {n}")
    for q in ("meadow", "me"):  # through the index and through the scan
        page = api.get("history", q=q, page_size=2).json()
        assert page["count"] == 3 and page["count_capped"] is True
        assert [t["prompt"] for t in page["results"]] == ["meadow 4", "meadow 3"]
    page = api.get("history", q="meadow 4").json()
    assert page["count"] == 1 and "count_capped" not in page
    assert "count_capped" not in api.get("history").json()  # lists without a search count everything


def test_the_index_follows_create_trash_restore_and_delete(api):
    task = one("a lighthouse keeper")
    assert found(api, "lighthouse") == ["a lighthouse keeper"] and indexed("lighthouse") == 1
    services.task_trash(task=task)
    assert found(api, "lighthouse") == [] and indexed("lighthouse") == 0  # the trash is out of every search
    services.task_restore(task=task)
    assert found(api, "lighthouse") == ["a lighthouse keeper"] and indexed("lighthouse") == 1
    services.task_delete(task=task)
    assert found(api, "lighthouse") == [] and indexed("lighthouse") == 0
    assert not GenerationTask.objects.filter(pk=task.pk).exists()


def test_the_index_follows_the_trash_api(api):
    task = one("an orchard in bloom")
    assert api.delete(f"task/{task.task_id}").status_code == 204  # to the trash
    assert found(api, "orchard") == []
    assert api.post(f"trash/{task.task_id}/restore").status_code == 200
    assert found(api, "orchard") == ["an orchard in bloom"]
    assert api.delete(f"task/{task.task_id}?purge=1").status_code == 204
    assert found(api, "orchard") == [] and indexed("orchard") == 0


def test_the_index_follows_bulk_updates_and_deletes(api):
    tasks = make_tasks(4, prompt="river {n}")
    GenerationTask.objects.filter(pk__in=[tasks[0].pk, tasks[1].pk]).update(prompt="a frozen lake")
    assert found(api, "river") == ["river 3", "river 2"] and found(api, "frozen") == ["a frozen lake"] * 2
    GenerationTask.objects.filter(pk=tasks[2].pk).update(deleted_at=timezone.now())
    assert found(api, "river") == ["river 3"]
    GenerationTask.objects.filter(pk=tasks[2].pk).update(deleted_at=None)
    assert found(api, "river") == ["river 3", "river 2"]
    # Moving a task in time moves its place in the results (the index's key holds created_at).
    GenerationTask.objects.filter(pk=tasks[2].pk).update(created_at=timezone.now() + timedelta(hours=1))
    assert found(api, "river") == ["river 2", "river 3"]
    GenerationTask.objects.filter(prompt__startswith="river").delete()
    GenerationTask.objects.filter(pk=tasks[0].pk).update(progress=50)  # other columns: the index is left alone
    assert found(api, "river") == [] and indexed("river") == 0
    assert found(api, "frozen") == ["a frozen lake"] * 2 and indexed("frozen") == 2
    GenerationTask.objects.all().delete()
    assert indexed("frozen") == 0 and indexed("lake") == 0


def test_the_index_follows_the_cleanup_command(api, media):
    make_tasks(3, prompt="old harbour {n}", age=timedelta(days=40))
    one("new harbour")
    call_command("cleanup", "--older-than", "30", "--no-files", stdout=StringIO())
    assert found(api, "harbour") == ["new harbour"] and indexed("harbour") == 1


def test_one_user_never_finds_another_users_tasks(accounts):
    alice_user, bob_user = make_user("alice"), make_user("bob")
    alice, bob = signed_in(alice_user), signed_in(bob_user)
    make_tasks(2, prompt="alice's secret harbour {n}", owner=alice_user, client_id=f"user:{alice_user.pk}")
    make_tasks(1, prompt="bob's harbour", owner=bob_user, client_id=f"user:{bob_user.pk}")
    make_tasks(1, prompt="nobody's harbour")  # open mode's, before accounts mode: nobody's in accounts mode
    for q in ("harbour", "ha", "secret"):
        assert all("alice" not in prompt for prompt in found(bob, q)), q
        assert all("bob" not in prompt for prompt in found(alice, q)), q
    assert found(bob, "harbour") == ["bob's harbour"]
    assert found(alice, "harbour", path="tasks") == ["alice's secret harbour 1", "alice's secret harbour 0"]
    # One user's search asks the index for trigrams that cover the text, then checks the whole text: a
    # prompt holding those trigrams apart is not a match.
    make_tasks(1, prompt="harsh bouquet for our dog", owner=alice_user, client_id=f"user:{alice_user.pk}")
    assert found(alice, "HARBOUR") == ["alice's secret harbour 1", "alice's secret harbour 0"]
    assert found(bob, "secret") == [] and found(bob, "secret", path="tasks") == []
    assert bob.get("images", q="secret").json()["results"] == []
    # Changing a task's owner moves it in the index too.
    GenerationTask.objects.filter(prompt="bob's harbour").update(owner=alice_user)
    assert found(bob, "harbour") == [] and "bob's harbour" in found(alice, "harbour")


def test_the_gallery_searches_through_the_index_too(api, media):
    make_tasks(1, prompt="a lighthouse in fog", images_per_task=2)
    make_tasks(1, prompt="a meadow", images_per_task=1)
    assert len(api.get("images", q="lighthouse").json()["results"]) == 2
    assert len(api.get("images", q="ea").json()["results"]) == 1
    assert api.get("images", q='"NEAR(').json()["results"] == []


def test_the_rebuild_command_makes_the_index_for_a_database_that_lacks_it(api):
    make_tasks(2, prompt="before the index {n}")
    trashed = one("trashed before the index")
    services.task_trash(task=trashed)
    with connection.cursor() as cursor:  # a database as it was before migration 0013
        for sql in ("DROP TRIGGER tasks_search_insert", "DROP TRIGGER tasks_search_update",
                    "DROP TRIGGER tasks_search_delete", "DROP TABLE tasks_search"):
            cursor.execute(sql)
    out = StringIO()
    call_command("rebuild_search_index", stdout=out)
    assert "search index rebuilt: 2 tasks" in out.getvalue()
    assert found(api, "before the index") == ["before the index 1", "before the index 0"]
    one("after the index")  # and the triggers are back
    assert found(api, "the index") == ["after the index", "before the index 1", "before the index 0"]
    services.task_restore(task=GenerationTask.objects.get(pk=trashed.pk))
    assert "trashed before the index" in found(api, "the index")


def test_the_rebuild_command_puts_an_index_out_of_step_right(api):
    make_tasks(2, prompt="garden {n}")
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO tasks_search(tasks_search) VALUES ('delete-all')")
    assert found(api, "garden") == []
    call_command("rebuild_search_index", stdout=StringIO())
    assert found(api, "garden") == ["garden 1", "garden 0"]
    call_command("rebuild_search_index", stdout=StringIO())  # again: the same, not twice over
    assert found(api, "garden") == ["garden 1", "garden 0"] and indexed("garden") == 2
