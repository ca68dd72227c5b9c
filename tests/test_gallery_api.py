"""The gallery endpoints: image lists, tags, bulk actions, zip downloads and deleting images."""

import io
import zipfile

import pytest

from generation.models import ImageTag
from generation.models import GenerationTask, Image

from .conftest import files_under, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def images(api, media):
    ids = []
    for prompt in ("a red fox", "a blue whale", "a green frog"):
        task_id = api.generate(prompt=prompt)
        run(task_id)
        ids.append(GenerationTask.objects.get(task_id=task_id).images.get().image_id)
    return ids


def test_images_are_listed_newest_first_with_their_prompt(api, images):
    body = api.get("images").json()
    assert [i["image_id"] for i in body["results"]] == images[::-1]
    assert body["results"][0]["prompt"] == "a green frog"
    assert body["results"][0]["url"].startswith("/api/v1/images/")


def test_images_filter_by_prompt_text_and_model(api, images):
    assert [i["image_id"] for i in api.get("images", q="WHALE").json()["results"]] == [images[1]]
    assert api.get("images", model="jimeng_t2i_v40").json()["count"] == 0


def test_tags_are_added_normalised_and_removed(api, images):
    response = api.post(f"images/{images[0]}/tags", {"tags": ["  Cats ", "cute\u200b", "cats"]})
    assert response.status_code == 200
    assert response.json()["tags"] == ["cats", "cute"]
    assert api.get("images", tag="cats").json()["results"][0]["image_id"] == images[0]
    response = api.delete(f"images/{images[0]}/tags/cats")
    assert response.json()["tags"] == ["cute"]


@pytest.mark.parametrize("tags", [[""], ["x" * 51], [5], "cats", []])
def test_bad_tags_are_validation_errors(api, images, tags):
    response = api.post(f"images/{images[0]}/tags", {"tags": tags})
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert ImageTag.objects.count() == 0


def test_tags_on_an_unknown_image_are_404(api, db):
    assert api.post("images/img_nope/tags", {"tags": ["a"]}).status_code == 404


def test_tag_counts_are_listed_most_used_first(api, images):
    api.post("images/bulk", {"action": "tag", "image_ids": images, "tags": ["all"]})
    api.post(f"images/{images[0]}/tags", {"tags": ["one"]})
    assert api.get("tags").json() == [{"tag_name": "all", "count": 3}, {"tag_name": "one", "count": 1}]


def test_bulk_untag_and_delete_to_the_trash(api, images, media, django_capture_on_commit_callbacks):
    api.post("images/bulk", {"action": "tag", "image_ids": images, "tags": ["x"]})
    assert api.post("images/bulk", {"action": "untag", "image_ids": images[:2], "tags": ["x"]}).status_code == 200
    assert ImageTag.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("images/bulk", {"action": "delete", "image_ids": images[:2]})
    assert response.json() == {"action": "delete", "images": 2}
    assert [i["image_id"] for i in api.get("images").json()["results"]] == [images[2]]
    assert set(Image.objects.filter(deleted_at__isnull=False).values_list("image_id", flat=True)) == set(images[:2])
    assert len(files_under(media)) == 6  # in the trash, files and all
    assert GenerationTask.objects.count() == 3  # the history keeps the tasks


def test_bulk_with_an_unknown_image_changes_nothing(api, images):
    response = api.post("images/bulk", {"action": "delete", "image_ids": [images[0], "img_nope"]})
    assert response.status_code == 404
    assert response.json()["details"] == {"image_ids": ["img_nope"]}
    assert Image.objects.count() == 3


def test_bulk_tagging_needs_a_tag(api, images):
    response = api.post("images/bulk", {"action": "tag", "image_ids": images})
    assert response.status_code == 400


def test_several_originals_download_as_one_zip(api, images):
    response = api.client.get("/api/v1/images/zip", {"ids": ",".join(images[:2])})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert len(names) == 2 and all(n.endswith(".png") for n in names)
    assert {archive.getinfo(n).file_size for n in names} == set(
        Image.objects.filter(image_id__in=images[:2]).values_list("file_size", flat=True)
    )


def test_a_zip_needs_ids(api, db):
    assert api.get("images/zip").status_code == 400


def test_deleting_an_image_moves_it_to_the_trash_and_keeps_its_files(api, images, media,
                                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"images/{images[0]}")
    assert response.status_code == 204 and response.content == b""
    assert Image.objects.get(image_id=images[0]).deleted_at is not None
    assert len(files_under(media)) == 6
    assert api.get(f"images/{images[0]}").status_code == 404
    assert api.delete(f"images/{images[0]}").status_code == 404  # gone, as far as the API can tell


def test_deleting_an_image_with_purge_removes_its_files_and_keeps_its_task(api, images, media,
                                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"images/{images[0]}?purge=1")
    assert response.status_code == 204
    assert not Image.objects.filter(image_id=images[0]).exists()
    assert len(files_under(media)) == 4
    assert api.get(f"images/{images[0]}").status_code == 404
    assert GenerationTask.objects.count() == 3


def test_an_image_whose_task_is_deleted_while_the_list_is_read_is_left_out(api, images):
    from gallery import selectors
    from gallery.apis import GalleryImageOutput, gallery_bodies

    read_before_the_delete = list(Image.objects.order_by("-created_at"))  # the list's first query, task not yet read
    page_rows = list(selectors.image_rows(selectors.image_list(filters={})))  # the same, as the list API reads it
    assert len(read_before_the_delete) == len(page_rows) == 3
    GenerationTask.objects.filter(images__image_id=read_before_the_delete[0].image_id).delete()
    left = [image.image_id for image in selectors.image_list(filters={})]
    rows = GalleryImageOutput(read_before_the_delete, many=True).data
    assert [row["image_id"] for row in rows] == left
    assert [body["image_id"] for body in gallery_bodies(page_rows)] == left
