"""Like the WebSocket (finding M1), an open event stream (GET /api/v1/task/{id}/events) does not keep the user
it was opened with: once the token is revoked, the session signed out ("sign out everywhere" too) or the user
deactivated, its next heartbeat sends the error an HTTP request would get and ends the response. Driven in
this process through the ASGI application the server runs."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.testing import ApplicationCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.services import sessions_end, token_create, token_revoke

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .stream_inprocess import application

pytestmark = pytest.mark.django_db(transaction=True)


def open_stream(task_id: str, headers: list[tuple[bytes, bytes]]) -> ApplicationCommunicator:
    path = f"/api/v1/task/{task_id}/events"
    return ApplicationCommunicator(application(), {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"accept", b"text/event-stream"), *headers],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)})


async def events_until_the_end(comm, *, between) -> list[dict]:
    """Reads the stream; after its first event (the task's snapshot) runs `between` (a change of the user's standing); returns
    every message up to the end of the response (failing if it does not end)."""
    from channels.db import database_sync_to_async

    await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await comm.receive_output(10)
    assert start["status"] == 200, start
    seen: list[dict] = []
    while True:
        chunk = await comm.receive_output(10)
        for block in chunk.get("body", b"").decode().split("\n\n"):
            data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
            if data:
                message = json.loads(data[0])
                if message["type"] != "ping" and not seen:
                    await database_sync_to_async(between)()
                if message["type"] != "ping":
                    seen.append(message)
        if not chunk.get("more_body", False):
            return seen


def follow(task_id, headers, between) -> list[dict]:
    return asyncio.run(events_until_the_end(open_stream(task_id, headers), between=between))


@pytest.fixture
def alice(accounts, settings):
    settings.IMAGEGEN_STREAM_HEARTBEAT = 0.2
    settings.IMAGEGEN_STREAM_SSE_LIFETIME = 20
    return make_user("alice")


def test_a_revoked_token_ends_the_event_stream(alice):
    token, raw = token_create(user=alice, name="watch")
    task_id = signed_in(alice).generate()
    seen = follow(task_id, [(b"authorization", f"Bearer {raw}".encode())], between=lambda: token_revoke(token=token))
    assert seen[0]["type"] == "snapshot" and seen[-1]["type"] == "error" and seen[-1]["error"] == "authentication_failed"


def test_signing_out_everywhere_ends_the_event_stream_of_a_session(alice):
    client = Client()
    client.force_login(alice)
    task_id = signed_in(alice).generate()
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    seen = follow(task_id, [(b"cookie", cookie)], between=lambda: sessions_end(user=alice))
    assert seen[-1]["type"] == "error" and seen[-1]["error"] == "not_authenticated"


def test_deactivating_the_user_ends_the_event_stream(alice):
    raw = token_create(user=alice, name="watch")[1]
    task_id = signed_in(alice).generate()
    seen = follow(task_id, [(b"authorization", f"Bearer {raw}".encode())],
                  between=lambda: get_user_model().objects.filter(pk=alice.pk).update(is_active=False))
    assert seen[-1]["type"] == "error" and seen[-1]["error"] in ("authentication_failed", "not_authenticated")
