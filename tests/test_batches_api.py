"""Batches (issue 21, item 3): one request, one id, made of ordinary tasks — N variations of a prompt,
several prompts, or a sweep over seed, size or model. All of a batch is made, or none of it; it has its own
progress and cancel, and its tasks and images can be listed by it. In accounts mode another user's batch
answers like a missing one."""

from __future__ import annotations

import uuid

import pytest

from generation.models import Batch, GenerationTask

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import run

pytestmark = pytest.mark.django_db


def create(api, body, **headers):
    return api.post("batches", body, **headers)


def test_variations_are_tasks_with_their_own_seeds_in_one_batch(api):
    response = create(api, {"prompt": "a red kite", "variations": 4, "seed": 100, "model": "jimeng_t2i_v31"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "variations" and body["total"] == 4
    assert response["Location"] == body["url"] == f"/api/v1/batches/{body['batch_id']}"
    assert [t["seed"] for t in body["tasks"]] == [100, 101, 102, 103]
    assert {t["prompt"] for t in body["tasks"]} == {"a red kite"}
    assert {t["batch_id"] for t in body["tasks"]} == {body["batch_id"]}
    assert GenerationTask.objects.filter(batch_id=body["batch_id"]).count() == 4
    # Each is an ordinary task: it has its own address and JSON, naming its batch.
    one = api.get(f"task/{body['tasks'][0]['task_id']}").json()
    assert one["batch_id"] == body["batch_id"] and one["status"] == "pending"


def test_variations_without_a_seed_get_different_random_seeds(api):
    body = create(api, {"prompt": "a blue kite", "variations": 6}).json()
    seeds = [t["seed"] for t in body["tasks"]]
    assert len(set(seeds)) == 6 and all(s >= 0 for s in seeds)


def test_a_task_made_alone_has_no_batch(api):
    task_id = api.generate()
    assert api.get(f"task/{task_id}").json()["batch_id"] is None


def test_several_prompts_make_one_task_each_in_order(api):
    body = create(api, {"prompts": ["one", "two", "three"], "width": 1024, "height": 1024}).json()
    assert body["kind"] == "prompts"
    assert [t["prompt"] for t in body["tasks"]] == ["one", "two", "three"]


@pytest.mark.parametrize("param, values, field, expected", [
    ("seed", [5, 6, 7], "seed", [5, 6, 7]),
    ("size", ["1024x1024", "1280x720"], "width", [1024, 1280]),
    ("model", ["jimeng_t2i_v31", "high_aes_general_v20"], "model", ["jimeng_t2i_v31", "high_aes_general_v20"]),
])
def test_a_sweep_makes_one_task_per_value(api, param, values, field, expected):
    body = create(api, {"prompt": "a harbour", "sweep": {"param": param, "values": values}}).json()
    assert body["kind"] == param
    assert [t[field] for t in body["tasks"]] == expected


def test_prompts_variations_and_a_sweep_multiply(api):
    body = create(api, {"prompts": ["a", "b"], "variations": 2,
                        "sweep": {"param": "model", "values": ["jimeng_t2i_v31", "high_aes_general_v20"]}}).json()
    assert body["total"] == 8 and body["kind"] == "prompts+variations+model"


def test_a_batch_with_one_bad_task_is_refused_whole_naming_the_task(api):
    response = create(api, {"prompts": ["fine", ""], "width": 1024, "height": 1024})
    assert response.status_code == 400
    response = create(api, {"prompt": "sizes", "sweep": {"param": "size", "values": ["1024x1024", "13x13"]}})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation_error"
    assert any(key.startswith("size=13x13") for key in body["details"]), body
    assert GenerationTask.objects.count() == 0 and Batch.objects.count() == 0


@pytest.mark.parametrize("body", [
    {"prompt": "x", "variations": 51},
    {"prompt": "x", "sweep": {"param": "colour", "values": [1]}},
    {"prompt": "x", "sweep": {"param": "size", "values": ["big"]}},
    {"prompt": "x", "sweep": {"param": "seed", "values": [-4, True]}},
    {"prompt": "x", "sweep": {"param": "seed", "values": []}},
    {"prompt": "x", "prompts": ["y"]},
    {"prompts": []},
    {},
    {"prompt": "x", "variations": 2, "sweep": {"param": "seed", "values": [1, 2]}},
    {"prompt": "x", "colour": "red"},
])
def test_bad_batches_get_a_clear_error_and_make_nothing(api, body):
    response = create(api, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation_error" and response.json()["message"]
    assert GenerationTask.objects.count() == 0 and Batch.objects.count() == 0


def test_the_batch_size_limit_is_a_setting(api, settings):
    settings.IMAGEGEN_MAX_BATCH_TASKS = 3
    response = create(api, {"prompt": "x", "variations": 4})
    assert response.status_code == 400
    assert "at most 3" in response.json()["message"]
    assert create(api, {"prompt": "x", "variations": 3}).status_code == 201


def test_a_batch_that_does_not_fit_the_queued_limit_makes_nothing(api, settings):
    settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT = 5
    api.generate()
    api.generate()
    response = create(api, {"prompt": "x", "variations": 4})
    assert response.status_code == 429
    assert response.json()["details"]["requested"] == 4
    assert GenerationTask.objects.count() == 2 and Batch.objects.count() == 0
    assert create(api, {"prompt": "x", "variations": 3}).status_code == 201


def test_the_error_is_in_the_callers_language(api_zh):
    response = create(api_zh, {"prompt": "x", "variations": 51})
    assert response.status_code == 400
    message = response.json()["message"]
    assert "51" in message and any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_progress_counts_finished_tasks_whole(api, media):
    body = create(api, {"prompt": "a lighthouse", "variations": 3, "width": 1024, "height": 1024}).json()
    first, second, third = (t["task_id"] for t in body["tasks"])
    run(first)
    GenerationTask.objects.filter(task_id=second).update(status="processing", progress=50)
    state = api.get(f"batches/{body['batch_id']}").json()
    assert state["counts"]["completed"] == 1 and state["counts"]["processing"] == 1 and state["counts"]["pending"] == 1
    assert state["progress"] == 50 and state["finished"] is False
    assert len(state["tasks"][0]["images"]) == 1


def test_cancelling_a_batch_cancels_its_unfinished_tasks_only(api, media):
    body = create(api, {"prompt": "a ferry", "variations": 3}).json()
    done = body["tasks"][0]["task_id"]
    run(done)
    other = api.generate()
    response = api.delete(f"batches/{body['batch_id']}")
    assert response.status_code == 202
    state = response.json()
    assert state["counts"] == {"pending": 0, "processing": 0, "retrying": 0, "completed": 1, "failed": 0,
                               "cancelled": 2}
    assert state["finished"] is True
    assert api.get(f"task/{other}").json()["status"] == "pending"


def test_tasks_and_images_can_be_listed_by_batch(api, media):
    body = create(api, {"prompt": "a tram", "variations": 2}).json()
    for task in body["tasks"]:
        run(task["task_id"])
    api.generate()
    tasks = api.get("tasks", batch=body["batch_id"]).json()
    assert tasks["count"] == 2 and {t["batch_id"] for t in tasks["results"]} == {body["batch_id"]}
    images = api.get("images", batch=body["batch_id"]).json()
    assert images["count"] == 2


def test_an_idempotent_replay_returns_the_same_batch(api):
    key = str(uuid.uuid4())
    first = create(api, {"prompt": "once", "variations": 2}, **{"Idempotency-Key": key})
    again = create(api, {"prompt": "once", "variations": 2}, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert again.json()["batch_id"] == first.json()["batch_id"]
    assert GenerationTask.objects.count() == 2
    other = create(api, {"prompt": "twice", "variations": 2}, **{"Idempotency-Key": key})
    assert other.status_code == 409


@pytest.mark.parametrize("batch_id", ["nope", "batch_" + "0" * 32, "batch_" + "0" * 31 + "\x00"])
def test_an_unknown_batch_is_not_found(api, batch_id):
    assert api.get(f"batches/{batch_id}").status_code == 404
    assert api.delete(f"batches/{batch_id}").status_code == 404


def test_another_users_batch_answers_like_a_missing_one(accounts, media):
    alice, bob = signed_in(make_user("alice")), signed_in(make_user("bob"))
    body = alice.post("batches", {"prompt": "alice's kites", "variations": 2}).json()
    missing = bob.get("batches/batch_" + "0" * 32)
    for response in (bob.get(f"batches/{body['batch_id']}"), bob.delete(f"batches/{body['batch_id']}")):
        assert response.status_code == 404 and response.json() == missing.json()
    assert bob.get("tasks", batch=body["batch_id"]).json()["count"] == 0
    assert bob.get("images", batch=body["batch_id"]).json()["count"] == 0
    assert alice.get(f"batches/{body['batch_id']}").json()["counts"]["pending"] == 2


def test_a_batch_counts_against_the_daily_images_whole(accounts, media):
    carol = signed_in(make_user("carol", daily_images=5))
    response = carol.post("batches", {"prompt": "x", "variations": 3, "num_images": 2})
    assert response.status_code == 429 and response.json()["details"]["quota"] == "daily_images"
    assert GenerationTask.objects.count() == 0
    assert carol.post("batches", {"prompt": "x", "variations": 2, "num_images": 2}).status_code == 201


def test_a_new_batch_is_logged_with_its_id_size_and_kind(api, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="generation.services")
    body = create(api, {"prompt": "a kite", "variations": 3}).json()
    assert f"batch {body['batch_id']} created: 3 tasks (variations)" in [
        r.getMessage() for r in caplog.records if r.name == "generation.services"]
    caplog.clear()
    create(api, {"prompts": ["one", "two"]})
    assert [r.getMessage() for r in caplog.records if r.name == "generation.services" and "batch" in r.getMessage()
            ][0].endswith("created: 2 tasks (prompts)")
