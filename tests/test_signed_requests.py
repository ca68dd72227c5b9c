"""Signed requests (item 3), with README's reference client: HMAC-SHA256 over method, path, sorted query,
timestamp, nonce and body hash. Replays, skewed clocks, tampered bodies, paths and queries are refused;
a signature-required token refuses unsigned use; the secret is shown once."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from django.test import Client

from accounts.services import token_create
from accounts.signing import signing_secret
from generation.models import GenerationTask

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .stream_inprocess import communicator, receive_json, run

pytestmark = pytest.mark.django_db(transaction=True)

README = Path(__file__).resolve().parent.parent / "README.md"


def reference_client() -> dict:
    """README's reference client, run as written."""
    code = re.search(r"```python\n(import hashlib, hmac.*?def signature_headers.*?)```", README.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102  (our own README)
    return namespace


@pytest.fixture
def signer(accounts):
    alice = make_user("alice")
    token, raw = token_create(user=alice, name="signed", signature_required=True)
    client = reference_client()

    def headers(method, path, query="", body=b"", **changes):
        sent = client["signature_headers"](raw, signing_secret(token.digest), method, path, query, body)
        sent.update(changes)
        return {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in sent.items()}

    headers.raw = raw
    return headers


def post_generate(headers, body: bytes):
    return Client().post("/api/v1/generate", data=body, content_type="application/json", **headers)


BODY = json.dumps({"prompt": "a signed lighthouse"}).encode()


def test_a_signed_request_from_the_reference_client_is_accepted(signer):
    assert post_generate(signer("POST", "/api/v1/generate", body=BODY), BODY).status_code == 201
    response = Client().get("/api/v1/tasks", {"page_size": "5", "page": "1"},
                            **signer("GET", "/api/v1/tasks", "page=1&page_size=5"))
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == 1


def test_a_replayed_request_is_refused(signer):
    headers = signer("POST", "/api/v1/generate", body=BODY)
    assert post_generate(headers, BODY).status_code == 201
    replay = post_generate(headers, BODY)
    assert replay.status_code == 401 and "nonce" in replay.json()["message"]
    assert GenerationTask.objects.count() == 1


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_timestamp_outside_five_minutes_is_refused(signer, skew):
    from accounts import signing

    stamp = str(int(time.time()) + skew)
    headers = signer("POST", "/api/v1/generate", body=BODY)
    # A correct signature over the skewed timestamp: only the clock is wrong.
    nonce = headers["HTTP_X_IMAGEGEN_NONCE"]
    good = signing.sign(signing_secret(_digest(signer.raw)), "POST", "/api/v1/generate", "", stamp, nonce, BODY)
    headers.update(HTTP_X_IMAGEGEN_TIMESTAMP=stamp, HTTP_X_IMAGEGEN_SIGNATURE=good)
    refused = post_generate(headers, BODY)
    assert refused.status_code == 401 and "clock" in refused.json()["message"]


def _digest(raw: str) -> str:
    from accounts.services import token_digest

    return token_digest(raw)


def test_a_tampered_body_path_or_query_is_refused(signer):
    headers = signer("POST", "/api/v1/generate", body=BODY)
    tampered = json.dumps({"prompt": "something else"}).encode()
    assert post_generate(headers, tampered).status_code == 401
    listing = signer("GET", "/api/v1/tasks", "page_size=5")
    assert Client().get("/api/v1/tasks", {"page_size": "50"}, **listing).status_code == 401
    assert Client().get("/api/v1/images", {"page_size": "5"},
                        **signer("GET", "/api/v1/tasks", "page_size=5")).status_code == 401
    assert not GenerationTask.objects.exists()


def test_a_signature_required_token_refuses_unsigned_use(signer):
    unsigned = Client(HTTP_AUTHORIZATION=f"Bearer {signer.raw}").get("/api/v1/tasks")
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "authentication_failed"
    assert "requires signed requests" in unsigned.json()["message"]


def test_a_signing_token_without_the_requirement_checks_any_signature_it_gets(accounts):
    alice = make_user("alice")
    token, raw = token_create(user=alice, name="maybe", signing=True)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/tasks").status_code == 200
    bad = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_IMAGEGEN_TIMESTAMP=str(int(time.time())),
                 HTTP_X_IMAGEGEN_NONCE="abcdefgh1234", HTTP_X_IMAGEGEN_SIGNATURE="0" * 64).get("/api/v1/tasks")
    assert bad.status_code == 401


def test_the_secret_is_shown_once_at_creation(accounts):
    page = signed_in(make_user("alice"))
    created = page.post("account/tokens", {"name": "signer", "signature_required": True}).json()
    assert created["signing_secret"].startswith("igs_") and created["signature_required"] is True
    listed = page.get("account/tokens").content.decode()
    assert created["signing_secret"] not in listed
    html = page.client.post("/account/tokens", {"name": "signer2", "signature_required": "on"}).content.decode()
    assert 'id="new-token-secret"' in html and "igs_" in html


def test_the_stream_handshake_can_be_signed(signer):
    async def scenario(headers):
        comm = communicator()
        comm.scope["headers"] += [(k[5:].lower().replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "subscribe", "task_id": "nothing"})
        answer = await receive_json(comm)
        await comm.disconnect()
        return answer

    headers = signer("GET", "/api/v1/generate/stream")
    assert run(scenario(headers))["error"] == "not_found"  # signed in, and working
    assert run(scenario(headers))["error"] == "authentication_failed"  # the same nonce again
