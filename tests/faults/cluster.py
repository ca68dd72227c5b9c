"""The supervised worker cluster as a process tree: `manage.py serve` (the supervisor) -> qcluster main ->
sentinel -> workers, pusher and monitor; and the tests' view of its health."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ..stack import ROOT, Stack

# A short stall window and quick sweeps, so that a wedge is seen and mended within seconds.
SUPERVISION_ENV = {
    "IMAGEGEN_STALL_SECONDS": "3",
    "IMAGEGEN_SUPERVISOR_POLL": "0.5",
    "IMAGEGEN_RECOVERY_INTERVAL": "2",
    "IMAGEGEN_CLUSTER_STOP_GRACE": "1",
    "IMAGEGEN_REDELIVERY_SECONDS": "8",
    "IMAGEGEN_REQUEUE_AFTER": "20",
}


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def live_pids() -> list[int]:
    """Every process that is not a zombie."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and fields[0] not in ("Z", "X"):
                found.append(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    return [p for p in live_pids() if (_stat(p) or ["", "0"])[1] == str(pid)]


def app_processes(data_dir: Path) -> list[int]:
    """Live processes started for this data directory (their environment says so), orphans included."""
    marker = f"IMAGEGEN_DATA_DIR={data_dir}".encode()
    found = []
    for pid in live_pids():
        if pid == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append(pid)
    return found


def start_supervisor(stack: Stack, *, web: bool = False, name: str = "worker") -> subprocess.Popen:
    """`manage.py serve`: with web=False the worker only (`--no-web`, the worker container's command)."""
    cmd = [sys.executable, "manage.py", "serve"]
    if web:
        cmd += ["--port", str(stack.port), "--web-workers", "1", "--no-stream"]
    else:
        cmd += ["--no-web"]
    return stack._spawn(name, cmd)


class Tree:
    """The supervised cluster as it is now."""

    def __init__(self, supervisor_pid: int):
        self.supervisor = supervisor_pid
        mains = [p for p in children(supervisor_pid) if b"qcluster" in _cmdline(p)]
        self.main = mains[0] if len(mains) == 1 else None
        self.mains = mains
        sentinels = children(self.main) if self.main else []
        self.sentinel = sentinels[0] if len(sentinels) == 1 else None
        self.leaves = children(self.sentinel) if self.sentinel else []

    @property
    def below_main(self) -> list[int]:
        return ([self.sentinel] if self.sentinel else []) + self.leaves

    def complete(self, workers: int = 2) -> bool:
        """One cluster, one sentinel, its workers plus the pusher and the monitor."""
        return len(self.mains) == 1 and self.sentinel is not None and len(self.leaves) == workers + 2


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def wait_complete_tree(stack: Stack, supervisor_pid: int, timeout: float = 60) -> Tree:
    return stack.wait_for(lambda: (t := Tree(supervisor_pid)).complete() and t, timeout=timeout,
                          what="one complete worker cluster")


def cluster_pgids_alive(pgids) -> list[int]:
    return [p for p in live_pids() if (_stat(p) or ["", "", "0"])[2] in {str(g) for g in pgids}]


def health_worker(stack: Stack) -> tuple[str, dict]:
    status, body = stack.request("GET", "/api/v1/health")
    return body["status"], body["checks"]["worker"]


def stop_supervisor(stack: Stack, name: str = "worker", sig=signal.SIGTERM, timeout: float = 60) -> int:
    """Stop `serve` with `sig` (SIGTERM, or SIGINT as Ctrl-C) to it alone; returns its exit code."""
    proc = stack.procs.pop(name)
    os.kill(proc.pid, sig)
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
