"""Server-sent events, GET /api/v1/task/{task_id}/events: the same messages as the WebSocket, resumable
with Last-Event-ID without losing the final state, and of bounded lifetime."""

from __future__ import annotations

import pytest

from .stream_client import EventStream, stream_stack

pytestmark = pytest.mark.processes


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    stack = stream_stack(tmp_path_factory, "stream-sse", IMAGEGEN_STREAM_SSE_LIFETIME="1", IMAGEGEN_STREAM_SSE_RETRY="0.5",
                         IMAGEGEN_STREAM_HEARTBEAT="0.3")
    yield stack
    stack.close()


def read_all(app, task_id, on_first=None, **kwargs) -> list[dict]:
    """Follow the task across as many responses as its lifetime bound needs, the way an EventSource
    does; returns the task events seen, each response's first one marked. `on_first()` runs once the first
    event is in."""
    seen: list[dict] = []
    last = kwargs.pop("last_event_id", None)
    for _ in range(100):
        stream = EventStream(app.port, task_id, last_event_id=last, **kwargs)
        if stream.status == 204:
            return seen
        assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
        for event in stream.events():
            if "id" in event:
                last = event["id"]
            if "data" in event and event["event"] != "ping":
                seen.append(event)
                if on_first is not None and len(seen) == 1:
                    on_first()
        stream.close()
        if seen and seen[-1]["event"] == "unsubscribed":
            return seen
    raise AssertionError("the stream never ended")


def test_an_event_stream_follows_a_task_through_to_its_final_state(app):
    # The task waits for a worker until its first event is in, so that the stream sees every stage of it
    # however slowly the stream answers (on a busy machine the task could otherwise be over before).
    app.stop("worker")
    task_id = app.generate(prompt="followed by events")
    events = read_all(app, task_id, on_first=app.start_worker)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "snapshot" and kinds[-2:] == ["completed", "unsubscribed"]
    for event in events[:-1]:
        assert event["data"]["type"] == event["event"] and event["id"] == event["data"]["version"]
    assert events[-2]["data"]["task"]["images"] and events[-2]["data"]["task"]["status"] == "completed"
    assert "generating" in [e["data"]["task"]["stage"] for e in events[:-1]]


def test_a_response_ends_after_its_lifetime_with_a_retry_hint(app):
    task_id = app.generate(prompt="a long one", num_images=4)
    stream = EventStream(app.port, task_id)
    events = list(stream.events())
    stream.close()
    assert events[0] == {"retry": "500"}
    assert events[-1] == {"retry": "500"}
    assert any(e.get("event") == "ping" for e in events)
    assert not any(e.get("event") == "completed" for e in events)
    app.wait_for(lambda: app.task(task_id)["status"] == "completed", timeout=60, what="the task")


def test_resuming_with_the_current_id_sends_no_duplicate_and_a_stale_id_gets_the_final_message(app):
    task_id = app.generate(prompt="resumed")
    app.wait_for(lambda: app.task(task_id)["status"] == "completed", timeout=60, what="the task")
    first = read_all(app, task_id)
    final_id = first[0]["id"]
    assert first[0]["data"]["task"]["status"] == "completed"
    # The client has the final state: nothing more to send, and 204 stops an EventSource reconnecting.
    stream = EventStream(app.port, task_id, last_event_id=final_id)
    assert stream.status == 204
    # A client behind (the task finished between two of its responses) gets the final message itself, not
    # a snapshot: an EventSource listening for `completed` would miss that.
    stale = read_all(app, task_id, last_event_id="0000000000000000")
    assert [e["event"] for e in stale] == ["completed", "unsubscribed"] and stale[0]["id"] == final_id
    assert stale[0]["data"]["type"] == "completed" and stale[0]["data"]["task"]["images"]


def test_a_client_reconnecting_mid_run_does_not_lose_the_final_state(app):
    task_id = app.generate(prompt="interrupted client", num_images=2)
    stream = EventStream(app.port, task_id)
    first = next(e for e in stream.events() if e.get("event") == "snapshot")
    stream.close()  # the connection drops
    rest = read_all(app, task_id, last_event_id=first["id"])
    assert rest[-2]["event"] == "completed" and rest[-2]["data"]["task"]["status"] == "completed"
    assert first["id"] not in [e.get("id") for e in rest]


def test_an_unknown_task_is_a_404_in_the_error_envelope(app):
    stream = EventStream(app.port, "no-such-task", Accept_Language="zh-Hans")
    assert stream.status == 404
    assert stream.json() == {"error": "not_found", "message": "任务不存在", "details": None}
