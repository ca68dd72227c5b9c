"""A restore into object storage puts several files at once (a bucket answers each PUT in a round trip, so
one at a time would make a large restore take hours), and still waits for all of them before the database
goes in: every file is in the bucket, each exactly once, when the restore returns."""

from __future__ import annotations

import threading
import time

import pytest
from storages.backends.s3 import S3Storage

from generation import backups

from .conftest import files_under, run
from .services import s3_env, s3_server, use_bucket  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_has_several_puts_in_flight_and_returns_when_every_file_is_in(
        api, media, settings, monkeypatch, tmp_path, s3_env, s3_server):
    for prompt in ("a cat", "a dog", "a fox"):
        run(api.generate(prompt=prompt, num_images=2))
    on_disk = files_under(media)
    archive = backups.backup_create(output=tmp_path / "b.tar.gz").path

    bucket, env = s3_env
    use_bucket(settings, monkeypatch, env)
    save = S3Storage._save
    lock = threading.Lock()
    in_flight, most, saved = [0], [0], []

    def counting(self, name, content):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        try:
            # Each PUT waits (up to a deadline) for another to be in flight with it: one at a time never is.
            deadline = time.monotonic() + 3
            while most[0] < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            return save(self, name, content)
        finally:
            with lock:
                in_flight[0] -= 1
                saved.append(name)

    monkeypatch.setattr(S3Storage, "_save", counting)
    result = backups.backup_restore(archive=archive, db_path=tmp_path / "target" / "db.sqlite3", media_root=None)
    assert most[0] >= 2
    assert in_flight[0] == 0 and sorted(saved) == sorted(on_disk)  # all done, none twice
    assert result.files == len(on_disk) and result.mismatched == []
    assert s3_server.keys(bucket) == sorted(on_disk)
    assert list((tmp_path / "target").iterdir()) == [tmp_path / "target" / "db.sqlite3"]  # no staged file left
