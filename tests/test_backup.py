"""manage.py backup and restore: a backup restored into an empty data directory gives the same tasks and the
same image bytes; damaged or unsafe archives and non-empty targets are refused."""

import hashlib
import io
import json
import sqlite3
import tarfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from generation import backups
from generation.models import GenerationTask, Image

from .conftest import files_under, run

pytestmark = pytest.mark.django_db(transaction=True)

TASK_COLUMNS = ("task_id", "status", "prompt", "model", "width", "height", "seed", "num_images", "error_code")


def backup(*args) -> tuple[Path, str]:
    out = StringIO()
    call_command("backup", *args, stdout=out)
    text = out.getvalue()
    path = Path(text.strip().splitlines()[-1].split(":")[0])
    return path, text


@pytest.fixture
def generated(api, media, scripted):
    from generation.engines.base import EngineError, Retry

    scripted("ok", "ok", EngineError("content_rejected", "no", retry=Retry.NEVER))
    ids = [api.generate(prompt="a cat", num_images=2), api.generate(prompt="一只可爱的猫咪"), api.generate(prompt="bad")]
    for task_id in ids:
        run(task_id)
    return ids


def test_a_restore_into_an_empty_data_directory_gives_the_same_tasks_and_image_bytes(generated, media, tmp_path):
    archive, output = backup("--output", str(tmp_path / "backups"))
    assert archive.name.startswith("imagegen-backup-") and archive.name.endswith(".tar.gz")
    assert "3 tasks, 3 images, 6 files" in output

    target = tmp_path / "restored"
    result = backups.backup_restore(archive=archive, db_path=target / "db.sqlite3", media_root=target / "media")
    assert result.mismatched == [] and (result.tasks, result.images, result.files) == (3, 3, 6)

    db = sqlite3.connect(target / "db.sqlite3")
    restored = set(db.execute(f"SELECT {', '.join(TASK_COLUMNS)} FROM tasks").fetchall())
    assert restored == set(GenerationTask.objects.values_list(*TASK_COLUMNS))
    rows = db.execute("SELECT image_id, file_path, thumbnail_path, sha256 FROM images").fetchall()
    assert {r[0] for r in rows} == set(Image.objects.values_list("image_id", flat=True))
    for _image_id, file_path, thumbnail_path, sha256 in rows:
        original = (target / "media" / file_path).read_bytes()
        assert original == (media / file_path).read_bytes()
        assert hashlib.sha256(original).hexdigest() == sha256
        assert (target / "media" / thumbnail_path).read_bytes() == (media / thumbnail_path).read_bytes()
    assert files_under(target / "media") == files_under(media)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_the_archive_holds_only_the_files_the_database_refers_to(generated, media, tmp_path):
    (media / "images" / "zz").mkdir(parents=True)
    (media / "images" / "zz" / "debris.png").write_bytes(b"not referenced")
    archive, output = backup("--output", str(tmp_path / "b.tar.gz"))
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert "db.sqlite3" in names and "manifest.json" in names
    assert "media/images/zz/debris.png" not in names
    assert {n for n in names if n.startswith("media/")} == {
        f"media/{p}" for row in Image.objects.values_list("file_path", "thumbnail_path") for p in row
    }


def test_a_file_missing_at_backup_time_is_reported(generated, media, tmp_path):
    image = Image.objects.first()
    (media / image.file_path).unlink()
    _archive, output = backup("--output", str(tmp_path))
    assert "missing from storage" in output and image.file_path in output


def test_a_restore_refuses_a_data_directory_that_is_not_empty(generated, tmp_path):
    archive, _ = backup("--output", str(tmp_path))
    target = tmp_path / "restored"
    backups.backup_restore(archive=archive, db_path=target / "db.sqlite3", media_root=target / "media")
    with pytest.raises(backups.BackupError, match="already holds a database"):
        backups.backup_restore(archive=archive, db_path=target / "db.sqlite3", media_root=target / "media")
    (target / "db.sqlite3").unlink()
    with pytest.raises(backups.BackupError, match="already holds files"):
        backups.backup_restore(archive=archive, db_path=target / "db.sqlite3", media_root=target / "media")
    backups.backup_restore(archive=archive, db_path=target / "db.sqlite3", media_root=target / "media", force=True)


def _rewrite(archive: Path, target: Path, change) -> Path:
    with tarfile.open(archive) as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            member, data = change(member, data)
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return target


def test_a_damaged_file_in_the_archive_is_detected(generated, tmp_path):
    archive, _ = backup("--output", str(tmp_path))

    def corrupt(member, data):
        return member, (data[:-4] + b"oops" if member.name.endswith(".png") else data)

    damaged = _rewrite(archive, tmp_path / "damaged.tar.gz", corrupt)
    target = tmp_path / "restored"
    result = backups.backup_restore(archive=damaged, db_path=target / "db.sqlite3", media_root=target / "media")
    assert result.mismatched and all(name.endswith(".png") for name in result.mismatched)


def test_an_archive_with_unsafe_paths_is_refused(generated, tmp_path):
    archive, _ = backup("--output", str(tmp_path))

    def escape(member, data):
        if member.name.startswith("media/"):
            member.name = "media/../../escaped.png"
        return member, data

    evil = _rewrite(archive, tmp_path / "evil.tar.gz", escape)
    with pytest.raises(backups.BackupError, match="unsafe path"):
        backups.backup_restore(archive=evil, db_path=tmp_path / "r" / "db.sqlite3", media_root=tmp_path / "r" / "media")
    assert not (tmp_path / "escaped.png").exists()


def test_something_that_is_not_a_backup_is_refused(tmp_path):
    bogus = tmp_path / "x.tar.gz"
    with tarfile.open(bogus, "w:gz") as tar:
        data = json.dumps({"app": "other"}).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(backups.BackupError, match="unsupported"):
        backups.read_manifest(bogus)
