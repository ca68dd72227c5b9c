"""Password reset by e-mail (issue 18, item 7): Django's views and token, the site's templates; the same
answer whether the address is known or not; a link that works once; every session ends; requests are
limited per address; audited. Open mode has no accounts, so no reset."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import caches
from django.test import Client

from accounts.audit.models import AuditEvent

from .accounts import PASSWORD, accounts, make_user  # noqa: F401  (fixture)
from .two_factor import device_code, enrol

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new horse battery 7"


def with_email(username: str, email: str):
    user = make_user(username)
    user.email = email
    user.save(update_fields=["email"])
    return user


def the_link() -> str:
    assert len(mail.outbox) == 1
    return re.search(r"http://testserver(/password-reset/\S+)", mail.outbox[0].body)[1]


def test_the_e_mail_carries_a_link_that_sets_a_new_password_once(accounts):
    with_email("alice", "alice@example.com")
    laptop = Client()
    laptop.post("/login", {"username": "alice", "password": PASSWORD})
    client = Client()
    assert 'href="/password-reset"' in client.get("/login").content.decode()
    sent = client.post("/password-reset", {"email": "Alice@Example.com"})
    assert sent.status_code == 302 and sent["Location"] == "/password-reset/sent"
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"] and message.from_email == "imagegen <noreply@localhost>"
    assert "alice" in message.body and "imagegen" in message.subject
    form = client.get(the_link(), follow=True)
    assert form.status_code == 200 and 'autocomplete="new-password"' in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == "/password-reset/done"
    assert Client().login(username="alice", password=NEW_PASSWORD)
    assert laptop.get("/account").status_code == 302  # the old sessions ended
    again = Client().get(the_link(), follow=True)
    assert 'id="reset-invalid"' in again.content.decode()
    kinds = set(AuditEvent.objects.filter(kind="password_reset").values_list("object_id", flat=True))
    assert kinds == {"requested", "completed"}


def test_an_unknown_address_gets_the_same_answer_and_no_e_mail(accounts):
    with_email("alice", "alice@example.com")
    answer = Client().post("/password-reset", {"email": "nobody@example.com"})
    assert answer.status_code == 302 and answer["Location"] == "/password-reset/sent"
    assert mail.outbox == []


def test_a_deactivated_user_gets_no_e_mail(accounts):
    alice = with_email("alice", "alice@example.com")
    alice.is_active = False
    alice.save()
    Client().post("/password-reset", {"email": "alice@example.com"})
    assert mail.outbox == []


def test_a_weak_new_password_is_refused(accounts):
    with_email("alice", "alice@example.com")
    client = Client()
    client.post("/password-reset", {"email": "alice@example.com"})
    form = client.get(the_link(), follow=True)
    weak = client.post(form.redirect_chain[-1][0], {"new_password1": "12345678901", "new_password2": "12345678901"})
    assert weak.status_code == 200 and "field-error" in weak.content.decode()


def test_reset_requests_are_limited_per_address(accounts, settings):
    settings.IMAGEGEN_PASSWORD_RESET_RATE = "2/h"
    caches["default"].clear()
    with_email("alice", "alice@example.com")
    client = Client()
    for _ in range(2):
        assert client.post("/password-reset", {"email": "alice@example.com"}).status_code == 302
    refused = client.post("/password-reset", {"email": "alice@example.com"})
    assert refused.status_code == 429 and "Too many reset requests" in refused.content.decode()
    assert len(mail.outbox) == 2


def test_a_reset_does_not_skip_the_second_factor(accounts):
    alice = with_email("alice", "alice@example.com")
    device, _codes = enrol(alice)
    client = Client()
    client.post("/password-reset", {"email": "alice@example.com"})
    form = client.get(the_link(), follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    step = client.post("/login", {"username": "alice", "password": NEW_PASSWORD})
    assert step["Location"] == "/login/two-factor"
    assert client.post("/login/two-factor", {"code": device_code(device)})["Location"] == "/"


def test_the_e_mail_is_in_the_reader_s_language(accounts):
    with_email("alice", "alice@example.com")
    Client(HTTP_ACCEPT_LANGUAGE="zh-hans").post("/password-reset", {"email": "alice@example.com"})
    assert "密码" in mail.outbox[0].subject


def test_in_open_mode_there_is_no_reset():
    assert Client().get("/password-reset").status_code == 404
    assert Client().post("/password-reset", {"email": "a@example.com"}).status_code in (403, 404)
