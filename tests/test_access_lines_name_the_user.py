"""The "info" row: access lines say who asked (user name, and the token's prefix for a token), never the token
itself. Written by the app, so the web server `manage.py serve` and the Docker image run logs them."""

from __future__ import annotations

import pytest

from .accounts import stack_user
from .stack import Stack

pytestmark = pytest.mark.processes


def test_an_api_access_line_carries_the_user_and_token_prefix_but_not_the_token(tmp_path):
    stack = Stack(tmp_path / "data", IMAGEGEN_ACCESS="accounts")
    try:
        token = stack_user(stack, "alice")
        stack.start_web(workers=1)
        assert stack.request("GET", "/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})[0] == 200
        assert stack.request("GET", "/api/v1/tasks")[0] == 401
        stack.wait_for(lambda: '"GET /api/v1/tasks HTTP/1.1" 401' in stack.log("web"), timeout=30, what="access lines")
        lines = [line for line in stack.log("web").splitlines() if "imagegen.access" in line and "/api/v1/tasks" in line]
        assert any(f" 127.0.0.1 alice/{token[:12]} " in line and '" 200 ' in line for line in lines), lines
        assert any(" 127.0.0.1 - " in line and '" 401 ' in line for line in lines), lines
        assert token not in stack.log("web")
    finally:
        stack.close()
