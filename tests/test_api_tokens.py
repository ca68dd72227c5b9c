"""API tokens from start to end: made on the account page (or the API), shown once and stored only as a
hash, used with `Authorization: Bearer`, listed with when they were last used, revoked → 401."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from generation.models import GenerationTask

from .accounts import accounts, make_user, signed_in, with_token  # noqa: F401  (fixture)
from .conftest import SEED_EXAMPLE

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"igt_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def alice(accounts):
    return make_user("alice")


def create_in_page(browser, name: str) -> str:
    response = browser.client.post("/account/tokens", {"name": name})
    assert response.status_code == 200
    found = TOKEN.findall(response.content.decode())
    assert len(found) == 1, "the new token is shown, once"
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    return found[0]


def test_a_token_made_in_the_page_works_is_listed_with_its_last_use_and_dies_when_revoked(alice, caplog):
    caplog.set_level(logging.DEBUG)
    browser = signed_in(alice)
    raw = create_in_page(browser, "laptop script")

    # Shown once: the account page lists it by name and prefix, never in full.
    page = browser.client.get("/account").content.decode()
    assert "laptop script" in page and raw[:12] in page
    assert raw not in page
    assert "never" in page

    # Used: the API answers as Alice, and the task is hers.
    api = with_token(raw)
    response = api.post("generate", SEED_EXAMPLE)
    assert response.status_code == 201
    assert GenerationTask.objects.get(task_id=response.json()["task_id"]).owner == alice
    assert api.get("account").json()["username"] == "alice"

    listed = browser.get("account/tokens").json()
    assert [t["name"] for t in listed] == ["laptop script"]
    assert listed[0]["last_used_at"] is not None and listed[0]["prefix"] == raw[:12]
    assert "token" not in listed[0]
    assert "never" not in browser.client.get("/account").content.decode()

    # Revoked on the page: the next request is a 401 in the envelope.
    token = ApiToken.objects.get(user=alice)
    response = browser.client.post(f"/account/tokens/{token.pk}/revoke", follow=True)
    assert "The token “laptop script” was revoked." in response.content.decode()
    assert "laptop script</td>" not in response.content.decode()
    response = api.get("tasks")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {"error": "authentication_failed",
                               "message": "The API token is not valid: unknown, revoked or malformed.",
                               "details": None}
    assert api.client.get(f"/api/v1/images/img_{'0' * 32}").status_code == 401  # plain views too

    assert raw not in caplog.text, "a token never reaches the logs"


def test_only_a_hash_of_the_token_is_stored(alice):
    raw = create_in_page(signed_in(alice), "ci")
    row = ApiToken.objects.values().get(user=alice)
    assert row["digest"] == hashlib.sha256(raw.encode()).hexdigest()
    assert not any(raw in str(value) for value in row.values())
    assert row["prefix"] == raw[:12]


def test_last_use_is_written_at_most_once_a_minute(alice):
    raw = create_in_page(signed_in(alice), "busy")
    api = with_token(raw)
    recent = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.update(last_used_at=recent)
    api.get("tasks")
    assert ApiToken.objects.get().last_used_at == recent
    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    api.get("tasks")
    assert timezone.now() - ApiToken.objects.get().last_used_at < timedelta(seconds=30)


@pytest.mark.parametrize("header", ["Bearer igt_unknown", "Bearer ", "Bearer " + "x" * 500, "bearer igt_x y"])
def test_an_unknown_or_malformed_token_is_a_401(alice, header):
    client = Client(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/tasks")
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"
    assert "igt_" not in response.content.decode()


def test_a_deactivated_users_token_is_a_401(alice):
    raw = create_in_page(signed_in(alice), "old")
    alice.is_active = False
    alice.save()
    assert with_token(raw).get("tasks").status_code == 401


def test_tokens_are_made_listed_and_revoked_through_the_api_too(alice):
    browser = signed_in(alice)
    response = browser.post("account/tokens", {"name": "deploy"})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    created = response.json()
    assert TOKEN.fullmatch(created["token"]) and created["prefix"] == created["token"][:12]
    api = with_token(created["token"])
    assert api.get("tasks").status_code == 200
    # A token cannot make another: revoking a leaked one must be enough.
    refused = api.post("account/tokens", {"name": "persist"})
    assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"
    assert api.delete(f"account/tokens/{created['id']}").status_code == 204
    assert api.get("tasks").status_code == 401
    assert browser.get("account/tokens").json() == []


def test_a_token_needs_a_name(alice):
    browser = signed_in(alice)
    response = browser.client.post("/account/tokens", {"name": "   "})
    assert response.status_code == 400
    assert "Give the token a name." in response.content.decode()
    assert not ApiToken.objects.exists()
    assert browser.post("account/tokens", {"name": ""}).json()["error"] == "validation_error"


def test_the_page_forms_need_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/account/tokens", {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()
