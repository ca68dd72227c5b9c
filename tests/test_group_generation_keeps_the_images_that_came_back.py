"""Group generation on Ark (`group: true`): one request with sequential_image_generation "auto" and
max_images N, "up to N" images; an image refused inside the 200 is recorded while the others are kept (README,
"The Ark engine"). The real SDK over HTTP against tests/ark_server.py."""

from __future__ import annotations

import pytest

from generation.models import GenerationTask

from .conftest import run
from .test_reference_images_are_checked_against_each_models_limits import S30, S40, S45, picture, spec
from .test_reference_images_reach_ark import ark, upload  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def test_a_group_with_one_moderated_image_completes_with_the_others(api, media, ark):
    ark.inject("item_error", indexes=[2])
    task_id = api.generate(**spec(S40), prompt="four seasons of one garden", num_images=4, group=True)
    run(task_id)
    body = api.get(f"task/{task_id}").json()
    assert body["status"] == "completed" and body["group"] is True and len(body["images"]) == 3, body
    [call] = ark.calls()  # one request, never repeated for the refused image
    assert call.body["sequential_image_generation"] == "auto"
    assert call.body["sequential_image_generation_options"] == {"max_images": 4}
    assert call.usage["generated_images"] == 3  # what Ark bills: the images it made
    note = GenerationTask.objects.get(task_id=task_id).error_message
    assert note.startswith("1 images of the group (up to 4) not made") and "OutputImageSensitiveContentDetected" in note


def test_a_group_takes_references_within_fifteen_images_in_all(api, media, ark):
    refs = [upload(api, picture()).json()["reference_id"] for _ in range(12)]
    too_many = api.post("generate", {**spec(S45), "prompt": "p", "num_images": 4, "group": True,
                                     "reference_images": refs})
    assert too_many.status_code == 400 and "group" in too_many.json()["details"], too_many.json()
    task_id = api.generate(**spec(S45), prompt="p", num_images=3, group=True, reference_images=refs)
    run(task_id)
    assert len(api.get(f"task/{task_id}").json()["images"]) == 3
    assert len(ark.calls()[-1].body["image"]) == 12


def test_a_model_without_groups_refuses_one(api, ark):
    response = api.post("generate", {**spec(S30), "prompt": "p", "num_images": 2, "group": True})
    assert response.status_code == 400 and "group" in response.json()["details"]
    groups = {m["id"]: m["group"]["supported"] for m in api.get("models").json()["models"]}
    assert groups[S40] and groups[S45] and not groups[S30]


def test_without_group_n_images_are_still_n_single_requests(api, media, ark):
    run(api.generate(**spec(S40), prompt="p", num_images=2))
    assert [c.body["sequential_image_generation"] for c in ark.calls()] == ["disabled", "disabled"]
