"""The scale path's backup and restore: an installation on PostgreSQL with its images in a bucket
(IMAGEGEN_STORAGE=s3) is backed up with `manage.py backup` (pg_dump, and the files read from the bucket) and
restored with `manage.py restore` into a fresh one (a new database and another, empty bucket), where every
image row's original (sha256) and thumbnail are in the new bucket; a second restore is refused."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from .services import postgres_url, s3_env, s3_server  # noqa: F401  (fixtures)
from .stack import ROOT, Stack
from .test_backup_postgresql import second_database  # noqa: F401  (fixture)

pytestmark = pytest.mark.processes


def manage(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=stack.env, capture_output=True,
                          text=True, timeout=180)


def test_a_postgresql_and_s3_installation_is_backed_up_and_restored_into_a_fresh_one(
        tmp_path, postgres_url, second_database, s3_env, s3_server):
    source_bucket, s3 = s3_env
    source = Stack(tmp_path / "source", DATABASE_URL=postgres_url, IMAGEGEN_PREVIEW_LATENCY="0", **s3)
    made = manage(source, "generate", "a lighthouse", "-n", "2", "--here")
    assert made.returncode == 0, made.stderr
    backed_up = manage(source, "backup", "--output", str(tmp_path / "b.tar.gz"))
    assert backed_up.returncode == 0, backed_up.stderr
    assert "1 tasks, 2 images, 4 files" in backed_up.stdout
    client = s3_server.client()
    in_source = {key: client.get_object(Bucket=source_bucket, Key=key)["Body"].read()
                 for key in s3_server.keys(source_bucket)}
    assert len(in_source) == 4

    target_bucket = s3_server.bucket()
    target = Stack(tmp_path / "target", DATABASE_URL=second_database, **{**s3, "IMAGEGEN_S3_BUCKET": target_bucket})
    restored = manage(target, "restore", str(tmp_path / "b.tar.gz"))
    assert restored.returncode == 0, restored.stderr
    assert f"s3://{target_bucket}" in restored.stdout and "every file matches its checksum" in restored.stdout
    rows = target.query("SELECT file_path, thumbnail_path, sha256 FROM images")
    assert len(rows) == 2
    for file_path, thumbnail_path, sha256 in rows:
        original = client.get_object(Bucket=target_bucket, Key=file_path)["Body"].read()
        assert hashlib.sha256(original).hexdigest() == sha256
        assert client.get_object(Bucket=target_bucket, Key=thumbnail_path)["Body"].read() == in_source[thumbnail_path]
    assert s3_server.keys(target_bucket) == sorted(in_source)

    again = manage(target, "restore", str(tmp_path / "b.tar.gz"))
    assert again.returncode != 0 and "already holds tasks or users" in again.stderr
