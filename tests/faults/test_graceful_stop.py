"""Scenario 2: the worker stopped gracefully — SIGTERM to the qcluster main process only, as systemd's
KillMode=mixed and `docker stop` (qcluster as PID 1) do; signalling the whole process group makes django-q2
hang (django-q2#346, tests/stack.py). Running tasks finish, tasks the cluster had already taken from the
queue but not started are handed back, and the process exits within the task timeout — also when the
running task itself outlives the timeout (it is then interrupted and handed back)."""

from __future__ import annotations

import signal
import time

from ..stack import Stack
from . import harness

pytestmark = harness.MARKS

TIMEOUT = 8  # IMAGEGEN_TASK_TIMEOUT
LATENCY = 3.0  # a preview task takes about this long
TASKS = 8


def stop_worker(stack: Stack) -> float:
    """SIGTERM to the cluster's main process; how long it took to exit."""
    proc = stack.procs["worker"]
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=TIMEOUT * 4)
    took = time.monotonic() - started
    stack.procs.pop("worker")
    return took


def taken_messages(stack: Stack) -> int:
    """Queue messages a cluster holds: django-q2's ORM broker locks a message it takes until its timeout."""
    return stack.query("SELECT count(*) FROM django_q_ormq WHERE lock > strftime('%Y-%m-%d %H:%M:%f', 'now')")[0][0]


def test_a_graceful_stop_finishes_running_tasks_hands_back_the_rest_and_exits_in_time(tmp_path):
    stack = Stack(tmp_path / "data", IMAGEGEN_PREVIEW_LATENCY=LATENCY, IMAGEGEN_TASK_TIMEOUT=TIMEOUT,
                  IMAGEGEN_WORKERS=2)
    try:
        stack.start_web()
        stack.start_worker()
        ids = [stack.generate(prompt=f"graceful {i}", width=512, height=512) for i in range(TASKS)]
        running = stack.wait_for(
            lambda: (r := [t for t, s in stack.statuses().items() if s == "processing"]) and len(r) == 2 and r,
            timeout=30, what="both workers to be busy")
        # The cluster has also taken the next messages off the queue (locked in the ORM broker), not started.
        stack.wait_for(lambda: taken_messages(stack) >= 3, timeout=30, what="the cluster to take queued messages")

        took = stop_worker(stack)
        print(f"the cluster exited {took:.1f}s after SIGTERM")
        assert took < TIMEOUT
        assert "has stopped" in stack.log("worker")
        rows = harness.tasks(stack)
        for task_id in running:  # the running tasks finished
            assert rows[task_id]["status"] == "completed", rows[task_id]
        for task_id in set(ids) - set(running):  # the others were handed back, untouched
            assert (rows[task_id]["status"], rows[task_id]["attempts"], rows[task_id]["lease_holder"]) \
                in {("pending", 0, ""), ("completed", 1, "")}, rows[task_id]

        stack.env["IMAGEGEN_PREVIEW_LATENCY"] = "0.2"
        stack.start_worker()
        rows = harness.wait_all_finished(stack, ids, timeout=60)
        harness.assert_final_state(stack, ids)
        # Nothing was interrupted or ran twice.
        assert {(row["status"], row["attempts"], row["retry_count"]) for row in rows.values()} == {("completed", 1, 0)}
        assert {task_id: len(runs) for task_id, runs in harness.attempt_lines(stack).items()} == {t: 1 for t in ids}
    finally:
        stack.close()


def test_a_graceful_stop_does_not_wait_for_a_task_longer_than_the_timeout(tmp_path):
    stack = Stack(tmp_path / "data", IMAGEGEN_PREVIEW_LATENCY=TIMEOUT * 5, IMAGEGEN_TASK_TIMEOUT=TIMEOUT,
                  IMAGEGEN_WORKERS=2)
    try:
        stack.start_web()
        stack.start_worker()
        task_id = stack.generate(prompt="longer than the timeout", width=512, height=512)
        stack.wait_for(lambda: stack.row(task_id)["status"] == "processing", timeout=30, what="the task to start")
        started = time.monotonic()

        took = stop_worker(stack)
        print(f"the cluster exited {took:.1f}s after SIGTERM")
        assert time.monotonic() - started < TIMEOUT + 4  # the timeout, plus django-q2's 3 s grace and a margin
        assert "has stopped" in stack.log("worker")
        assert harness.tasks(stack)[task_id]["status"] in ("processing", "retrying", "pending")

        stack.env["IMAGEGEN_PREVIEW_LATENCY"] = "0.2"
        stack.start_worker()  # the interrupted task is handed back at once and runs again
        rows = harness.wait_all_finished(stack, [task_id], timeout=60)
        harness.assert_final_state(stack, [task_id])
        assert (rows[task_id]["status"], rows[task_id]["attempts"]) == ("completed", 2)
    finally:
        stack.close()
