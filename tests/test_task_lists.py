"""GET /api/v1/tasks and /api/v1/history: pagination, filters, search; DELETE /api/v1/history/{id}."""

from datetime import timedelta

import pytest
from django.utils import timezone

from generation.models import ImageTag
from generation.models import GenerationTask

from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def test_tasks_are_listed_newest_first_with_pagination(api):
    ids = [api.generate(prompt=f"prompt {i}") for i in range(5)]
    body = api.get("tasks", page_size=2).json()
    assert body["count"] == 5
    assert [t["task_id"] for t in body["results"]] == ids[::-1][:2]
    assert body["next"] and body["previous"] is None
    page3 = api.get("tasks", page_size=2, page=3).json()
    assert [t["task_id"] for t in page3["results"]] == [ids[0]]


def test_tasks_filter_by_status_model_and_prompt_text(api, media):
    done = api.generate(prompt="a red fox in snow")
    run(done)
    api.generate(prompt="a blue whale", model="jimeng_t2i_v30", width=None, height=None)
    assert [t["task_id"] for t in api.get("tasks", status="completed").json()["results"]] == [done]
    assert api.get("tasks", status="pending,completed").json()["count"] == 2
    assert api.get("tasks", model="jimeng_t2i_v30").json()["count"] == 1
    assert [t["task_id"] for t in api.get("tasks", q="FOX").json()["results"]] == [done]


def test_tasks_filter_by_creation_date(api):
    old = api.generate()
    GenerationTask.objects.filter(task_id=old).update(created_at=timezone.now() - timedelta(days=3))
    new = api.generate()
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert [t["task_id"] for t in api.get("tasks", created_after=since).json()["results"]] == [new]
    assert [t["task_id"] for t in api.get("tasks", created_before=since).json()["results"]] == [old]


def test_tasks_filter_by_tag(api, media):
    tagged = api.generate()
    run(tagged)
    other = api.generate()
    run(other)
    image = GenerationTask.objects.get(task_id=tagged).images.get()
    ImageTag.objects.create(image=image, tag_name="cats")
    assert [t["task_id"] for t in api.get("tasks", tag="cats").json()["results"]] == [tagged]


def test_an_unknown_status_filter_is_a_validation_error(api):
    response = api.get("tasks", status="done")
    assert response.status_code == 400
    assert "status" in response.json()["details"]


def test_an_unknown_query_parameter_is_a_validation_error(api):
    response = api.get("tasks", stauts="pending")
    assert response.status_code == 400
    assert "stauts" in response.json()["details"]


def test_a_page_past_the_end_is_404_in_the_envelope(api):
    api.generate()
    response = api.get("tasks", page=9)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_history_holds_only_finished_tasks(api, media):
    done = api.generate()
    run(done)
    cancelled = api.generate()
    api.delete(f"task/{cancelled}")
    api.generate()  # still pending
    body = api.get("history").json()
    assert {t["task_id"] for t in body["results"]} == {done, cancelled}
    assert [t["task_id"] for t in api.get("history", status="cancelled").json()["results"]] == [cancelled]
    assert api.get("history", status="pending").json()["count"] == 0


def test_history_searches_prompt_text(api, media):
    fox = api.generate(prompt="a red fox in snow")
    run(fox)
    whale = api.generate(prompt="a blue whale")
    run(whale)
    assert [t["task_id"] for t in api.get("history", q="whale").json()["results"]] == [whale]


def test_deleting_a_history_item_moves_the_task_to_the_trash(api, media, django_capture_on_commit_callbacks):
    task_id = api.generate()
    run(task_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"history/{task_id}").status_code == 204
    assert GenerationTask.objects.get(task_id=task_id).deleted_at is not None
    assert len(files_under(media)) == 2
    assert api.get("history").json()["count"] == 0


def test_deleting_a_history_item_with_purge_removes_the_task_and_its_files(api, media,
                                                                           django_capture_on_commit_callbacks):
    task_id = api.generate()
    run(task_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"history/{task_id}?purge=true").status_code == 204
    assert not GenerationTask.objects.filter(task_id=task_id).exists()
    assert files_under(media) == []


def test_an_unfinished_task_is_not_a_history_item(api):
    task_id = api.generate()
    response = api.delete(f"history/{task_id}")
    assert response.status_code == 404
    assert GenerationTask.objects.filter(task_id=task_id).exists()
