"""Sign-in limits at the documented default (10 failed attempts per 15 minutes), under a controlled clock:
the 11th attempt in a window is refused unchecked, refused attempts do not extend the window, and the first
attempt after the window ends is checked."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from core.api.throttling import window_of

from .accounts import PASSWORD, accounts, make_user  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 5, 12, 0, 3, 600_000, tzinfo=UTC)


def attempt(client, password):
    return client.post("/login", {"username": "alice", "password": password})


def test_the_eleventh_attempt_is_refused_and_the_first_after_the_window_is_checked(accounts, default_rates):
    assert default_rates["IMAGEGEN_LOGIN_RATE"] == "10/15m"
    make_user("alice")
    client = Client(REMOTE_ADDR="10.0.9.9")
    keys = ("login:address:10.0.9.9", "login:username:alice")  # both counters; the later end decides
    with time_machine.travel(START, tick=False) as clock:
        # Start just inside both counters' current windows, so that the ten attempts share them.
        first = max(window_of(key, 900, time.time())[0] for key in keys) + 1
        clock.move_to(first)
        end = max(window_of(key, 900, first)[1] for key in keys)
        for _ in range(10):
            assert attempt(client, "wrong").status_code == 200  # checked: wrong
        refused = attempt(client, PASSWORD)
        assert refused.status_code == 429  # the 11th, even with the right password
        assert "Too many failed sign-in attempts" in refused.content.decode()
        # A client that keeps trying every half minute does not push the end out.
        while time.time() + 30 < end:
            clock.shift(30)
            assert attempt(client, "wrong").status_code == 429
        clock.move_to(end - 0.01)
        assert attempt(client, PASSWORD).status_code == 429
        clock.move_to(end)
        signed_in = attempt(client, PASSWORD)
        assert signed_in.status_code == 302
        assert "_auth_user_id" in signed_in.wsgi_request.session


def test_an_attempt_refused_for_its_user_name_uses_up_nothing_of_its_address(accounts, default_rates):
    make_user("alice")
    make_user("carol")
    guesser = Client(REMOTE_ADDR="10.0.9.1")
    neighbour = Client(REMOTE_ADDR="10.0.9.2")
    keys = ("login:address:10.0.9.2", "login:username:alice", "login:username:carol")
    with time_machine.travel(START, tick=False) as clock:
        clock.move_to(max(window_of(key, 900, time.time())[0] for key in keys) + 1)
        for _ in range(10):
            assert attempt(guesser, "wrong").status_code == 200
        # alice's name is locked: the neighbour's tries at it are refused unchecked...
        for _ in range(5):
            assert attempt(neighbour, PASSWORD).status_code == 429
        # ...and do not count against the neighbour's address, which still has all ten attempts.
        for _ in range(10):
            response = neighbour.post("/login", {"username": "carol", "password": "wrong"})
            assert response.status_code == 200
        assert neighbour.post("/login", {"username": "carol", "password": "wrong"}).status_code == 429
