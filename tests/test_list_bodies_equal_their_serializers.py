"""The hand-rendered list bodies (/api/v1/tasks, /api/v1/history, /api/v1/images) equal what DRF renders from
the declared serializers (the documented shape), item for item, in every state a task can be in, with and
without images and tags, in both access modes; what is in the trash or another user's is in none of them,
and the cheap counts count what the pages show."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework import serializers

from gallery import services as gallery_services
from gallery.apis import GalleryImageOutput
from generation import selectors
from generation.engines.base import EngineError, Retry
from generation.models import GenerationTask, Image
from generation.task_json import ImageOutput, TaskSummaryOutput

from .accounts import make_user, signed_in
from .conftest import Api, run


def declared(task) -> dict:
    """What DRF renders from TaskSummaryOutput's declared fields, field by field."""
    body = serializers.Serializer.to_representation(TaskSummaryOutput(), task)
    body["images"] = [serializers.Serializer.to_representation(ImageOutput(), image) for image in task.images.all()]
    return body


def declared_image(image) -> dict:
    return serializers.Serializer.to_representation(GalleryImageOutput(), image)


@pytest.fixture(params=["open", "accounts"])
def world(request, settings, db, media, scripted):
    """One task in each state, as one user (accounts mode, beside another user's task) or in open mode."""
    settings.IMAGEGEN_ACCESS = request.param
    scripted("ok", "ok", EngineError("content_rejected", "Text Risk Not Pass", retry=Retry.NEVER, upstream_code="50412"),
             "ok", "ok")
    api = signed_in(make_user("alice")) if request.param == "accounts" else Api()
    tagged = api.generate(prompt="tagged <b>&amp;</b> 猫", num_images=2, steps=None, negative_prompt="")
    run(tagged)
    images = list(Image.objects.filter(task__task_id=tagged).order_by("index"))
    assert api.post(f"images/{images[0].image_id}/tags", {"tags": ["cat", "Zebra", "只此一张"]}).status_code == 200
    assert api.client.put(f"/api/v1/images/{images[0].image_id}/star").status_code == 200
    untagged = api.generate(prompt="no tags", num_images=1, seed=7)
    run(untagged)
    failed = api.generate(prompt="rejected")
    run(failed)
    half = api.generate(prompt="one image trashed alone", num_images=2)
    run(half)
    alone = Image.objects.get(task__task_id=half, index=1).image_id
    assert api.delete(f"images/{alone}").status_code == 204
    trashed = api.generate(prompt="the whole task in the trash")
    run(trashed)
    assert api.delete(f"task/{trashed}").status_code == 204
    cancelled = api.generate(prompt="cancelled")
    assert api.delete(f"task/{cancelled}").status_code == 202
    queued = api.generate(prompt="queued", scale=None)
    processing = api.generate(prompt="processing")
    GenerationTask.objects.filter(task_id=processing).update(status="processing", stage="generating", progress=40,
                                                              lease_holder="w-1")
    retrying = api.generate(prompt="will retry")
    # As a worker leaves it between attempts (tests/test_task_execution.py shows the worker doing so).
    GenerationTask.objects.filter(task_id=retrying).update(
        status="retrying", stage="waiting_retry", retry_count=1, error_code="upstream_error", lease_holder="w-1",
        started_at=timezone.now(), next_attempt_at=timezone.now() + timedelta(seconds=30), progress=20)
    others = None
    if request.param == "accounts":
        bob = signed_in(make_user("bob"))
        others = bob.generate(prompt="bob's")
        run(others)
    states = {task_id: GenerationTask.objects.get(task_id=task_id).status
              for task_id in (tagged, untagged, failed, half, cancelled, queued, processing, retrying)}
    assert sorted(states.values()) == sorted(["completed", "completed", "failed", "completed", "cancelled", "pending",
                                              "processing", "retrying"])
    return SimpleNamespace(api=api, listed=set(states), finished={t for t, s in states.items() if s in (
        "completed", "failed", "cancelled")}, trashed=trashed, alone=alone, others=others, tagged=tagged)


def page(api, path: str, **params) -> dict:
    response = api.get(path, page_size=100, **params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["results"])  # the cheap counts count what the pages show
    return body


def assert_tasks_declared(body) -> None:
    for item in body["results"]:
        assert item == declared(selectors.task_get(task_id=item["task_id"]))


def assert_images_declared(body) -> None:
    for item in body["results"]:
        assert item == declared_image(Image.objects.select_related("task").get(image_id=item["image_id"]))


def test_every_task_list_item_equals_its_serializer(world):
    body = page(world.api, "tasks")
    assert {item["task_id"] for item in body["results"]} == world.listed
    assert_tasks_declared(body)
    for filters in ({"tag": "cat"}, {"status": "pending,processing,retrying"}, {"q": "tags"}):
        filtered = page(world.api, "tasks", **filters)
        assert filtered["results"], filters
        assert_tasks_declared(filtered)


def test_every_history_item_equals_its_serializer(world):
    body = page(world.api, "history")
    assert {item["task_id"] for item in body["results"]} == world.finished
    assert_tasks_declared(body)
    for filters in ({"status": "failed"}, {"q": "rejected"}):
        filtered = page(world.api, "history", **filters)
        assert filtered["results"], filters
        assert_tasks_declared(filtered)


def test_every_gallery_item_equals_its_serializer(world):
    body = page(world.api, "images")
    expected = Image.objects.filter(task__task_id__in=world.listed, deleted_at__isnull=True)
    assert {item["image_id"] for item in body["results"]} == set(expected.values_list("image_id", flat=True))
    assert_images_declared(body)
    starred = [item["image_id"] for item in body["results"] if item["starred"]]
    tagged = [item for item in body["results"] if item["tags"]]
    assert len(starred) == 1 and [item["tags"] for item in tagged] == [["cat", "zebra", "只此一张"]]
    for filters in ({"tag": "cat"}, {"starred": "true"}):
        filtered = page(world.api, "images", **filters)
        assert len(filtered["results"]) == 1, filters
        assert_images_declared(filtered)


def test_lists_keep_images_in_order_and_leave_out_an_image_in_the_trash(world):
    items = {item["task_id"]: item for item in page(world.api, "tasks")["results"]}
    ordered = Image.objects.filter(task__task_id=world.tagged).order_by("index").values_list("image_id", flat=True)
    assert [image["image_id"] for image in items[world.tagged]["images"]] == list(ordered)
    assert all(image["image_id"] != world.alone for item in items.values() for image in item["images"])
    assert world.alone not in {item["image_id"] for item in page(world.api, "images")["results"]}
    for path in ("tasks", "history", "images"):
        small = world.api.get(path, page_size=2).json()
        assert small["count"] == page(world.api, path)["count"] and len(small["results"]) == 2 and small["next"]
