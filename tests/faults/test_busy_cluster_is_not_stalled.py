"""A healthy cluster whose workers all run tasks longer than the stall window, with work waiting behind
them, is busy, not stalled: the supervisor never replaces it and health never reports a stall."""

from __future__ import annotations

from ..stack import Stack
from . import harness
from .cluster import SUPERVISION_ENV, health_worker, start_supervisor, wait_complete_tree

pytestmark = harness.MARKS

STALL = float(SUPERVISION_ENV["IMAGEGEN_STALL_SECONDS"])
LATENCY = 3 * STALL  # each task outlasts the window three times
TASKS = 5  # two run, the others wait (three of them swallowed by the pusher, one deliverable in the broker)


def test_a_cluster_busy_with_long_tasks_is_never_replaced(tmp_path):
    stack = Stack(tmp_path / "data", IMAGEGEN_PREVIEW_LATENCY=LATENCY, **SUPERVISION_ENV)
    try:
        stack.start_web()
        supervisor = start_supervisor(stack)
        first = wait_complete_tree(stack, supervisor.pid)
        ids = [stack.generate(prompt=f"slow {i}", width=512, height=512) for i in range(TASKS)]
        seen = []

        def finished():
            status, worker = health_worker(stack)
            seen.append((status, worker["stalled"], worker["oldest_waiting_seconds"], worker["running"]))
            rows = harness.tasks(stack)
            return all(rows[t]["status"] in harness.FINISHED for t in ids)

        stack.wait_for(finished, timeout=LATENCY * TASKS + 60, what="the slow tasks", interval=0.5)
        waited = max((age or 0) for _s, _st, age, _r in seen)
        assert waited > STALL, seen  # work did wait past the window: only the busy workers excuse it
        assert not any(stalled for _s, stalled, _a, _r in seen), seen
        assert health_worker(stack)[1]["restarts"] == 0
        assert wait_complete_tree(stack, supervisor.pid).main == first.main
        assert "replacing the worker cluster" not in stack.log("worker")
        harness.assert_final_state(stack, ids)
    finally:
        stack.close()
