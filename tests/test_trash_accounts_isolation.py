"""Accounts mode: each user has a trash of their own. Bob sees, restores, deletes and empties only his; Alice's
entries answer him exactly like ids that do not exist, and emptying his trash leaves hers alone (staff too,
through the API: emptying everyone's is the staff console's)."""

import uuid

import pytest

from generation.models import GenerationTask, Image

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def finished(api) -> dict:
    task_id = api.generate()
    run(task_id)
    return api.get(f"task/{task_id}").json()


@pytest.fixture
def two(accounts, media):
    alice, bob = signed_in(make_user("alice")), signed_in(make_user("bob", staff=True))
    alices_task, alices_image_task, bobs_task = finished(alice), finished(alice), finished(bob)
    alices_image = alices_image_task["images"][0]["image_id"]
    assert alice.delete(f"task/{alices_task['task_id']}").status_code == 204
    assert alice.delete(f"images/{alices_image}").status_code == 204
    assert bob.delete(f"task/{bobs_task['task_id']}").status_code == 204
    return alice, bob, alices_task, alices_image, bobs_task, media


def test_each_user_lists_only_their_own_trash(two):
    alice, bob, alices_task, alices_image, bobs_task, media = two
    assert {e["item_id"] for e in alice.get("trash").json()["results"]} == {alices_task["task_id"], alices_image}
    assert [e["item_id"] for e in bob.get("trash").json()["results"]] == [bobs_task["task_id"]]


def test_another_user_s_entries_answer_like_missing_ones(two):
    alice, bob, alices_task, alices_image, _bobs, _media = two
    for item, missing in ((alices_task["task_id"], str(uuid.uuid4())), (alices_image, "img_" + uuid.uuid4().hex)):
        for method, path in (("post", f"trash/{item}/restore"), ("delete", f"trash/{item}")):
            theirs = getattr(bob.client, method)(f"/api/v1/{path}")
            unknown = getattr(bob.client, method)(f"/api/v1/{path.replace(item, missing)}")
            assert theirs.status_code == unknown.status_code == 404 and theirs.json() == unknown.json()
    thumbnail = alice.get("trash").json()["results"][0]["images"][0]["thumbnail_url"]
    assert alice.client.get(thumbnail).status_code == 200
    assert bob.client.get(thumbnail).status_code == 404
    assert GenerationTask.objects.get(task_id=alices_task["task_id"]).deleted_at is not None
    assert Image.objects.get(image_id=alices_image).deleted_at is not None


def test_emptying_one_s_trash_leaves_the_other_user_s_alone(two, django_capture_on_commit_callbacks):
    alice, bob, alices_task, alices_image, bobs_task, media = two
    with django_capture_on_commit_callbacks(execute=True):
        assert bob.delete("trash").json() == {"tasks": 1, "images": 0}
    assert bob.get("trash").json()["count"] == 0
    assert alice.get("trash").json()["count"] == 2
    assert not GenerationTask.objects.filter(task_id=bobs_task["task_id"]).exists()
    assert len(files_under(media)) == 4  # Alice's two tasks: an original and a thumbnail each


def test_a_restore_is_the_owner_s_and_brings_the_item_back_to_them_alone(two):
    alice, bob, alices_task, _image, _bobs, _media = two
    assert alice.post(f"trash/{alices_task['task_id']}/restore").status_code == 200
    assert alice.get(f"task/{alices_task['task_id']}").status_code == 200
    assert bob.get(f"task/{alices_task['task_id']}").status_code == 404
    assert alices_task["task_id"] not in [t["task_id"] for t in bob.get("history").json()["results"]]
