"""Item 1: every staff action is in the audit log, the operator commands too. A command that changes something
or reads people's data (adduser, create_token, generate, cleanup, backup, restore, audit_export; erase_user and
export_user_data have their own kinds) is a staff event whose client id names the command and whose object
is what it acted on; never a password or a token."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from generation.models import GenerationTask
from accounts.audit.models import AuditEvent

from .accounts import PASSWORD, accounts, make_user  # noqa: F401  (fixture)
from .conftest import run

pytestmark = pytest.mark.django_db


def staff_events(command: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(kind="staff", client_id=f"manage.py {command}").order_by("id"))


def every_field_of_every_event() -> str:
    return json.dumps([{f.name: str(getattr(e, f.name)) for f in AuditEvent._meta.fields} for e in AuditEvent.objects.all()])


def test_adding_a_user_and_making_a_token_are_recorded_without_the_password_or_the_token(accounts, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    call_command("adduser", "dora", "--staff", "--password-stdin", stdout=io.StringIO())
    out = io.StringIO()
    call_command("create_token", "dora", "--name", "backup script", stdout=out)
    [added], [made] = staff_events("adduser"), staff_events("create_token")
    assert added.object_id == "user:dora" and made.object_id == "user:dora"
    assert added.user is None and added.status is None and added.at <= timezone.now()
    assert PASSWORD not in every_field_of_every_event() and out.getvalue().strip() not in every_field_of_every_event()


def test_each_task_the_generate_command_submits_is_recorded(media):
    call_command("generate", "a harbour", "a lighthouse", "--no-wait", stdout=io.StringIO(), stderr=io.StringIO())
    assert sorted(e.object_id for e in staff_events("generate")) == sorted(
        GenerationTask.objects.values_list("task_id", flat=True))
    assert "a harbour" not in every_field_of_every_event()


def test_a_cleanup_that_deletes_is_recorded_and_a_dry_run_is_not(api, media):
    task_id = api.generate()
    run(task_id)
    when = timezone.now() - timedelta(days=60)
    GenerationTask.objects.filter(task_id=task_id).update(created_at=when, started_at=when, completed_at=when)
    call_command("cleanup", "--older-than", "30", "--dry-run", stdout=io.StringIO())
    assert staff_events("cleanup") == []
    call_command("cleanup", "--older-than", "30", stdout=io.StringIO())
    [event] = staff_events("cleanup")
    assert "1 task" in event.object_id


def test_exporting_the_audit_log_is_itself_recorded(accounts):
    make_user("alice")
    call_command("audit_export", stdout=io.StringIO())
    [event] = staff_events("audit_export")
    assert event.object_id.endswith(" events")


@pytest.mark.django_db(transaction=True)
def test_a_backup_is_recorded_with_its_archive_name(media, tmp_path, settings):
    settings.IMAGEGEN_BACKUP_DIR = str(tmp_path / "backups")
    call_command("backup", stdout=io.StringIO())
    [event] = staff_events("backup")
    archive = next((tmp_path / "backups").glob("*.tar.gz"))
    assert event.object_id == archive.name
