"""manage.py cleanup on a data directory with old tasks, orphan files and rows whose files are gone: the dry run
changes nothing; the real run leaves nothing orphaned and touches nothing recent or unfinished."""

import os
import time
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from generation.models import GenerationTask, Image

from .conftest import files_under, run

pytestmark = pytest.mark.django_db

LONG_AGO = time.time() - 60 * 86400


def age_task(task_id: str, days: float) -> None:
    when = timezone.now() - timedelta(days=days)
    task = GenerationTask.objects.filter(task_id=task_id)
    task.update(created_at=when)
    task.filter(started_at__isnull=False).update(started_at=when)
    task.filter(completed_at__isnull=False).update(completed_at=when)
    Image.objects.filter(task__task_id=task_id).update(created_at=when)


def age_files(root) -> None:
    for path in root.rglob("*"):
        os.utime(path, (LONG_AGO, LONG_AGO))


def write(root, relative: str, data: bytes = b"x" * 100, *, old: bool = True):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if old:
        os.utime(path, (LONG_AGO, LONG_AGO))
    return relative


def cleanup(*args) -> str:
    out = StringIO()
    call_command("cleanup", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def data_dir(api, media):
    """Old and recent tasks with files, an old unfinished task, orphans, and rows whose files are gone."""
    ids = {name: api.generate(prompt=name) for name in
           ("old done", "old failed", "old missing file", "old missing thumb", "old kept", "recent done")}
    for name, task_id in ids.items():
        if name != "old failed":
            run(task_id)
    GenerationTask.objects.filter(task_id=ids["old failed"]).update(
        status="failed", stage="done", error_code="x", completed_at=timezone.now()
    )
    for name in ("old done", "old failed"):
        age_task(ids[name], 40)
    for name in ("old kept", "old missing file", "old missing thumb"):
        age_task(ids[name], 10)
    unfinished = api.generate(prompt="old but still pending")
    age_task(unfinished, 40)
    age_files(media)

    missing = Image.objects.get(task__task_id=ids["old missing file"])
    (media / missing.file_path).unlink()
    thumbless = Image.objects.get(task__task_id=ids["old missing thumb"])
    (media / thumbless.thumbnail_path).unlink()

    orphan_task = str(uuid.uuid4())
    orphans = [
        write(media, f"images/{orphan_task[:2]}/{orphan_task}/abcd-0.png"),
        write(media, f"images/{orphan_task[:2]}/{orphan_task}/abcd-0.thumb.webp"),
        write(media, f"health/{uuid.uuid4().hex}.probe"),
    ]
    done = GenerationTask.objects.get(task_id=ids["recent done"])
    debris_of_finished = write(media, f"{done.file_prefix()}/dead-0.png")  # an interrupted attempt's leftovers
    orphans.append(debris_of_finished)
    recent_orphan = write(media, "images/ff/recent-upload/x.png", old=False)
    pending_task = GenerationTask.objects.get(task_id=unfinished)
    running_files = write(media, f"{pending_task.file_prefix()}/w1-0.png")  # a running task's own files
    return {
        "ids": ids, "unfinished": unfinished, "orphans": orphans, "recent_orphan": recent_orphan,
        "running_files": running_files, "missing": missing, "thumbless": thumbless,
    }


def test_a_dry_run_reports_everything_and_changes_nothing(data_dir, media):
    before_files = files_under(media)
    before_tasks = set(GenerationTask.objects.values_list("task_id", "status"))
    output = cleanup("--dry-run", "--older-than", "30")
    assert "tasks to delete: 2" in output
    for name in ("old done", "old failed"):
        assert data_dir["ids"][name] in output
    assert "orphan files: 4" in output
    for orphan in data_dir["orphans"]:
        assert orphan in output
    assert "image rows whose file is missing: 1" in output and data_dir["missing"].image_id in output
    assert "thumbnails to rebuild: 1" in output
    assert "dry run: nothing was changed" in output
    assert files_under(media) == before_files
    assert set(GenerationTask.objects.values_list("task_id", "status")) == before_tasks


def test_the_real_run_leaves_nothing_orphaned_and_nothing_recent_touched(
    data_dir, media, django_capture_on_commit_callbacks
):
    ids = data_dir["ids"]
    with django_capture_on_commit_callbacks(execute=True):
        output = cleanup("--older-than", "30")
    assert "deleted 2 tasks, removed 4 orphan files and 1 image rows with missing files, rebuilt 1 thumbnails" in output
    assert "freed" in output

    remaining = set(GenerationTask.objects.values_list("task_id", flat=True))
    assert remaining == {
        ids["old missing file"], ids["old missing thumb"], ids["old kept"], ids["recent done"], data_dir["unfinished"]
    }
    assert not Image.objects.filter(pk=data_dir["missing"].pk).exists()

    files = set(files_under(media))
    referenced = {p for row in Image.objects.values_list("file_path", "thumbnail_path") for p in row}
    assert referenced <= files  # every row has its files (the missing thumbnail was rebuilt)
    assert files - referenced == {data_dir["recent_orphan"], data_dir["running_files"]}
    assert not any(ids["old done"] in p for p in files)
    thumbless = Image.objects.get(pk=data_dir["thumbless"].pk)
    assert (media / thumbless.thumbnail_path).read_bytes()[8:12] == b"WEBP" and thumbless.thumbnail_size > 0
    # Folders of deleted tasks are gone too.
    assert not (media / GenerationTask(task_id=ids["old done"]).file_prefix()).exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert "nothing to clean up" in cleanup("--older-than", "30")


def test_it_keeps_only_the_newest_tasks(data_dir, media, django_capture_on_commit_callbacks):
    finished = GenerationTask.objects.filter(status__in=["completed", "failed", "cancelled"])
    newest_two = set(finished.order_by("-created_at").values_list("task_id", flat=True)[:2])
    with django_capture_on_commit_callbacks(execute=True):
        cleanup("--keep", "2", "--no-files")
    assert set(finished.values_list("task_id", flat=True)) == newest_two
    assert data_dir["ids"]["recent done"] in newest_two
    assert GenerationTask.objects.filter(task_id=data_dir["unfinished"]).exists()


def test_it_deletes_the_oldest_tasks_until_the_images_fit_the_budget(data_dir, media, django_capture_on_commit_callbacks):
    sizes = {t: sum(i.file_size + i.thumbnail_size for i in Image.objects.filter(task__task_id=t))
             for t in data_dir["ids"].values()}
    total = sum(sizes.values())
    budget = total - 1  # one task must go: the oldest with images
    with django_capture_on_commit_callbacks(execute=True):
        output = cleanup("--max-size", str(budget), "--no-files")
    assert "tasks to delete: 1" in output and "1 by size" in output
    gone = set(data_dir["ids"].values()) - set(GenerationTask.objects.values_list("task_id", flat=True))
    assert gone == {data_dir["ids"]["old done"]}  # the oldest with images (the old failed one has none)


def test_recent_tasks_are_never_deleted_whatever_the_limits(data_dir, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cleanup("--keep", "1", "--max-size", "1", "--older-than", "0.001")
    assert GenerationTask.objects.filter(task_id=data_dir["ids"]["recent done"]).exists()
    assert GenerationTask.objects.filter(task_id=data_dir["unfinished"]).exists()


def test_bad_options_exit_non_zero(db):
    with pytest.raises(CommandError, match="not a size"):
        cleanup("--max-size", "lots")
    with pytest.raises(CommandError, match="grace"):
        cleanup("--grace-hours", "0")
