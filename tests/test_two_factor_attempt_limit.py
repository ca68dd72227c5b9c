"""The second factor has its own limit of wrong codes (IMAGEGEN_OTP_RATE) per user and per address, apart
from the password's: past it even the right code is refused (429) until the window ends, and the password
step's limit is not weakened by the second step."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client

from .accounts import PASSWORD, accounts, make_user  # noqa: F401  (fixture)
from .two_factor import device_code, enrol

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings, accounts):
    settings.IMAGEGEN_OTP_RATE = "3/15m"
    settings.IMAGEGEN_LOGIN_RATE = "10/15m"
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own pause is tested elsewhere
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    caches["default"].clear()


def second_step(username: str, address: str = "127.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=address)
    assert client.post("/login", {"username": username, "password": PASSWORD})["Location"] == "/login/two-factor"
    return client


def wrong_code(device) -> str:
    return "000000" if device_code(device) != "000000" else "111111"


def test_wrong_codes_beyond_the_limit_refuse_even_the_right_one(limits):
    alice = make_user("alice")
    device, codes = enrol(alice)
    client = second_step("alice")
    for _ in range(3):
        assert client.post("/login/two-factor", {"code": wrong_code(device)}).status_code == 400
    refused = client.post("/login/two-factor", {"code": device_code(device)})
    assert refused.status_code == 429 and "Too many wrong codes" in refused.content.decode()
    assert client.post("/login/two-factor", {"code": codes[0]}).status_code == 429
    assert client.get("/account").status_code == 302  # still not signed in


def test_the_limit_is_per_user_across_addresses(limits):
    alice = make_user("alice")
    device, _codes = enrol(alice)
    for n in range(3):
        second_step("alice", f"10.0.0.{n + 1}").post("/login/two-factor", {"code": wrong_code(device)})
    fresh = second_step("alice", "10.0.0.9")
    assert fresh.post("/login/two-factor", {"code": device_code(device)}).status_code == 429


def test_the_limit_is_per_address_across_users(limits):
    users = [make_user(name) for name in ("alice", "bob", "carol", "dave")]
    devices = [enrol(user)[0] for user in users]
    for user, device in zip(users[:3], devices[:3], strict=True):
        second_step(user.username).post("/login/two-factor", {"code": wrong_code(device)})
    dave = second_step("dave")
    assert dave.post("/login/two-factor", {"code": device_code(devices[3])}).status_code == 429


def test_a_right_code_gives_its_attempt_back(limits):
    alice = make_user("alice")
    device, codes = enrol(alice)
    client = second_step("alice")
    client.post("/login/two-factor", {"code": wrong_code(device)})
    client.post("/login/two-factor", {"code": wrong_code(device)})
    assert client.post("/login/two-factor", {"code": codes[0]}).status_code == 302
    for code in codes[1:4]:  # two wrong codes of three are used: right codes keep passing
        assert second_step("alice").post("/login/two-factor", {"code": code}).status_code == 302
    last = second_step("alice")
    last.post("/login/two-factor", {"code": wrong_code(device)})
    assert last.post("/login/two-factor", {"code": codes[5]}).status_code == 429


def test_the_password_step_keeps_its_own_limit(limits, settings):
    settings.IMAGEGEN_LOGIN_RATE = "2/15m"
    caches["default"].clear()
    alice = make_user("alice")
    enrol(alice)
    client = Client()
    for _ in range(2):
        assert client.post("/login", {"username": "alice", "password": "wrong"}).status_code == 200
    refused = client.post("/login", {"username": "alice", "password": PASSWORD})
    assert refused.status_code == 429  # the right password does not reach the second step
