"""Scenario 3: web and worker restarted with 100 tasks queued — once gracefully (SIGTERM), once by a power
cut (SIGKILL to every process at once). All 100 complete after the restarts with one image set each, and
none is ever run twice at once: the workers' logs show each attempt of a task once, and a second attempt
only after the power cut killed the first."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from ..stack import Stack
from . import harness

pytestmark = harness.MARKS

TASKS = 100
LOG_ATTEMPT = re.compile(r"^(\S+ \S+) INFO \S+ (\d+) task (\S+) attempt (\d+) on preview$", re.MULTILINE)


def completed(stack: Stack) -> int:
    return sum(s == "completed" for s in stack.statuses().values())


def test_restarting_web_and_worker_with_100_tasks_queued_loses_none_and_runs_none_twice(tmp_path):
    stack = Stack(tmp_path / "data", IMAGEGEN_PREVIEW_LATENCY=0.1)
    try:
        stack.start_web()
        stack.start_worker()
        ids = [stack.generate(prompt=f"queued {i}", width=512, height=512) for i in range(TASKS)]

        stack.wait_for(lambda: completed(stack) >= 10, timeout=60, what="10 tasks to complete")
        stack.stop("worker")  # SIGTERM: running tasks finish, the rest is handed back
        stack.stop("web")
        statuses = stack.statuses()
        assert "processing" not in statuses.values() and "retrying" not in statuses.values()
        left = TASKS - completed(stack)
        assert left > 0
        stack.start_web()
        stack.start_worker()

        stack.wait_for(lambda: completed(stack) >= 50, timeout=60, what="50 tasks to complete")
        stack.wait_for(lambda: "processing" in stack.statuses().values(), timeout=10, what="a task running")
        stack.kill_all()  # power cut: returns once no process of the stack is left to write
        cut = datetime.now()
        interrupted = [t for t, s in stack.statuses().items() if s == "processing"]
        stack.start_web()
        stack.start_worker()

        rows = harness.wait_all_finished(stack, ids, timeout=120)
        rows = harness.assert_final_state(stack, ids)
    finally:
        stack.close()

    assert {row["status"] for row in rows.values()} == {"completed"}
    assert len(stack.media_files()) == 2 * TASKS
    runs: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for stamp, _pid, task_id, attempt in LOG_ATTEMPT.findall(harness.logs(stack)):
        runs[task_id].append((datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f"), int(attempt)))
    assert set(runs) == set(ids)
    for task_id in ids:
        attempts = sorted(n for _at, n in runs[task_id])
        assert attempts == list(range(1, rows[task_id]["attempts"] + 1)), (task_id, attempts)
        if len(attempts) > 1:
            # Only the power cut interrupts a task; its next attempt started after the cut, never alongside.
            assert task_id in interrupted and len(attempts) == 2
            first, second = sorted(runs[task_id])
            assert first[0] < cut < second[0]
    print(f"{left} tasks were waiting at the graceful restart; {len(interrupted)} interrupted by the power cut")
