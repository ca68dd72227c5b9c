"""`make run` (manage.py serve with the web server and the worker): a killed sentinel ends its cluster and
the supervisor starts a fresh one without leaving the old workers, pusher and monitor running beside it;
Ctrl-C or SIGTERM to serve then leaves no process of the app at all, orphans included."""

from __future__ import annotations

import signal

import pytest

from ..stack import Stack
from . import harness
from .cluster import SUPERVISION_ENV, app_processes, cluster_pgids_alive, start_supervisor, stop_supervisor, wait_complete_tree

pytestmark = harness.MARKS


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_killed_sentinel_leaves_one_cluster_and_stopping_serve_leaves_nothing(tmp_path, stop):
    stack = Stack(tmp_path / "data", IMAGEGEN_PREVIEW_LATENCY=0.2, **SUPERVISION_ENV)
    try:
        serve = start_supervisor(stack, web=True, name="serve")
        stack.wait_for(stack._ping, timeout=60, what="serve's web server")
        first = wait_complete_tree(stack, serve.pid)

        harness.sigkill(first.sentinel)  # its workers, pusher and monitor are orphaned
        second = stack.wait_for(lambda: (t := wait_complete_tree(stack, serve.pid)).main != first.main and t,
                                timeout=60, what="a fresh cluster")
        stack.wait_for(lambda: cluster_pgids_alive([first.main]) == [], timeout=30,
                       what="the old cluster's orphans to be gone")
        task = stack.generate(prompt="after the sentinel died", width=512, height=512)
        harness.wait_all_finished(stack, [task], timeout=60)
        assert stack.task(task)["status"] == "completed"
        assert wait_complete_tree(stack, serve.pid).main == second.main  # still exactly one cluster
        assert "the cluster's main process exited" in stack.log("serve")

        assert stop_supervisor(stack, name="serve", sig=stop) == 0
        assert app_processes(stack.data_dir) == []
    finally:
        stack.close()
