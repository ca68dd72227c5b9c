"""A person's data, theirs to take (issue 18, item 8): one zip with their tasks, images (the files), tags and
settings as JSON, from the account page and the API; nothing of anyone else's; no secret; audited. Open
mode has no accounts: no archive."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from django.test import Client

from accounts.audit.models import AuditEvent
from generation.models import Image

from .accounts import accounts, with_token  # noqa: F401  (fixture)
from .people import people  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def archive_of(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="imagegen-alice-')
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_account_page_downloads_everything_of_the_user_s(people):
    page = people.alice.client.get("/account").content.decode()
    assert 'href="/account/export"' in page and 'href="/account/delete"' in page
    archive = archive_of(people.alice.client.get("/account/export"))
    names = set(archive.namelist())
    assert {"account.json", "tasks.json", "images.json", "tags.json"} <= names
    tasks = json.loads(archive.read("tasks.json"))
    assert [t["prompt"] for t in tasks] == ["alice's harbour at dawn", "alice's unfinished lighthouse"]
    assert tasks[0]["images"] == [i.image_id for i in people.images]
    images = json.loads(archive.read("images.json"))
    assert [i["image_id"] for i in images] == [i.image_id for i in people.images]
    assert images[0]["tags"] == ["dawn", "harbour"]
    for entry, image in zip(images, people.images, strict=True):
        assert hashlib.sha256(archive.read(entry["file"])).hexdigest() == image.sha256
    assert json.loads(archive.read("tags.json")) == [{"name": "dawn", "images": 1}, {"name": "harbour", "images": 1}]
    account = json.loads(archive.read("account.json"))
    assert account["username"] == "alice" and account["email"] == "alice@example.com"
    assert account["settings"]["two_factor"] is False
    assert [t["name"] for t in account["api_tokens"]] == ["laptop script"]


def test_the_archive_holds_nothing_of_anyone_else_s_and_no_secret(people):
    archive = archive_of(people.alice.client.get("/account/export"))
    everything = b"".join(archive.read(name) for name in archive.namelist())
    text = b"".join(archive.read(n) for n in archive.namelist() if n.endswith(".json"))
    # Names are looked for in the JSON only: three random bytes of an image may spell "bob".
    assert b"bob" not in text and b"meadow" not in text and b"digest" not in text
    bobs_images = {i.sha256 for i in Image.objects.filter(task__task_id=people.bobs)}
    in_archive = {hashlib.sha256(archive.read(n)).hexdigest() for n in archive.namelist() if n.startswith("images/")}
    assert in_archive == {i.sha256 for i in people.images} and not in_archive & bobs_images
    assert people.token.encode() not in everything
    assert people.alice_user.password.encode() not in everything


def test_the_api_gives_the_same_archive_to_a_token_that_may_read(people):
    archive = archive_of(with_token(people.token).get("account/export"))
    assert len(json.loads(archive.read("images.json"))) == 2


def test_each_download_is_audited(people):
    people.alice.client.get("/account/export")
    event = AuditEvent.objects.get(kind="data_exported")
    assert event.username == "alice" and event.object_id == "user:alice" and event.user_id == people.alice_user.pk


def test_the_api_needs_a_user(people):
    answer = Client().get("/api/v1/account/export")
    assert answer.status_code == 401 and answer.json()["error"] == "not_authenticated"


def test_in_open_mode_there_is_no_archive(db):
    assert Client().get("/account/export").status_code == 404
    answer = Client().get("/api/v1/account/export")
    assert answer.status_code == 404 and answer.json()["error"] == "not_found"
