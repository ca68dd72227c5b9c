"""Real processes for tests about processes: the web server (uvicorn serving imagegen.asgi: pages, API, WebSocket
and event streams on one port) and the worker (qcluster), each started the way `make run` starts them, against a
data directory of the test's own."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A stack on SQLite starts from a copy of a database migrated once per test process (with its cache table), and
# pages from static files collected once: migrate, createcachetable and collectstatic cost 4-7 s of each start,
# and the process, browser and fault tests start well over a hundred stacks. Keyed by what decides the database's
# contents: the cache backend (its table) and nothing else (no migration reads a setting).
_TEMPLATES: dict[str, Path] = {}
_template_root: Path | None = None


def _scratch() -> Path:
    global _template_root
    if _template_root is None:
        _template_root = Path(tempfile.mkdtemp(prefix="imagegen-stack-templates-"))
        atexit.register(shutil.rmtree, _template_root, True)
    return _template_root


def _prepared(env: dict, what: str) -> Path:
    """A data directory migrated (what="db") or with collected static files (what="static"), made once."""
    key = f"{what}:{env.get('CACHE_URL', '')}"
    if key not in _TEMPLATES:
        data_dir = _scratch() / f"{what}-{len(_TEMPLATES)}"
        template_env = {**env, "IMAGEGEN_DATA_DIR": str(data_dir)}
        template_env.pop("IMAGEGEN_STATIC_ROOT", None)
        commands = ([["migrate", "--noinput", "-v", "0"], ["createcachetable"]] if what == "db"
                    else [["collectstatic", "--noinput", "-v", "0"]])
        for args in commands:
            subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=template_env, check=True, timeout=120)
        if what == "db":  # everything in the main file, nothing left in a write-ahead log
            with sqlite3.connect(data_dir / "db.sqlite3") as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
        _TEMPLATES[key] = data_dir
    return _TEMPLATES[key]


def _copy_migrated_database(env: dict, data_dir: Path) -> None:
    shutil.copyfile(_prepared(env, "db") / "db.sqlite3", data_dir / "db.sqlite3")
    # The recovery schedule falls due when it was made, as it would in a database migrated just now.
    with sqlite3.connect(data_dir / "db.sqlite3") as conn:
        conn.execute("UPDATE django_q_schedule SET next_run = strftime('%Y-%m-%d %H:%M:%f', 'now') "
                     "WHERE schedule_type = 'I'")
    conn.close()


def _group_running(pgid: int) -> bool:
    """True while a process of group `pgid` is still running (a zombie has stopped: it only awaits reaping)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


class Stack:
    def __init__(self, data_dir: Path, *, static: bool = False, **env):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("VOLC_", "DATABASE_URL", "CACHE_URL"))},
            "DJANGO_SETTINGS_MODULE": "imagegen.settings",
            "IMAGEGEN_DATA_DIR": str(self.data_dir),
            "IMAGEGEN_ENGINE": "preview",
            "IMAGEGEN_PREVIEW_LATENCY": "0.5",
            "IMAGEGEN_BROKER_POLL": "0.1",
            "IMAGEGEN_REDELIVERY_SECONDS": "8",
            "IMAGEGEN_RETRY_BASE_DELAY": "0.2",
            "IMAGEGEN_MAX_QUEUED_PER_CLIENT": "1000",
            "IMAGEGEN_CREATE_RATE": "10000/m",
            "IMAGEGEN_EDIT_RATE": "100000/m",
            "IMAGEGEN_READ_RATE": "100000/m",
            "PYTHONUNBUFFERED": "1",
            # The tests find a stack's processes by IMAGEGEN_DATA_DIR in /proc/PID/environ; a process title set by
            # django-q2 (setproctitle) longer than the command line would write over the start of that area.
            "SPT_NOENV": "1",
            # Pages poll, and the server refuses WebSockets, unless the test starts the stream (start_stream).
            "IMAGEGEN_STREAM_URL": "off",
            **{k: str(v) for k, v in env.items()},
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.headers: dict[str, str] = {}  # sent with every request (e.g. Authorization in accounts mode)
        self.logs = self.data_dir / "test-logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        # A database already there (a restored one, a stack started again on its data) is migrated, never replaced.
        if "DATABASE_URL" in self.env or (self.data_dir / "db.sqlite3").exists():
            self.manage("migrate", "--noinput", "-v", "0")
            self.manage("createcachetable")
        else:
            _copy_migrated_database(self.env, self.data_dir)
        if static and "IMAGEGEN_STATIC_ROOT" not in self.env:  # the pages need the collected, hashed static files
            self.env["IMAGEGEN_STATIC_ROOT"] = str(_prepared(self.env, "static") / "static")

    # -- processes

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, timeout=120)

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_web(self, workers: int = 2) -> None:
        """The web server as `make run` starts it (two uvicorn workers on self.port)."""
        from imagegen.management.commands.serve import web_command

        self.web_workers = workers
        self._spawn("web", web_command(sys.executable, "127.0.0.1", self.port, workers))
        self.wait_for(lambda: self._ping(), timeout=60, what="web server to answer")

    def start_stream(self) -> None:
        """Turn the stream on (the WebSocket and the pages' use of it): on the next start of the web server, or
        now by restarting it if it runs."""
        self.env.pop("IMAGEGEN_STREAM_URL", None)
        self._restart_web()

    def stop_stream(self) -> None:
        """Turn the stream off, as `manage.py serve --no-stream` runs: the server refuses WebSockets (pages
        loaded before keep trying them, and poll). Restarts the web server if it runs."""
        self.env["IMAGEGEN_STREAM_URL"] = "off"
        self._restart_web()

    def _restart_web(self) -> None:
        if "web" in self.procs:
            self.stop("web")
            self.start_web(self.web_workers)

    @property
    def stream_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/generate/stream"

    def start_worker(self) -> None:
        self._spawn("worker", [sys.executable, "manage.py", "qcluster"])

    def stop(self, name: str, sig=signal.SIGTERM, timeout: float = 30) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, sig)  # the main process only (qcluster can hang when its group is signalled)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()

    def kill_all(self) -> None:
        """SIGKILL every process of the stack at once, as a power cut would; returns once none is left
        running (the workers too, not only each group's leader)."""
        groups = []
        for name, proc in list(self.procs.items()):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            groups.append(proc.pid)
            proc.wait()
            self.procs.pop(name)
        self.wait_for(lambda: not any(_group_running(g) for g in groups), timeout=30, what="the killed processes to end",
                      interval=0.02)

    def close(self) -> None:
        from .secrets_guard import guard

        for name in list(self.procs):
            self.stop(name, timeout=15)
        guard.scan_files([*self.logs.glob("*.log"), *(self.data_dir / "logs").glob("imagegen.log*")], self.env)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- HTTP

    def _ping(self, port: int | None = None) -> bool:
        try:
            return self.request("GET", "/api/v1/health", port=port)[0] == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body=None, headers=None, *, port: int | None = None) -> tuple[int, dict | None]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{port or self.port}{path}", data=data, method=method,
            headers={**self.headers, **({"Content-Type": "application/json"} if data else {}), **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                kind = resp.headers.get("Content-Type", "")
                return resp.status, (json.loads(raw) if "json" in kind and raw else {"_bytes": raw, "_type": kind})
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, (json.loads(raw) if raw else None)

    def generate(self, **body) -> str:
        status, payload = self.request("POST", "/api/v1/generate", {"prompt": "a lighthouse", **body})
        assert status == 201, payload
        return payload["task_id"]

    def task(self, task_id: str) -> dict:
        return self.request("GET", f"/api/v1/task/{task_id}")[1]

    # -- direct reads (what the API does not show: leases, attempts), on SQLite or PostgreSQL

    def db(self):
        url = self.env.get("DATABASE_URL", "")
        if url.startswith("postgres"):
            import psycopg

            return _PgConnection(psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True))
        return sqlite3.connect(self.data_dir / "db.sqlite3", timeout=30)

    def query(self, sql: str, params=()) -> list[tuple]:
        with self.db() as conn:
            return conn.execute(sql, params).fetchall()

    def row(self, task_id: str) -> dict:
        with self.db() as conn:
            cursor = conn.execute("SELECT * FROM tasks WHERE task_id = ?", [task_id])
            names = [c[0] for c in cursor.description]
            return dict(zip(names, cursor.fetchone()))

    def statuses(self) -> dict[str, str]:
        return dict(self.query("SELECT task_id, status FROM tasks"))

    def media_files(self) -> list[Path]:
        root = self.data_dir / "media" / "images"
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []

    @staticmethod
    def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class _PgConnection:
    """sqlite3's small interface over psycopg, so tests write one SQL with ? placeholders."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql, params=()):
        return self.conn.execute(sql.replace("?", "%s"), params)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.conn.close()
