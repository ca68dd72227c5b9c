"""The hand-written task body equals DRF's rendering of the declared fields (the documented shape), and the
one-query read behind GET /api/v1/task/{id} sees exactly what the ORM sees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from gallery import services as gallery_services
from generation import selectors
from generation.task_json import ImageOutput, TaskOutput, TaskSummaryOutput
from generation.engines.base import EngineError, Retry
from generation.cost_models import Price
from generation.models import GenerationTask, Image

from .conftest import run


def generic(serializer_class, task) -> dict:
    """What DRF renders from the declared fields, field by field."""
    body = serializers.Serializer.to_representation(serializer_class(), task)
    if "images" in body:
        body["images"] = [serializers.Serializer.to_representation(ImageOutput(), image) for image in task.images.all()]
    return body


@pytest.fixture
def tasks(api, media, scripted):
    """A task in each state a poller can meet (the completed one priced, so its cost is rendered too)."""
    Price.objects.create(model="high_aes_general_v20", price_per_image="0.125", currency="CNY")
    scripted("ok", EngineError("content_rejected", "Text Risk Not Pass", retry=Retry.NEVER, upstream_code="50412"))
    completed = api.generate(num_images=2, steps=None, negative_prompt="")
    run(completed)
    images = Image.objects.filter(task__task_id=completed)
    gallery_services.tags_add(images=images, names=["cat", "Zebra"])
    gallery_services.tags_add(images=images.order_by("index")[:1], names=["只此一张"])
    failed = api.generate(prompt="rejected")
    run(failed)
    retrying = api.generate(prompt="will retry", scale=None)
    # As a worker leaves it between attempts (tests/test_task_execution.py shows the worker doing so).
    GenerationTask.objects.filter(task_id=retrying).update(
        status="retrying", stage="waiting_retry", retry_count=1, error_code="upstream_error", lease_holder="w-1",
        started_at=timezone.now(), next_attempt_at=timezone.now() + timedelta(seconds=30), progress=20,
    )
    pending = api.generate(prompt="waiting <b>&amp;</b> ünïcode 猫")
    return {"completed": completed, "failed": failed, "retrying": retrying, "pending": pending}


def test_the_fixture_covers_every_state_a_poller_meets(tasks):
    statuses = {name: GenerationTask.objects.get(task_id=tid).status for name, tid in tasks.items()}
    assert statuses == {"completed": "completed", "failed": "failed", "retrying": "retrying", "pending": "pending"}


@pytest.mark.parametrize("state", ["completed", "failed", "retrying", "pending"])
def test_the_hand_written_body_equals_the_declared_fields(tasks, state):
    task = selectors.task_get(task_id=tasks[state])
    assert TaskOutput(task).data == generic(TaskOutput, task)


@pytest.mark.parametrize("state", ["completed", "failed", "retrying", "pending"])
def test_the_list_row_equals_the_declared_fields(tasks, state):
    task = selectors.task_get(task_id=tasks[state])
    row = TaskSummaryOutput(task).data
    assert "queue_position" not in row and "estimated_time" not in row
    assert row == generic(TaskSummaryOutput, task)


@pytest.mark.parametrize("state", ["completed", "failed", "retrying", "pending"])
def test_the_polled_body_equals_the_orm_read(tasks, state, api):
    body = api.get(f"task/{tasks[state]}").json()
    assert body == generic(TaskOutput, selectors.task_get(task_id=tasks[state]))


def test_the_polled_body_lists_images_in_order_with_sorted_tags(tasks, api):
    images = api.get(f"task/{tasks['completed']}").json()["images"]
    assert [image["tags"] for image in images] == [["cat", "zebra", "只此一张"], ["cat", "zebra"]]
    ordered = list(Image.objects.filter(task__task_id=tasks["completed"]).order_by("index").values_list("image_id", flat=True))
    assert [image["image_id"] for image in images] == ordered


def test_the_polled_error_follows_the_readers_language(tasks, api, api_zh):
    english = api.get(f"task/{tasks['failed']}").json()["error"]
    chinese = api_zh.get(f"task/{tasks['failed']}").json()["error"]
    assert english["code"] == chinese["code"] == "content_rejected"
    assert english["message"] != chinese["message"]


@pytest.mark.parametrize("task_id", ["no-such-task", "x" * 37, "../tasks", "0" * 36])
def test_an_unknown_or_malformed_id_is_a_404_in_the_envelope(api, task_id):
    response = api.get(f"task/{task_id}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_gallery_row_equals_the_declared_fields(tasks):
    from gallery.apis import GalleryImageOutput

    for image in Image.objects.filter(task__task_id=tasks["completed"]).select_related("task"):
        assert GalleryImageOutput(image).data == serializers.Serializer.to_representation(GalleryImageOutput(), image)


def drf_answer(client, path: str):
    """The same request answered by TaskDetailApi through the whole stack (?format=json takes DRF's path)."""
    return client.get(path, {"format": "json"})


@pytest.mark.parametrize("state", ["completed", "failed", "retrying", "pending"])
def test_the_polled_json_is_byte_for_byte_what_drf_renders(tasks, state, api):
    path = f"/api/v1/task/{tasks[state]}"
    fast, drf = api.client.get(path), drf_answer(api.client, path)
    assert fast.status_code == drf.status_code == 200
    assert fast.content == drf.content
    for header in ("Content-Type", "Allow", "Vary"):
        assert fast[header] == drf[header], header


def test_a_missing_task_is_the_same_404_either_way(api):
    path = "/api/v1/task/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12
    fast, drf = api.client.get(path), drf_answer(api.client, path)
    assert fast.status_code == drf.status_code == 404
    assert fast.json() == drf.json()


def test_a_browser_asking_for_html_still_gets_the_browsable_api(tasks, api):
    response = api.client.get(f"/api/v1/task/{tasks['completed']}", HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("text/html")
    assert api.client.get(f"/api/v1/task/{tasks['completed']}", {"format": "api"})["Content-Type"].startswith("text/html")
