"""With object storage (IMAGEGEN_STORAGE=s3) `backup` reads the images from the bucket into the archive, and
`restore` writes them into the bucket of the installation it restores: S3 → archive → another bucket gives
every image row its original (with the sha256 the row holds) and its thumbnail, byte for byte; the same archive
restored onto local disk gives the same files there."""

from __future__ import annotations

import hashlib
import sqlite3
import tarfile

import pytest

from generation import backups
from generation.models import Image

from .conftest import files_under, run
from .services import s3_env, s3_server, use_bucket  # noqa: F401  (fixtures)

# The online backup reads the database from another connection: the test's writes must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def test_it_backs_up_the_images_of_a_bucket_and_restores_them_into_another_bucket(
        api, media, settings, monkeypatch, tmp_path, s3_env, s3_server):
    source, env = s3_env
    use_bucket(settings, monkeypatch, env)
    for prompt, n in (("a harbour", 2), ("一座灯塔", 1)):
        run(api.generate(prompt=prompt, num_images=n))
    client = s3_server.client()
    in_source = {key: client.get_object(Bucket=source, Key=key)["Body"].read() for key in s3_server.keys(source)}
    assert len(in_source) == 2 * Image.objects.count() == 6 and files_under(media) == []

    result = backups.backup_create(output=tmp_path / "b.tar.gz")
    assert result.missing == [] and result.files == 6
    with tarfile.open(result.path) as tar:
        archived = {m.name.removeprefix("media/"): tar.extractfile(m).read() for m in tar.getmembers()
                    if m.name.startswith("media/")}
    assert archived == in_source  # read from the bucket

    target = s3_server.bucket()
    use_bucket(settings, monkeypatch, {**env, "IMAGEGEN_S3_BUCKET": target})
    restored = backups.backup_restore(archive=result.path, db_path=tmp_path / "target" / "db.sqlite3", media_root=None)
    assert restored.mismatched == [] and (restored.images, restored.files) == (3, 6)

    db = sqlite3.connect(tmp_path / "target" / "db.sqlite3")
    rows = db.execute("SELECT file_path, thumbnail_path, sha256 FROM images").fetchall()
    assert len(rows) == 3
    for file_path, thumbnail_path, sha256 in rows:
        original = client.get_object(Bucket=target, Key=file_path)["Body"].read()
        assert hashlib.sha256(original).hexdigest() == sha256 and original == in_source[file_path]
        assert client.get_object(Bucket=target, Key=thumbnail_path)["Body"].read() == in_source[thumbnail_path]
    assert s3_server.keys(target) == sorted(in_source)

    local = tmp_path / "local"
    backups.backup_restore(archive=result.path, db_path=local / "db.sqlite3", media_root=local / "media")
    assert {path: (local / "media" / path).read_bytes() for path in files_under(local / "media")} == in_source
