"""Run the web server (gunicorn), the stream (uvicorn, PORT+1) and the worker (django-q2's qcluster)
together, as `make run` does.

Each child runs in its own session, so a terminal's Ctrl-C reaches only this supervisor, which then
stops each child the way it wants to be stopped: SIGTERM to gunicorn's master, and SIGTERM to the
qcluster's *main* process only (signalling its whole process group can deadlock its shutdown). A child
that dies unexpectedly is restarted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run gunicorn and the qcluster worker together until interrupted (Ctrl-C stops both)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--no-worker", action="store_true", help="Run the web server only.")
        parser.add_argument("--no-stream", action="store_true", help="No WebSocket/SSE process: pages poll.")
        parser.add_argument("--stream-port", type=int, default=0, help="The stream's port (default PORT+1).")
        parser.add_argument("--no-web", action="store_true", help="Run the worker only.")
        parser.add_argument("--stop-timeout", type=float, default=15.0)

    def handle(self, *args, **opts):
        python = sys.executable
        commands = {}
        if not opts["no_web"]:
            commands["web"] = [
                python, "-m", "gunicorn", "imagegen.wsgi:application",
                "--bind", f"{opts['host']}:{opts['port']}",
                "--worker-class", "gthread",
                "--workers", str(opts["web_workers"]),
                "--threads", "4",
                "--timeout", "60",
                "--graceful-timeout", "10",
                "--access-logfile", "-",
            ]
        if not opts["no_web"] and not opts["no_stream"]:
            # The WebSocket and server-sent events live in a small ASGI process of their own, so that
            # the WSGI server keeps its read-path throughput (BENCHMARKS.md, "Stream"); pages learn its
            # port from IMAGEGEN_STREAM_PORT.
            stream_port = opts["stream_port"] or opts["port"] + 1
            os.environ["IMAGEGEN_STREAM_PORT"] = str(stream_port)
            commands["stream"] = stream_command(python, opts["host"], stream_port)
        elif not os.environ.get("IMAGEGEN_STREAM_URL"):
            os.environ["IMAGEGEN_STREAM_URL"] = "off"
        if not opts["no_worker"]:
            commands["worker"] = [python, "manage.py", "qcluster"]
        self.stopping = False
        self.children: dict[str, subprocess.Popen] = {}
        restarts: dict[str, list[float]] = {name: [] for name in commands}

        def request_stop(signum, frame):
            self.stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

        # Counters of the previous run's processes would be summed with the new ones' (prometheus_client
        # multiprocess mode): start from an empty directory.
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_dir:
            for stale in Path(metrics_dir).glob("*.db"):
                stale.unlink(missing_ok=True)
        for name, cmd in commands.items():
            self.children[name] = self._start(name, cmd)
        self.stdout.write(
            f"imagegen serving http://{opts['host']}:{opts['port']}/ "
            f"(data in {settings.DATA_DIR}); press Ctrl-C to stop."
        )
        try:
            while not self.stopping:
                time.sleep(0.5)
                for name, proc in list(self.children.items()):
                    if proc.poll() is None or self.stopping:
                        continue
                    now = time.monotonic()
                    recent = [t for t in restarts[name] if now - t < 60]
                    if len(recent) >= 5:
                        self.stderr.write(f"{name} keeps exiting (code {proc.returncode}); giving up.")
                        self.stopping = True
                        break
                    restarts[name] = recent + [now]
                    self.stderr.write(f"{name} exited with code {proc.returncode}; restarting it.")
                    self.children[name] = self._start(name, commands[name])
        finally:
            self._stop_all(opts["stop_timeout"])
        self.stdout.write("imagegen stopped.")

    def _start(self, name: str, cmd: list[str]) -> subprocess.Popen:
        return subprocess.Popen(cmd, cwd=settings.BASE_DIR, start_new_session=True)

    def _stop_all(self, timeout: float) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for proc in self.children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for name, proc in self.children.items():
            if proc.poll() is None:
                self.stderr.write(f"{name} did not stop in {timeout:.0f}s; killing it.")
            # Whatever is left in a child's session (its own children) goes too.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()


def stream_command(python: str, host: str, port: int) -> list[str]:
    """uvicorn serving imagegen.streaming.asgi. Proxy headers stay as they are: the app reads X-Forwarded-For with
    IMAGEGEN_NUM_PROXIES, exactly as behind gunicorn."""
    return [
        python, "-m", "uvicorn", "imagegen.streaming.asgi:application", "--host", host, "--port", str(port),
        "--no-proxy-headers", "--ws-max-size", "65536", "--timeout-graceful-shutdown", "5",
        "--no-access-log", "--log-level", "warning",
    ]
