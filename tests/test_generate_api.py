"""POST /api/v1/generate: the seed's contract, validation and the catalogue's rules."""

import pytest

from generation.models import GenerationTask

from .conftest import SEED_EXAMPLE, run

pytestmark = pytest.mark.django_db


def test_it_accepts_the_seed_example_exactly_as_written(api):
    response = api.post("generate", SEED_EXAMPLE)
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"task_id", "status", "created_at", "estimated_time"}
    assert body["status"] == "pending"
    assert body["created_at"].endswith("Z")
    assert isinstance(body["estimated_time"], int) and body["estimated_time"] >= 1
    assert response["Location"] == f"/api/v1/task/{body['task_id']}"


def test_it_plans_the_seed_size_as_half_size_with_super_resolution(api):
    task_id = api.generate()
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.width, task.height) == (1024, 1024)
    assert (task.upstream_width, task.upstream_height, task.use_sr) == (512, 512, True)
    assert task.model == "high_aes_general_v20"


def test_it_lists_an_unsupported_negative_prompt_as_ignored(api):
    body = api.post("generate", SEED_EXAMPLE).json()
    assert body["ignored_params"] == ["negative_prompt"]
    task = api.get(f"task/{body['task_id']}").json()
    assert task["negative_prompt"] == "模糊, 低质量"
    assert task["ignored_params"] == ["negative_prompt"]


def test_it_records_a_concrete_seed_when_none_was_given(api):
    body = api.post("generate", SEED_EXAMPLE).json()
    assert 0 <= body["seed"] <= 2147483647


def test_it_keeps_a_given_seed(api):
    assert api.post("generate", {**SEED_EXAMPLE, "seed": 42}).json()["seed"] == 42


def test_it_uses_the_default_model_when_none_is_given(api):
    body = api.post("generate", {"prompt": "a lighthouse at dawn"}).json()
    assert body["model"] == "jimeng_t2i_v31"
    assert (body["width"], body["height"]) == (1328, 1328)


def test_it_rejects_an_empty_prompt(api):
    response = api.post("generate", {**SEED_EXAMPLE, "prompt": "   "})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert "prompt" in body["details"]
    assert "empty" in body["message"]


def test_it_rejects_a_missing_prompt(api):
    response = api.post("generate", {"model": "general_v2.0"})
    assert response.status_code == 400
    assert "prompt" in response.json()["details"]


def test_it_rejects_a_prompt_longer_than_800_characters(api):
    response = api.post("generate", {**SEED_EXAMPLE, "prompt": "猫" * 801})
    assert response.status_code == 400
    assert "prompt" in response.json()["details"]


def test_it_accepts_a_prompt_of_exactly_800_characters(api):
    assert api.post("generate", {**SEED_EXAMPLE, "prompt": "猫" * 800}).status_code == 201


def test_it_rejects_malformed_json(api):
    response = api.post("generate", raw='{"prompt": "cat",')
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_json"
    assert body["message"]


@pytest.mark.parametrize("raw", ["[]", '"prompt"', "42", "null"])
def test_it_rejects_a_body_that_is_not_an_object(api, raw):
    response = api.post("generate", raw=raw)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


@pytest.mark.parametrize(
    "field,value",
    [
        ("width", "1024"),
        ("width", 1024.5),
        ("height", True),
        ("num_images", "1"),
        ("steps", [20]),
        ("scale", "7.5"),
        ("seed", "abc"),
        ("prompt", 123),
        ("enhance_prompt", "yes"),
    ],
)
def test_it_rejects_wrong_types_naming_the_field(api, field, value):
    response = api.post("generate", {**SEED_EXAMPLE, field: value})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert field in body["details"]


def test_it_rejects_unknown_fields(api):
    response = api.post("generate", {**SEED_EXAMPLE, "neg_prompt": "blurry"})
    assert response.status_code == 400
    assert "neg_prompt" in response.json()["details"]


def test_it_rejects_an_unknown_model_listing_the_valid_ones(api):
    response = api.post("generate", {**SEED_EXAMPLE, "model": "dall-e-3"})
    assert response.status_code == 400
    body = response.json()
    assert "model" in body["details"]
    assert "jimeng_t2i_v31" in body["details"]["model"][0]


def test_it_rejects_a_size_out_of_the_model_range_naming_the_range(api):
    response = api.post("generate", {**SEED_EXAMPLE, "width": 4000, "height": 4000})
    assert response.status_code == 400
    body = response.json()
    assert "width" in body["details"]
    assert any(ch.isdigit() for ch in body["details"]["width"][0])


def test_it_rejects_only_one_of_width_and_height(api):
    response = api.post("generate", {"prompt": "cat", "width": 1024})
    assert response.status_code == 400


@pytest.mark.parametrize("num_images", [0, -1, 5])
def test_it_rejects_image_counts_outside_one_to_four(api, num_images):
    response = api.post("generate", {**SEED_EXAMPLE, "num_images": num_images})
    assert response.status_code == 400
    assert "num_images" in response.json()["details"]


def test_it_rejects_a_scale_outside_the_model_range(api):
    response = api.post("generate", {"prompt": "cat", "model": "high_aes_general_v30l_zt2i", "scale": 11})
    assert response.status_code == 400
    assert "scale" in response.json()["details"]


def test_a_rejected_request_creates_no_task(api):
    api.post("generate", {**SEED_EXAMPLE, "prompt": ""})
    api.post("generate", raw="{")
    assert GenerationTask.objects.count() == 0


def test_the_created_task_completes_with_images_of_the_requested_size(api, media):
    task_id = api.generate(num_images=2)
    run(task_id)
    task = api.get(f"task/{task_id}").json()
    assert task["status"] == "completed"
    assert task["progress"] == 100
    assert len(task["images"]) == 2
    assert {(i["width"], i["height"]) for i in task["images"]} == {(1024, 1024)}
    assert task["images"][0]["seed"] + 1 == task["images"][1]["seed"]
