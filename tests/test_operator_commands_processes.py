"""The operator commands as an operator runs them, as separate processes against a real worker: generate waits
for the qcluster, queue_status sees it, backup and restore move everything into a fresh data directory."""

import json
import subprocess
import sys

import pytest

from .stack import ROOT, Stack

pytestmark = [pytest.mark.processes]


def manage(stack: Stack, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**stack.env, **(env or {})}, capture_output=True,
        text=True, timeout=120,
    )


def test_generate_queue_status_backup_and_restore_with_real_processes(tmp_path):
    stack = Stack(tmp_path / "data", IMAGEGEN_PREVIEW_LATENCY="0.3")
    try:
        stack.start_worker()
        done = manage(stack, "generate", "a lighthouse", "一只可爱的猫咪", "-n", "2", "--timeout", "60")
        assert done.returncode == 0, done.stderr
        paths = done.stdout.split()
        assert len(paths) == 4 and all((tmp_path / "data" / "media").as_posix() in p for p in paths)

        status = json.loads(stack.wait_for(
            lambda: (r := manage(stack, "queue_status", "--json")).returncode == 0
            and json.loads(r.stdout)["workers"] > 0 and r.stdout,
            timeout=30, what="the worker to be seen",
        ))
        assert status["pending"] == 0 and status["completed_last_hour"] == 2

        backup = manage(stack, "backup", "--output", str(tmp_path / "backups"))
        assert backup.returncode == 0, backup.stderr
        archive = backup.stdout.strip().splitlines()[-1].split(":")[0]
    finally:
        stack.close()

    fresh = {"IMAGEGEN_DATA_DIR": str(tmp_path / "fresh")}
    restored = manage(stack, "restore", archive, env=fresh)
    assert restored.returncode == 0, restored.stderr
    assert "every file matches its checksum" in restored.stdout
    again = manage(stack, "restore", archive, env=fresh)
    assert again.returncode != 0 and "empty data directory" in again.stderr

    def snapshot(data_dir):
        import sqlite3

        with sqlite3.connect(data_dir / "db.sqlite3") as db:
            tasks = db.execute("SELECT task_id, status, prompt, seed FROM tasks ORDER BY task_id").fetchall()
            files = [p for row in db.execute("SELECT file_path, thumbnail_path FROM images") for p in row]
        return tasks, {p: (data_dir / "media" / p).read_bytes() for p in files}

    assert snapshot(tmp_path / "fresh") == snapshot(tmp_path / "data")
    status = json.loads(manage(stack, "queue_status", "--json", env=fresh).stdout)
    assert status["completed_last_hour"] == 2
