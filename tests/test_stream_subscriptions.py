"""Subscribing over the WebSocket: a late subscriber to a finished task gets its final state and the
subscription closes; a subscriber to a running task gets the snapshot, then the changes; a task deleted
meanwhile (on the socket and on the event stream), or one that never existed, is an error and the socket
stays usable."""

from __future__ import annotations

import pytest

from .stream_client import EventStream, Socket, final, stream_stack

pytestmark = pytest.mark.processes


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    stack = stream_stack(tmp_path_factory, "stream-subscribe")
    yield stack
    stack.close()


def finished(app, prompt: str) -> str:
    task_id = app.generate(prompt=prompt)
    app.wait_for(lambda: app.task(task_id)["status"] == "completed", timeout=60, what="the task")
    return task_id


def test_a_late_subscriber_to_a_finished_task_gets_its_final_state_and_the_subscription_closes(app):
    task_id = finished(app, "already done")
    with Socket(app.stream_url) as ws:
        ws.send({"type": "subscribe", "task_id": task_id})
        snapshot, closed = ws.until(final)
    assert snapshot["type"] == "snapshot"
    assert snapshot["task"]["status"] == "completed" and snapshot["task"]["images"]
    assert snapshot["task"] == {**app.task(task_id), "estimated_time": 0}
    assert closed == {"type": "unsubscribed", "task_id": task_id, "reason": "finished"}


def test_a_subscriber_to_a_running_task_gets_the_snapshot_then_the_changes(app):
    # Four images: several seconds of generating, so the subscription surely starts before the end.
    task_id = app.generate(prompt="in flight", num_images=4)
    app.wait_for(lambda: app.task(task_id)["stage"] == "generating", timeout=30, what="the task to be generating")
    with Socket(app.stream_url) as ws:
        ws.send({"type": "subscribe", "task_id": task_id})
        snapshot, *changes, done, closed = ws.until(final)
    assert snapshot["type"] == "snapshot" and snapshot["task"]["status"] == "processing"
    assert all(m["type"] == "update" for m in changes)
    assert done["type"] == "completed" and done["task"]["progress"] == 100
    assert closed["reason"] == "finished"


def test_two_sockets_on_one_task_both_get_the_final_state(app):
    task_id = app.generate(prompt="watched twice")
    with Socket(app.stream_url) as one, Socket(app.stream_url) as two:
        one.send({"type": "subscribe", "task_id": task_id})
        two.send({"type": "subscribe", "task_id": task_id})
        first, second = one.until(final), two.until(final)
    assert first[-2]["type"] == second[-2]["type"] == "completed"
    assert first[-2]["version"] == second[-2]["version"]


def test_an_unknown_task_is_a_not_found_error_and_the_socket_stays_open(app):
    done = finished(app, "after the error")
    with Socket(app.stream_url) as ws:
        ws.send({"type": "subscribe", "task_id": "no-such-task", "request_id": 7})
        error = ws.receive()
        ws.send({"type": "subscribe", "task_id": done})
        after = ws.until(final)
    assert error["type"] == "error" and error["error"] == "not_found" and error["task_id"] == "no-such-task"
    assert error["request_id"] == 7 and error["message"] == "Task not found."
    assert after[0]["type"] == "snapshot" and after[0]["task_id"] == done


def test_a_task_cancelled_while_watched_ends_with_its_cancelled_state(app):
    task_id = app.generate(prompt="to be cancelled")
    with Socket(app.stream_url) as ws:
        ws.send({"type": "subscribe", "task_id": task_id})
        ws.until(lambda m: m["type"] == "snapshot")
        assert app.request("DELETE", f"/api/v1/task/{task_id}")[0] == 202
        *_, last, closed = ws.until(final)
    assert last["type"] == "cancelled" and last["task"]["status"] == "cancelled"
    assert closed["reason"] == "finished"


def remove(app, task_id: str) -> None:
    """The row goes in one step, as when staff delete the account it belongs to (its tasks go with it,
    finished or not): no watcher can see a final state first, only that the task is gone."""
    app.query("DELETE FROM tasks WHERE task_id = ?", [task_id])


def test_a_task_removed_while_watched_is_reported_gone_and_the_subscription_ends(app):
    task_id = app.generate(prompt="to be removed")
    with Socket(app.stream_url) as ws:
        ws.send({"type": "subscribe", "task_id": task_id})
        ws.until(lambda m: m["type"] == "snapshot")
        remove(app, task_id)
        *before, gone, closed = ws.until(final)
    assert all(m["type"] == "update" for m in before)
    assert gone["type"] == "error" and gone["error"] == "not_found" and gone["task_id"] == task_id
    assert gone["message"] == "Task not found."
    assert closed == {"type": "unsubscribed", "task_id": task_id, "reason": "deleted"}


def test_an_event_stream_reports_a_task_removed_meanwhile_as_gone(app):
    task_id = app.generate(prompt="to be removed under the event stream")
    stream = EventStream(app.port, task_id)
    try:
        assert stream.status == 200
        events = stream.events()
        first = next(e for e in events if "data" in e)
        remove(app, task_id)
        rest = [e for e in events if "data" in e and e["event"] != "ping"]
    finally:
        stream.close()
    assert first["event"] == "snapshot"
    *before, gone, closed = rest
    assert all(e["event"] == "update" for e in before)
    assert gone["event"] == "error" and gone["data"]["error"] == "not_found" and gone["data"]["task_id"] == task_id
    assert closed["event"] == "unsubscribed" and closed["data"] == {"type": "unsubscribed", "task_id": task_id,
                                                                    "reason": "deleted"}


def test_unsubscribing_stops_the_messages_of_that_task(app):
    task_id = app.generate(prompt="left alone")
    with Socket(app.stream_url) as ws:
        ws.send({"type": "subscribe", "task_id": task_id})
        ws.until(lambda m: m["type"] == "snapshot")
        ws.send({"type": "unsubscribe", "task_id": task_id})
        ws.until(lambda m: m["type"] == "unsubscribed")
        app.wait_for(lambda: app.task(task_id)["status"] == "completed", timeout=60, what="the task")
        # Whatever comes next on this socket is about another task.
        other = finished(app, "the next one")
        ws.send({"type": "subscribe", "task_id": other})
        later = ws.until(final)
    assert {m.get("task_id") for m in later} == {other}
