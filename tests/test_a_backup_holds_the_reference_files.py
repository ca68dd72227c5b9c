"""`backup` archives reference images (uploads and the tasks' copies) with the image files."""

from __future__ import annotations

import tarfile

import pytest

from generation.backups import backup_create
from generation.models import Reference

from .test_reference_images_are_checked_against_each_models_limits import picture
from .test_reference_images_reach_ark import upload

# The online backup reads the database from another connection: the test's writes must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_backup_holds_the_reference_files(api, media, tmp_path):
    path = Reference.objects.get(reference_id=upload(api, picture()).json()["reference_id"]).file_path
    result = backup_create(output=tmp_path / "b.tar.gz")
    with tarfile.open(result.path) as tar:
        assert f"media/{path}" in tar.getnames()
