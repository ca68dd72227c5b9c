"""With object storage (IMAGEGEN_STORAGE=s3), `restore` writes the archive's files into the bucket through the
app's storage: a backup of a local-disk installation restored into S3 gives every image row its original
(with the sha256 the row holds), its thumbnail and its reference files in the bucket, and nothing on disk."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from generation import backups
from generation.models import Image, Reference

from .conftest import files_under, run
from .services import s3_env, s3_server, use_bucket  # noqa: F401  (fixtures)
from .test_reference_images_are_checked_against_each_models_limits import picture
from .test_reference_images_reach_ark import upload

# The online backup reads the database from another connection: the test's writes must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def test_it_restores_the_images_of_a_local_disk_backup_into_the_bucket(
        api, media, settings, monkeypatch, tmp_path, s3_env, s3_server):
    for prompt, n in (("a cat", 2), ("一只可爱的猫咪", 1)):
        run(api.generate(prompt=prompt, num_images=n))
    reference = Reference.objects.get(reference_id=upload(api, picture()).json()["reference_id"]).file_path
    on_disk = {path: (media / path).read_bytes() for path in files_under(media)}
    archive = backups.backup_create(output=tmp_path / "b.tar.gz").path

    bucket, env = s3_env
    use_bucket(settings, monkeypatch, env)
    target = tmp_path / "target"
    result = backups.backup_restore(archive=archive, db_path=target / "db.sqlite3", media_root=None)
    assert result.mismatched == [] and (result.images, result.files) == (3, 7)

    client = s3_server.client()

    def stored(key: str) -> bytes:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()

    db = sqlite3.connect(target / "db.sqlite3")
    rows = db.execute("SELECT file_path, thumbnail_path, sha256 FROM images").fetchall()
    assert len(rows) == Image.objects.count() == 3
    for file_path, thumbnail_path, sha256 in rows:
        assert hashlib.sha256(stored(file_path)).hexdigest() == sha256
        assert stored(thumbnail_path) == on_disk[thumbnail_path]
    assert stored(reference) == on_disk[reference]
    assert s3_server.keys(bucket) == sorted(on_disk)
    assert not (target / "media").exists()  # nothing went to the local disk
