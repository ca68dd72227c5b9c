"""Token scopes and expiry (item 4): a token may read, generate and/or manage; an optional expiry ends it.
Shown on the account page and in the staff console; the stream applies them too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import token_create
from generation.models import GenerationTask

from .accounts import accounts, make_user, signed_in, with_token  # noqa: F401  (fixture)
from .conftest import SEED_EXAMPLE
from .stream_inprocess import communicator, receive_json, run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(accounts):
    return make_user("alice")


def test_a_read_only_token_reads_but_neither_generates_nor_deletes(alice):
    task_id = signed_in(alice).generate()
    reader = with_token(token_create(user=alice, name="dashboard", scopes=["read"])[1])
    assert reader.get("tasks").status_code == 200
    assert reader.get(f"task/{task_id}").status_code == 200
    refused = reader.post("generate", SEED_EXAMPLE)
    assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"
    assert "generate images" in refused.json()["message"]
    assert reader.delete(f"task/{task_id}").status_code == 403
    assert GenerationTask.objects.count() == 1


def test_a_generate_only_token_creates_but_cannot_read_or_manage(alice):
    maker = with_token(token_create(user=alice, name="bot", scopes=["generate"])[1])
    created = maker.post("generate", SEED_EXAMPLE)
    assert created.status_code == 201
    assert maker.get(f"task/{created.json()['task_id']}").status_code == 403
    assert maker.get("images").status_code == 403
    assert maker.delete(f"task/{created.json()['task_id']}").status_code == 403


def test_an_expired_token_is_refused_and_says_so(alice):
    token, raw = token_create(user=alice, name="temp", expires_in_days=1)
    client = with_token(raw)
    assert client.get("tasks").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = client.get("tasks")
    assert refused.status_code == 401 and refused.json()["message"] == "The API token has expired."


def test_the_api_creates_tokens_with_scopes_and_expiry_and_refuses_unknown_scopes(alice):
    page = signed_in(alice)
    created = page.post("account/tokens", {"name": "ci", "scopes": ["read", "generate"], "expires_in_days": 30})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["scopes"] == ["read", "generate"] and body["expires_at"] and body["signing"] is False
    listed = page.get("account/tokens").json()
    assert listed[0]["scopes"] == ["read", "generate"]
    bad = page.post("account/tokens", {"name": "x", "scopes": ["admin"]})
    assert bad.status_code == 400 and bad.json()["error"] == "validation_error"
    assert page.post("account/tokens", {"name": "x", "expires_in_days": 0}).status_code == 400


def test_the_account_page_makes_and_shows_scoped_expiring_tokens(alice):
    page = signed_in(alice)
    response = page.client.post("/account/tokens", {"name": "reader", "scopes": ["read"], "expires_in_days": "7"})
    assert response.status_code == 200
    token = ApiToken.objects.get(name="reader")
    assert token.scope_list == ["read"] and token.expires_at is not None
    html = page.client.get("/account").content.decode()
    assert 'class="token-scopes">read<' in html and token.expires_at.strftime("%Y-%m-%d") in html


def test_the_console_lists_scopes_and_expiry(alice, admin_client):
    token_create(user=alice, name="reader", scopes=["read"], expires_in_days=7)
    html = admin_client.get("/admin/accounts/apitoken/").content.decode()
    assert "field-scopes" in html and ">read<" in html and "field-expires_at" in html


def test_on_the_stream_a_read_only_token_follows_but_cannot_generate(alice):
    raw = token_create(user=alice, name="watch", scopes=["read"])[1]

    async def scenario():
        comm = communicator(token=raw)
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "generate", "request_id": "g", "body": SEED_EXAMPLE})
        refused = await receive_json(comm)
        await comm.send_json_to({"type": "subscribe", "task_id": "nothing"})
        followed = await receive_json(comm)
        await comm.disconnect()
        return refused, followed

    refused, followed = run(scenario())
    assert refused["error"] == "permission_denied" and refused["request_id"] == "g"
    assert followed["error"] == "not_found"
    assert not GenerationTask.objects.exists()


def test_a_generate_only_token_cannot_open_the_stream(alice):
    raw = token_create(user=alice, name="bot", scopes=["generate"])[1]

    async def scenario():
        comm = communicator(token=raw)
        assert (await comm.connect())[0]
        return await receive_json(comm)

    assert run(scenario())["error"] == "permission_denied"
