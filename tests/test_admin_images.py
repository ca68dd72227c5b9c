"""The staff console's image list: thumbnail, size, bytes, tags and owning task; tags edited one image at a
time or in bulk, through the tag services."""

import pytest
from django.contrib.admin.models import LogEntry

from generation.models import ImageTag
from generation.models import Image

from .admin_helpers import IMAGES, act, make_tasks, messages_of
from .conftest import run

pytestmark = pytest.mark.django_db


def tags_of(image) -> set[str]:
    return set(ImageTag.objects.filter(image=image).values_list("tag_name", flat=True))


def test_it_lists_images_with_thumbnail_size_bytes_tags_and_task(admin_client, api, media):
    task_id = api.generate(prompt="a red kite", num_images=2)
    run(task_id)
    image = Image.objects.filter(task__task_id=task_id).order_by("index").first()
    ImageTag.objects.create(image=image, tag_name="birds")
    html = admin_client.get(IMAGES).content.decode()
    assert f"/api/v1/images/{image.image_id}/thumbnail" in html
    assert f"{image.width}×{image.height}" in html
    assert "KiB" in html and "birds" in html and task_id[:8] in html


def test_its_query_count_does_not_depend_on_the_page_size(admin_client, monkeypatch, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery.admin import ImageAdmin

    tasks = make_tasks(60, images_per_task=2)
    ImageTag.objects.bulk_create(ImageTag(image=i, tag_name="t") for i in Image.objects.filter(task__in=tasks))

    def queries(per_page):
        monkeypatch.setattr(ImageAdmin, "list_per_page", per_page)
        admin_client.get(IMAGES)
        with CaptureQueriesContext(connection) as ctx:
            admin_client.get(IMAGES)
        return len(ctx.captured_queries)

    assert queries(5) == queries(100)


def test_tags_are_edited_on_the_image_page_and_normalised(admin_client, api, media):
    task_id = api.generate()
    run(task_id)
    image = Image.objects.get(task__task_id=task_id)
    ImageTag.objects.create(image=image, tag_name="old")
    url = f"{IMAGES}{image.pk}/change/"
    assert 'value="old"' in admin_client.get(url).content.decode()

    response = admin_client.post(url, {"tags": "  Sunset ,  城市，new   tag"}, follow=True)
    assert response.status_code == 200
    assert tags_of(image) == {"sunset", "城市", "new tag"}
    assert LogEntry.objects.filter(object_id=str(image.pk)).exists()
    image.refresh_from_db()
    assert image.file_size > 0  # the image row itself is untouched


def test_too_many_tags_are_refused_with_a_form_error(admin_client, api, media):
    task_id = api.generate()
    run(task_id)
    image = Image.objects.get(task__task_id=task_id)
    response = admin_client.post(f"{IMAGES}{image.pk}/change/", {"tags": ",".join(f"t{i}" for i in range(31))})
    assert response.status_code == 200
    assert "at most 30 tags" in response.content.decode()
    assert tags_of(image) == set()


def test_tags_are_added_to_and_removed_from_many_images_at_once(admin_client):
    images = list(Image.objects.filter(task__in=make_tasks(3, images_per_task=1)))
    pks = [i.pk for i in images]

    form = act(admin_client, IMAGES, "add_tags", pks)
    assert 'name="names"' in form.content.decode()
    response = act(admin_client, IMAGES, "add_tags", pks, apply="1", names="Blue, sky")
    assert "6 tags added." in messages_of(response)
    assert all(tags_of(i) == {"blue", "sky"} for i in images)

    response = act(admin_client, IMAGES, "remove_tags", pks[:2], apply="1", names="blue")
    assert "2 tags removed." in messages_of(response)
    assert [tags_of(i) for i in images] == [{"sky"}, {"sky"}, {"blue", "sky"}]
    assert LogEntry.objects.filter(change_message="Removed tags: blue").count() == 2


def test_an_empty_tag_list_is_refused(admin_client):
    images = list(Image.objects.filter(task__in=make_tasks(1, images_per_task=1)))
    response = act(admin_client, IMAGES, "add_tags", [images[0].pk], apply="1", names=" , ")
    assert "Give at least one tag." in response.content.decode()


def test_images_are_not_deleted_on_their_own(admin_client):
    image = Image.objects.filter(task__in=make_tasks(1, images_per_task=1)).get()
    assert admin_client.post(f"{IMAGES}{image.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Image.objects.filter(pk=image.pk).exists()
