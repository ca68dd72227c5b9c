"""The cleanup checks every step of its plan again when it carries it out: whatever changed between the plan
(what the dry run shows) and its step is left alone — a task retried, finished again or already deleted, a
file some row has come to name or whose task runs again, an image whose file came back, a thumbnail that
came back. Each test makes its change between `cleanup_plan` and `cleanup_apply`."""

import uuid

import pytest

from generation import maintenance, services
from generation.models import GenerationTask, Image, Reference

from .conftest import files_under, run
from .test_cleanup import age_files, age_task, write

pytestmark = pytest.mark.django_db

POLICY = maintenance.CleanupPolicy(older_than_days=30)
FILES_ONLY = maintenance.CleanupPolicy()  # no task limits: only the file sweep


def plan(policy=POLICY) -> maintenance.CleanupPlan:
    return maintenance.cleanup_plan(policy=policy)


@pytest.fixture
def apply(django_capture_on_commit_callbacks):
    def carry_out(planned: maintenance.CleanupPlan) -> maintenance.CleanupReport:
        with django_capture_on_commit_callbacks(execute=True):
            return maintenance.cleanup_apply(plan=planned)

    return carry_out


@pytest.fixture
def old_failed(api, media):
    """A task that failed 40 days ago: the age limit chooses it."""
    task_id = api.generate(prompt="old failed")
    GenerationTask.objects.filter(task_id=task_id).update(status="failed", stage="done", error_code="x")
    age_task(task_id, 40)
    return GenerationTask.objects.get(task_id=task_id)


@pytest.fixture
def old_done(api, media):
    """A task completed 40 days ago with its image and thumbnail (files 60 days old)."""
    task_id = api.generate(prompt="old done")
    run(task_id)
    age_task(task_id, 40)
    age_files(media)
    return GenerationTask.objects.get(task_id=task_id)


def test_it_has_a_plan_to_change(old_failed, old_done):
    """What the other tests change under the cleanup's feet is in its plan to begin with."""
    assert {t.task_id for t in plan().tasks} == {old_failed.task_id, old_done.task_id}


def test_a_task_retried_after_the_plan_is_not_deleted(old_failed, apply):
    planned = plan()
    assert services.task_retry(task=old_failed)

    report = apply(planned)
    assert GenerationTask.objects.get(pk=old_failed.pk).status == "pending"
    assert old_failed.task_id not in {t.task_id for t in report.deleted_tasks}
    assert any(old_failed.task_id in line and "no longer finished" in line for line in report.skipped)


def test_a_task_that_finished_again_within_the_grace_period_after_the_plan_is_not_deleted(old_failed, media, apply):
    planned = plan()
    assert services.task_retry(task=old_failed)
    run(old_failed.task_id)  # finished again now, with an image of today
    finished = GenerationTask.objects.get(pk=old_failed.pk)
    assert finished.status == "completed" and finished.images.count() == 1

    report = apply(planned)
    assert GenerationTask.objects.filter(pk=old_failed.pk).exists()
    assert old_failed.task_id not in {t.task_id for t in report.deleted_tasks}
    image = finished.images.get()
    assert (media / image.file_path).exists() and (media / image.thumbnail_path).exists()


def test_a_task_deleted_after_the_plan_is_skipped_and_the_rest_carried_out(old_failed, old_done, apply):
    planned = plan()
    services.task_delete(task=old_failed)

    report = apply(planned)
    assert [t.task_id for t in report.deleted_tasks] == [old_done.task_id]
    assert any(old_failed.task_id in line and "gone" in line for line in report.skipped)
    assert not GenerationTask.objects.filter(pk__in=[old_failed.pk, old_done.pk]).exists()


@pytest.fixture
def recent_done(api, media):
    """A task completed today, outside every limit, and a file in its folder that no row names: an orphan
    once it is older than the grace period."""
    task_id = api.generate(prompt="recent done")
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    debris = write(media, f"{task.file_prefix()}/w2-0.png")
    return task, debris


@pytest.mark.parametrize("column", ["file_path", "thumbnail_path"])
def test_an_orphan_file_an_image_row_names_after_the_plan_is_kept(recent_done, media, apply, column):
    task, debris = recent_done
    planned = plan(FILES_ONLY)
    assert [f.path for f in planned.orphan_files] == [debris]
    image = task.images.get()
    image.pk, image.image_id, image.index = None, str(uuid.uuid4()), 1
    setattr(image, column, debris)  # the row of the attempt that wrote it, committed after the plan
    image.save()

    report = apply(planned)
    assert (media / debris).exists()
    assert report.removed_files == 0


def test_an_orphan_file_a_reference_row_names_after_the_plan_is_kept(media, apply, db):
    upload = write(media, f"references/uploads/ab/{uuid.uuid4()}.png")
    planned = plan(FILES_ONLY)
    assert [f.path for f in planned.orphan_files] == [upload]
    Reference.objects.create(client_id="someone", file_path=upload, file_size=100, width=64, height=64,
                             format="png", sha256="0" * 64)

    report = apply(planned)
    assert (media / upload).exists()
    assert report.removed_files == 0


def test_an_orphan_file_of_a_task_retried_after_the_plan_is_kept(old_failed, media, apply):
    debris = write(media, f"{old_failed.file_prefix()}/w1-0.png")  # left by the attempt that failed
    planned = plan(FILES_ONLY)
    assert [f.path for f in planned.orphan_files] == [debris]
    assert services.task_retry(task=old_failed)  # the task runs again: its folder is its own again

    report = apply(planned)
    assert (media / debris).exists()
    assert report.removed_files == 0


def test_an_image_row_whose_file_came_back_after_the_plan_is_kept(old_done, media, apply):
    image = old_done.images.get()
    original = (media / image.file_path).read_bytes()
    (media / image.file_path).unlink()
    planned = plan(FILES_ONLY)
    assert [b.image_id for b in planned.missing_files] == [image.image_id]
    (media / image.file_path).write_bytes(original)  # put back (from a backup) before the step

    report = apply(planned)
    assert Image.objects.filter(pk=image.pk).exists()
    assert (media / image.thumbnail_path).exists()
    assert report.removed_rows == 0


def test_an_image_row_deleted_after_the_plan_is_skipped(old_done, media, apply):
    image = old_done.images.get()
    (media / image.file_path).unlink()
    planned = plan(FILES_ONLY)
    assert [b.image_id for b in planned.missing_files] == [image.image_id]
    services.images_delete(images=[image])

    report = apply(planned)
    assert report.removed_rows == 0


def test_a_thumbnail_that_came_back_after_the_plan_is_not_rebuilt(old_done, media, apply):
    image = old_done.images.get()
    thumbnail = (media / image.thumbnail_path).read_bytes()
    (media / image.thumbnail_path).unlink()
    planned = plan(FILES_ONLY)
    assert [b.image_id for b in planned.missing_thumbnails] == [image.image_id]
    (media / image.thumbnail_path).write_bytes(thumbnail)

    report = apply(planned)
    assert report.rebuilt_thumbnails == 0
    assert Image.objects.get(pk=image.pk).thumbnail_path == image.thumbnail_path
    assert files_under(media / old_done.file_prefix()) == sorted(
        p.rsplit("/", 1)[1] for p in (image.file_path, image.thumbnail_path))
