"""A waiting task's subscribers hear when it moves up the queue (its queue_position and estimate change
although its own row does not)."""

from __future__ import annotations

import pytest

from .stack import Stack
from .stream_client import Socket

pytestmark = pytest.mark.processes


def test_a_waiting_task_is_updated_when_a_task_ahead_of_it_leaves_the_queue(tmp_path):
    stack = Stack(tmp_path / "data", IMAGEGEN_STREAM_POLL="0.1")
    try:
        stack.start_stream()
        stack.start_web()  # no worker: the tasks wait
        ahead, mine = stack.generate(prompt="first in line"), stack.generate(prompt="second in line")
        with Socket(stack.stream_url) as ws:
            ws.send({"type": "subscribe", "task_id": mine})
            snapshot = ws.receive()
            assert stack.request("DELETE", f"/api/v1/task/{ahead}")[0] == 202
            update = ws.receive()
    finally:
        stack.close()
    assert snapshot["type"] == "snapshot" and snapshot["task"]["queue_position"] == 1
    assert update["type"] == "update" and update["task"]["queue_position"] == 0
    assert update["task"]["status"] == "pending"
