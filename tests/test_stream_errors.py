"""Errors over the WebSocket: the API's error envelope with the request_id it answers, in the language of
the socket's Accept-Language; a malformed message never closes the socket."""

from __future__ import annotations

import pytest

from .stream_client import Socket, stream_stack

pytestmark = pytest.mark.processes


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    stack = stream_stack(tmp_path_factory, "stream-errors")
    yield stack
    stack.close()


def test_an_invalid_generation_gets_the_same_errors_as_post_generate(app):
    body = {"prompt": "", "num_images": 99, "colour": "red"}
    status, expected = app.request("POST", "/api/v1/generate", body)
    with Socket(app.stream_url) as ws:
        ws.send({"type": "generate", "request_id": "bad-1", "body": body})
        error = ws.receive()
    assert status == 400
    assert error == {"type": "error", "request_id": "bad-1", "status": 400, **expected}
    assert error["error"] == "validation_error" and set(error["details"]) == {"colour"}


def test_validation_errors_come_in_chinese_for_a_chinese_socket(app):
    with Socket(app.stream_url, Accept_Language="zh-Hans") as ws:
        ws.send({"type": "generate", "request_id": "zh", "body": {"prompt": ""}})
        error = ws.receive()
        ws.send({"type": "subscribe", "task_id": "no-such-task"})
        missing = ws.receive()
        ws.send_raw("{not json")
        malformed = ws.receive()
    assert error["error"] == "validation_error" and error["message"] == "prompt: 提示词不能为空"
    assert missing["message"] == "任务不存在"
    assert malformed["error"] == "invalid_json" and malformed["message"] == "消息不是有效的 JSON。"


def test_malformed_messages_get_errors_and_the_socket_stays_open(app):
    with Socket(app.stream_url) as ws:
        for raw in ("{not json", "[1, 2]", '{"type": "dance"}', '{"type": "subscribe"}',
                    '{"type": "subscribe", "task_id": 12}', '{"type": "generate", "body": "a cat"}'):
            ws.send_raw(raw)
            error = ws.receive()
            assert error["type"] == "error" and error["message"], raw
            assert set(error) >= {"error", "message", "details"}, raw
        ws.send({"type": "generate", "request_id": "ok", "body": {"prompt": "still works"}})
        created = ws.receive()
    assert created["type"] == "created" and created["request_id"] == "ok"
