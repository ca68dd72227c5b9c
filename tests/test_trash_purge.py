"""Leaving the trash for good: emptied by its owner (or staff, for everyone), one entry at a time, or by the
daily cleanup once an entry has been there IMAGEGEN_TRASH_DAYS (the clock is moved with time_machine). Rows
and files go as a delete always took them; nothing out of the trash is touched."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import NotFound
from generation import maintenance, services, trash_selectors
from generation.models import GenerationTask, Image

from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def finished(api, **changes) -> GenerationTask:
    task_id = api.generate(**changes)
    run(task_id)
    return GenerationTask.objects.get(task_id=task_id)


def files_of(task: GenerationTask, media) -> list[str]:
    return [p for p in files_under(media) if task.file_prefix() in p]


def test_emptying_the_trash_deletes_its_rows_and_files_and_nothing_else(api, media, django_capture_on_commit_callbacks):
    kept = finished(api, num_images=2)
    gone = finished(api, num_images=2)
    alone = Image.objects.filter(task=kept).order_by("index").first()
    services.task_trash(task=gone)
    services.images_trash(images=[alone])
    with django_capture_on_commit_callbacks(execute=True):
        emptied = services.trash_empty()
    assert emptied == {"tasks": 1, "images": 1}
    assert not GenerationTask.objects.filter(pk=gone.pk).exists()
    assert list(Image.objects.values_list("task_id", flat=True)) == [kept.pk]
    assert files_of(gone, media) == [] and len(files_of(kept, media)) == 2
    assert alone.file_path not in files_under(media)
    assert trash_selectors.trash_entries(trash_selectors.trash_list()) == []


def test_one_entry_is_deleted_for_good_and_the_others_stay(api, media, django_capture_on_commit_callbacks):
    one, two = finished(api), finished(api)
    services.task_trash(task=one)
    services.task_trash(task=two)
    with django_capture_on_commit_callbacks(execute=True):
        services.trash_item_delete(item=trash_selectors.trash_get(item_id=one.task_id))
    assert files_of(one, media) == [] and len(files_of(two, media)) == 2
    assert [e.item_id for e in trash_selectors.trash_entries(trash_selectors.trash_list())] == [two.task_id]


def test_an_entry_restored_meanwhile_is_not_deleted(api, media):
    task = finished(api)
    services.task_trash(task=task)
    entry = trash_selectors.trash_get(item_id=task.task_id)
    services.task_restore(task=GenerationTask.objects.get(pk=task.pk))
    with pytest.raises(NotFound):
        services.trash_item_delete(item=entry)
    assert services.trash_empty() == {"tasks": 0, "images": 0}
    assert GenerationTask.objects.filter(pk=task.pk, deleted_at__isnull=True).exists()


def test_the_daily_cleanup_purges_what_has_been_in_the_trash_too_long(api, media, settings,
                                                                       django_capture_on_commit_callbacks):
    settings.IMAGEGEN_TRASH_DAYS = 30
    settings.IMAGEGEN_CLEANUP_SCHEDULE = False  # the trash is purged even with the cleanup's limits off
    old_task, new_task, live = finished(api), finished(api), finished(api, num_images=2)
    old_image, new_image = Image.objects.filter(task=live).order_by("index")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.task_trash(task=old_task)
        services.images_trash(images=[old_image])
    with time_machine.travel(start + timedelta(days=20), tick=False):
        services.task_trash(task=new_task)
        services.images_trash(images=[new_image])
    with time_machine.travel(start + timedelta(days=30, seconds=-1), tick=False):
        assert "0 tasks and 0 images deleted from the trash" in maintenance.cleanup_scheduled()
    with time_machine.travel(start + timedelta(days=30, seconds=1), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        summary = maintenance.cleanup_scheduled()
    assert summary.startswith("skipped") and "1 tasks and 1 images deleted from the trash after 30 days" in summary
    assert not GenerationTask.objects.filter(pk=old_task.pk).exists() and files_of(old_task, media) == []
    assert not Image.objects.filter(pk=old_image.pk).exists() and old_image.file_path not in files_under(media)
    assert GenerationTask.objects.get(pk=new_task.pk).deleted_at is not None and len(files_of(new_task, media)) == 2
    assert Image.objects.get(pk=new_image.pk).deleted_at is not None and new_image.file_path in files_under(media)


def test_an_image_trashed_alone_long_before_its_task_goes_at_its_own_time(api, media, settings):
    settings.IMAGEGEN_TRASH_DAYS = 30
    task = finished(api, num_images=2)
    early, late = Image.objects.filter(task=task).order_by("index")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.images_trash(images=[early])
    with time_machine.travel(start + timedelta(days=25), tick=False):
        services.task_trash(task=task)
    assert services.trash_purge_expired(now=start + timedelta(days=31)) == {"tasks": 0, "images": 1}
    assert list(Image.objects.filter(task=task).values_list("pk", flat=True)) == [late.pk]


def test_with_no_trash_days_nothing_leaves_the_trash_by_itself(api, media, settings):
    settings.IMAGEGEN_TRASH_DAYS = 0
    task = finished(api)
    services.task_trash(task=task)
    assert services.trash_purge_expired(now=timezone.now() + timedelta(days=3650)) == {"tasks": 0, "images": 0}
    assert GenerationTask.objects.filter(pk=task.pk).exists()
