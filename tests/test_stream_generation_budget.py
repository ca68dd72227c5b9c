"""Generating over the WebSocket spends the generation budget, the same one as POST /api/v1/generate (and
no read): past it the socket answers the 429 envelope with retry_after, and the HTTP endpoint refuses too."""

from __future__ import annotations

import pytest

from .stack import Stack
from .stream_client import Socket

pytestmark = pytest.mark.processes


def test_socket_generations_and_http_generations_share_one_budget(tmp_path):
    stack = Stack(tmp_path / "data", IMAGEGEN_CREATE_RATE="2/h", IMAGEGEN_READ_RATE="2/h")
    try:
        stack.start_stream()
        stack.start_web()
        with Socket(stack.stream_url) as ws:
            created = []
            for n in range(2):
                ws.send({"type": "generate", "request_id": f"g{n}", "body": {"prompt": f"over the socket {n}"}})
                created.append(ws.receive())
                assert ws.receive()["type"] == "snapshot"
            ws.send({"type": "generate", "request_id": "g2", "body": {"prompt": "one too many"}})
            refused = ws.receive()
        assert [c["type"] for c in created] == ["created", "created"], created
        assert refused["type"] == "error" and refused["error"] == "rate_limit_exceeded", refused
        assert refused["status"] == 429 and 1 <= refused["retry_after"] <= 3600
        status, body = stack.request("POST", "/api/v1/generate", {"prompt": "over http"})
        assert status == 429 and body["error"] == "rate_limit_exceeded"
        # Reads are a budget of their own, untouched by the generations (2 reads allowed).
        assert [stack.request("GET", "/api/v1/tasks")[0] for _ in range(2)] == [200, 200]
    finally:
        stack.close()
