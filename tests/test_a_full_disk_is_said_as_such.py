"""A request that cannot write its files because the disk is full answers 507 `storage_full` in the envelope,
translated, and leaves nothing behind: not a 500."""

from __future__ import annotations

import errno

import pytest

from generation import storage
from generation.models import Reference

from .conftest import files_under
from .test_reference_images_reach_ark import picture, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_disk(monkeypatch):
    def no_room(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "_save", no_room)


def test_an_upload_on_a_full_disk_is_refused_as_storage_full(api, media, full_disk):
    response = upload(api, picture())
    assert response.status_code == 507
    assert response.json()["error"] == "storage_full" and response["Retry-After"] == "60"
    assert Reference.objects.count() == 0 and files_under(media) == []


def test_the_refusal_is_translated(api_zh, media, full_disk):
    response = upload(api_zh, picture())
    assert response.status_code == 507 and "存储" in response.json()["message"]
