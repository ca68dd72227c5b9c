"""A backup taken while the app keeps creating and finishing tasks is one consistent state: restored, its
database passes SQLite's integrity check, every image row has its original and thumbnail (bytes matching the
row's sha256), no file is there that no row names, every completed task has all its images, and the counts
are those of the restored database. The app writes at chosen moments of the backup (its progress reports:
between the database copy's steps and in the middle of the file copies), as FakeClock's on_sleep lets a
test act in the middle of a wait."""

import hashlib
import sqlite3

import pytest

from generation import backups
from generation.models import GenerationTask

from .conftest import files_under, run

pytestmark = pytest.mark.django_db(transaction=True)

FILES = 52  # 26 images: the copy reports progress after 50 files, with two still to copy


@pytest.fixture
def generated(api, media, scripted):
    scripted()  # every generation succeeds (a preview image)
    ids = [api.generate(prompt=f"before {n}", num_images=2) for n in range(FILES // 4)]
    for task_id in ids:
        run(task_id)
    return ids


def test_a_backup_taken_while_tasks_are_created_and_finished_restores_to_one_consistent_state(
        generated, api, media, tmp_path):
    writes = []

    def app_writes(what, done, total):
        """The app goes on: a task is created and generated (rows and files) at this moment of the backup."""
        if what == "image files" and done == total:
            return  # the copy is over: a write now is after the backup, not during it
        task_id = api.generate(prompt=f"during the backup: {what} {done}/{total}")
        run(task_id)
        writes.append((what, task_id))

    made = backups.backup_create(output=tmp_path / "backup.tar.gz", progress=app_writes)
    assert {what for what, _ in writes} == {"database pages", "image files"}, writes
    assert made.missing == []

    target = tmp_path / "restored"
    restored = backups.backup_restore(archive=made.path, db_path=target / "db.sqlite3", media_root=target / "media")
    assert restored.mismatched == []

    db = sqlite3.connect(target / "db.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    tasks = dict(db.execute("SELECT task_id, status FROM tasks").fetchall())
    images = db.execute("SELECT t.task_id, i.file_path, i.thumbnail_path, i.sha256 "
                        "FROM images i JOIN tasks t ON t.id = i.task_id").fetchall()
    assert (made.tasks, made.images) == (restored.tasks, restored.images) == (len(tasks), len(images))
    assert set(generated) <= set(tasks) <= set(GenerationTask.objects.values_list("task_id", flat=True))

    # Every row has its files, and every file has its row.
    assert files_under(target / "media") == sorted({p for _t, file, thumb, _s in images for p in (file, thumb)})
    assert made.files == restored.files == 2 * len(images)
    for _task_id, file_path, _thumb, sha256 in images:
        assert hashlib.sha256((target / "media" / file_path).read_bytes()).hexdigest() == sha256
    # A completed task has all of its images: no task caught half-written.
    per_task = {task_id: n for task_id, n in db.execute(
        "SELECT t.task_id, COUNT(i.id) FROM tasks t LEFT JOIN images i ON i.task_id = t.id "
        "WHERE t.status = 'completed' GROUP BY t.id")}
    expected = dict(db.execute("SELECT task_id, num_images FROM tasks WHERE status = 'completed'").fetchall())
    assert per_task == expected
    assert set(tasks.values()) == {"completed"}
