"""Fair scheduling with real worker processes, on the ORM broker (with SQLite) and on the Redis broker
(with PostgreSQL): user A queues 30 tasks, then user B queues 1. With C tasks able to run at once (C
workers), at most C of A's tasks start after B's task is queued and before B's starts, by the tasks'
recorded start times. (In creation order, all of A's waiting tasks would go first.)"""

from __future__ import annotations

from datetime import datetime

import pytest

from .accounts import stack_user
from .services import postgres_url, redis_url  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes]

WORKERS = 2  # C: how many tasks can run at once (the preview engine holds no upstream slot)
BATCH = 30


@pytest.fixture(params=["orm", "redis"])
def broker(request) -> dict:
    """The ORM broker on the embedded SQLite; the Redis broker with the scale path's PostgreSQL and Redis."""
    if request.param == "orm":
        return {}
    url = request.getfixturevalue("redis_url")
    return {"IMAGEGEN_BROKER": url, "CACHE_URL": url, "DATABASE_URL": request.getfixturevalue("postgres_url")}


def _moment(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def test_one_users_batch_does_not_hold_back_another_users_single_task(tmp_path, broker):
    stack = Stack(tmp_path / "data", IMAGEGEN_ACCESS="accounts", IMAGEGEN_WORKERS=str(WORKERS),
                  IMAGEGEN_PREVIEW_LATENCY="0.4", IMAGEGEN_DEFAULT_DAILY_IMAGES="1000", **broker)
    try:
        alice = {"Authorization": f"Bearer {stack_user(stack, 'alice')}"}
        bob = {"Authorization": f"Bearer {stack_user(stack, 'bob')}"}
        stack.start_web()
        stack.start_worker()
        batch = []
        for n in range(BATCH):
            status, body = stack.request("POST", "/api/v1/generate", {"prompt": f"variation {n}"}, headers=alice)
            assert status == 201, body
            batch.append(body["task_id"])
        # A's batch is under way when B asks.
        stack.wait_for(lambda: stack.query("SELECT COUNT(*) FROM tasks WHERE started_at IS NOT NULL")[0][0] >= 1,
                       timeout=60, what="the batch to start")
        status, body = stack.request("POST", "/api/v1/generate", {"prompt": "just one"}, headers=bob)
        assert status == 201, body
        single = body["task_id"]
        stack.wait_for(lambda: stack.request("GET", f"/api/v1/task/{single}", headers=bob)[1]["status"] == "completed",
                       timeout=120, what="B's task to complete")
        b = stack.row(single)
        queued, started = _moment(b["created_at"]), _moment(b["started_at"])
        a_starts = [_moment(row[0]) for row in
                    stack.query("SELECT started_at FROM tasks WHERE task_id <> ? AND started_at IS NOT NULL", [single])]
        overtaking = [s for s in a_starts if queued <= s < started]
        waiting_when_b_came = BATCH - sum(s < queued for s in a_starts)
        assert waiting_when_b_came > WORKERS, "the batch was nearly done before B asked: nothing was tested"
        assert len(overtaking) <= WORKERS, (len(overtaking), waiting_when_b_came)
        # And the batch still completes.
        stack.wait_for(lambda: stack.query("SELECT COUNT(*) FROM tasks WHERE status = 'completed'")[0][0] == BATCH + 1,
                       timeout=180, what="every task to complete")
    finally:
        stack.close()
