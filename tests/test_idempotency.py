"""Idempotency-Key on POST /api/v1/generate: a retried request never creates (or pays for) a second task."""

import pytest

from generation.models import GenerationTask

from .conftest import SEED_EXAMPLE

pytestmark = pytest.mark.django_db


def test_the_same_key_and_body_return_the_same_task(api):
    first = api.post("generate", SEED_EXAMPLE, **{"Idempotency-Key": "abc-1"})
    again = api.post("generate", SEED_EXAMPLE, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["task_id"] == again.json()["task_id"]
    assert again["Idempotent-Replayed"] == "true"
    assert GenerationTask.objects.count() == 1


def test_the_same_key_with_another_body_is_a_conflict(api):
    api.post("generate", SEED_EXAMPLE, **{"Idempotency-Key": "abc-2"})
    response = api.post("generate", {**SEED_EXAMPLE, "prompt": "a dog"}, **{"Idempotency-Key": "abc-2"})
    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_conflict"
    assert GenerationTask.objects.count() == 1


def test_different_keys_create_different_tasks(api):
    a = api.post("generate", SEED_EXAMPLE, **{"Idempotency-Key": "k1"}).json()["task_id"]
    b = api.post("generate", SEED_EXAMPLE, **{"Idempotency-Key": "k2"}).json()["task_id"]
    assert a != b


def test_a_replay_is_not_refused_by_the_unfinished_limit(api, settings):
    settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT = 1
    api.post("generate", SEED_EXAMPLE, **{"Idempotency-Key": "k"})
    assert api.post("generate", SEED_EXAMPLE, **{"Idempotency-Key": "k"}).status_code == 201


def test_a_task_made_without_a_key_records_no_request_fingerprint(db):
    from generation import services
    from generation.planning import plan_generation

    task, created = services.task_create(plan=plan_generation({"prompt": "from the command line"}), client_id="cli")
    assert created is True and (task.idempotency_key, task.request_fingerprint) == (None, "")
