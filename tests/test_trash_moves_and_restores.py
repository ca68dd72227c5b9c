"""The trash's services: a finished task goes there with its images, an image alone; files stay; a restore
brings back exactly what went (tags, boards, stars, share links as they were). Unfinished tasks are refused,
and a task in the trash is never retried."""

import pytest
from django.core.files.storage import default_storage

from core.errors import Conflict, NotFound
from gallery import services as gallery_services
from gallery.models import BoardImage, Star
from generation import services, trash_selectors
from generation.models import GenerationTask, Image, ImageTag

from .admin_helpers import make_tasks
from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def finished(api, **changes) -> GenerationTask:
    task_id = api.generate(**changes)
    run(task_id)
    return GenerationTask.objects.get(task_id=task_id)


def test_it_moves_a_task_and_its_images_to_the_trash_and_keeps_every_file(api, media):
    task = finished(api, num_images=2)
    before = files_under(media)
    services.task_trash(task=task)
    task.refresh_from_db()
    assert task.deleted_at is not None
    assert set(Image.objects.filter(task=task).values_list("deleted_at", flat=True)) == {task.deleted_at}
    assert files_under(media) == before and len(before) == 4
    assert all(default_storage.exists(i.file_path) for i in Image.objects.filter(task=task))


def test_restoring_a_task_brings_it_back_with_its_tags_boards_stars_and_share_links(api, media):
    task = finished(api, num_images=2)
    first, second = Image.objects.filter(task=task).order_by("index")
    gallery_services.tags_add(images=[first], names=["kept"])
    board = gallery_services.board_create(name="Kept")
    gallery_services.board_add(board=board, images=[first, second])
    gallery_services.star_set(image=second, starred=True)
    link = gallery_services.share_create(kind="task", target_id=task.task_id)
    services.task_trash(task=task)
    assert api.client.get(f"/s/{link.token}").status_code == 404
    services.task_restore(task=task)
    assert task.deleted_at is None
    assert Image.objects.filter(task=task, deleted_at__isnull=True).count() == 2
    assert list(ImageTag.objects.values_list("image_id", "tag_name")) == [(first.pk, "kept")]
    assert BoardImage.objects.filter(board=board).count() == 2
    assert Star.objects.get().image_id == second.pk
    assert api.client.get(f"/s/{link.token}").status_code == 200
    assert api.get(f"task/{task.task_id}").json()["images"][0]["tags"] == ["kept"]


def test_an_image_trashed_alone_before_its_task_stays_in_the_trash_when_the_task_comes_back(api, media):
    task = finished(api, num_images=2)
    alone, other = Image.objects.filter(task=task).order_by("index")
    assert services.images_trash(images=[alone]) == 1
    services.task_trash(task=task)
    # The task's entry holds the image that went with it, not the one that was there before it.
    assert [i.pk for i in trash_selectors.trash_get(item_id=task.task_id).images] == [other.pk]
    services.task_restore(task=task)
    assert Image.objects.get(pk=other.pk).deleted_at is None
    assert Image.objects.get(pk=alone.pk).deleted_at is not None
    entry = trash_selectors.trash_get(item_id=alone.image_id)
    assert entry.kind == "image" and entry.image.pk == alone.pk


def test_an_image_trashed_alone_leaves_its_task_and_the_task_s_other_images(api, media):
    task = finished(api, num_images=2)
    alone, other = Image.objects.filter(task=task).order_by("index")
    services.images_trash(images=[alone])
    body = api.get(f"task/{task.task_id}").json()
    assert [i["image_id"] for i in body["images"]] == [other.image_id]
    entry = trash_selectors.trash_get(item_id=alone.image_id)
    services.image_restore(image=entry.image)
    assert [i["image_id"] for i in api.get(f"task/{task.task_id}").json()["images"]] == [alone.image_id, other.image_id]


def test_an_image_that_went_with_its_task_is_not_an_entry_of_its_own(api, media):
    task = finished(api)
    image = Image.objects.get(task=task)
    services.task_trash(task=task)
    with pytest.raises(NotFound):
        trash_selectors.trash_get(item_id=image.image_id)
    assert [e.item_id for e in trash_selectors.trash_entries(trash_selectors.trash_list())] == [task.task_id]


@pytest.mark.parametrize("status", ["pending", "processing", "retrying"])
def test_an_unfinished_task_is_refused_and_stays_out_of_the_trash(status, media):
    task = make_tasks(1, status=status)[0]
    with pytest.raises(Conflict) as refused:
        services.task_trash(task=task)
    assert refused.value.code == "task_unfinished" and refused.value.status == 409
    task.refresh_from_db()
    assert task.deleted_at is None


def test_a_task_already_in_the_trash_is_not_found_the_second_time(media):
    task = make_tasks(1)[0]
    services.task_trash(task=task)
    with pytest.raises(NotFound):
        services.task_trash(task=GenerationTask.objects.get(pk=task.pk))


def test_a_task_in_the_trash_is_never_retried(media):
    task = make_tasks(1, status="failed")[0]
    services.task_trash(task=task)
    assert services.task_retry(task=task) is False
    assert GenerationTask.objects.get(pk=task.pk).status == "failed"


def test_restoring_what_is_no_longer_in_the_trash_is_not_found(media):
    task = make_tasks(1)[0]
    services.task_trash(task=task)
    entry = trash_selectors.trash_get(item_id=task.task_id)
    services.task_restore(task=entry.task)
    with pytest.raises(NotFound):
        services.task_restore(task=GenerationTask.objects.get(pk=task.pk))


def test_an_image_is_not_restored_alone_once_its_task_has_followed_it_into_the_trash(api, media):
    task = finished(api, num_images=2)
    alone = Image.objects.filter(task=task).order_by("index").first()
    services.images_trash(images=[alone])
    entry = trash_selectors.trash_get(item_id=alone.image_id)
    services.task_trash(task=task)  # meanwhile
    with pytest.raises(NotFound):
        services.image_restore(image=entry.image)
    assert Image.objects.get(pk=alone.pk).deleted_at is not None
    assert api.get("images").json()["count"] == 0
