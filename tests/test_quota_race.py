"""The daily image quota holds exactly when one user's requests race: many at once, through several web
processes, on SQLite and on PostgreSQL, and never one task more than the limit allows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from .accounts import stack_user
from .services import postgres_url  # noqa: F401  (fixture)
from .stack import Stack

pytestmark = [pytest.mark.processes]

LIMIT = 5
REQUESTS = 24


def race(stack) -> list[int]:
    headers = {"Authorization": f"Bearer {stack_user(stack, 'alice')}"}
    stack.start_web()  # no worker: every task stays unfinished, so every one counts

    def create(n):
        return stack.request("POST", "/api/v1/generate", {"prompt": f"racing {n}"}, headers=headers)

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        results = list(pool.map(create, range(REQUESTS)))
    statuses = sorted(status for status, _body in results)
    refusals = [body for status, body in results if status == 429]
    assert all(body["error"] == "quota_exceeded" for body in refusals)
    return statuses


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request) -> dict:
    """The environment for the Stack's database: its own SQLite file, or a fresh PostgreSQL database."""
    return {"DATABASE_URL": request.getfixturevalue("postgres_url")} if request.param == "postgresql" else {}


def test_racing_creates_never_pass_the_daily_limit(tmp_path, database):
    stack = Stack(tmp_path / "data", IMAGEGEN_ACCESS="accounts", IMAGEGEN_DEFAULT_DAILY_IMAGES=str(LIMIT),
                  IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS="1000", **database)
    try:
        statuses = race(stack)
        assert statuses == [201] * LIMIT + [429] * (REQUESTS - LIMIT)
        assert stack.query("SELECT COUNT(*), SUM(num_images) FROM tasks") == [(LIMIT, LIMIT)]
    finally:
        stack.close()
