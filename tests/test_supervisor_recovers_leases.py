"""Lease recovery runs in the supervisor itself, not through the queue it recovers: with a cluster that
never takes a message (here a process that only sleeps, standing in for a wedged qcluster), a task whose
worker died is still handed back on the supervisor's next sweep."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from generation.models import GenerationTask, WorkerCluster
from generation.supervisor import ClusterSupervisor, group_members

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wedged_cluster(tmp_path):
    """An executable that takes `manage.py qcluster` as arguments and never does any work."""
    script = tmp_path / "python"
    script.write_text("#!/bin/sh\nexec sleep 600\n")
    script.chmod(0o755)
    return str(script)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_supervisor_hands_back_a_dead_workers_task_while_the_queue_takes_nothing(api, settings, wedged_cluster):
    settings.IMAGEGEN_RECOVERY_INTERVAL = 0.2
    settings.IMAGEGEN_STALL_SECONDS = 600  # this test is about recovery, not about replacing the cluster
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(
        status="processing", lease_holder=f"{socket.gethostname()}:{dead_pid()}:gone",
        lease_expires_at=timezone.now() + timedelta(minutes=5), attempts=1,
    )
    said: list[str] = []
    supervisor = ClusterSupervisor(python=wedged_cluster, say=said.append)
    supervisor.start()
    try:
        assert WorkerCluster.objects.get(cluster_key=supervisor.key).pid == supervisor.proc.pid
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert supervisor.tick()
            task = GenerationTask.objects.get(task_id=task_id)
            if task.lease_holder == "":
                break
            time.sleep(0.1)
        assert task.lease_holder == "" and task.status == "retrying" and task.error_code == "worker_lost", said
        assert supervisor.proc.poll() is None  # the "cluster" was not needed for it
    finally:
        supervisor.terminate()
        supervisor.wait_stopped(time.monotonic() + 5)
    assert group_members(supervisor.proc.pid) == []
    assert WorkerCluster.objects.get(cluster_key=supervisor.key).stopped_at is not None
