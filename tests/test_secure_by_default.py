"""Secure by default (issue 18, item 6 and finding H1/M3; item 5's secrets from files and private backups).

Every case runs `manage.py` as a real process with its own environment and data directory, as an operator
would: the settings every process loads set umask 027, tighten what older versions left readable, and
refuse open mode served beyond loopback unless IMAGEGEN_ACCESS=open is spelled out."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def env_for(data_dir: Path, **extra) -> dict:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("IMAGEGEN_", "DJANGO_", "VOLC_", "PROMETHEUS_"))
            and k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "CACHE_URL", "HOST"}}
    return {**keep, "DJANGO_SETTINGS_MODULE": "imagegen.settings", "IMAGEGEN_DATA_DIR": str(data_dir),
            "IMAGEGEN_ENGINE": "preview", "IMAGEGEN_PREVIEW_LATENCY": "0", **extra}


def manage(env, *args, umask: int = 0o022) -> subprocess.CompletedProcess:
    """manage.py started from a shell with a permissive umask (the usual 022)."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180, preexec_fn=lambda: os.umask(umask))


def readable_by_others(root: Path) -> list[str]:
    return sorted(f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p.relative_to(root)}"
                  for p in [root, *root.rglob("*")] if not p.is_symlink() and p.lstat().st_mode & 0o007)


@pytest.mark.parametrize("exposure", [{"ALLOWED_HOSTS": "imagegen.example.com"}, {"HOST": "0.0.0.0"},
                                      {"ALLOWED_HOSTS": "*"}])
def test_open_mode_beyond_loopback_refuses_to_start_and_names_the_variable(tmp_path, exposure):
    result = manage(env_for(tmp_path, **exposure), "check")
    assert result.returncode != 0
    assert "IMAGEGEN_ACCESS" in result.stderr and "refuses to start" in result.stderr


def test_serve_on_a_public_address_refuses_open_mode_before_starting_anything(tmp_path):
    result = manage(env_for(tmp_path), "serve", "--host", "0.0.0.0", "--port", "1")
    assert result.returncode != 0 and "IMAGEGEN_ACCESS" in result.stderr
    assert "imagegen serving" not in result.stdout


@pytest.mark.parametrize("access", ["open", "accounts"])
def test_an_explicit_access_mode_starts_beyond_loopback(tmp_path, access):
    result = manage(env_for(tmp_path, ALLOWED_HOSTS="imagegen.example.com", HOST="0.0.0.0", IMAGEGEN_ACCESS=access), "check")
    assert result.returncode == 0, result.stderr


def test_the_local_studio_on_loopback_stays_open_without_configuration(tmp_path):
    result = manage(env_for(tmp_path), "shell", "-c", "from django.conf import settings; print(settings.IMAGEGEN_ACCESS)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "open"


def test_everything_the_product_writes_gives_other_users_no_access(tmp_path):
    data = tmp_path / "data"
    env = env_for(data)
    for args in (["migrate", "-v", "0"], ["createcachetable"], ["adduser", "alice", "--password-stdin"]):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=180, input="correct horse battery staple\n", preexec_fn=lambda: os.umask(0o022))
        assert result.returncode == 0, result.stderr
    made = manage(env, "shell", "-c", (
        "from django.test import Client; from generation import run; "
        "r = Client().post('/api/v1/generate', data='{\"prompt\": \"a harbour\"}', content_type='application/json', "
        "HTTP_HOST='127.0.0.1'); run.task_run(task_id=r.json()['task_id']); "
        "import logging; logging.getLogger('imagegen').warning('a log line')"))
    assert made.returncode == 0, made.stderr
    backup = manage(env, "backup")
    assert backup.returncode == 0, backup.stderr
    assert list((data / "media").rglob("*.png")), "the image was written"
    assert (data / "logs" / "imagegen.log").exists()
    assert readable_by_others(data) == []
    archive = next((data / "backups").glob("*.tar.gz"))
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600


def test_the_generated_secret_key_is_never_readable_by_others(tmp_path):
    env = env_for(tmp_path)
    env.pop("SECRET_KEY", None)
    assert manage(env, "check").returncode == 0
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_files_an_older_version_left_readable_are_tightened_at_start(tmp_path):
    (tmp_path / "media" / "2026" / "01").mkdir(parents=True)
    old = [tmp_path / "db.sqlite3", tmp_path / "db.sqlite3-wal", tmp_path / "media" / "2026" / "01" / "a.png",
           tmp_path / "backups" / "imagegen-backup-old.tar.gz"]
    (tmp_path / "backups").mkdir()
    for path in old:
        path.write_bytes(b"x")
        path.chmod(0o644)
    for path in [tmp_path, *tmp_path.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    assert readable_by_others(tmp_path)
    result = manage(env_for(tmp_path), "check")
    assert result.returncode == 0, result.stderr
    assert readable_by_others(tmp_path) == []
    assert stat.S_IMODE(old[2].stat().st_mode) == 0o640  # the shared group (nginx in Docker) still reads images


def test_a_secret_setting_can_come_from_a_file_named_by_its_FILE_variable(tmp_path):
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "secret_key").write_text("a-secret-key-from-a-docker-secret-file-0123456789\n")
    (secrets_dir / "volc_secretkey").write_text("volc-secret-from-file\n")
    env = env_for(tmp_path / "data", SECRET_KEY_FILE=str(secrets_dir / "secret_key"),
                  VOLC_SECRETKEY_FILE=str(secrets_dir / "volc_secretkey"))
    env.pop("SECRET_KEY", None)
    result = manage(env, "shell", "-c", (
        "import hashlib; from django.conf import settings; "
        "print(hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest()); "
        "print(hashlib.sha256(settings.VOLC_SECRETKEY.encode()).hexdigest())"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == [hashlib.sha256(b"a-secret-key-from-a-docker-secret-file-0123456789").hexdigest(),
                                     hashlib.sha256(b"volc-secret-from-file").hexdigest()]
    assert not (tmp_path / "data" / "secret_key").exists()  # no generated key beside the configured one
