"""What `make run` (`manage.py serve`) says in its terminal: where everything is at the start, a taken port
named before anything starts, and no line per thumbnail or per scheduled run while idle."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from .test_secure_by_default import ROOT, env_for

pytestmark = [pytest.mark.processes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_taken_port_stops_serve_at_once_naming_the_port_and_starting_no_worker(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run([sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT,
                                env=env_for(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"PORT={port + 1}" in result.stderr
    assert "imagegen serving" not in result.stdout
    assert "Q Cluster" not in result.stderr + result.stdout
    assert time.monotonic() - started < 60  # it did not wait for a web server to give up


def test_the_first_lines_say_where_everything_is_and_an_idle_studio_stays_quiet(tmp_path):
    data = tmp_path / "data"
    env = env_for(data)
    for args in (["migrate", "-v", "0"], ["createcachetable"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port), "--web-workers", "1"],
                                cwd=ROOT, env=env, stdout=stdout, stderr=stderr, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{base}/api/v1/health", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.3)
        created = requests.post(f"{base}/api/v1/generate", json={"prompt": "a quiet terminal"}, timeout=30).json()
        deadline = time.monotonic() + 60
        while (task := requests.get(f"{base}/api/v1/task/{created['task_id']}", timeout=10).json())["status"] != "completed":
            assert time.monotonic() < deadline, task
            time.sleep(0.3)
        image_id = task["images"][0]["image_id"]
        for _ in range(5):
            assert requests.get(f"{base}/api/v1/images/{image_id}/thumbnail", timeout=10).status_code == 200
            assert requests.get(f"{base}/api/v1/images/{image_id}", timeout=10).status_code == 200
        # Wait until the request lines of the creation and of the task reads are on the terminal; by then
        # the thumbnail lines would be too.
        deadline = time.monotonic() + 30
        while f"/api/v1/task/{created['task_id']}" not in err.read_text():
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.3)
    finally:
        proc.send_signal(2)
        proc.wait(timeout=60)
    first = out.read_text().splitlines()
    assert first[0] == f"imagegen serving {base}/ — press Ctrl-C to stop."
    said = "\n".join(first)
    for where in (f"{base}/api/v1/docs", f"ws://127.0.0.1:{port}/api/v1/generate/stream", f"{base}/admin/",
                  "engine   preview", str(data)):
        assert where in said, said
    terminal = err.read_text()
    assert '"POST /api/v1/generate HTTP/1.1" 201' in terminal
    assert "/thumbnail" not in terminal and f'"GET /api/v1/images/{image_id} ' not in terminal
    # Of django-q2's INFO lines only the cluster's start passes: none per scheduled run, task or process.
    assert "Q Cluster" in terminal and " starting." in terminal
    assert "created task" not in terminal and "processing" not in terminal and "ready for work" not in terminal
