"""`manage.py restore` run with IMAGEGEN_STORAGE=s3 (and IMAGEGEN_S3_*) in its environment writes the files into
that bucket, not into the media directory; run again for a new data directory against the same bucket, it is
refused because the bucket now holds images."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from generation import backups
from generation.models import Image

from .conftest import files_under, run
from .services import s3_env, s3_server  # noqa: F401  (fixtures)
from .stack import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def restore(env: dict, data_dir, archive) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CACHE_URL"))},
           "DJANGO_SETTINGS_MODULE": "imagegen.settings", "IMAGEGEN_DATA_DIR": str(data_dir), **env}
    return subprocess.run([sys.executable, "manage.py", "restore", str(archive)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_the_restore_command_writes_into_the_bucket_of_its_settings(api, media, tmp_path, s3_env, s3_server):
    run(api.generate(prompt="a cat", num_images=2))
    archive = backups.backup_create(output=tmp_path / "b.tar.gz").path
    paths = sorted(p for row in Image.objects.values_list("file_path", "thumbnail_path") for p in row)
    bucket, env = s3_env

    done = restore(env, tmp_path / "target", archive)
    assert done.returncode == 0, done.stderr
    assert f"s3://{bucket}" in done.stdout and "every file matches its checksum" in done.stdout
    assert s3_server.keys(bucket) == paths
    assert not (tmp_path / "target" / "media").exists() or files_under(tmp_path / "target" / "media") == []

    again = restore(env, tmp_path / "another", archive)
    assert again.returncode != 0
    assert f"restore failed: s3://{bucket} already holds files under images/" in again.stderr
    assert not (tmp_path / "another" / "db.sqlite3").exists() or \
        (tmp_path / "another" / "db.sqlite3").stat().st_size == 0
