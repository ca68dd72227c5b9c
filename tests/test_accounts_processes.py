"""Accounts mode with the real processes (gunicorn + qcluster): the worker files each result under the
task's owner, and a task in progress is invisible to anyone else from start to finish."""

from __future__ import annotations

import pytest

from .accounts import stack_user
from .stack import Stack

pytestmark = [pytest.mark.processes]


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path / "data", IMAGEGEN_ACCESS="accounts", IMAGEGEN_PREVIEW_LATENCY="1.5")
    s.start_web()
    s.start_worker()
    yield s
    s.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_worker_files_results_under_the_owner_and_nobody_else_sees_them(stack):
    alice, bob = bearer(stack_user(stack, "alice")), bearer(stack_user(stack, "bob"))
    assert stack.request("GET", "/api/v1/tasks")[0] == 401

    status, created = stack.request("POST", "/api/v1/generate", {"prompt": "alice's harbour", "num_images": 2},
                                    headers=alice)
    assert status == 201
    task_id = created["task_id"]
    # While it runs, Bob can neither see nor cancel it.
    stack.wait_for(lambda: stack.request("GET", f"/api/v1/task/{task_id}", headers=alice)[1]["status"]
                   == "processing", timeout=30, what="the task to start")
    assert stack.request("GET", f"/api/v1/task/{task_id}", headers=bob)[0] == 404
    assert stack.request("DELETE", f"/api/v1/task/{task_id}", headers=bob)[0] == 404

    done = stack.wait_for(
        lambda: (t := stack.request("GET", f"/api/v1/task/{task_id}", headers=alice)[1])["status"] == "completed"
        and t, timeout=60, what="the task to complete")
    owners = stack.query(
        "SELECT u.username, COUNT(*) FROM images i JOIN auth_user u ON u.id = i.owner_id "
        "JOIN tasks t ON t.id = i.task_id WHERE t.task_id = ? GROUP BY u.username", [task_id])
    assert owners == [("alice", 2)]
    for image in done["images"]:
        for url in (image["url"], image["thumbnail_url"], image["url"] + "?download=1"):
            assert stack.request("GET", url, headers=alice)[0] == 200
            assert stack.request("GET", url, headers=bob)[0] == 404
            assert stack.request("GET", url)[0] == 401
    assert stack.request("GET", "/api/v1/images", headers=bob)[1]["count"] == 0
    assert stack.request("GET", "/api/v1/images", headers=alice)[1]["count"] == 2
