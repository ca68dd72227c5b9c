"""Scenario 4: an upstream outage in three acts — connection refused, then slow beyond the read timeout, then
answering 50500 — and then back. Tasks wait and retry within the policy and all complete once it is back;
/api/v1/health reports the trouble all along (as "degraded", still HTTP 200) and is "ok" again after.

Time is scaled down (the issue's 30 s of refused connections are 12 s here) together with the policy: a
read timeout of 3 s, retry delays of 2-3 s (IMAGEGEN_RETRY_BASE_DELAY=2, IMAGEGEN_RETRY_MAX_DELAY=3,
±25 % jitter) and 10 s after a 50500 (IMAGEGEN_RETRY_INTERNAL_ERROR_DELAY), with IMAGEGEN_MAX_ATTEMPTS=12
so that the whole outage fits the attempt budget. The policy retries the ambiguous failures (a read
timeout, a 50500) only once in a row, so each act must end before any task calls twice inside it: the
acts end on conditions, not on the clock — the slow act as soon as every task has made its (timing-out)
call, the 50500 act as soon as every task has had its 50500. A task's next call comes at least 3 + 2.25 s
after a timeout and 10 s after a 50500, more than the spread of the tasks' calls in either act."""

from __future__ import annotations

import threading
import time

import pytest

from ..stack import Stack
from . import harness
from .harness import SYNC_MODEL, prompt_calls

pytestmark = harness.MARKS

TASKS = 4
MAX_ATTEMPTS = 12
REFUSED = 12.0  # seconds of refused connections, at least
READ_TIMEOUT = 3
INTERNAL_ERROR_DELAY = 10


@pytest.fixture
def upstream():
    server = harness.fake_upstream(latency=0.2)
    yield server
    server.stop()


class HealthProbe(threading.Thread):
    """Asks /api/v1/health twice a second, as a monitoring system would."""

    def __init__(self, stack: Stack):
        super().__init__(daemon=True)
        self.stack = stack
        self.samples: list[tuple[float, int, str, bool, str]] = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            status, body = self.stack.request("GET", "/api/v1/health")
            upstream = body["checks"]["upstream"]
            self.samples.append((time.monotonic(), status, body["status"], upstream["ok"], upstream["detail"]))
            self.stopped.wait(0.5)

    def between(self, start: float, end: float):
        return [s for s in self.samples if start <= s[0] <= end]


def test_an_upstream_outage_makes_tasks_wait_and_health_report_it(tmp_path, upstream):
    stack = Stack(
        tmp_path / "data",
        **harness.volc_env(upstream, VOLC_MAX_CONCURRENCY=TASKS, VOLC_CONNECT_TIMEOUT=1, VOLC_READ_TIMEOUT=READ_TIMEOUT),
        IMAGEGEN_WORKERS=TASKS,
        IMAGEGEN_MAX_ATTEMPTS=MAX_ATTEMPTS,
        IMAGEGEN_RETRY_BASE_DELAY=2,
        IMAGEGEN_RETRY_MAX_DELAY=3,
        IMAGEGEN_RETRY_INTERNAL_ERROR_DELAY=INTERNAL_ERROR_DELAY,
    )
    probe = HealthProbe(stack)
    try:
        stack.start_web()
        stack.start_worker()
        probe.start()
        stack.wait_for(lambda: probe.samples and probe.samples[-1][2] == "ok", timeout=30, what="health to be ok")

        # Act 1: connection refused, for REFUSED seconds at least and until every task has been refused.
        upstream.stop()
        refused_at = time.monotonic()
        ids = [stack.generate(prompt=f"outage {i}", model=SYNC_MODEL, width=512, height=512) for i in range(TASKS)]
        prompts = {task_id: harness.tasks(stack)[task_id]["prompt"] for task_id in ids}
        stack.wait_for(
            lambda: time.monotonic() - refused_at >= REFUSED
            and all(row["error_code"] == "upstream_unreachable" for row in harness.tasks(stack).values()),
            timeout=REFUSED + 60, what="every task to be refused")
        assert all(row["status"] in ("processing", "retrying") for row in harness.tasks(stack).values())

        # Act 2: it accepts connections again but answers later than the read timeout.
        upstream.latency = READ_TIMEOUT * 2
        upstream.start()
        slow_at = time.monotonic()
        stack.wait_for(lambda: all(prompt_calls(upstream, p, "CVProcess") for p in prompts.values()),
                       timeout=30, what="every task to call the slow service once", interval=0.02)

        # Act 3: it answers at once, with 50500 "Internal Error".
        upstream.latency = 0.2
        upstream.inject("50500", times=10_000, action="CVProcess")
        internal_at = time.monotonic()
        stack.wait_for(
            lambda: all(any(c.code == 50500 for c in prompt_calls(upstream, p, "CVProcess")) for p in prompts.values()),
            timeout=60, what="every task to get a 50500", interval=0.02)

        # Back.
        upstream.clear_faults()
        back_at = time.monotonic()
        rows = harness.wait_all_finished(stack, ids, timeout=60)
        stack.wait_for(lambda: probe.samples[-1][2] == "ok" and probe.samples[-1][0] > time.monotonic() - 1,
                       timeout=10, what="health to be ok again")
        probe.stopped.set()
        probe.join()
        rows = harness.assert_final_state(stack, ids, max_attempts=MAX_ATTEMPTS)
    finally:
        probe.stopped.set()
        stack.close()

    # Nothing failed that the policy says should wait, and every act was felt.
    assert {rows[t]["status"] for t in ids} == {"completed"}
    text = harness.logs(stack)
    assert "failed (upstream_unreachable" in text
    assert "failed (upstream_timeout" in text
    assert "failed (upstream_error, upstream 50500" in text
    for task_id in ids:
        row = rows[task_id]
        calls = prompt_calls(upstream, row["prompt"], "CVProcess")
        timed_out = [c for c in calls if slow_at <= c.at < internal_at]
        internal = [c for c in calls if c.code == 50500]
        assert calls[-1].status == 200 and calls[-1].at >= internal_at
        # Within the policy: ambiguous failures at most once in a row, every call an attempt, within budget.
        assert len(timed_out) <= 1 and len(internal) <= 1, (task_id, len(timed_out), len(internal))
        assert len(calls) == len(timed_out) + len(internal) + 1
        # Refused connections reached nothing and cost nothing: they are retries, not attempts.
        assert row["attempts"] == len(calls)
        assert row["retry_count"] > len(calls) - 1  # the refused tries came first
        print(f"task {task_id[:8]}: {row['attempts']} attempts, {row['retry_count'] - len(calls) + 1} refused, "
              f"{len(timed_out)} timed out, {len(internal)} 50500")

    # Health: HTTP 200 throughout (reported, not a reason to stop serving), degraded during the outage,
    # naming each act's error, ok once a task succeeded again.
    assert {status for _t, status, *_rest in probe.samples} == {200}
    outage = probe.between(refused_at + 3, back_at)
    assert outage and all(state == "degraded" and not ok for _t, _s, state, ok, _d in outage)
    assert "upstream_unreachable x" in probe.between(refused_at, slow_at)[-1][-1]
    last = outage[-1][-1]  # every act is in the tally of errors since the last success
    print(f"health at the end of the outage: {last}")
    assert all(f"{code} x" in last for code in ("upstream_unreachable", "upstream_timeout", "upstream_error (50500)")), last
    assert probe.samples[-1][2] == "ok"
