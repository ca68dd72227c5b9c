"""IMAGEGEN_STAFF_2FA=true: staff sign in with a second factor. Without one they enrol it during the
sign-in (QR code, a code from the app, recovery codes shown once); they cannot turn it off; a staff
session without it (from before the setting) is signed out; the console's own sign-in sends them to the
site's. Other users stay free to choose. With the setting off, staff choose too."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from .accounts import PASSWORD, accounts, make_user  # noqa: F401  (fixture)
from .two_factor import device_code, enrol, key_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_2fa(settings, accounts):
    settings.IMAGEGEN_STAFF_2FA = True


def test_staff_without_a_second_factor_enrol_it_while_signing_in(staff_2fa):
    make_user("carol", staff=True)
    client = Client()
    first = client.post("/login", {"username": "carol", "password": PASSWORD, "next": "/admin/"})
    assert first["Location"] == "/login/two-factor"
    assert client.get("/admin/").status_code == 302  # not signed in yet
    page = client.get("/login/two-factor").content.decode()
    assert 'id="totp-qr"' in page and "otpauth://totp/" in page
    key = re.search(r'id="totp-key">([A-Z2-7]+)<', page)[1]
    done = client.post("/login/two-factor", {"code": key_code(key)})
    html = done.content.decode()
    assert done.status_code == 200 and len(re.findall(r"<li><code>[a-z0-9]+</code></li>", html)) == 10
    assert 'href="/admin/"' in html
    assert client.get("/admin/").status_code == 200


def test_staff_cannot_turn_it_off(staff_2fa):
    carol = make_user("carol", staff=True)
    device, _codes = enrol(carol)
    client = Client()
    client.post("/login", {"username": "carol", "password": PASSWORD})
    client.post("/login/two-factor", {"code": device_code(device)})
    refused = client.post("/account/two-factor/off", {"password": PASSWORD})
    assert refused.status_code == 400 and "cannot be turned off" in refused.content.decode()


def test_a_staff_session_without_the_second_factor_is_signed_out(staff_2fa):
    carol = make_user("carol", staff=True)
    client = Client()
    client.force_login(carol)  # e.g. signed in before IMAGEGEN_STAFF_2FA was set
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/account")["Location"].startswith("/login")


def test_the_console_sign_in_sends_them_to_the_site_s(staff_2fa):
    make_user("carol", staff=True)
    client = Client()
    answer = client.post("/admin/login/?next=/admin/", {"username": "carol", "password": PASSWORD})
    assert answer.status_code == 200 and "use the site&#x27;s sign-in page" in answer.content.decode()
    assert client.get("/admin/").status_code == 302


def test_other_users_still_sign_in_with_the_password_alone(staff_2fa):
    make_user("alice")
    client = Client()
    assert client.post("/login", {"username": "alice", "password": PASSWORD})["Location"] == "/"


def test_without_the_setting_staff_choose(accounts):
    make_user("carol", staff=True)
    client = Client()
    assert client.post("/admin/login/?next=/admin/", {"username": "carol", "password": PASSWORD}).status_code == 302
    assert client.get("/admin/").status_code == 200
