"""Accounts people look after themselves (item 7, the parts built): password change, and "sign out
everywhere", which ends every session of the user and closes the sockets they opened."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.audit.models import AuditEvent

from .accounts import PASSWORD, accounts, make_user  # noqa: F401  (fixture)
from .stream_inprocess import Closed, communicator, receive_json, run

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a different horse battery 42"


def browser(username: str) -> Client:
    client = Client()
    response = client.post("/login", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def signed_in(client: Client) -> bool:
    return client.get("/account").status_code == 200


def test_changing_the_password_keeps_this_session_and_ends_the_others(accounts):
    make_user("alice")
    laptop, phone = browser("alice"), browser("alice")
    page = laptop.get("/account/password")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.content.decode()
    wrong = laptop.post("/account/password", {"old_password": "not it at all", "new_password1": NEW_PASSWORD,
                                              "new_password2": NEW_PASSWORD})
    assert wrong.status_code == 200 and "field-error" in wrong.content.decode()
    done = laptop.post("/account/password", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                             "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/account"
    assert signed_in(laptop) and not signed_in(phone)
    assert Client().login(username="alice", password=NEW_PASSWORD)
    assert not Client().login(username="alice", password=PASSWORD)


def test_a_weak_new_password_is_refused(accounts):
    make_user("alice")
    laptop = browser("alice")
    weak = laptop.post("/account/password", {"old_password": PASSWORD, "new_password1": "12345678901",
                                             "new_password2": "12345678901"})
    assert weak.status_code == 200 and "numeric" in weak.content.decode()


def test_sign_out_everywhere_ends_every_session_and_closes_their_sockets(accounts):
    make_user("alice")
    bob = make_user("bob")
    laptop, phone, bobs = browser("alice"), browser("alice"), browser("bob")
    cookie = f"sessionid={phone.cookies['sessionid'].value}"

    async def scenario():
        from channels.db import database_sync_to_async

        comm = communicator(cookie=cookie, origin="http://127.0.0.1:8000")
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "subscribe", "task_id": "nothing"})
        assert (await receive_json(comm))["error"] == "not_found"
        answer = await database_sync_to_async(laptop.post)("/account/sign-out-everywhere")
        await comm.send_json_to({"type": "subscribe", "task_id": "nothing"})
        refused = await receive_json(comm)
        with pytest.raises(Closed) as closed:
            await comm.receive_from()
        return answer, refused, closed.value.code

    answer, refused, code = run(scenario())
    assert answer.status_code == 302 and answer["Location"] == "/login"
    assert refused["error"] == "not_authenticated" and code == 4401
    assert not signed_in(laptop) and not signed_in(phone)
    assert signed_in(bobs)  # only alice's sessions
    assert AuditEvent.objects.filter(kind="sign_out", username="alice", object_id="everywhere").exists()
    assert bob.is_active


def test_in_open_mode_there_is_no_password_to_change():
    assert Client().get("/account/password").status_code == 404
    assert Client().post("/account/sign-out-everywhere").status_code in (403, 404)
