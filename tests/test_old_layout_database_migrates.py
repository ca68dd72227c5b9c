"""A database made before the re-layering (issue 17) migrates to today's apps with nothing lost.

tests/fixtures/old_layout.sqlite3.gz was made by the code of commit a499e1b (API tokens, sessions, quotas
and the audit log in the `imagegen` app, image tags in `gallery`): `migrate`, then a user alice with an API
token, her own quota (7 images a day), a session, a finished task with an image tagged "coast", an audit
event, and a staff user olga in a group given the permissions on those models. The moves are state-only
(SeparateDatabaseAndState): the tables keep their names and rows, and the content types keep their ids, so
the group's permissions follow the models."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "old_layout.sqlite3.gz"
# The token the fixture's alice was given (it exists only in that file).
ALICE_TOKEN = "igt_Y-o6JdMlyEiQfCRCw9V9R2TfycRnkTQyBRYPRGsYeFE"

READ_BACK = """
import json
import django
django.setup()
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from accounts.models import ApiToken, AuditEvent, UserSession
from accounts.services import token_lookup
from generation.models import ImageTag, Quota
group = Group.objects.get(name="old-layout operators")
print(json.dumps({
    "token_user": token_lookup(raw=TOKEN).user.username,
    "tokens": ApiToken.objects.count(),
    "sessions": UserSession.objects.count(),
    "audit": list(AuditEvent.objects.values_list("kind", "username")),
    "quota": Quota.objects.get(user__username="alice").daily_images,
    "tags": list(ImageTag.objects.values_list("tag_name", "image__task__prompt")),
    "content_types": sorted(f"{c.app_label}.{c.model}" for c in ContentType.objects.filter(
        model__in=["apitoken", "usersession", "auditevent", "quota", "imagetag"])),
    "group_perms": sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()),
}))
""".replace("TOKEN", repr(ALICE_TOKEN))


def _manage(data_dir: Path, *args: str, code: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "IMAGEGEN_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "imagegen.settings",
           "SECRET_KEY": "old-layout-fixture", "IMAGEGEN_ACCESS": "accounts", "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_it_migrates_a_database_from_before_the_move_and_keeps_every_row_and_permission(tmp_path):
    (tmp_path / "db.sqlite3").write_bytes(gzip.decompress(FIXTURE.read_bytes()))
    migrated = _manage(tmp_path, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    assert "accounts.0001_initial" in migrated.stdout or "Applying accounts.0001_initial" in migrated.stdout

    unmade = _manage(tmp_path, "makemigrations", "--check", "--dry-run")
    assert unmade.returncode == 0, unmade.stdout + unmade.stderr

    read = _manage(tmp_path, code=READ_BACK)
    assert read.returncode == 0, read.stderr
    state = json.loads(read.stdout.strip().splitlines()[-1])
    assert state["token_user"] == "alice"
    assert (state["tokens"], state["sessions"]) == (1, 1)
    assert state["audit"] == [["sign_in", "alice"]]
    assert state["quota"] == 7
    assert state["tags"] == [["coast", "a lighthouse at dusk"]]
    # The content types moved with their models (same rows: none left behind under the old apps).
    assert state["content_types"] == ["accounts.apitoken", "accounts.auditevent", "accounts.usersession",
                                      "generation.imagetag", "generation.quota"]
    for perm in ("accounts.view_apitoken", "accounts.change_apitoken", "accounts.view_auditevent",
                 "accounts.view_usersession", "generation.change_quota", "generation.delete_imagetag"):
        assert perm in state["group_perms"]
    assert not [p for p in state["group_perms"] if p.startswith(("imagegen.", "gallery.view_imagetag"))]
