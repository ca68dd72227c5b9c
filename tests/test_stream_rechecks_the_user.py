"""Finding M1: an open socket does not keep its handshake-time user. Once the token is revoked, the session
signed out or the user deactivated, the next message (or the next heartbeat of an idle socket) is answered
like an HTTP request would be, 401-style, and the socket is closed with 4401."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import ApiToken
from accounts.services import token_create, token_revoke
from generation.models import GenerationTask

from .accounts import accounts, make_user  # noqa: F401  (fixture)
from .stream_inprocess import Closed, communicator, receive_json, run

pytestmark = pytest.mark.django_db(transaction=True)

GENERATE = {"type": "generate", "request_id": "g", "body": {"prompt": "a lighthouse"}}


async def socket_until_refused(comm, *, between) -> dict:
    """Connects, proves the socket works, runs `between` (a change of the user's standing), then sends
    another generate: returns the error it got, after checking the socket was closed with 4401."""
    from channels.db import database_sync_to_async

    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "subscribe", "task_id": "nothing"})
    assert (await receive_json(comm))["error"] == "not_found"  # signed in: the socket works
    await database_sync_to_async(between)()
    await comm.send_json_to(GENERATE)
    refused = await receive_json(comm)
    with pytest.raises(Closed) as closed:
        await comm.receive_from()
    assert closed.value.code == 4401
    return refused


def test_a_revoked_token_ends_the_socket_and_creates_nothing(accounts):
    alice = make_user("alice")
    token, raw = token_create(user=alice, name="t")
    refused = run(socket_until_refused(communicator(token=raw),
                                       between=lambda: token_revoke(token=ApiToken.objects.get(pk=token.pk))))
    assert refused["type"] == "error" and refused["error"] == "authentication_failed"
    assert not GenerationTask.objects.exists()


def session_cookie(user) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    return client, f"sessionid={client.cookies['sessionid'].value}"


def test_signing_out_ends_the_socket_of_that_session(accounts):
    client, cookie = session_cookie(make_user("alice"))
    refused = run(socket_until_refused(communicator(cookie=cookie, origin="http://127.0.0.1:8000"),
                                       between=client.logout))
    assert refused["error"] == "not_authenticated"
    assert not GenerationTask.objects.exists()


@pytest.mark.parametrize("credential", ["token", "session"])
def test_deactivating_the_user_ends_their_socket(accounts, credential):
    alice = make_user("alice")
    if credential == "token":
        comm = communicator(token=token_create(user=alice, name="t")[1])
    else:
        comm = communicator(cookie=session_cookie(alice)[1], origin="http://127.0.0.1:8000")
    refused = run(socket_until_refused(
        comm, between=lambda: get_user_model().objects.filter(pk=alice.pk).update(is_active=False)))
    assert refused["error"] in ("authentication_failed", "not_authenticated")
    assert not GenerationTask.objects.exists()


def test_an_idle_socket_is_closed_at_its_next_heartbeat(accounts, settings):
    settings.IMAGEGEN_STREAM_HEARTBEAT = 0.2
    alice = make_user("alice")
    token, raw = token_create(user=alice, name="t")

    async def scenario():
        from channels.db import database_sync_to_async

        comm = communicator(token=raw)
        assert (await comm.connect())[0]
        await database_sync_to_async(token_revoke)(token=token)
        refused = await receive_json(comm)
        with pytest.raises(Closed) as closed:
            await comm.receive_from()
        return refused, closed.value.code

    refused, code = run(scenario())
    assert refused["error"] == "authentication_failed" and code == 4401


def test_in_open_mode_a_socket_keeps_working():
    async def scenario():
        comm = communicator()
        assert (await comm.connect())[0]
        for _ in range(2):
            await comm.send_json_to({"type": "subscribe", "task_id": "nothing"})
            assert (await receive_json(comm))["error"] == "not_found"
        await comm.disconnect()

    run(scenario())
