"""The stall signal (generation/supervision.py): work waiting longer than the window while no worker takes
any and none runs a task. Read from the real broker table and heartbeat rows; what health, queue_status and
/metrics report."""

from __future__ import annotations

import json
import os
import socket
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_q.models import OrmQ

from generation import supervision
from generation.models import GenerationTask, WorkerCluster

pytestmark = pytest.mark.django_db

KEY = "host-a:1:abcd"


@pytest.fixture(autouse=True)
def window(settings):
    settings.IMAGEGEN_STALL_SECONDS = 5


def message(age: float, *, locked_for: float = 0) -> OrmQ:
    """A broker message that became deliverable `age` seconds ago (or is locked for `locked_for` more)."""
    from django_q.brokers import get_broker

    lock = timezone.now() - timedelta(seconds=age) + timedelta(seconds=locked_for)
    return OrmQ.objects.create(key=get_broker().list_key, payload="x", lock=lock)


def cluster(*, started_ago: float = 60, taken_ago: float | None = None, **fields) -> WorkerCluster:
    now = timezone.now()
    return WorkerCluster.objects.create(
        cluster_key=KEY, host="host-a", pid=1, started_at=now - timedelta(seconds=started_ago),
        taken_at=None if taken_ago is None else now - timedelta(seconds=taken_ago), **fields,
    )


def running_task(owner: str) -> None:
    GenerationTask.objects.create(prompt="long", model="m", width=512, height=512, upstream_width=512,
                                  upstream_height=512, status="processing",
                                  lease_holder=owner, lease_expires_at=timezone.now() + timedelta(minutes=5))


def test_it_is_stalled_when_a_message_waited_past_the_window_and_no_worker_took_any():
    cluster(taken_ago=30)
    message(age=8)
    state = supervision.worker_state()
    assert state.stalled and not state.ok
    assert state.queued == 1 and state.oldest_waiting_seconds >= 8
    assert "stalled" in state.describe()


def test_it_is_not_stalled_while_the_oldest_message_is_younger_than_the_window():
    cluster(taken_ago=30)
    message(age=2)
    assert supervision.worker_state().ok


def test_a_message_locked_by_a_cluster_that_took_it_is_not_waiting_work():
    cluster(taken_ago=30)
    message(age=30, locked_for=60)
    state = supervision.worker_state()
    assert state.ok and state.queued == 0 and state.oldest_waiting_seconds is None


def test_a_recent_take_means_the_cluster_is_working_through_a_backlog():
    cluster(taken_ago=1)
    message(age=60)
    assert not supervision.worker_state().stalled


def test_a_cluster_whose_workers_all_run_long_tasks_is_busy_not_stalled():
    cluster(taken_ago=120)
    message(age=60)
    running_task("another-host:4242:beef")  # a live lease: its worker reports back before it runs out
    state = supervision.worker_state()
    assert state.running == 1 and not state.stalled


def test_a_lease_of_a_dead_process_on_this_machine_does_not_count_as_busy():
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    cluster(taken_ago=120)
    message(age=60)
    running_task(f"{socket.gethostname()}:{gone.pid}:dead")
    assert supervision.worker_state().stalled


def test_a_freshly_started_cluster_gets_a_whole_window_before_it_counts_as_stalled():
    cluster(started_ago=1)
    message(age=60)
    assert not supervision.worker_state().stalled


def test_the_supervisor_sees_its_own_cluster_stalled_and_not_a_busy_one():
    cluster(taken_ago=30)
    message(age=8)
    group = os.getpgid(0)
    assert "waited" in supervision.cluster_stall(key=KEY, pgid=group)
    # A worker of this process group holds a live lease: busy.
    running_task(f"{socket.gethostname()}:{os.getpid()}:mine")
    assert supervision.cluster_stall(key=KEY, pgid=group) is None


def test_a_replaced_cluster_is_recovering_until_it_takes_work():
    row = cluster(started_ago=1, restarts=1, last_restart_at=timezone.now())
    message(age=1)
    state = supervision.worker_state()
    assert state.recovering and not state.ok and state.restarts == 1
    WorkerCluster.objects.filter(pk=row.pk).update(taken_at=timezone.now())
    assert supervision.worker_state().ok


def test_an_old_replacement_whose_supervisor_vanished_is_not_recovering_forever():
    cluster(started_ago=600, restarts=1, last_restart_at=timezone.now() - timedelta(minutes=10))
    message(age=1)
    assert not supervision.worker_state().recovering


def test_restarts_are_counted_over_every_supervisor_that_ever_ran():
    cluster(restarts=2, stopped_at=timezone.now())
    WorkerCluster.objects.create(cluster_key="host-b:2:ffff", host="host-b", started_at=timezone.now(), restarts=1)
    assert supervision.worker_state().restarts == 3


def test_a_worker_heartbeat_lands_in_its_clusters_row(monkeypatch):
    cluster()
    monkeypatch.setenv(supervision.CLUSTER_KEY_ENV, KEY)
    supervision.heartbeat(field="taken_at")
    supervision.heartbeat(field="finished_at")
    row = WorkerCluster.objects.get(cluster_key=KEY)
    assert row.taken_at and row.finished_at and row.taken_at <= row.finished_at


def test_an_unsupervised_cluster_gets_a_row_of_its_own_on_its_first_beat(monkeypatch):
    monkeypatch.delenv(supervision.CLUSTER_KEY_ENV, raising=False)
    supervision.heartbeat(field="taken_at")
    assert WorkerCluster.objects.get(cluster_key=f"{socket.gethostname()}:unsupervised").taken_at


def test_health_reports_a_stall_as_degraded_with_its_figures(client):
    cluster(taken_ago=30, restarts=4)
    message(age=9)
    response = client.get("/api/v1/health")
    assert response.status_code == 200  # degraded, not out of service: see HealthApi
    body = response.json()
    worker = body["checks"]["worker"]
    assert body["status"] == "degraded" and worker["ok"] is False and worker["stalled"] is True
    assert worker["queued"] == 1 and worker["oldest_waiting_seconds"] >= 9 and worker["restarts"] == 4
    assert worker["last_heartbeat_seconds"] >= 30


def test_queue_status_shows_the_signal_and_check_worker_fails_while_stalled(capsys):
    cluster(taken_ago=30, restarts=1)
    call_command("queue_status", "--json")
    figures = json.loads(capsys.readouterr().out)["worker"]
    assert figures["stalled"] is False and figures["restarts"] == 1  # nothing waits yet
    call_command("queue_status", "--check-worker")
    assert "STALLED" not in capsys.readouterr().out
    message(age=9)
    with pytest.raises(CommandError, match="stalled"):
        call_command("queue_status", "--check-worker")
    assert "STALLED" in capsys.readouterr().out


def test_metrics_carry_the_oldest_waiting_age_and_the_restart_counter(client):
    cluster(taken_ago=30, restarts=2)
    message(age=9)
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line and line[0] != "#"}
    assert values["imagegen_queue_oldest_waiting_seconds"] >= 9
    assert values["imagegen_worker_cluster_restarts_total"] == 2
    assert values["imagegen_worker_stalled"] == 1
