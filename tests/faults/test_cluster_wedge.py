"""django-q2 #23: SIGKILL every leaf process of an idle cluster (both workers, the pusher, the monitor) and
the cluster wedges: the worker next in line died inside `Queue.get` holding the queue's read lock, and
every reincarnated worker blocks on it. The supervisor (`manage.py serve --no-web`, the worker container's
command) must see the stall, health must say so, and the cluster must be replaced exactly once; the tasks
submitted after the kill then complete. On the ORM broker and on Redis."""

from __future__ import annotations

import signal
import time

import pytest

from ..services import redis_url  # noqa: F401  (fixture)
from ..stack import Stack
from . import harness
from .cluster import (
    SUPERVISION_ENV, Tree, app_processes, cluster_pgids_alive, health_worker, start_supervisor, stop_supervisor,
    wait_complete_tree,
)
from .harness import sigkill

pytestmark = harness.MARKS

STALL = float(SUPERVISION_ENV["IMAGEGEN_STALL_SECONDS"])
TASKS = 5  # more than the wedged pusher can swallow (two in the full queue, one in its hand)


@pytest.fixture(params=["orm", "redis"])
def broker_env(request):
    if request.param == "orm":
        return {}
    return {"IMAGEGEN_BROKER": request.getfixturevalue("redis_url")}  # a database index of its own


def test_it_replaces_a_cluster_wedged_by_killing_every_idle_leaf_and_health_tells(tmp_path, broker_env):
    stack = Stack(tmp_path / "data", IMAGEGEN_PREVIEW_LATENCY=0.3, **SUPERVISION_ENV, **broker_env)
    try:
        stack.start_web()
        supervisor = start_supervisor(stack)
        warm = stack.generate(prompt="warm up", width=512, height=512)
        harness.wait_all_finished(stack, [warm], timeout=60)
        tree = wait_complete_tree(stack, supervisor.pid)
        stack.wait_for(lambda: health_worker(stack)[0] == "ok", timeout=30, what="health ok while idle")
        assert health_worker(stack)[1]["restarts"] == 0
        time.sleep(0.5)  # let the workers settle back into Queue.get (the wedge needs them idle there)

        for pid in tree.leaves:  # all at once: workers, pusher, monitor
            sigkill(pid)
        submitted = time.monotonic()
        ids = [stack.generate(prompt=f"after the wedge {i}", width=512, height=512) for i in range(TASKS)]

        # The stall is seen: health is not ok within the stall window plus a poll (and load's slack).
        seen = stack.wait_for(lambda: health_worker(stack)[0] != "ok" and health_worker(stack),
                              timeout=STALL + 15, what="health to report the stalled worker", interval=0.2)
        status, worker = seen
        assert worker["ok"] is False and (worker["stalled"] or worker["recovering"]), worker
        print(f"health not ok {time.monotonic() - submitted:.1f}s after the submit: {worker['detail']}")

        harness.wait_all_finished(stack, ids, timeout=60)
        print(f"{TASKS} tasks completed {time.monotonic() - submitted:.1f}s after the submit")
        rows = harness.assert_final_state(stack, [warm, *ids])
        assert all(rows[t]["status"] == "completed" for t in ids), {t: rows[t]["status"] for t in ids}

        # Replaced exactly once, and what is left is one whole cluster, no orphan of the old one.
        assert health_worker(stack)[1]["restarts"] == 1
        after = wait_complete_tree(stack, supervisor.pid)
        assert after.main != tree.main
        assert cluster_pgids_alive([tree.main]) == []
        stack.wait_for(lambda: health_worker(stack)[0] == "ok", timeout=30, what="health ok again")
        assert "replacing the worker cluster: stalled" in stack.log("worker")

        # SIGTERM to serve: nothing of the worker side is left.
        assert stop_supervisor(stack, sig=signal.SIGTERM) == 0
        web = stack.procs["web"].pid
        left = [p for p in app_processes(stack.data_dir) if p != web and p not in _children_of(stack, web)]
        assert left == [], left
    finally:
        stack.close()


def _children_of(stack: Stack, pid: int) -> list[int]:
    from .cluster import children

    return children(pid)
