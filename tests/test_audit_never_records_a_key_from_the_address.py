"""The audit log never records a secret (issue 18, item 1), and some addresses carry one: a share link's key
(/s/<key>) and a password-reset token (/password-reset/<uid>/<token>). A state-changing request to such an
address is recorded with the key left out of its path and object id."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.audit.models import AuditEvent

from .accounts import accounts, make_user  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

SHARE_KEY = "Sh4reKeyThatOnlyItsHolderKnows0123456789abcd"


def every_field_of_every_event() -> str:
    return json.dumps([{f.name: str(getattr(e, f.name)) for f in AuditEvent._meta.fields} for e in AuditEvent.objects.all()])


@pytest.mark.parametrize("path", [f"/s/{SHARE_KEY}", f"/s/{SHARE_KEY}/img_0123456789abcdef"])
def test_a_post_to_a_share_link_is_recorded_without_its_key(path):
    assert Client().post(path).status_code == 405
    [event] = AuditEvent.objects.filter(kind="request")
    assert event.status == 405 and event.path.startswith("/s/")
    assert SHARE_KEY not in every_field_of_every_event()


def test_a_post_to_a_password_reset_link_is_recorded_without_its_token(accounts):
    alice = make_user("alice")
    uid, token = urlsafe_base64_encode(force_bytes(alice.pk)), default_token_generator.make_token(alice)
    Client().post(f"/password-reset/{uid}/{token}", {"new_password1": "x", "new_password2": "x"})
    events = AuditEvent.objects.filter(path__startswith="/password-reset/")
    assert events.exists()
    assert token not in every_field_of_every_event()
