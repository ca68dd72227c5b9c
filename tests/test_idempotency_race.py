"""Requests racing with one Idempotency-Key, through several web processes, on SQLite and on PostgreSQL:
exactly one task is created, every request with the same body gets that task, and a request with another
body under the same key is a conflict, never a second task."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from .services import postgres_url  # noqa: F401  (fixture)
from .stack import Stack

pytestmark = [pytest.mark.processes]

REQUESTS = 16
ROUNDS = 4  # keys raced one after another: more chances for two requests to meet inside the window
WEB_WORKERS = 4  # each web process runs one request at a time (sync views): the race is between processes


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request) -> dict:
    return {"DATABASE_URL": request.getfixturevalue("postgres_url")} if request.param == "postgresql" else {}


def race(stack: Stack, bodies: list[dict], key: str = "the-one-key") -> list[tuple[int, dict]]:
    def create(body):
        return stack.request("POST", "/api/v1/generate", body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(create, bodies))


def test_racing_requests_with_one_key_and_body_create_one_task_and_all_get_it(tmp_path, database):
    stack = Stack(tmp_path / "data", **database)
    try:
        stack.start_web(workers=WEB_WORKERS)  # no worker: the tasks stay as they were created
        for round_ in range(ROUNDS):
            results = race(stack, [{"prompt": "one lighthouse", "seed": 7}] * REQUESTS, key=f"key-{round_}")
            assert [status for status, _ in results] == [201] * REQUESTS, results
            assert len({body["task_id"] for _, body in results}) == 1
        assert stack.query("SELECT COUNT(*) FROM tasks") == [(ROUNDS,)]
    finally:
        stack.close()


def test_racing_requests_with_one_key_and_two_bodies_create_one_task_and_the_others_conflict(tmp_path, database):
    stack = Stack(tmp_path / "data", **database)
    try:
        stack.start_web(workers=WEB_WORKERS)
        bodies = [{"prompt": "a lighthouse" if n % 2 else "a windmill", "seed": 7} for n in range(REQUESTS)]
        results = race(stack, bodies)
        created = [(body, response) for body, (status, response) in zip(bodies, results) if status == 201]
        conflicts = [(body, response) for body, (status, response) in zip(bodies, results) if status == 409]
        assert len(created) + len(conflicts) == REQUESTS, results
        assert all(response["error"] == "idempotency_conflict" for _, response in conflicts)
        # One body won the key: every request with it got the one task, every other body a conflict.
        assert len({response["task_id"] for _, response in created}) == 1
        winner = created[0][0]["prompt"]
        assert {body["prompt"] for body, _ in created} == {winner}
        assert {body["prompt"] for body, _ in conflicts} == {"a lighthouse", "a windmill"} - {winner}
        assert len(created) == REQUESTS // 2
        assert stack.query("SELECT prompt FROM tasks") == [(winner,)]
    finally:
        stack.close()
