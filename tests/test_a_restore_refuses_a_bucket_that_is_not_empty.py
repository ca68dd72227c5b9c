"""A restore into object storage refuses a bucket (or prefix) that already holds files under the app's folders
(images/, references/), as it refuses a media directory that holds files: nothing is written, the database is
not put in place; --force writes over them. Objects outside those folders do not count."""

from __future__ import annotations

import pytest

from generation import backups

from .conftest import run
from .services import s3_env, s3_server, use_bucket  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def archive(api, media, tmp_path):
    run(api.generate(prompt="a cat", num_images=2))
    return backups.backup_create(output=tmp_path / "b.tar.gz").path


@pytest.mark.parametrize("stray", ["images/zz/zz-other-installation/0.png", "references/uploads/zz/ref_zz.png"])
def test_it_refuses_a_bucket_that_holds_images_or_references_without_force(
        archive, settings, monkeypatch, tmp_path, s3_env, s3_server, stray):
    bucket, env = s3_env
    s3_server.client().put_object(Bucket=bucket, Key=stray, Body=b"someone else's file")
    use_bucket(settings, monkeypatch, env)
    db_path = tmp_path / "target" / "db.sqlite3"
    with pytest.raises(backups.BackupError, match=f"s3://{bucket} already holds files under images/, references/"):
        backups.backup_restore(archive=archive, db_path=db_path, media_root=None)
    assert s3_server.keys(bucket) == [stray] and not db_path.exists()

    backups.backup_restore(archive=archive, db_path=db_path, media_root=None, force=True)
    assert len(s3_server.keys(bucket)) == 1 + 4 and db_path.exists()


def test_objects_outside_the_apps_folders_do_not_count(archive, settings, monkeypatch, tmp_path, s3_env, s3_server):
    bucket, env = s3_env
    s3_server.client().put_object(Bucket=bucket, Key="notes/readme.txt", Body=b"not the app's")
    use_bucket(settings, monkeypatch, env)
    backups.backup_restore(archive=archive, db_path=tmp_path / "target" / "db.sqlite3", media_root=None)
    assert len(s3_server.keys(bucket)) == 1 + 4
