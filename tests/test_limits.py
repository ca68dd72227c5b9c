"""The per-client queued-task limit (exact, in the database) and the request-rate limit."""

import math
import time

import pytest
from django.core.cache import cache, caches

from core.api.clients import client_id
from core.api.throttling import window_of
from generation.models import GenerationTask

from .conftest import SEED_EXAMPLE, run

pytestmark = pytest.mark.django_db


def test_it_refuses_a_task_beyond_the_unfinished_limit_with_retry_after(api, settings):
    settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT = 2
    api.generate()
    api.generate()
    response = api.post("generate", SEED_EXAMPLE)
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "rate_limit_exceeded"
    assert isinstance(body["retry_after"], int) and body["retry_after"] >= 1
    assert response["Retry-After"] == str(body["retry_after"])
    assert GenerationTask.objects.count() == 2


def test_the_limit_message_is_the_seeds_in_chinese(api_zh, settings):
    settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT = 0
    body = api_zh.post("generate", SEED_EXAMPLE).json()
    assert "超出并发任务限制" in body["message"]


def test_finished_tasks_do_not_count_against_the_limit(api, settings, media):
    settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT = 1
    first = api.generate()
    run(first)
    assert api.post("generate", SEED_EXAMPLE).status_code == 201


def test_the_limit_is_per_client(db, settings):
    from .conftest import Api

    settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT = 1
    alice, bob = Api(), Api()
    alice.client.defaults["REMOTE_ADDR"] = "10.0.0.1"
    bob.client.defaults["REMOTE_ADDR"] = "10.0.0.2"
    alice.generate()
    assert alice.post("generate", SEED_EXAMPLE).status_code == 429
    assert bob.post("generate", SEED_EXAMPLE).status_code == 201


def test_request_rate_limit_answers_429_with_retry_after(api, settings):
    cache.clear()
    settings.IMAGEGEN_CREATE_RATE = "3/m"
    settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT = 100
    statuses = [api.post("generate", SEED_EXAMPLE).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    response = api.post("generate", SEED_EXAMPLE)
    body = response.json()
    assert body["error"] == "rate_limit_exceeded"
    assert int(response["Retry-After"]) >= 1
    assert body["retry_after"] == int(response["Retry-After"])


def test_polling_past_the_read_rate_answers_429_until_the_window_ends(api, settings):
    caches[settings.IMAGEGEN_READ_RATE_CACHE].clear()
    settings.IMAGEGEN_READ_RATE = "3/h"
    task_id = api.generate()
    statuses = [api.get(f"task/{task_id}").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get("tasks")
    assert response.json()["error"] == "rate_limit_exceeded"
    # The fixed hour-long window the reads fell in ends when Retry-After says.
    _start, end = window_of(f"rate:read:{client_id(response.wsgi_request)}", 3600, time.time())
    assert int(response["Retry-After"]) in (math.ceil(end - time.time()), math.ceil(end - time.time()) + 1)


def test_reads_and_creations_are_counted_apart(api, settings):
    cache.clear()
    caches[settings.IMAGEGEN_READ_RATE_CACHE].clear()
    settings.IMAGEGEN_READ_RATE = "2/m"
    settings.IMAGEGEN_CREATE_RATE = "2/m"
    task_id = api.generate()
    assert [api.get(f"task/{task_id}").status_code for _ in range(3)] == [200, 200, 429]
    assert api.post("generate", SEED_EXAMPLE).status_code == 201
