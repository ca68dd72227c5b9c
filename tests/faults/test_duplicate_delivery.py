"""Scenario 8: the same task delivered several times at once — four queue messages for each task, taken at
the same moment by two clusters of two workers each. Exactly one delivery runs it: one engine attempt, one
upstream generation, one image set; the other deliveries find the task leased or finished and do nothing."""

from __future__ import annotations

from datetime import datetime

import pytest

from ..stack import Stack
from . import harness
from .harness import SYNC_MODEL, attempt_lines, prompt_calls

pytestmark = harness.MARKS

TASKS = 3
COPIES = 4  # messages per task: the one sent at creation and three more


@pytest.fixture
def upstream():
    server = harness.fake_upstream(latency=1.0)
    yield server
    server.stop()


def test_a_task_delivered_to_several_workers_at_once_runs_exactly_once(tmp_path, upstream):
    stack = Stack(tmp_path / "data", **harness.volc_env(upstream, VOLC_MAX_CONCURRENCY=4), IMAGEGEN_WORKERS=2)
    try:
        stack.start_web()
        ids = [stack.generate(prompt=f"delivered twice {i}", model=SYNC_MODEL, width=512, height=512)
               for i in range(TASKS)]
        # Extra messages for the same ids, interleaved, before any worker runs: the deliveries race.
        stack.manage("shell", "-c", (
            "from django_q.tasks import async_task\n"
            f"for _ in range({COPIES - 1}):\n"
            f"    for task_id in {ids!r}:\n"
            "        async_task('generation.tasks.run_generation', task_id, group='generation',\n"
            "                   task_name=f'duplicate {task_id}')\n"
        ))
        assert stack.query("SELECT COUNT(*) FROM django_q_ormq")[0][0] == TASKS * COPIES
        stack.start_worker()
        stack._spawn("worker2", stack.procs["worker"].args)
        rows = harness.wait_all_finished(stack, ids, timeout=60)
        # Every message was taken and acknowledged (the deliveries that found nothing to do included).
        stack.wait_for(lambda: stack.query("SELECT COUNT(*) FROM django_q_ormq")[0][0] == 0, timeout=30,
                       what="every message to be acknowledged")
        rows = harness.assert_final_state(stack, ids)
        runs = attempt_lines(stack)
        for task_id in ids:
            row = rows[task_id]
            assert (row["status"], row["attempts"], row["retry_count"]) == ("completed", 1, 0)
            assert len(runs[task_id]) == 1, runs[task_id]
            assert len(prompt_calls(upstream, row["prompt"], "CVProcess")) == 1
        assert len(stack.media_files()) == 2 * TASKS
        # The duplicates really raced: some were executed while the real run of their task was under way.
        executions = stack.query("SELECT name, started, stopped, success FROM django_q_task")
        assert len(executions) == TASKS * COPIES and all(success for *_rest, success in executions)
        concurrent = 0
        for task_id in ids:
            mine = sorted(
                ((datetime.fromisoformat(started), datetime.fromisoformat(stopped))
                 for name, started, stopped, _ok in executions if name.endswith(task_id)),
                key=lambda interval: interval[1] - interval[0],
            )
            assert len(mine) == COPIES
            real, others = mine[-1], mine[:-1]  # the run that did the work took longest (about a second)
            concurrent += sum(1 for started, _stopped in others if real[0] <= started <= real[1])
        print(f"{concurrent} of {TASKS * (COPIES - 1)} duplicate deliveries arrived while their task was running")
        assert concurrent >= 1
    finally:
        stack.close()
