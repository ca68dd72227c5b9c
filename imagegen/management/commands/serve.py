"""Run the web server and the worker (django-q2's qcluster) together, as `make run` does.

The web server is uvicorn serving imagegen.asgi on HOST:PORT: pages, the API, the WebSocket
(/api/v1/generate/stream) and the event streams, all on that one address (BENCHMARKS.md, "Serving: one
address", for why this design).

Each child runs in its own session, so a terminal's Ctrl-C reaches only this supervisor, which then
stops each child the way it wants to be stopped: SIGTERM to uvicorn's main process, and SIGTERM to the
qcluster's *main* process only (signalling its whole process group can deadlock its shutdown). A child
that dies unexpectedly is restarted. The worker cluster is run by generation.supervisor.ClusterSupervisor,
which also replaces it when it stalls and kills its whole process group (orphans included) on the way out.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from generation.engines import configured_engine_name
from generation.supervisor import ClusterSupervisor
from imagegen import hardening


class Command(BaseCommand):
    help = "Run the web server and the qcluster worker together until interrupted (Ctrl-C stops both)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--no-worker", action="store_true", help="Run the web server only.")
        parser.add_argument("--no-stream", action="store_true", help="Pages poll instead of opening the WebSocket.")
        parser.add_argument("--no-web", action="store_true", help="Run the worker only.")
        parser.add_argument("--stop-timeout", type=float, default=15.0)

    def handle(self, *args, **opts):
        try:  # settings checked HOST and ALLOWED_HOSTS; --host may name another address
            hardening.refuse_exposed_open_mode(access=settings.IMAGEGEN_ACCESS,
                                               explicit=settings.IMAGEGEN_ACCESS_EXPLICIT, hosts=[opts["host"]])
        except hardening.OpenModeExposed as exc:
            raise CommandError(str(exc)) from None
        if not opts["no_web"]:
            # Checked before anything starts: a taken port used to start a second worker cluster beside the
            # first and give up some seconds later without saying why.
            problem = port_problem(opts["host"], opts["port"])
            if problem:
                raise CommandError(problem)
        python = sys.executable
        commands = {}
        if not opts["no_web"]:
            commands["web"] = web_command(python, opts["host"], opts["port"], opts["web_workers"])
        if (opts["no_web"] or opts["no_stream"]) and not os.environ.get("IMAGEGEN_STREAM_URL"):
            os.environ["IMAGEGEN_STREAM_URL"] = "off"
        supervisor = None
        if not opts["no_worker"]:
            supervisor = ClusterSupervisor(say=lambda message: self.stderr.write(message))
        self.stopping = False
        self.children: dict[str, subprocess.Popen] = {}
        restarts: dict[str, list[float]] = {name: [] for name in commands}

        def request_stop(signum, frame):
            self.stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

        # Counters of the previous run's processes would be summed with the new ones' (prometheus_client
        # multiprocess mode): start from an empty directory. Not for the worker alone (`--no-web`, the
        # worker container): the directory may be shared with a running web server's processes.
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_dir and not opts["no_web"]:
            for stale in Path(metrics_dir).glob("*.db"):
                stale.unlink(missing_ok=True)
        for name, cmd in commands.items():
            self.children[name] = self._start(name, cmd)
        if supervisor is not None:
            supervisor.start()
        self.stdout.write(banner(opts))
        try:
            while not self.stopping:
                time.sleep(0.5)
                if supervisor is not None and not self.stopping and not supervisor.tick():
                    self.stopping = True
                    break
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
            self._stop_all(opts["stop_timeout"], supervisor)
        self.stdout.write("imagegen stopped.")

    def _start(self, name: str, cmd: list[str]) -> subprocess.Popen:
        return subprocess.Popen(cmd, cwd=settings.BASE_DIR, start_new_session=True)

    def _stop_all(self, timeout: float, supervisor=None) -> None:
        if supervisor is not None:
            supervisor.terminate()
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
        if supervisor is not None and not supervisor.wait_stopped(deadline):
            self.stderr.write(f"worker did not stop in {timeout:.0f}s; killing it.")
        for name, proc in self.children.items():
            if proc.poll() is None:
                self.stderr.write(f"{name} did not stop in {timeout:.0f}s; killing it.")
            # Whatever is left in a child's session (its own children) goes too.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()


def web_command(python: str, host: str, port: int, workers: int = 2) -> list[str]:
    """uvicorn serving imagegen.asgi (HTTP, server-sent events and the WebSocket) on host:port. Proxy headers
    stay as they are: the app reads X-Forwarded-For with IMAGEGEN_NUM_PROXIES itself. On SIGTERM it stops
    accepting, lets requests in flight finish (up to 10 s) and closes the WebSockets with 1012 (clients
    reconnect)."""
    return [
        python, "-m", "uvicorn", "imagegen.asgi:application", "--host", host, "--port", str(port),
        "--workers", str(workers), "--no-proxy-headers", "--ws-max-size", "65536",
        "--timeout-graceful-shutdown", "10", "--no-access-log", "--log-level", "warning",
    ]


def port_problem(host: str, port: int) -> str | None:
    """Why the web server could not listen on host:port (None when it can). Binds the way uvicorn does
    (SO_REUSEADDR), so a port left in TIME_WAIT by a previous run does not count as taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"Port {port} on {host} is already in use (another imagegen, or another program). "
                        f"Stop it, or choose another port: make run PORT={port + 1}")
            if exc.errno == errno.EACCES:
                return f"Not allowed to listen on port {port} (ports below 1024 need root). Choose another: make run PORT=8000"
            return f"Cannot listen on {host}:{port}: {exc.strerror}"
    return None


def banner(opts: dict) -> str:
    """What `make run` prints first: where each surface is, which engine answers, where the data lives."""
    base = f"http://{opts['host']}:{opts['port']}"
    lines = [f"imagegen serving {base}/ — press Ctrl-C to stop."]
    if not opts["no_web"]:
        lines += [f"  studio   {base}/", f"  API      {base}/api/v1/docs"]
        if not opts["no_stream"]:
            lines.append(f"  stream   ws://{opts['host']}:{opts['port']}/api/v1/generate/stream")
        lines.append(f"  admin    {base}/admin/  (a staff account: .venv/bin/python manage.py adduser NAME --staff)")
    engine = configured_engine_name()
    if engine == "preview":
        lines.append("  engine   preview: offline placeholder images, nothing billed "
                     "(set VOLC_ACCESSKEY and VOLC_SECRETKEY for VolcEngine, ARK_API_KEY for Ark)")
    else:
        lines.append(f"  engine   {engine}")
    lines.append("  worker   " + ("not started (--no-worker)" if opts["no_worker"] else "running, supervised"))
    lines.append(f"  data     {settings.DATA_DIR}")
    return "\n".join(lines)
