"""`make run` (manage.py serve) starts the stream process beside the web server and the worker, on
PORT+1, and the pages it serves know where to find it."""

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
from .stream_client import Socket, final

pytestmark = pytest.mark.processes


def test_serve_runs_web_stream_and_worker_and_the_page_points_at_the_stream(tmp_path):
    stack = Stack(tmp_path / "data", static=True)
    port = free_port()
    env = {**stack.env}
    env.pop("IMAGEGEN_STREAM_URL")
    log = open(tmp_path / "serve.log", "wb")
    serve = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port), "--web-workers", "1"],
                             cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        stack.port = port
        stack.wait_for(lambda: stack._ping() and stack._ping(port + 1), timeout=60, what="web and stream")
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        html = page.read().decode()
        config = json.loads(re.search(r'<script id="page-config" type="application/json">(.*?)</script>', html).group(1))
        assert config["stream"] == {"enabled": True, "url": "", "port": port + 1}
        assert f"ws://*:{port + 1}" in page.headers["Content-Security-Policy"]
        with Socket(f"ws://127.0.0.1:{port + 1}/api/v1/generate/stream", origin=f"http://127.0.0.1:{port}") as ws:
            ws.send({"type": "generate", "request_id": "r", "body": {"prompt": "from make run"}})
            messages = ws.until(final)
        assert messages[-2]["type"] == "completed"
    finally:
        os.kill(serve.pid, signal.SIGINT)
        try:
            serve.wait(timeout=40)
        finally:
            if serve.poll() is None:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait()
    assert serve.returncode == 0
    assert not stack._ping(port + 1)
