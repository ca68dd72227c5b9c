"""A task that fails upstream ends its stream with a `failed` message carrying the task's error, in the
language of the socket (one body is built for every watcher; each gets its own language)."""

from __future__ import annotations

import pytest
from django.utils import translation

from generation.error_messages import user_message

from .faults import harness
from .stack import Stack
from .stream_client import Socket, final

pytestmark = pytest.mark.processes


@pytest.fixture
def upstream():
    server = harness.fake_upstream(latency=0.5)
    yield server
    server.stop()


def test_a_rejected_prompt_ends_with_failed_and_its_error_in_each_sockets_language(tmp_path, upstream):
    stack = Stack(tmp_path / "data", **harness.volc_env(upstream), IMAGEGEN_STREAM_POLL="0.1")
    try:
        stack.start_stream()
        stack.start_web()
        upstream.inject("50411")
        task_id = stack.generate(prompt="something the service refuses", model=harness.SYNC_MODEL, width=512, height=512)
        with Socket(stack.stream_url) as english, Socket(stack.stream_url, Accept_Language="zh-Hans") as chinese:
            english.send({"type": "subscribe", "task_id": task_id})
            chinese.send({"type": "subscribe", "task_id": task_id})
            # Both watch the pending task before any worker runs it: each sees the failure happen.
            assert english.until(lambda m: m["type"] == "snapshot")[-1]["task"]["status"] == "pending"
            assert chinese.until(lambda m: m["type"] == "snapshot")[-1]["task"]["status"] == "pending"
            stack.start_worker()
            in_english, in_chinese = english.until(final)[-2], chinese.until(final)[-2]
    finally:
        stack.close()
    assert in_english["type"] == in_chinese["type"] == "failed"
    assert in_english["task"]["status"] == in_chinese["task"]["status"] == "failed"
    assert in_english["version"] == in_chinese["version"]
    assert in_english["task"]["error"]["code"] == "content_rejected"
    with translation.override("en"):
        assert in_english["task"]["error"]["message"] == str(user_message("content_rejected"))
    with translation.override("zh-hans"):
        assert in_chinese["task"]["error"]["message"] == str(user_message("content_rejected"))
    assert in_chinese["task"]["error"]["message"] != in_english["task"]["error"]["message"]
