"""`make run` (manage.py serve) serves the pages, the API, the WebSocket and the event streams on one
HOST:PORT: a client written from README connects to ws://HOST:PORT/api/v1/generate/stream and follows a task,
and no page or header mentions a second port."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

from .stack import ROOT, Stack, free_port
from .stream_client import EventStream, Socket, final

pytestmark = pytest.mark.processes


def test_it_serves_pages_api_websocket_and_events_on_the_main_port_and_stops_cleanly(tmp_path):
    stack = Stack(tmp_path / "data", static=True)
    port = free_port()
    env = {**stack.env}
    env.pop("IMAGEGEN_STREAM_URL")
    log = open(tmp_path / "serve.log", "wb")
    serve = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port), "--web-workers", "1"],
                             cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        stack.port = port
        stack.wait_for(stack._ping, timeout=60, what="the web server")
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        html = page.read().decode()
        config = json.loads(re.search(r'<script id="page-config" type="application/json">(.*?)</script>', html).group(1))
        assert config["stream"] == {"enabled": True, "url": ""}
        csp = page.headers["Content-Security-Policy"]
        assert "ws://" not in csp and "wss://" not in csp and str(port + 1) not in csp
        with Socket(f"ws://127.0.0.1:{port}/api/v1/generate/stream", origin=f"http://127.0.0.1:{port}") as ws:
            ws.send({"type": "generate", "request_id": "r", "body": {"prompt": "from make run"}})
            messages = ws.until(final)
        assert messages[-2]["type"] == "completed"
        # A second task followed by its event stream, on the same port, answered there (no redirect).
        task_id = stack.generate(prompt="followed by events", num_images=2)
        events = EventStream(port, task_id)
        try:
            assert events.status == 200 and events.content_type.startswith("text/event-stream")
            seen = [e for e in events.events() if "data" in e and e.get("event") != "ping"]
        finally:
            events.close()
        assert seen[0]["event"] == "snapshot" and seen[-1]["event"] == "unsubscribed"
        assert seen[-2]["data"]["task"]["status"] == "completed"
    finally:
        os.kill(serve.pid, signal.SIGINT)
        try:
            serve.wait(timeout=40)
        finally:
            if serve.poll() is None:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait()
    assert serve.returncode == 0
    assert not stack._ping()
