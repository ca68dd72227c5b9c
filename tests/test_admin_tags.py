"""The staff console's tag list: one row per tag with its usage count; merge, rename and remove."""

import pytest
from django.contrib.admin.models import LogEntry

from generation.models import ImageTag
from generation.models import Image

from .admin_helpers import TAGS, act, make_tasks, messages_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def images():
    return list(Image.objects.filter(task__in=make_tasks(3, images_per_task=1)).order_by("pk"))


def tag(images, name, *which):
    ImageTag.objects.bulk_create(ImageTag(image=images[i], tag_name=name) for i in which)


def usage() -> dict[str, int]:
    from django.db.models import Count

    return dict(ImageTag.objects.values_list("tag_name").annotate(n=Count("id")).values_list("tag_name", "n"))


def row_of(response, name):
    return next(row for row in response.context["cl"].result_list if row.tag_name == name)


def test_it_lists_each_tag_once_with_its_usage_count(admin_client, images):
    tag(images, "cat", 0, 1, 2)
    tag(images, "dog", 1)
    response = admin_client.get(TAGS)
    rows = {row.tag_name: row.usage for row in response.context["cl"].result_list}
    assert rows == {"cat": 3, "dog": 1}
    assert "/admin/generation/image/?tag=cat" in response.content.decode()


def test_two_tags_are_merged_into_one(admin_client, images):
    tag(images, "kitty", 0, 1)
    tag(images, "cat", 1, 2)
    listing = admin_client.get(TAGS)
    pks = [row_of(listing, "kitty").pk, row_of(listing, "cat").pk]

    form = act(admin_client, TAGS, "merge_tags", pks)
    assert 'name="target"' in form.content.decode()
    response = act(admin_client, TAGS, "merge_tags", pks, apply="1", target="Cat")
    assert any("Merged" in m for m in messages_of(response))
    assert usage() == {"cat": 3}
    assert LogEntry.objects.filter(change_message__startswith="Merged cat, kitty into cat").exists()


def test_a_tag_is_renamed(admin_client, images):
    tag(images, "sunset", 0, 2)
    tag(images, "dusk", 2)
    pk = row_of(admin_client.get(TAGS), "sunset").pk
    act(admin_client, TAGS, "rename_tag", [pk], apply="1", target="dusk")
    assert usage() == {"dusk": 2}


def test_renaming_needs_exactly_one_tag(admin_client, images):
    tag(images, "a", 0)
    tag(images, "b", 1)
    listing = admin_client.get(TAGS)
    response = act(admin_client, TAGS, "rename_tag", [row_of(listing, "a").pk, row_of(listing, "b").pk])
    assert any("exactly one" in m for m in messages_of(response))
    assert usage() == {"a": 1, "b": 1}


def test_a_tag_is_removed_from_every_image(admin_client, images):
    tag(images, "draft", 0, 1, 2)
    tag(images, "keep", 0)
    pk = row_of(admin_client.get(TAGS), "draft").pk
    act(admin_client, TAGS, "remove_everywhere", [pk], apply="1")
    assert usage() == {"keep": 1}
    assert Image.objects.count() == 3


def test_a_bad_new_name_is_refused(admin_client, images):
    tag(images, "x", 0)
    pk = row_of(admin_client.get(TAGS), "x").pk
    response = act(admin_client, TAGS, "rename_tag", [pk], apply="1", target="y" * 60)
    assert "at most 50 characters" in response.content.decode()
    assert usage() == {"x": 1}
