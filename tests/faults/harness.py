"""What every fault scenario shares: a stack wired to the fake VolcEngine, process and log helpers, and
the final check of every task and every file."""

from __future__ import annotations

import hashlib
import os
import re
import signal
from collections import defaultdict
from pathlib import Path

import pytest

from ..stack import Stack
from ..volcengine_server import FakeVolcEngine

MARKS = [pytest.mark.processes, pytest.mark.faults]

AK, SK = "AKLTfaultsuite", "fault-suite-secret"
FINISHED = {"completed", "failed", "cancelled"}
# A sync model (one CVProcess call per image) whose sides go up to 2048.
SYNC_MODEL = "high_aes_general_v30l_zt2i"

ATTEMPT_LINE = re.compile(r" (\d+) task (\S+) attempt (\d+) on (\w+)")


def fake_upstream(**options) -> FakeVolcEngine:
    return FakeVolcEngine(access_key=AK, secret_key=SK, **options).start()


def volc_env(upstream: FakeVolcEngine, **env) -> dict:
    return {
        "IMAGEGEN_ENGINE": "volcengine",
        "VOLC_ACCESSKEY": AK,
        "VOLC_SECRETKEY": SK,
        "VOLC_HOST": upstream.host,
        "VOLC_SCHEME": "http",
        "VOLC_CONNECT_TIMEOUT": 2,
        "VOLC_READ_TIMEOUT": 10,
        "VOLC_POLL_INTERVAL": 0.1,
        "VOLC_POLL_MAX_INTERVAL": 0.2,
        **env,
    }


# --- reading the stack's state --------------------------------------------------------------------------


def tasks(stack: Stack) -> dict[str, dict]:
    with stack.db() as conn:
        cursor = conn.execute("SELECT * FROM tasks")
        names = [c[0] for c in cursor.description]
        return {row["task_id"]: row for row in (dict(zip(names, r)) for r in cursor.fetchall())}


def images(stack: Stack) -> dict[str, list[dict]]:
    """Image rows per task id."""
    with stack.db() as conn:
        cursor = conn.execute(
            "SELECT i.*, t.task_id AS task_uuid FROM images i JOIN tasks t ON t.id = i.task_id "
            "ORDER BY i.\"index\""
        )
        names = [c[0] for c in cursor.description]
        per_task: dict[str, list[dict]] = defaultdict(list)
        for r in cursor.fetchall():
            row = dict(zip(names, r))
            per_task[row["task_uuid"]].append(row)
        return per_task


def wait_all_finished(stack: Stack, ids, *, timeout: float) -> dict[str, dict]:
    ids = set(ids)

    def done():
        rows = tasks(stack)
        return rows if all(rows[t]["status"] in FINISHED for t in ids) else None

    try:
        return stack.wait_for(done, timeout=timeout, what=f"{len(ids)} tasks to finish", interval=0.25)
    except AssertionError:
        rows = tasks(stack)
        stuck = {t: (rows[t]["status"], rows[t]["stage"], rows[t]["attempts"], rows[t]["lease_holder"])
                 for t in ids if rows[t]["status"] not in FINISHED}
        raise AssertionError(f"tasks not finished after {timeout}s: {stuck}") from None


def logs(stack: Stack) -> str:
    """Everything every process of the stack wrote (stdout and stderr of web and workers)."""
    return "\n".join(p.read_text(errors="replace") for p in sorted(stack.logs.glob("*.log")))


def attempt_lines(stack: Stack) -> dict[str, list[tuple[int, int]]]:
    """task id -> [(attempt number, worker pid)] from the workers' "task <id> attempt N on <engine>" lines."""
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for match in ATTEMPT_LINE.finditer(logs(stack)):
        pid, task_id, attempt = int(match.group(1)), match.group(2), int(match.group(3))
        found[task_id].append((attempt, pid))
    return found


def prompt_calls(upstream: FakeVolcEngine, prompt: str, action: str | None = None):
    return [r for r in upstream.calls(action) if (r.body or {}).get("prompt") == prompt]


# --- processes ------------------------------------------------------------------------------------------


def pid_gone(pid: int) -> bool:
    """True once the process no longer runs (exited, or a zombie waiting for its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")


def sigkill(pid: int, *, timeout: float = 10) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    Stack.wait_for(lambda: pid_gone(pid), timeout=timeout, what=f"process {pid} to die", interval=0.01)


def lease_pid(row: dict) -> int | None:
    try:
        return int(row["lease_holder"].split(":")[1])
    except (AttributeError, IndexError, ValueError):
        return None


# --- the final check ------------------------------------------------------------------------------------


def assert_final_state(stack: Stack, ids=None, *, media_root: Path | None = None, max_attempts: int = 4,
                       failures: set[str] | None = None) -> dict[str, dict]:
    """Every task finished and consistent, every file accounted for.

    - no task is pending, processing or retrying, and none holds a lease or waits for a retry;
    - a completed task has exactly `num_images` image rows (indexes 0..n-1), each with both files on disk
      and the recorded size and sha256; a failed task has an error code and message and no image;
    - no task used more than `max_attempts` engine attempts;
    - the files under media/images are exactly the files image rows refer to: no debris, no orphan, no
      second set; no upstream concurrency slot is still held.
    `failures`, when given, is the set of error codes a failed task may have.
    Returns the task rows."""
    rows = tasks(stack)
    ids = set(rows) if ids is None else set(ids)
    assert ids <= set(rows), f"unknown tasks {ids - set(rows)}"
    per_task = images(stack)
    media_root = Path(media_root) if media_root else stack.data_dir / "media"
    referenced: set[str] = set()
    for task_id in ids:
        row = rows[task_id]
        where = f"task {task_id} ({row['status']}, {row['error_code']}: {row['error_message']})"
        assert row["status"] in FINISHED, where
        assert row["lease_holder"] == "" and row["lease_expires_at"] is None, where
        assert row["next_attempt_at"] is None, where
        assert row["attempts"] <= max_attempts, where
        found = per_task.get(task_id, [])
        if row["status"] == "completed":
            assert [i["index"] for i in found] == list(range(row["num_images"])), where
            assert row["error_code"] == "", where
            for image in found:
                original = media_root / image["file_path"]
                thumbnail = media_root / image["thumbnail_path"]
                assert original.is_file() and thumbnail.is_file(), (where, image["file_path"])
                data = original.read_bytes()
                assert len(data) == image["file_size"] and hashlib.sha256(data).hexdigest() == image["sha256"]
                assert thumbnail.stat().st_size == image["thumbnail_size"]
        else:
            assert found == [], where
            assert row["error_code"] and row["error_message"], where
            if failures is not None and row["status"] == "failed":
                assert row["error_code"] in failures, where
    for found in per_task.values():
        for image in found:
            referenced |= {image["file_path"], image["thumbnail_path"]}
    root = media_root / "images"
    on_disk = {str(p.relative_to(media_root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    assert on_disk == referenced, {"orphans": sorted(on_disk - referenced), "missing": sorted(referenced - on_disk)}
    held = stack.query("SELECT slot, holder FROM upstream_slots WHERE holder != ''")
    assert held == [], held
    return rows


def assert_no_database_errors(stack: Stack) -> None:
    text = logs(stack)
    assert "database is locked" not in text
    assert "OperationalError" not in text
