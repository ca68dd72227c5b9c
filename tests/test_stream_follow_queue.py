"""Following one's queue over the stream (follow_queue, the queue page's feed): every task of one's own made
afterwards, from any device or the command line, arrives as a snapshot and is then followed to its end; another
user's never does (web, stream and worker as real processes, accounts mode)."""

from __future__ import annotations

import pytest

from .accounts import stack_user
from .stream_client import Socket, stream_stack

pytestmark = pytest.mark.processes


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    stack = stream_stack(tmp_path_factory, "stream-follow", IMAGEGEN_ACCESS="accounts")
    stack.alice = stack_user(stack, "alice")
    stack.bob = stack_user(stack, "bob")
    yield stack
    stack.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def made_elsewhere(app, token: str, prompt: str) -> str:
    status, body = app.request("POST", "/api/v1/generate", {"prompt": prompt}, headers=bearer(token))
    assert status == 201, body
    return body["task_id"]


def test_a_task_made_elsewhere_arrives_and_is_followed_to_its_end(app):
    before = made_elsewhere(app, app.alice, "made before following")
    with Socket(app.stream_url, **bearer(app.alice)) as ws:
        ws.send({"type": "follow_queue", "request_id": "q1"})
        assert ws.receive() == {"type": "following_queue", "request_id": "q1"}
        task_id = made_elsewhere(app, app.alice, "made on another device")
        messages = ws.until(lambda m: m["type"] == "unsubscribed" and m.get("task_id") == task_id)
    kinds = [(m["type"], m.get("task_id")) for m in messages]
    assert kinds[0] == ("snapshot", task_id)
    assert messages[0]["task"]["prompt"] == "made on another device"
    assert ("completed", task_id) in kinds  # followed to its end without a subscribe of its own
    assert kinds[-1] == ("unsubscribed", task_id) and messages[-1]["reason"] == "finished"
    assert before not in {m.get("task_id") for m in messages}  # only what is made after the follow


def test_another_user_s_task_is_never_announced(app):
    with Socket(app.stream_url, **bearer(app.bob)) as ws:
        ws.send({"type": "follow_queue"})
        assert ws.receive()["type"] == "following_queue"
        made_elsewhere(app, app.alice, "alice's, not bob's")
        mine = made_elsewhere(app, app.bob, "bob's own")
        first = ws.until(lambda m: m["type"] == "snapshot")[-1]
    assert first["task_id"] == mine and first["task"]["prompt"] == "bob's own"


def test_an_unknown_message_names_follow_queue_among_the_kinds(app):
    with Socket(app.stream_url, **bearer(app.alice)) as ws:
        ws.send({"type": "follow"})
        error = ws.receive()
    assert error["type"] == "error" and error["error"] == "validation_error"
    assert "follow_queue" in error["message"]
