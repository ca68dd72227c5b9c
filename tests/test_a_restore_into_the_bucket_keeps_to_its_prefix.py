"""With IMAGEGEN_S3_PREFIX a restore writes the files under that prefix, and only that prefix counts when it
checks that the bucket is empty: another installation's images in the same bucket, under another prefix, are
neither a reason to refuse nor touched."""

from __future__ import annotations

import pytest

from generation import backups
from generation.models import Image

from .conftest import run
from .services import s3_env, s3_server, use_bucket  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_restores_under_its_prefix_beside_another_installations_images(
        api, media, settings, monkeypatch, tmp_path, s3_env, s3_server):
    run(api.generate(prompt="a cat", num_images=2))
    archive = backups.backup_create(output=tmp_path / "b.tar.gz").path
    paths = sorted(p for row in Image.objects.values_list("file_path", "thumbnail_path") for p in row)
    bucket, env = s3_env
    other = "site-b/images/zz/zz-task/0.png"
    s3_server.client().put_object(Bucket=bucket, Key=other, Body=b"site b's image")

    use_bucket(settings, monkeypatch, {**env, "IMAGEGEN_S3_PREFIX": "site-a"})
    backups.backup_restore(archive=archive, db_path=tmp_path / "a" / "db.sqlite3", media_root=None)
    assert s3_server.keys(bucket) == sorted([other, *(f"site-a/{p}" for p in paths)])

    with pytest.raises(backups.BackupError, match=f"s3://{bucket}/site-a already holds files"):
        backups.backup_restore(archive=archive, db_path=tmp_path / "again" / "db.sqlite3", media_root=None)
