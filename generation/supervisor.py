"""The worker cluster's supervisor: runs `manage.py qcluster` and replaces it when it stalls or dies.

Used by `manage.py serve` (`make run`) and, through `serve --no-web`, as the worker container's main
process. django-q2 is not patched: the cluster runs as its own process in its own session (so its process
group is its whole tree, orphans included), and the supervisor only watches it from outside.

Each `tick()` (about twice a second):
- if the cluster's main process exited (a killed sentinel ends it), whatever is left of its process
  group is killed and a fresh cluster started;
- every IMAGEGEN_SUPERVISOR_POLL seconds, the stall signal (generation/supervision.py) is read for this
  cluster; a stalled cluster's process group gets SIGTERM, SIGKILL after IMAGEGEN_CLUSTER_STOP_GRACE
  seconds, the leases and broker messages it held are handed back at once, and a fresh cluster starts;
- every IMAGEGEN_RECOVERY_INTERVAL seconds, the lease recovery sweep runs here, in the supervisor, so
  it never depends on the queue it recovers.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections

from . import recovery, supervision, webhooks

log = logging.getLogger("generation.supervisor")


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group `pgid`, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state, ppid, pgrp, ...
        if fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def kill_group(pgid: int, *, grace: float) -> None:
    """SIGTERM to every process of the group, SIGKILL to what is left after `grace` seconds; returns when
    no live process of the group is left."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 30.0)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not group_members(pgid):
                return
            time.sleep(0.05)


class ClusterSupervisor:
    def __init__(self, *, cwd: Path | str | None = None, python: str = sys.executable, say=None):
        self.cwd = cwd or settings.BASE_DIR
        self.python = python
        self.say = say or (lambda message: log.warning("%s", message))
        self.key = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.proc: subprocess.Popen | None = None
        self.exits: list[float] = []
        self.restart_at: float | None = None
        self.next_check = 0.0
        self.next_recovery = 0.0

    # -- running

    def start(self) -> None:
        env = {**os.environ, supervision.CLUSTER_KEY_ENV: self.key}
        self.proc = subprocess.Popen(
            [self.python, "manage.py", "qcluster"], cwd=self.cwd, env=env, start_new_session=True
        )
        self._safely(supervision.cluster_started, key=self.key, pid=self.proc.pid, supervisor_pid=os.getpid())
        now = time.monotonic()
        self.next_check = now + settings.IMAGEGEN_SUPERVISOR_POLL
        self.next_recovery = now + 1.0

    def tick(self) -> bool:
        """One look at the cluster. Always True: a supervisor never gives its cluster up (a burst of kills
        must not end the workers for good); a cluster that keeps exiting is restarted after a growing pause
        (up to 30 s) so that one that cannot start does not spin."""
        now = time.monotonic()
        if self.proc is not None and self.proc.poll() is not None:
            if self.restart_at is None:
                self.exits = [t for t in self.exits if now - t < 60] + [now]
                delay = 0.0 if len(self.exits) <= 5 else min(30.0, 2.0 ** (len(self.exits) - 6))
                if delay:
                    self.say(f"worker cluster keeps exiting (code {self.proc.returncode}); "
                             f"restarting it in {delay:.0f}s.")
                self.restart_at = now + delay
            if now < self.restart_at:
                return True
            self.restart_at = None
            self.replace(f"the cluster's main process exited with code {self.proc.returncode}")
            return True
        if now >= self.next_check:
            self.next_check = now + settings.IMAGEGEN_SUPERVISOR_POLL
            reason = self._safely(supervision.cluster_stall, key=self.key, pgid=self.proc.pid)
            if reason:
                self.replace(f"stalled: {reason}")
                return True
        if now >= self.next_recovery:
            self.next_recovery = now + settings.IMAGEGEN_RECOVERY_INTERVAL
            self._safely(recovery.tasks_recover)
            self._safely(webhooks.deliveries_recover)
        return True

    def replace(self, reason: str) -> None:
        self.say(f"replacing the worker cluster: {reason}")
        old = self.proc
        kill_group(old.pid, grace=settings.IMAGEGEN_CLUSTER_STOP_GRACE)
        old.wait()
        # Every process of the old cluster is gone: hand back its leases (their pids are dead) and its
        # broker messages now, not after their expiry.
        self._safely(recovery.tasks_recover)
        self._safely(supervision.messages_release)
        self._safely(supervision.cluster_restarted, key=self.key, reason=reason)
        self.start()

    # -- stopping

    def terminate(self) -> None:
        """Ask the cluster to stop: SIGTERM to its main process only (signalling the whole group can
        deadlock django-q2's graceful shutdown, #346)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def wait_stopped(self, deadline: float) -> bool:
        """Wait for the cluster to stop until `deadline` (monotonic), then kill what is left of its process
        group, orphans included. Returns True when it stopped by itself."""
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            clean = True
        except subprocess.TimeoutExpired:
            clean = False
        kill_group(self.proc.pid, grace=0.5 if clean else 0.0)
        self.proc.wait()
        self._safely(supervision.cluster_stopped, key=self.key)
        return clean

    # --

    def _safely(self, fn, **kwargs):
        """Database work of the supervisor: a failure (database down) is logged and retried next time,
        never the end of the supervisor."""
        try:
            return fn(**kwargs)
        except Exception as err:
            self.say(f"{getattr(fn, '__name__', fn)} failed: {type(err).__name__}: {err}")
            return None
        finally:
            close_old_connections()
