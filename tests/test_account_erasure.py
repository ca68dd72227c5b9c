"""A person's data, theirs to erase (issue 18, item 8): after the password, the account goes with every
task (unfinished ones cancelled first), image, thumbnail and file on storage, tag, token, session and
setting; nobody else loses anything; audited. From the account page and the API (errors in the envelope).
Open mode has no accounts: nothing to erase."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.audit.models import AuditEvent
from accounts.models import ApiToken, UserSession
from generation.models import GenerationTask, Image, ImageTag, Quota

from .accounts import PASSWORD, accounts, with_token  # noqa: F401  (fixture)
from .people import files, people  # noqa: F401  (fixture)
from .two_factor import enrol

pytestmark = pytest.mark.django_db


def assert_alice_is_gone(world):
    assert not get_user_model().objects.filter(username="alice").exists()
    assert not GenerationTask.objects.filter(owner_id=world.alice_user.pk).exists()
    assert not GenerationTask.objects.filter(task_id__in=[world.done, world.running]).exists()
    assert not Image.objects.filter(owner_id=world.alice_user.pk).exists()
    assert not ImageTag.objects.filter(owner_id=world.alice_user.pk).exists()
    assert not ApiToken.objects.filter(user_id=world.alice_user.pk).exists()
    assert not Quota.objects.filter(user_id=world.alice_user.pk).exists()
    assert not UserSession.objects.filter(user_id=world.alice_user.pk).exists()
    left = files(world)
    assert not any(path in left for path in world.alice_files)  # originals and thumbnails
    assert not any(world.done in path or world.running in path for path in left)
    # Bob keeps everything.
    assert GenerationTask.objects.filter(task_id=world.bobs).exists()
    assert all(path in left for path in world.bob_files)


def test_the_account_page_erases_everything_after_the_password(people):
    client = people.alice.client
    page = client.get("/account/delete")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.content.decode()
    wrong = client.post("/account/delete", {"password": "not my password"})
    assert wrong.status_code == 400 and "not your password" in wrong.content.decode()
    assert GenerationTask.objects.filter(task_id=people.done).exists()
    done = client.post("/account/delete", {"password": PASSWORD})
    assert done.status_code == 200 and 'id="account-erased"' in done.content.decode()
    assert_alice_is_gone(people)
    assert client.get("/account").status_code == 302  # signed out
    assert with_token(people.token).get("account").status_code == 401
    assert not Client().login(username="alice", password=PASSWORD)


def test_erasure_is_audited_and_the_log_keeps_no_content(people):
    people.alice.client.post("/account/delete", {"password": PASSWORD})
    event = AuditEvent.objects.get(kind="account_erased")
    assert event.username == "alice" and event.object_id == "user:alice" and event.user_id is None
    assert not AuditEvent.objects.filter(user_id=people.alice_user.pk).exists()


def test_two_factor_devices_go_too(people):
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    enrol(people.alice_user)
    with_token(people.token).post("account/erase", {"password": PASSWORD})
    assert not TOTPDevice.objects.exists() and not StaticDevice.objects.exists()


def test_the_api_erases_with_the_password(people):
    api = with_token(people.token)
    wrong = api.post("account/erase", {"password": "not my password"})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "validation_error" and "password" in wrong.json()["details"]
    missing = api.post("account/erase", {})
    assert missing.status_code == 400 and missing.json()["error"] == "validation_error"
    assert api.post("account/erase", {"password": PASSWORD}).status_code == 204
    assert_alice_is_gone(people)


def test_a_token_that_may_only_read_cannot_erase(people):
    from accounts import services

    _token, raw = services.token_create(user=people.alice_user, name="reader", scopes=["read"])
    refused = with_token(raw).post("account/erase", {"password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"
    assert GenerationTask.objects.filter(task_id=people.done).exists()


def test_wrong_passwords_count_against_the_sign_in_limit(people, settings):
    from django.core.cache import caches

    settings.IMAGEGEN_LOGIN_RATE = "2/15m"
    caches["default"].clear()
    api = with_token(people.token)
    for _ in range(2):
        assert api.post("account/erase", {"password": "guess"}).status_code == 400
    limited = api.post("account/erase", {"password": PASSWORD})
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limit_exceeded"
    assert "Retry-After" in limited
    assert GenerationTask.objects.filter(task_id=people.done).exists()


def test_in_open_mode_there_is_nothing_to_erase(db):
    assert Client().get("/account/delete").status_code == 404
    answer = Client().post("/api/v1/account/erase", {"password": "x"}, content_type="application/json")
    assert answer.status_code in (403, 404) and "error" in answer.json()
