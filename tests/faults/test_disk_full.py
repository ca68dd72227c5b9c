"""Scenario 6: the disk fills up while an image is being saved. The media directory is a 1 MB tmpfs the test
mounts, filled until less than one image fits: the write fails half-way with ENOSPC. The task retries and
then fails with a clear message (storage_error, "No space left on device"); when space comes back while a
task is waiting to retry, it completes. No partial file is ever left and the database stays consistent.

Mounting needs root (or CAP_SYS_ADMIN). Without it the test fails under CI=true (.ci/run sets it), naming
the missing capability; by hand it is skipped, and
tests/test_task_execution.py::test_a_write_that_fails_half_way_leaves_no_partial_file covers the same
failure with an injected ENOSPC."""

from __future__ import annotations

import os
import subprocess

import pytest

from ..stack import Stack
from . import harness

pytestmark = harness.MARKS

ATTEMPTS = 3
SIZE = 1024  # a preview image of 1024x1024 is about 190 KB


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "media"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        why = f"cannot mount a tmpfs here: the mount capability (root or CAP_SYS_ADMIN) is missing ({mounted.stderr.strip()})"
        if os.environ.get("CI"):
            pytest.fail(f"{why}; the CI run needs it", pytrace=False)
        pytest.skip(f"{why}; see tests/test_task_execution.py")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk, *, leave: int) -> os.PathLike:
    """Take all free space on `disk` but `leave` bytes."""
    stats = os.statvfs(disk)
    filler = disk / "filler.bin"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * (stats.f_bavail * stats.f_frsize - leave))
    return filler


def partial_files(disk) -> list[str]:
    root = disk / "images"
    return sorted(str(p.relative_to(disk)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_full_disk_fails_or_retries_the_task_clearly_and_leaves_no_partial_file(tmp_path, small_disk):
    stack = Stack(tmp_path / "data", IMAGEGEN_MEDIA_DIR=small_disk, IMAGEGEN_PREVIEW_LATENCY=0.1,
                  IMAGEGEN_MAX_ATTEMPTS=ATTEMPTS, IMAGEGEN_RETRY_BASE_DELAY=1.0, IMAGEGEN_RETRY_MAX_DELAY=2.0)
    try:
        stack.start_web()
        stack.start_worker()
        # Less room than any image at this size needs, whatever its seed (a random seed changes the PNG's size).
        filler = fill(small_disk, leave=24 * 1024)

        # Full for good: every attempt fails half-way through the write; the task fails clearly.
        doomed = stack.generate(prompt="no room", model=harness.SYNC_MODEL, width=SIZE, height=SIZE)
        harness.wait_all_finished(stack, [doomed], timeout=60)
        row = harness.tasks(stack)[doomed]
        assert (row["status"], row["error_code"], row["attempts"]) == ("failed", "storage_error", ATTEMPTS)
        assert "No space left on device" in row["error_message"]
        assert stack.task(doomed)["error"] == {"code": "storage_error",
                                               "message": "The image could not be saved (storage error)."}
        assert partial_files(small_disk) == []

        # Full, then freed while the task waits for its next attempt: it completes.
        waiting = stack.generate(prompt="room soon", model=harness.SYNC_MODEL, width=SIZE, height=SIZE)
        stack.wait_for(lambda: harness.tasks(stack)[waiting]["error_code"] == "storage_error", timeout=30,
                       what="the first attempt to fail for lack of space", interval=0.05)
        assert partial_files(small_disk) == []  # the failed write left nothing while the task waits
        filler.unlink()
        after = stack.generate(prompt="plenty of room", model=harness.SYNC_MODEL, width=SIZE, height=SIZE)
        rows = harness.wait_all_finished(stack, [waiting, after], timeout=60)
        assert rows[waiting]["status"] == "completed" and rows[waiting]["attempts"] >= 2
        assert rows[after]["status"] == "completed" and rows[after]["attempts"] == 1

        rows = harness.assert_final_state(stack, [doomed, waiting, after], media_root=small_disk,
                                          max_attempts=ATTEMPTS, failures={"storage_error"})
        assert len(partial_files(small_disk)) == 4  # two originals and two thumbnails
        assert "Traceback" not in harness.logs(stack)
    finally:
        stack.close()
