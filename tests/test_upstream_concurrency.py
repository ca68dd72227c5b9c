"""Quota-safe concurrency with real processes: several worker clusters share VOLC_MAX_CONCURRENCY, so a
burst never exceeds the account's limit and no concurrency error reaches a user."""

import pytest

from .stack import Stack
from .volcengine_server import FakeVolcEngine

pytestmark = [pytest.mark.processes]

LIMIT = 2


@pytest.fixture
def upstream():
    server = FakeVolcEngine(access_key="AKLTconcurrency", secret_key="concurrency-secret", latency=0.6,
                            max_concurrency=LIMIT).start()
    yield server
    server.stop()


def test_a_burst_through_two_clusters_never_exceeds_the_account_limit(tmp_path, upstream):
    stack = Stack(
        tmp_path / "data",
        IMAGEGEN_ENGINE="volcengine",
        VOLC_ACCESSKEY="AKLTconcurrency",
        VOLC_SECRETKEY="concurrency-secret",
        VOLC_HOST=upstream.host,
        VOLC_SCHEME="http",
        VOLC_MAX_CONCURRENCY=LIMIT,
        VOLC_POLL_INTERVAL=0.1,
        IMAGEGEN_WORKERS=3,
    )
    try:
        stack.start_web()
        stack.start_worker()
        stack._spawn("worker2", stack.procs["worker"].args)
        models = ["high_aes_general_v30l_zt2i", "jimeng_t2i_v31"]
        ids = [
            stack.generate(model=models[i % 2], width=1328, height=1328, prompt=f"burst {i}")
            for i in range(12)
        ]
        stack.wait_for(
            lambda: set(stack.statuses().values()) == {"completed"}, timeout=120, what="the burst to complete"
        )
        assert upstream.peak_concurrency <= LIMIT
        assert upstream.peak_concurrency == LIMIT  # and the quota was actually used
        refused = [r for r in upstream.requests if r.error == "50430"]
        assert refused == []
        for task_id in ids:
            assert stack.task(task_id)["retry_count"] == 0
    finally:
        stack.close()
