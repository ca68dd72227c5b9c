"""services.task_delete: a finished task goes with its images, tags and files, and only it; an unfinished
one (a staff retry can put a task back between a caller's check and the delete) is refused with a 409."""

import logging

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core.errors import Conflict
from generation import services
from generation.models import GenerationTask, Image

from .admin_helpers import make_tasks
from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def test_it_removes_the_task_its_images_and_every_file_and_says_so(api, media, django_capture_on_commit_callbacks,
                                                                   caplog):
    caplog.set_level(logging.INFO, logger="generation.services")
    keep = api.generate()
    run(keep)
    task_id = api.generate(num_images=2)
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    kept_files = [p for p in files_under(media) if GenerationTask.objects.get(task_id=keep).file_prefix() in p]
    with django_capture_on_commit_callbacks(execute=True):
        services.task_delete(task=task)
    assert not GenerationTask.objects.filter(task_id=task_id).exists()
    assert Image.objects.filter(task__task_id=task_id).count() == 0
    assert files_under(media) == kept_files and len(kept_files) == 2
    assert GenerationTask.objects.filter(task_id=keep).exists()
    assert f"task {task_id} deleted with 4 files" in [r.getMessage() for r in caplog.records]


def test_image_files_outside_the_task_s_folder_go_too(media, django_capture_on_commit_callbacks):
    # An image row may name any stored path (older layouts); the row's own paths are deleted, not only
    # what lies under the task's folder.
    task = make_tasks(1, status="completed")[0]
    default_storage.save("elsewhere/a.png", ContentFile(b"png"))
    default_storage.save("elsewhere/a.thumb.webp", ContentFile(b"webp"))
    Image.objects.create(task=task, index=0, file_path="elsewhere/a.png", thumbnail_path="elsewhere/a.thumb.webp",
                         file_size=3, thumbnail_size=4, width=1, height=1, format="png", sha256="0" * 64)
    with django_capture_on_commit_callbacks(execute=True):
        services.task_delete(task=task)
    assert files_under(media) == []


@pytest.mark.parametrize("status", ["pending", "processing", "retrying"])
def test_an_unfinished_task_is_refused_and_kept(status, media):
    task, other = make_tasks(2, status="completed")
    GenerationTask.objects.filter(pk=task.pk).update(status=status)
    with pytest.raises(Conflict) as refused:
        services.task_delete(task=task)
    assert refused.value.code == "task_unfinished" and refused.value.status == 409
    assert refused.value.message == "The task is still running; cancel it first."
    assert GenerationTask.objects.filter(pk__in=[task.pk, other.pk]).count() == 2
