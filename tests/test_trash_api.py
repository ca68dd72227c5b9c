"""The trash through /api/v1: every DELETE keeps its contract (same status and body; the item is gone as far as
the API can tell) and takes ?purge=1 to skip the trash; GET /trash lists it (paginated like the other lists),
POST /trash/{id}/restore brings an entry back, DELETE /trash/{id} and DELETE /trash delete for good."""

from datetime import timedelta

import pytest
from django.utils.dateparse import parse_datetime

from generation.models import GenerationTask, Image

from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def finished(api, **body) -> dict:
    task_id = api.generate(**body)
    run(task_id)
    return api.get(f"task/{task_id}").json()


def trash(api, **params) -> dict:
    response = api.get("trash", **params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("path", ["task/{task}", "history/{task}", "images/{image}"])
def test_delete_answers_as_before_and_the_item_is_gone(api, media, path):
    task = finished(api)
    url = path.format(task=task["task_id"], image=task["images"][0]["image_id"])
    response = api.delete(url)
    assert (response.status_code, response.content) == (204, b"")
    assert api.delete(url).status_code == 404
    assert len(files_under(media)) == 2  # in the trash, files kept


def test_bulk_delete_answers_as_before_and_moves_the_images_to_the_trash(api, media):
    task = finished(api, num_images=2)
    image_ids = [i["image_id"] for i in task["images"]]
    response = api.post("images/bulk", {"action": "delete", "image_ids": image_ids})
    assert response.status_code == 200 and response.json() == {"action": "delete", "images": 2}
    assert {e["item_id"] for e in trash(api)["results"]} == set(image_ids)


def test_deleting_an_unfinished_task_still_cancels_it_first(api, media):
    task_id = api.generate()
    assert api.delete(f"task/{task_id}?purge=1").status_code == 202
    assert GenerationTask.objects.get(task_id=task_id).deleted_at is None  # cancelled, not in the trash
    assert api.delete(f"task/{task_id}").status_code == 204
    assert trash(api)["results"][0]["item_id"] == task_id


@pytest.mark.parametrize("path", ["task/{task}", "history/{task}", "images/{image}"])
@pytest.mark.parametrize("value", ["1", "true"])
def test_purge_deletes_for_good_with_the_files(api, media, django_capture_on_commit_callbacks, path, value):
    task = finished(api)
    url = path.format(task=task["task_id"], image=task["images"][0]["image_id"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"{url}?purge={value}")
    assert (response.status_code, response.content) == (204, b"")
    assert files_under(media) == [] and Image.objects.count() == 0
    assert trash(api)["count"] == 0


@pytest.mark.parametrize("path", ["task/{task}", "history/{task}", "images/{image}"])
def test_purge_0_is_the_trash_and_any_other_value_is_refused(api, media, path):
    task = finished(api)
    url = path.format(task=task["task_id"], image=task["images"][0]["image_id"])
    refused = api.delete(f"{url}?purge=yes")
    assert refused.status_code == 400
    assert refused.json()["error"] == "validation_error" and list(refused.json()["details"]) == ["purge"]
    assert api.get(f"task/{task['task_id']}").json()["images"] != []  # nothing happened
    assert api.delete(f"{url}?purge=0").status_code == 204
    assert trash(api)["count"] == 1 and len(files_under(media)) == 2


def test_the_trash_lists_entries_last_deleted_first_with_their_thumbnails(api, media, settings):
    settings.IMAGEGEN_TRASH_DAYS = 30
    first = finished(api, prompt="first to go", num_images=2)
    second = finished(api, prompt="second to go")
    api.delete(f"task/{first['task_id']}")
    api.delete(f"images/{second['images'][0]['image_id']}")
    body = trash(api)
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    image_entry, task_entry = body["results"]
    assert image_entry["kind"] == "image" and image_entry["item_id"] == second["images"][0]["image_id"]
    assert image_entry["task_id"] == second["task_id"] and image_entry["prompt"] == "second to go"
    assert task_entry["kind"] == "task" and task_entry["item_id"] == first["task_id"]
    assert set(task_entry) == {"item_id", "kind", "task_id", "prompt", "model", "status", "created_at", "deleted_at",
                               "purge_at", "images"}
    assert [i["image_id"] for i in task_entry["images"]] == [i["image_id"] for i in first["images"]]
    deleted = parse_datetime(task_entry["deleted_at"])
    assert parse_datetime(task_entry["purge_at"]) - deleted == timedelta(days=30)
    thumbnail = api.client.get(task_entry["images"][0]["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/webp"
    assert task_entry["images"][0]["thumbnail_url"] == f"/api/v1/trash/{first['images'][0]['image_id']}/thumbnail"


def test_a_live_image_has_no_trash_thumbnail(api, media):
    image_id = finished(api)["images"][0]["image_id"]
    assert api.client.get(f"/api/v1/trash/{image_id}/thumbnail").status_code == 404
    assert api.client.delete(f"/api/v1/trash/{image_id}/thumbnail").status_code == 405


def test_with_no_trash_days_nothing_has_a_purge_date(api, media, settings):
    settings.IMAGEGEN_TRASH_DAYS = 0
    api.delete(f"task/{finished(api)['task_id']}")
    assert trash(api)["results"][0]["purge_at"] is None


def test_the_trash_is_paginated_like_the_other_lists(api, media):
    for _ in range(3):
        api.delete(f"task/{finished(api)['task_id']}")
    page = trash(api, page_size=2)
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert len(trash(api, page_size=2, page=2)["results"]) == 1
    assert api.get("trash", page=9).status_code == 404
    unknown = api.get("trash", status="completed")
    assert unknown.status_code == 400 and unknown.json()["details"] == {"status": ["Unknown query parameter."]}


def test_a_restore_brings_the_entry_back_and_says_what_it_was(api, media):
    task = finished(api)
    api.delete(f"history/{task['task_id']}")
    response = api.post(f"trash/{task['task_id']}/restore")
    assert response.status_code == 200
    assert response.json() == {"item_id": task["task_id"], "kind": "task", "task_id": task["task_id"]}
    assert api.get(f"task/{task['task_id']}").json() == task
    assert api.post(f"trash/{task['task_id']}/restore").status_code == 404  # no longer in the trash
    assert trash(api)["count"] == 0


def test_what_is_not_an_entry_of_the_trash_is_not_found(api, media):
    task = finished(api)
    image_id = task["images"][0]["image_id"]
    for item in (task["task_id"], image_id, "img_" + "0" * 32, "nope"):
        response = api.post(f"trash/{item}/restore")
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    api.delete(f"task/{task['task_id']}")
    # Its image went with it: it comes back with the task, not alone.
    assert api.post(f"trash/{image_id}/restore").status_code == 404
    assert api.delete(f"trash/{image_id}").status_code == 404


def test_one_entry_is_deleted_for_good(api, media, django_capture_on_commit_callbacks):
    gone, kept = finished(api), finished(api)
    api.delete(f"task/{gone['task_id']}")
    api.delete(f"task/{kept['task_id']}")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"trash/{gone['task_id']}")
    assert (response.status_code, response.content) == (204, b"")
    assert [e["item_id"] for e in trash(api)["results"]] == [kept["task_id"]]
    assert len(files_under(media)) == 2


def test_emptying_the_trash_says_how_much_went(api, media, django_capture_on_commit_callbacks):
    one, two = finished(api), finished(api, num_images=2)
    api.delete(f"task/{one['task_id']}")
    api.delete(f"images/{two['images'][0]['image_id']}")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete("trash")
    assert response.status_code == 200 and response.json() == {"tasks": 1, "images": 1}
    assert trash(api)["count"] == 0 and len(files_under(media)) == 2
    assert api.get(f"task/{two['task_id']}").json()["images"] == [two["images"][1]]


def test_the_trash_speaks_the_caller_s_language(api_zh, media):
    assert api_zh.post(f"trash/{'0' * 8}-0000-4000-8000-{'0' * 12}/restore").json()["message"] == "回收站里没有这一项。"
    refused = api_zh.delete(f"images/img_{'0' * 32}?purge=maybe")
    assert refused.status_code == 400 and "purge" in refused.json()["message"]
