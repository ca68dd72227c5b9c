"""The access audit log (item 1): sign-ins (both outcomes), state-changing requests, token creation, use and
revocation, and staff actions; each with who, from where, what, outcome and when, and never a body or a
secret. Browsable and filterable in the staff console, exported as JSON Lines, pruned by retention."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client
from django.utils import timezone
from rest_framework.settings import api_settings

from accounts.audit.models import AuditEvent
from accounts.services import token_create
from generation import maintenance

from .accounts import PASSWORD, accounts, make_user, signed_in, with_token  # noqa: F401  (fixture)
from .conftest import SEED_EXAMPLE, Api

pytestmark = pytest.mark.django_db


def events(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def every_field_of_every_event() -> str:
    return json.dumps([{f.name: str(getattr(e, f.name)) for f in AuditEvent._meta.fields} for e in AuditEvent.objects.all()])


def test_a_generation_by_token_is_recorded_with_who_where_what_outcome_and_when(accounts):
    alice = make_user("alice")
    token, raw = token_create(user=alice, name="ci")
    before = timezone.now()
    response = with_token(raw).post("generate", {**SEED_EXAMPLE, "prompt": "a secret lighthouse"})
    assert response.status_code == 201
    [event] = events(kind="request")
    assert (event.user_id, event.username, event.token_prefix) == (alice.pk, "alice", token.prefix)
    assert (event.ip, event.method, event.route, event.path, event.status) == (
        "127.0.0.1", "POST", "api/v1/generate", "/api/v1/generate", 201)
    assert before <= event.at <= timezone.now()
    assert "secret lighthouse" not in every_field_of_every_event()
    assert raw not in every_field_of_every_event()


def test_a_deletion_names_the_object_and_refusals_are_recorded_with_their_status(accounts):
    alice = signed_in(make_user("alice"))
    task_id = alice.generate()
    assert alice.delete(f"task/{task_id}").status_code in (200, 202, 204)
    deleted = events(method="DELETE")[-1]
    assert deleted.object_id == task_id and deleted.route == "api/v1/task/<str:task_id>"
    bob = signed_in(make_user("bob"))
    assert bob.delete(f"task/{task_id}").status_code == 404
    assert events(method="DELETE", username="bob")[-1].status == 404


def test_reads_are_not_recorded(accounts):
    alice = signed_in(make_user("alice"))
    alice.get("tasks")
    alice.get("account")
    assert not events(kind="request")


def test_sign_ins_are_recorded_whether_they_succeed_or_fail_and_the_password_never(accounts):
    make_user("alice")
    client = Client()
    assert client.post("/login", {"username": "alice", "password": "wrong password 1"}).status_code == 200
    assert client.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 302
    failed, succeeded = events(kind="sign_in_failed"), events(kind="sign_in")
    assert [(e.username, e.status, e.ip) for e in failed] == [("alice", 401, "127.0.0.1")]
    assert [(e.username, e.user.username) for e in succeeded] == [("alice", "alice")]
    assert not events(kind="request", path="/login")  # the sign-in event stands for the request
    assert "wrong password" not in every_field_of_every_event() and PASSWORD not in every_field_of_every_event()


def test_token_creation_use_and_revocation_are_recorded(accounts):
    alice = signed_in(make_user("alice"))
    created = alice.post("account/tokens", {"name": "laptop"})
    assert created.status_code == 201
    raw = created.json()["token"]
    prefix = raw[:12]
    assert with_token(raw).get("tasks").status_code == 200
    assert with_token(raw).get("tasks").status_code == 200  # used once a minute at most
    assert alice.delete(f"account/tokens/{created.json()['id']}").status_code in (200, 204)
    kinds = [(e.kind, e.token_prefix) for e in events(kind__startswith="token_")]
    assert kinds == [("token_created", prefix), ("token_used", prefix), ("token_revoked", prefix)]
    assert raw not in every_field_of_every_event()


def test_staff_actions_in_the_console_are_recorded(accounts, admin_client):
    alice = make_user("alice")
    response = admin_client.post(f"/admin/generation/quota/{alice.pk}/change/",
                                 {"daily_images": "5", "max_concurrent_tasks": ""})
    assert response.status_code == 302
    [event] = events(kind="staff")
    assert event.username == "admin" and event.method == "POST" and event.status == 302
    assert event.object_id == str(alice.pk)


def test_open_mode_records_the_client_address_as_the_client_id(db):
    Api().generate()
    [event] = events(kind="request")
    assert event.user is None and event.client_id == "ip:127.0.0.1"


def test_the_address_is_the_proxy_aware_one(settings):
    settings.IMAGEGEN_NUM_PROXIES = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    api_settings.reload()
    try:
        Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1, 2001:db8::7").post(
            "/api/v1/generate", data=json.dumps(SEED_EXAMPLE), content_type="application/json")
    finally:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
        api_settings.reload()
    assert events(kind="request")[0].ip == "2001:db8::7"


def test_staff_browse_and_filter_the_log_and_users_cannot(accounts, admin_client):
    make_user("alice")
    Client().post("/login", {"username": "alice", "password": "wrong password 2"})
    Client().post("/login", {"username": "alice", "password": PASSWORD})
    page = admin_client.get("/admin/accounts/auditevent/?kind=sign_in_failed")
    assert page.status_code == 200
    text = page.content.decode()
    assert "failed sign-in" in text and text.count('class="field-kind"') == 1
    assert admin_client.get("/admin/accounts/auditevent/?q=alice").status_code == 200
    assert admin_client.get(f"/admin/accounts/auditevent/{AuditEvent.objects.first().pk}/delete/").status_code == 403
    user = signed_in(make_user("bob"))
    assert user.client.get("/admin/accounts/auditevent/").status_code == 302


def test_the_export_command_writes_json_lines_filtered_by_user_kind_and_time(accounts):
    alice, bob = signed_in(make_user("alice")), signed_in(make_user("bob"))
    alice.generate()
    bob.generate()
    AuditEvent.objects.create(kind="request", username="alice", at=timezone.now() - timedelta(days=10))
    out = io.StringIO()
    call_command("audit_export", "--user", "alice", "--kind", "request",
                 "--since", (timezone.now() - timedelta(days=1)).date().isoformat(), stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["username"], e["kind"], e["route"], e["status"]) for e in lines] == [
        ("alice", "request", "api/v1/generate", 201)]
    out = io.StringIO()
    call_command("audit_export", "--kind", "request", stdout=out)
    assert len(out.getvalue().splitlines()) == 3


def test_the_export_to_a_file_is_private(accounts, tmp_path):
    signed_in(make_user("alice")).generate()
    target = tmp_path / "audit.jsonl"
    call_command("audit_export", "--output", str(target), stderr=io.StringIO())
    assert target.stat().st_mode & 0o077 == 0
    assert json.loads(target.read_text().splitlines()[0])["username"] == "alice"


def test_the_cleanup_schedule_prunes_events_past_retention(settings):
    settings.IMAGEGEN_AUDIT_RETENTION_DAYS = 30
    old = AuditEvent.objects.create(kind="request", at=timezone.now() - timedelta(days=31))
    recent = AuditEvent.objects.create(kind="request", at=timezone.now() - timedelta(days=29))
    summary = maintenance.cleanup_scheduled()
    assert "1 audit events" in summary
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AuditEvent.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_outside_tests_events_are_written_in_batches_by_a_thread_soon_after(settings):
    import time as clock

    settings.IMAGEGEN_AUDIT_FLUSH_SECONDS = 0.05
    Api().generate()
    deadline = clock.monotonic() + 30

    def written() -> bool:
        try:
            return AuditEvent.objects.filter(kind="request").exists()
        except OperationalError:  # the in-memory test database: the writer thread holds the table just now
            return False

    while not written():
        assert clock.monotonic() < deadline, "the buffered audit event was never written"
        clock.sleep(0.05)
    assert AuditEvent.objects.get(kind="request").route == "api/v1/generate"


@pytest.mark.django_db(transaction=True)
def test_a_generation_over_the_websocket_is_recorded_like_one_over_http(accounts):
    from .stream_inprocess import communicator, receive_json, run

    alice = make_user("alice")
    token, raw = token_create(user=alice, name="socket")

    async def scenario():
        comm = communicator(token=raw)
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "generate", "request_id": "g", "body": SEED_EXAMPLE})
        created = await receive_json(comm)
        await comm.disconnect()
        return created

    assert run(scenario())["type"] == "created"
    [event] = events(kind="request")
    assert (event.username, event.token_prefix, event.method, event.route, event.status) == (
        "alice", token.prefix, "POST", "api/v1/generate", 201)
