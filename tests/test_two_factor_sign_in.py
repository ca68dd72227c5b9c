"""Two-factor sign-in (issue 18, item 7): optional for users, enrolled on the account page with a QR code
drawn on the server; a sign-in then asks for the authenticator's code or a recovery code after the
password, with its own limit of wrong codes; staff must have it when IMAGEGEN_STAFF_2FA is set."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.audit.models import AuditEvent

from .accounts import PASSWORD, accounts, make_user  # noqa: F401  (fixture)
from .two_factor import device_code, enrol, key_code

pytestmark = pytest.mark.django_db


def password_step(client: Client, username: str, next_url: str = ""):
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data)


def signed_in(client: Client) -> bool:
    return client.get("/account").status_code == 200


def test_a_user_turns_it_on_with_a_code_from_the_app_and_sees_recovery_codes_once(accounts, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's pause after a wrong code: its own test below
    make_user("alice")
    client = Client()
    assert password_step(client, "alice")["Location"] == "/"
    page = client.get("/account/two-factor")
    html = page.content.decode()
    assert page.status_code == 200 and 'src="data:image/svg+xml' in html  # the QR code, drawn here
    key = re.search(r'id="totp-key">([A-Z2-7]+)<', html)[1]
    assert "otpauth://totp/imagegen" in html
    wrong = client.post("/account/two-factor", {"code": "000000" if key_code(key) != "000000" else "111111"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    done = client.post("/account/two-factor", {"code": key_code(key)})
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", done.content.decode())
    assert done.status_code == 200 and len(codes) == 10
    assert "recovery codes left" in client.get("/account/two-factor").content.decode()
    assert not any(code in client.get("/account/two-factor").content.decode() for code in codes)
    assert client.get("/account").content.decode().count('id="two-factor-state">on<') == 1
    assert AuditEvent.objects.filter(kind="two_factor", username="alice", object_id="enabled").exists()


def test_turning_it_on_signs_out_the_sessions_that_had_only_the_password(accounts):
    alice = make_user("alice")
    laptop, phone = Client(), Client()
    password_step(laptop, "alice")
    password_step(phone, "alice")
    key = re.search(r'id="totp-key">([A-Z2-7]+)<', laptop.get("/account/two-factor").content.decode())[1]
    laptop.post("/account/two-factor", {"code": key_code(key)})
    assert signed_in(laptop) and not signed_in(phone)
    assert alice.is_active


def test_sign_in_then_asks_for_the_code_and_lands_where_it_was_going(accounts):
    alice = make_user("alice")
    device, _codes = enrol(alice)
    client = Client()
    first = password_step(client, "alice", next_url="/gallery")
    assert first.status_code == 302 and first["Location"] == "/login/two-factor"
    assert not signed_in(client)  # the password alone signs nobody in
    assert client.get("/api/v1/account").status_code == 401
    page = client.get("/login/two-factor")
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.content.decode()
    done = client.post("/login/two-factor", {"code": device_code(device)})
    assert done.status_code == 302 and done["Location"] == "/gallery"
    assert signed_in(client)
    assert AuditEvent.objects.filter(kind="sign_in", username="alice").exists()


def test_a_recovery_code_works_once(accounts, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    alice = make_user("alice")
    _device, codes = enrol(alice)
    client = Client()
    password_step(client, "alice")
    assert client.post("/login/two-factor", {"code": codes[0]})["Location"] == "/"
    again = Client()
    password_step(again, "alice")
    refused = again.post("/login/two-factor", {"code": codes[0]})
    assert refused.status_code == 400 and not signed_in(again)
    assert again.post("/login/two-factor", {"code": codes[1].upper()}).status_code == 302


def test_a_wrong_code_is_refused_and_audited(accounts):
    alice = make_user("alice")
    device, _codes = enrol(alice)
    client = Client()
    password_step(client, "alice")
    wrong = "123456" if device_code(device) != "123456" else "654321"
    refused = client.post("/login/two-factor", {"code": wrong})
    assert refused.status_code == 400 and "not right" in refused.content.decode()
    assert not signed_in(client)
    assert AuditEvent.objects.filter(kind="sign_in_failed", username="alice", object_id="second_factor").exists()


def test_the_second_step_without_the_first_goes_back_to_sign_in(accounts):
    make_user("alice")
    client = Client()
    assert client.get("/login/two-factor")["Location"] == "/login"
    assert client.post("/login/two-factor", {"code": "123456"})["Location"] == "/login"


def test_the_second_step_expires(accounts, monkeypatch):
    alice = make_user("alice")
    device, _codes = enrol(alice)
    client = Client()
    password_step(client, "alice")
    import imagegen.people.views as views

    real = views.time.time
    monkeypatch.setattr(views.time, "time", lambda: real() + views.PENDING_SECONDS + 1)
    late = client.post("/login/two-factor", {"code": device_code(device)})
    assert late["Location"] == "/login" and not signed_in(client)


def test_turning_it_off_needs_the_password(accounts):
    alice = make_user("alice")
    device, _codes = enrol(alice)
    client = Client()
    password_step(client, "alice")
    client.post("/login/two-factor", {"code": device_code(device)})
    wrong = client.post("/account/two-factor/off", {"password": "not my password"})
    assert wrong.status_code == 400 and "not your password" in wrong.content.decode()
    assert client.post("/account/two-factor/off", {"password": PASSWORD})["Location"] == "/account"
    fresh = Client()
    assert password_step(fresh, "alice")["Location"] == "/"  # the password alone again


def test_new_recovery_codes_replace_the_old_ones(accounts, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    alice = make_user("alice")
    device, old = enrol(alice)
    client = Client()
    password_step(client, "alice")
    client.post("/login/two-factor", {"code": device_code(device)})
    page = client.post("/account/two-factor/recovery-codes", {"password": PASSWORD})
    new = re.findall(r"<li><code>([a-z0-9]+)</code></li>", page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    again = Client()
    password_step(again, "alice")
    assert again.post("/login/two-factor", {"code": old[2]}).status_code == 400
    assert again.post("/login/two-factor", {"code": new[2]}).status_code == 302


def test_in_open_mode_there_is_no_two_factor():
    client = Client()
    assert client.get("/account/two-factor").status_code == 404
    assert client.get("/login/two-factor").status_code == 404


def test_after_a_wrong_code_the_device_makes_the_next_wait(accounts):
    alice = make_user("alice")
    device, _codes = enrol(alice)
    client = Client()
    password_step(client, "alice")
    wrong = "123456" if device_code(device) != "123456" else "654321"
    client.post("/login/two-factor", {"code": wrong})
    waiting = client.post("/login/two-factor", {"code": device_code(device)})
    assert waiting.status_code == 400 and "wait 1 second" in waiting.content.decode()
    assert not signed_in(client)
