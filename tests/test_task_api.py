"""GET and DELETE /api/v1/task/{task_id}: state, cancel, delete with files."""

import pytest

from generation.models import GenerationTask, Image

from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def test_a_new_task_is_pending_with_its_queue_position(api):
    first = api.generate()
    second = api.generate()
    body = api.get(f"task/{second}").json()
    assert body["status"] == "pending"
    assert body["stage"] == "queued"
    assert body["progress"] == 0
    assert body["queue_position"] == 1
    assert body["estimated_time"] >= 1
    assert api.get(f"task/{first}").json()["queue_position"] == 0


def test_a_completed_task_has_images_and_timestamps(api, media):
    task_id = api.generate()
    run(task_id)
    body = api.get(f"task/{task_id}").json()
    assert body["status"] == "completed"
    assert body["stage"] == "done"
    assert body["error"] is None
    assert body["started_at"] and body["completed_at"]
    image = body["images"][0]
    assert set(image) >= {"image_id", "url", "thumbnail_url", "width", "height", "file_size"}
    assert image["url"] == f"/api/v1/images/{image['image_id']}"
    assert image["thumbnail_url"] == f"/api/v1/images/{image['image_id']}/thumbnail"


def test_it_answers_404_in_the_envelope_for_an_unknown_task(api):
    response = api.get("task/550e8400-e29b-41d4-a716-446655440000")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Task not found.", "details": None}


def test_it_says_task_not_found_in_chinese(api_zh):
    assert api_zh.get("task/nope").json()["message"] == "任务不存在"


def test_deleting_an_unfinished_task_cancels_it(api, media):
    task_id = api.generate()
    response = api.delete(f"task/{task_id}")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    run(task_id)  # the queued message arrives later: nothing happens
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "cancelled"
    assert task.images.count() == 0
    assert files_under(media) == []


def test_deleting_a_finished_task_moves_it_to_the_trash_with_its_files(api, media, django_capture_on_commit_callbacks):
    task_id = api.generate(num_images=2)
    run(task_id)
    assert len(files_under(media)) == 4  # two originals, two thumbnails
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"task/{task_id}")
    assert response.status_code == 204 and response.content == b""
    assert GenerationTask.objects.get(task_id=task_id).deleted_at is not None
    assert Image.objects.filter(deleted_at__isnull=True).count() == 0
    assert len(files_under(media)) == 4
    assert api.get(f"task/{task_id}").status_code == 404
    assert api.delete(f"task/{task_id}").status_code == 404


def test_deleting_a_finished_task_with_purge_removes_it_and_its_files(api, media, django_capture_on_commit_callbacks):
    task_id = api.generate(num_images=2)
    run(task_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"task/{task_id}?purge=1")
    assert response.status_code == 204
    assert not GenerationTask.objects.filter(task_id=task_id).exists()
    assert Image.objects.count() == 0
    assert files_under(media) == []
    assert api.get(f"task/{task_id}").status_code == 404


def test_deleting_a_cancelled_task_moves_it_to_the_trash(api, media):
    task_id = api.generate()
    api.delete(f"task/{task_id}")
    assert api.delete(f"task/{task_id}").status_code == 204
    assert GenerationTask.objects.get(task_id=task_id).deleted_at is not None


def test_deleting_an_unknown_task_is_404(api):
    assert api.delete("task/nope").status_code == 404
