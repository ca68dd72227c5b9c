"""give_back undoes one count in the current window (a sign-in that turned out right does not use up an
attempt); with nothing counted it does nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import caches

from core.api.throttling import count, give_back, window_of

NOW = 1_800_000_000.25


@pytest.fixture
def cache(settings):
    settings.CACHES = {**settings.CACHES, "give-back-test": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "give-back-test"}}
    caches["give-back-test"].clear()
    yield caches["give-back-test"]
    caches["give-back-test"].clear()


def test_a_given_back_request_is_not_counted(cache):
    for _ in range(3):
        count(cache, "login:alice", period=900, now=NOW)
    give_back(cache, "login:alice", period=900, now=NOW)
    assert count(cache, "login:alice", period=900, now=NOW, increment=False)[0] == 2
    assert count(cache, "login:alice", period=900, now=NOW)[0] == 3


def test_giving_back_with_nothing_counted_does_nothing(cache):
    give_back(cache, "login:nobody", period=900, now=NOW)
    assert count(cache, "login:nobody", period=900, now=NOW, increment=False)[0] == 0


def test_giving_back_touches_only_the_current_window(cache):
    _start, end = window_of("login:alice", 900, NOW)
    count(cache, "login:alice", period=900, now=NOW)
    give_back(cache, "login:alice", period=900, now=end)  # the next window: nothing there to give back
    assert count(cache, "login:alice", period=900, now=NOW, increment=False)[0] == 1


def test_giving_back_reads_the_clock_when_no_moment_is_given(cache):
    with time_machine.travel(datetime.fromtimestamp(NOW, UTC), tick=False):
        count(cache, "login:alice", period=900)
        count(cache, "login:alice", period=900)
        give_back(cache, "login:alice", period=900)
        assert count(cache, "login:alice", period=900, increment=False)[0] == 1
