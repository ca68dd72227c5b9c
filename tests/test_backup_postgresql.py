"""`manage.py backup` on PostgreSQL: pg_dump of one snapshot and the image files its rows reference, in one
archive, taken while the app runs; `manage.py restore` puts it into a fresh installation (a new database and
an empty media directory) where every task, image and user is found again, every file matching its checksum."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from .services import PG_ADMIN_URL, postgres_url  # noqa: F401  (fixture)
from .stack import ROOT, Stack

pytestmark = pytest.mark.processes


@pytest.fixture
def second_database(postgres_url):
    import psycopg

    name = f"imagegen_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(stack: Stack, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=stack.env, input=input,
                          capture_output=True, text=True, timeout=180)


def test_it_backs_up_a_running_postgresql_installation_and_restores_it_into_a_fresh_one(
        tmp_path, postgres_url, second_database):
    source = Stack(tmp_path / "source", DATABASE_URL=postgres_url, IMAGEGEN_PREVIEW_LATENCY="0.1")
    try:
        assert manage(source, "adduser", "ada", "--password-stdin", input="a long pass phrase 1\n").returncode == 0
        source.start_web()
        source.start_worker()
        task_ids = [source.generate(prompt=f"kept {n}", num_images=2) for n in range(3)]
        source.wait_for(lambda: all(source.task(t)["status"] == "completed" for t in task_ids), timeout=120,
                        what="the tasks")
        made = manage(source, "backup", "--output", str(tmp_path / "backups"))
        assert made.returncode == 0, made.stderr
        files = {p.relative_to(source.data_dir / "media"): p.read_bytes() for p in source.media_files()}
    finally:
        source.close()
    archive, = (tmp_path / "backups").glob("imagegen-backup-*.tar.gz")
    assert "3 tasks, 6 images" in made.stdout

    target = Stack(tmp_path / "target", DATABASE_URL=second_database)  # migrated: the tables exist, empty
    try:
        restored = manage(target, "restore", str(archive))
        assert restored.returncode == 0, restored.stderr
        assert "restored 3 tasks, 6 images" in restored.stdout and "every file matches its checksum" in restored.stdout
        assert {p.relative_to(target.data_dir / "media"): p.read_bytes() for p in target.media_files()} == files
        target.start_web()
        for task_id in task_ids:
            task = target.task(task_id)
            assert task["status"] == "completed" and len(task["images"]) == 2
            assert target.request("GET", task["images"][0]["url"])[0] == 200
        users = target.query("SELECT username FROM auth_user")
        assert users == [("ada",)]
        # A second restore into what is no longer empty is refused.
        again = manage(target, "restore", str(archive))
        assert again.returncode != 0 and "already holds tasks or users" in again.stderr
    finally:
        target.close()
