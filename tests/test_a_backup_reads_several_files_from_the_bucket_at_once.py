"""With object storage, `backup` fetches several files from the bucket at once (each read is a round trip),
and still writes them into the archive in order, each exactly once; an object gone from the bucket is
reported as missing, and one the bucket refuses fails the backup naming it, leaving no archive and no
staged file behind."""

from __future__ import annotations

import tarfile
import threading
import time

import pytest
from botocore.exceptions import ClientError
from storages.backends.s3 import S3Storage

from generation import backups

from .conftest import run
from .services import s3_env, s3_server, use_bucket  # noqa: F401  (fixtures)

# The online backup reads the database from another connection: the test's writes must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bucket(api, media, settings, monkeypatch, s3_env, s3_server):
    name, env = s3_env
    use_bucket(settings, monkeypatch, env)
    for prompt in ("a harbour", "a lighthouse", "a ferry"):
        run(api.generate(prompt=prompt, num_images=2))
    return name


def archived(path) -> list[str]:
    with tarfile.open(path) as tar:
        return [m.name.removeprefix("media/") for m in tar.getmembers() if m.name.startswith("media/")]


def test_it_has_several_reads_in_flight_and_archives_every_file_once_in_order(bucket, s3_server, monkeypatch,
                                                                              tmp_path):
    keys = s3_server.keys(bucket)
    size = S3Storage.size
    lock = threading.Lock()
    in_flight, most = [0], [0]

    def counting(self, name):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        try:
            # Each read waits (up to a deadline) for another to be in flight with it: one at a time never is.
            deadline = time.monotonic() + 3
            while most[0] < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            return size(self, name)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(S3Storage, "size", counting)
    result = backups.backup_create(output=tmp_path / "out" / "b.tar.gz")
    assert most[0] >= 2
    assert result.missing == [] and result.files == len(keys) == 12
    assert archived(result.path) == sorted(keys)
    assert list((tmp_path / "out").iterdir()) == [result.path]  # no staged file left


def test_an_object_gone_from_the_bucket_is_reported_missing_and_the_rest_archived(bucket, s3_server, tmp_path):
    keys = s3_server.keys(bucket)
    gone = keys[2]
    s3_server.client().delete_object(Bucket=bucket, Key=gone)
    result = backups.backup_create(output=tmp_path / "b.tar.gz")
    assert result.missing == [gone] and result.files == 11
    assert archived(result.path) == [k for k in keys if k != gone]


def test_an_object_the_bucket_refuses_fails_the_backup_naming_it_and_leaves_nothing(bucket, s3_server, monkeypatch,
                                                                                   tmp_path):
    refused = s3_server.keys(bucket)[3]
    size = S3Storage.size

    def denying(self, name):
        if name == refused:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "HeadObject")
        return size(self, name)

    monkeypatch.setattr(S3Storage, "size", denying)
    with pytest.raises(backups.BackupError, match=f"could not read {refused} from s3://{bucket}: .*AccessDenied"):
        backups.backup_create(output=tmp_path / "out" / "b.tar.gz")
    assert list((tmp_path / "out").iterdir()) == []
