"""Subscriptions and event streams read tasks as GET /api/v1/task/{id} does, so the same read rate limits
them: past it, a 429-style error in the envelope with retry_after (the socket stays open)."""

from __future__ import annotations

import pytest

from .stack import Stack
from .stream_client import EventStream, Socket

pytestmark = pytest.mark.processes


def test_subscriptions_and_event_streams_past_the_read_rate_are_refused_with_retry_after(tmp_path):
    stack = Stack(tmp_path / "data", IMAGEGEN_READ_RATE="3/m")
    try:
        stack.start_stream()
        # One web process: with the database cache, read counters are kept per process (README, "Limits").
        stack.start_web(workers=1)
        with Socket(stack.stream_url) as ws:
            # Creating over the socket is limited by the creation rate, and following the new task is free.
            ws.send({"type": "generate", "request_id": "g", "body": {"prompt": "counted once"}})
            created = ws.receive()
            assert ws.receive()["type"] == "snapshot"
            task_id = created["task"]["task_id"]
            answers = []
            for n in range(3):
                ws.send({"type": "subscribe", "task_id": f"missing-{n}"})
                answers.append(ws.receive())
            ws.send({"type": "subscribe", "task_id": "one-too-many"})
            refused = ws.receive()
            ws.send({"type": "unsubscribe", "task_id": task_id})
            still_open = ws.receive()
        events = EventStream(stack.port, task_id)
        status, body, retry_after = events.status, events.json(), events.response.getheader("Retry-After")
    finally:
        stack.close()
    assert [a["error"] for a in answers] == ["not_found"] * 3
    assert refused["error"] == "rate_limit_exceeded" and refused["retry_after"] >= 1
    assert refused["task_id"] == "one-too-many"
    assert still_open == {"type": "unsubscribed", "task_id": task_id, "reason": "requested"}
    assert status == 429 and body["error"] == "rate_limit_exceeded" and int(retry_after) >= 1
