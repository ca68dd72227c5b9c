"""Durability with real processes: a worker killed mid-task, and web and worker restarted with tasks
queued, lose nothing and never produce a second set of images."""

import os
import signal
import sqlite3

import pytest

from .stack import Stack

pytestmark = [pytest.mark.processes]


@pytest.fixture
def stack(tmp_path, request):
    s = Stack(tmp_path / "data", IMAGEGEN_PREVIEW_LATENCY=getattr(request, "param", "2"))
    yield s
    s.close()


def images_of(stack, task_id) -> list[tuple]:
    with stack.db() as conn:
        return conn.execute(
            "SELECT i.image_id, i.file_path, i.thumbnail_path FROM images i JOIN tasks t ON t.id = i.task_id "
            "WHERE t.task_id = ?",
            [task_id],
        ).fetchall()


def test_a_worker_killed_mid_task_does_not_lose_it(stack):
    stack.start_web()
    stack.start_worker()
    task_id = stack.generate(num_images=2, width=1024, height=1024, model="high_aes_general_v20")
    row = stack.wait_for(
        lambda: (r := stack.row(task_id))["status"] == "processing" and r["stage"] == "generating" and r,
        timeout=30,
        what="the task to be generating",
    )
    worker_pid = int(row["lease_holder"].split(":")[1])
    os.kill(worker_pid, signal.SIGKILL)

    stack.wait_for(lambda: stack.row(task_id)["status"] == "completed", timeout=60, what="the task to complete")
    row = stack.row(task_id)
    assert row["attempts"] == 2
    assert row["retry_count"] == 1
    images = images_of(stack, task_id)
    assert len(images) == 2
    files = {str(p.relative_to(stack.data_dir / "media")) for p in stack.media_files()}
    assert files == {path for image in images for path in image[1:]}  # no debris of the killed attempt
    body = stack.task(task_id)
    for image in body["images"]:
        status, payload = stack.request("GET", image["url"])
        assert status == 200 and payload["_type"] == "image/png"


@pytest.mark.parametrize("stack", ["0.3"], indirect=True)
def test_restarting_web_and_worker_with_tasks_pending_loses_none(stack):
    stack.start_web()
    ids = [stack.generate(prompt=f"prompt {i}") for i in range(12)]
    stack.stop("web")  # nothing has run: no worker yet
    assert set(stack.statuses().values()) == {"pending"}

    stack.start_web()
    stack.start_worker()
    stack.wait_for(
        lambda: sum(s == "processing" for s in stack.statuses().values()) >= 1, timeout=30, what="work to start"
    )
    stack.kill_all()  # power cut: web and worker die mid-work

    stack.start_web()
    stack.start_worker()
    stack.wait_for(
        lambda: set(stack.statuses().values()) == {"completed"}, timeout=120, what="every task to complete"
    )
    with stack.db() as conn:
        per_task = dict(conn.execute(
            "SELECT t.task_id, COUNT(i.id) FROM tasks t LEFT JOIN images i ON i.task_id = t.id GROUP BY t.task_id"
        ).fetchall())
    assert per_task == {task_id: 1 for task_id in ids}
    assert len(stack.media_files()) == 2 * len(ids)


@pytest.mark.parametrize("stack", ["0.2"], indirect=True)
def test_a_graceful_worker_stop_finishes_or_hands_back_its_tasks(stack):
    stack.start_web()
    stack.start_worker()
    ids = [stack.generate(prompt=f"p{i}") for i in range(6)]
    stack.wait_for(
        lambda: any(s == "completed" for s in stack.statuses().values()), timeout=30, what="a first completion"
    )
    stack.stop("worker", signal.SIGTERM, timeout=30)
    assert "has stopped" in stack.log("worker")
    # The running tasks finished; those not started were handed back, unowned, for the next worker.
    for task_id, status in stack.statuses().items():
        row = stack.row(task_id)
        assert status in ("completed", "pending"), (task_id, status)
        assert row["lease_holder"] == "" and row["lease_expires_at"] is None, (task_id, row)
    stack.start_worker()
    stack.wait_for(lambda: set(stack.statuses().values()) == {"completed"}, timeout=60, what="all to complete")
    assert len(stack.media_files()) == 2 * len(ids)
