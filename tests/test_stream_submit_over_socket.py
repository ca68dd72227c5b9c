"""A generation submitted over the WebSocket is followed on the same socket through every stage to its
final state with image URLs; web, stream and worker are separate processes."""

from __future__ import annotations

import pytest

from .stream_client import Socket, final, stream_stack

pytestmark = pytest.mark.processes


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    stack = stream_stack(tmp_path_factory, "stream-submit")
    yield stack
    stack.close()


def test_a_task_submitted_over_the_socket_reports_every_stage_until_it_completes(app):
    with Socket(app.stream_url) as ws:
        ws.send({"type": "generate", "request_id": "c1", "body": {"prompt": "a lighthouse at dusk", "num_images": 2}})
        messages = ws.until(final)
    created, snapshot, *changes, done, closed = messages
    assert created["type"] == "created" and created["request_id"] == "c1"
    task_id = created["task"]["task_id"]
    assert created["task"]["url"] == f"/api/v1/task/{task_id}"
    assert snapshot["type"] == "snapshot" and snapshot["task_id"] == task_id
    assert [m["type"] for m in changes] == ["update"] * len(changes)
    statuses = [m["task"]["status"] for m in [snapshot, *changes, done]]
    assert statuses[0] == "pending" and statuses[-1] == "completed"
    assert "processing" in statuses
    assert "generating" in [m["task"]["stage"] for m in changes]
    progress = [m["task"]["progress"] for m in [snapshot, *changes, done]]
    assert progress == sorted(progress) and progress[-1] == 100
    assert len({m["version"] for m in [snapshot, *changes, done]}) == len(changes) + 2  # no repeats
    assert done["type"] == "completed"
    assert closed == {"type": "unsubscribed", "task_id": task_id, "reason": "finished"}
    # The final message is exactly what GET /api/v1/task/{id} answers, image URLs included.
    assert done["task"] == {**app.task(task_id), "estimated_time": done["task"]["estimated_time"]}
    assert len(done["task"]["images"]) == 2
    for image in done["task"]["images"]:
        status, body = app.request("GET", image["url"])
        assert status == 200 and body["_type"].startswith("image/")


def test_several_tasks_are_followed_on_one_socket(app):
    with Socket(app.stream_url) as ws:
        for n in range(3):
            ws.send({"type": "generate", "request_id": f"r{n}", "body": {"prompt": f"boat {n}"}})
        closed = set()
        created = {}
        while len(closed) < 3:
            message = ws.receive()
            if message["type"] == "created":
                created[message["request_id"]] = message["task"]["task_id"]
            if message["type"] == "unsubscribed":
                closed.add(message["task_id"])
    assert set(created) == {"r0", "r1", "r2"}
    assert closed == set(created.values())
    finals = {m["task_id"]: m["type"] for m in ws.seen if m["type"] == "completed"}
    assert finals == {task_id: "completed" for task_id in created.values()}


def test_an_idempotency_key_over_the_socket_replays_the_same_task(app):
    with Socket(app.stream_url) as ws:
        body = {"prompt": "the same request twice"}
        ws.send({"type": "generate", "request_id": "a", "body": body, "idempotency_key": "stream-key-1"})
        first = ws.until(lambda m: m["type"] == "created")[-1]
        ws.send({"type": "generate", "request_id": "b", "body": body, "idempotency_key": "stream-key-1"})
        second = ws.until(lambda m: m["type"] == "created")[-1]
    assert first["task"]["task_id"] == second["task"]["task_id"]
