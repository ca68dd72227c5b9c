"""Item 8: erasing an account reaches every copy the product keeps: what the user put in the trash (rows
and files), the webhook signing secret and the delivery log, and the originals and thumbnails in object
storage. Bob, erased by nobody, keeps all of his."""

from __future__ import annotations

import pytest

from generation.models import GenerationTask, Image
from generation.webhook_models import WebhookDelivery, WebhookSecret
from imagegen.people.personal_data import user_erase

from .accounts import PASSWORD, accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import files_under, run
from .services import s3_env, s3_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def alices_world(alice_user):
    """Alice with a task and an image in her trash, a kept task, a webhook secret and a delivery log."""
    alice = signed_in(alice_user)
    trashed, kept = alice.generate(prompt="a trashed harbour"), alice.generate(prompt="a kept lighthouse", num_images=2)
    run(trashed)
    run(kept)
    assert alice.delete(f"task/{trashed}").status_code in (200, 202, 204)
    image = Image.objects.filter(task__task_id=kept).order_by("index").first()
    assert alice.delete(f"images/{image.image_id}").status_code in (200, 202, 204)
    assert Image.objects.filter(owner=alice_user, deleted_at__isnull=False).count() == 2  # both in the trash
    assert alice.post("webhooks/secret").status_code in (200, 201)
    WebhookDelivery.objects.create(task=GenerationTask.objects.get(task_id=kept), owner=alice_user,
                                   url="https://hooks.example.com/alice", event="completed",
                                   payload={"task_id": kept}, state="delivered", attempts=1, last_status=200)
    return alice


def bobs_task(bob_user) -> str:
    task_id = signed_in(bob_user).generate(prompt="bob's meadow")
    run(task_id)
    return task_id


def assert_nothing_of_alice_is_left(alice_user):
    assert not GenerationTask.objects.filter(owner_id=alice_user.pk).exists()
    assert not Image.objects.filter(owner_id=alice_user.pk).exists()
    assert not WebhookSecret.objects.filter(owner_id=alice_user.pk).exists()
    assert not WebhookDelivery.objects.filter(owner_id=alice_user.pk).exists()


def test_the_trash_and_the_webhook_records_go_with_the_account(accounts, media):
    alice_user, bob_user = make_user("alice"), make_user("bob")
    alice = alices_world(alice_user)
    bobs = bobs_task(bob_user)
    bob_files = [p for i in Image.objects.filter(task__task_id=bobs) for p in (i.file_path, i.thumbnail_path)]
    assert alice.post("account/erase", {"password": PASSWORD}).status_code == 204
    assert_nothing_of_alice_is_left(alice_user)
    assert sorted(files_under(media)) == sorted(bob_files)


def test_the_files_in_object_storage_go_with_the_account(accounts, media, settings, s3_env, s3_server):
    bucket, env = s3_env
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": bucket, "endpoint_url": env["IMAGEGEN_S3_ENDPOINT_URL"], "access_key": "testing",
        "secret_key": "testing", "region_name": "us-east-1", "addressing_style": "path", "default_acl": None,
        "file_overwrite": True}}}
    alice_user, bob_user = make_user("alice"), make_user("bob")
    alices_world(alice_user)
    bobs = bobs_task(bob_user)
    assert len(s3_server.keys(bucket)) == 2 * (1 + 2 + 1)  # an original and a thumbnail of every image
    user_erase(user=alice_user)
    assert_nothing_of_alice_is_left(alice_user)
    bob_keys = sorted(p for i in Image.objects.filter(task__task_id=bobs) for p in (i.file_path, i.thumbnail_path))
    assert s3_server.keys(bucket) == bob_keys
    assert files_under(media) == []  # nothing was written locally
