"""Staff take or erase any user's data (issue 18, item 8): `manage.py export_user_data` and `erase_user`, and
the console's actions on the user list (an archive; erasure after a confirmation page). Everything is
audited, naming who acted and whose data it was."""

from __future__ import annotations

import io
import json
import stat
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.audit.models import AuditEvent
from generation.models import GenerationTask

from .accounts import PASSWORD, accounts, make_user  # noqa: F401  (fixture)
from .people import files, people  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

USERS = "/admin/auth/user/"


def test_the_export_command_writes_the_archive_readable_by_its_owner_only(people, tmp_path):
    target = tmp_path / "alice.zip"
    err = io.StringIO()
    call_command("export_user_data", "alice", "--output", str(target), stderr=err)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    archive = zipfile.ZipFile(target)
    assert len(json.loads(archive.read("images.json"))) == 2
    assert "2 tasks, 2 images, 2 tags" in err.getvalue()
    event = AuditEvent.objects.get(kind="data_exported")
    assert event.object_id == "user:alice" and event.client_id == "manage.py export_user_data"
    with pytest.raises(CommandError, match="exists already"):
        call_command("export_user_data", "alice", "--output", str(target))
    with pytest.raises(CommandError, match="no user named"):
        call_command("export_user_data", "nobody", "--output", str(tmp_path / "x.zip"))


def test_the_erase_command_erases_with_yes_and_refuses_without_a_terminal(people):
    with pytest.raises(CommandError, match="--yes"):
        call_command("erase_user", "alice")
    assert GenerationTask.objects.filter(task_id=people.done).exists()
    out = io.StringIO()
    call_command("erase_user", "alice", "--yes", stdout=out)
    assert "erased alice: 2 tasks, 2 images, 2 tags" in out.getvalue()
    assert not get_user_model().objects.filter(username="alice").exists()
    assert not any(path in files(people) for path in people.alice_files)
    assert GenerationTask.objects.filter(task_id=people.bobs).exists()
    event = AuditEvent.objects.get(kind="account_erased")
    assert event.object_id == "user:alice" and event.client_id == "manage.py erase_user"


def test_the_commands_refuse_in_open_mode(db):
    with pytest.raises(CommandError, match="open mode"):
        call_command("erase_user", "alice", "--yes")


def staff_console() -> tuple[Client, object]:
    carol = make_user("carol", staff=True)
    client = Client()
    client.force_login(carol)
    return client, carol


def test_staff_download_a_user_s_archive_from_the_console(people):
    client, carol = staff_console()
    answer = client.post(USERS, {"action": "export_data", "_selected_action": [people.alice_user.pk]})
    assert answer.status_code == 200 and answer["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(answer.streaming_content)))
    assert [t["prompt"] for t in json.loads(archive.read("tasks.json"))][0] == "alice's harbour at dawn"
    event = AuditEvent.objects.get(kind="data_exported")
    assert event.username == "carol" and event.object_id == "user:alice"


def test_staff_erase_a_user_after_a_confirmation_page(people):
    client, carol = staff_console()
    ask = client.post(USERS, {"action": "erase_accounts", "_selected_action": [people.alice_user.pk]})
    assert ask.status_code == 200 and 'id="erase-users"' in ask.content.decode()
    assert GenerationTask.objects.filter(task_id=people.done).exists()
    done = client.post(USERS, {"action": "erase_accounts", "_selected_action": [people.alice_user.pk],
                               "confirm_erase": "yes"})
    assert done.status_code == 302
    assert not get_user_model().objects.filter(username="alice").exists()
    assert not any(path in files(people) for path in people.alice_files)
    event = AuditEvent.objects.get(kind="account_erased")
    assert event.username == "carol" and event.object_id == "user:alice"
    assert get_user_model().objects.filter(username="carol").exists()
