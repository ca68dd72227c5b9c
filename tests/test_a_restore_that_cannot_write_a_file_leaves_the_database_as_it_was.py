"""A file the bucket (or the media directory) does not take fails the restore with a message naming
it; the database goes in last, so the one in place is left as it was, and the files the restore had already
written are removed again (a bucket that was empty is empty again, ready for another try)."""

from __future__ import annotations

import sqlite3
import tarfile

import pytest
from botocore.exceptions import ClientError
from storages.backends.s3 import S3Storage

from generation import backups

from .conftest import files_under, run
from .services import s3_env, s3_server, use_bucket  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_names_the_file_it_cannot_write_and_leaves_the_database_and_the_bucket_as_they_were(
        api, media, settings, monkeypatch, tmp_path, s3_env, s3_server):
    run(api.generate(prompt="a cat", num_images=2))
    run(api.generate(prompt="a dog", num_images=1))
    archive = backups.backup_create(output=tmp_path / "b.tar.gz").path
    with tarfile.open(archive) as tar:
        files = [m.name.removeprefix("media/") for m in tar.getmembers() if m.name.startswith("media/")]
    refused = files[3]  # three files are written before it

    bucket, env = s3_env
    use_bucket(settings, monkeypatch, env)
    save = S3Storage._save

    def denying(self, name, content):
        if name == refused:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")
        return save(self, name, content)

    monkeypatch.setattr(S3Storage, "_save", denying)
    db_path = tmp_path / "target" / "db.sqlite3"
    db_path.parent.mkdir()
    in_place = sqlite3.connect(db_path)
    in_place.execute("CREATE TABLE kept (what TEXT)")
    in_place.execute("INSERT INTO kept VALUES ('the database in place')")
    in_place.commit()
    in_place.close()
    before = db_path.read_bytes()
    with pytest.raises(backups.BackupError, match=f"could not write {refused} into s3://{bucket}: .*AccessDenied"):
        backups.backup_restore(archive=archive, db_path=db_path, media_root=None, force=True)
    assert db_path.read_bytes() == before
    assert s3_server.keys(bucket) == []  # the three written before it were removed

    monkeypatch.setattr(S3Storage, "_save", save)  # the bucket takes files again: the same restore goes through
    backups.backup_restore(archive=archive, db_path=db_path, media_root=None, force=True)
    assert s3_server.keys(bucket) == sorted(files) and db_path.read_bytes() != before


def test_on_local_disk_too_it_names_the_file_and_removes_the_ones_it_had_added(api, media, tmp_path):
    run(api.generate(prompt="a cat", num_images=2))
    run(api.generate(prompt="a dog", num_images=1))
    archive = backups.backup_create(output=tmp_path / "b.tar.gz").path
    with tarfile.open(archive) as tar:
        files = [m.name.removeprefix("media/") for m in tar.getmembers() if m.name.startswith("media/")]
    folder = max(f.rsplit("/", 1)[0] for f in files)  # the task folder written last
    target = tmp_path / "target"
    (target / "media" / folder).parent.mkdir(parents=True)
    (target / "media" / folder).write_bytes(b"a file where the task's folder must go")

    with pytest.raises(backups.BackupError, match=f"could not write {folder}/.* into {target / 'media'}"):
        backups.backup_restore(archive=archive, db_path=target / "db.sqlite3", media_root=target / "media", force=True)
    assert not (target / "db.sqlite3").exists()
    assert files_under(target / "media") == [folder]  # the other task's files, written first, were removed
