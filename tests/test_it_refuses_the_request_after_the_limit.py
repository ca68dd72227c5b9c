"""A budget of n requests per window lets exactly n through and refuses the next with the seconds to the
window's end; the next window counts afresh; budgets and clients are counted apart; RATELIMIT_ENABLE=False
lets everything through. Counted in local memory under a stopped clock (time-machine), so each moment is
exact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import caches

from core.api import throttling
from core.api.throttling import count, hit, spend, window_of

NOW = 1_800_000_000.25


@pytest.fixture
def rates(settings):
    """Every budget counted in a local-memory cache of its own."""
    settings.CACHES = {**settings.CACHES, "rate-test": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rate-test"}}
    for budget in ("CREATE", "EDIT", "READ"):
        setattr(settings, f"IMAGEGEN_{budget}_RATE_CACHE", "rate-test")
    settings.RATELIMIT_ENABLE = True
    caches["rate-test"].clear()
    yield settings
    caches["rate-test"].clear()


@pytest.fixture
def clock():
    with time_machine.travel(datetime.fromtimestamp(NOW, UTC), tick=False) as traveller:
        yield traveller


def test_it_refuses_the_request_after_the_limit(rates, clock):
    rates.IMAGEGEN_CREATE_RATE = "3/m"
    assert [spend("generation", "alice") for _ in range(3)] == [None, None, None]
    _start, end = window_of("rate:generation:alice", 60, NOW)
    wait = spend("generation", "alice")
    assert wait == -(-(end - NOW) // 1)
    assert spend("generation", "alice") == wait  # and every request after it in the window


def test_a_budget_of_one_lets_one_through(rates, clock):
    rates.IMAGEGEN_EDIT_RATE = "1/h"
    assert spend("edit", "alice") is None
    assert spend("edit", "alice") is not None


def test_the_next_window_counts_afresh(rates, clock):
    rates.IMAGEGEN_READ_RATE = "2/m"
    _start, end = window_of("rate:read:alice", 60, NOW)
    assert [spend("read", "alice") for _ in range(3)][2] is not None
    clock.move_to(datetime.fromtimestamp(end - 0.001, UTC))
    assert spend("read", "alice") == 1
    clock.move_to(datetime.fromtimestamp(end, UTC))
    assert [spend("read", "alice") for _ in range(3)] == [None, None, 60]


def test_budgets_and_clients_are_counted_apart(rates, clock):
    rates.IMAGEGEN_CREATE_RATE = rates.IMAGEGEN_EDIT_RATE = rates.IMAGEGEN_READ_RATE = "1/m"
    assert spend("generation", "alice") is None
    assert spend("edit", "alice") is None
    assert spend("read", "alice") is None
    assert spend("generation", "bob") is None
    assert spend("generation", "alice") is not None


def test_each_budget_reads_its_own_rate(rates, clock):
    rates.IMAGEGEN_CREATE_RATE, rates.IMAGEGEN_EDIT_RATE, rates.IMAGEGEN_READ_RATE = "1/m", "2/m", "3/m"
    assert [spend("generation", "c") is None for _ in range(4)] == [True, False, False, False]
    assert [spend("edit", "c") is None for _ in range(4)] == [True, True, False, False]
    assert [spend("read", "c") is None for _ in range(4)] == [True, True, True, False]


def test_each_budget_counts_on_its_own_cache(rates, clock):
    rates.CACHES = {**rates.CACHES, "other": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                              "LOCATION": "rate-test-other"}}
    rates.IMAGEGEN_EDIT_RATE_CACHE = "other"
    rates.IMAGEGEN_EDIT_RATE = "5/m"
    spend("edit", "alice")
    start, _end = window_of("rate:edit:alice", 60, NOW)
    assert caches["other"].get(f"rate:edit:alice:{start}") == 1
    assert caches["rate-test"].get(f"rate:edit:alice:{start}") is None
    caches["other"].clear()


def test_with_limits_disabled_every_request_goes_through(rates, clock):
    rates.RATELIMIT_ENABLE = False
    rates.IMAGEGEN_CREATE_RATE = "1/h"
    assert [spend("generation", "alice") for _ in range(5)] == [None] * 5


def test_a_hit_reports_the_count_the_limit_and_the_windows_end(rates):
    cache = caches["rate-test"]
    start, end = window_of("rate:edit:alice", 600, NOW)
    hits = [hit(budget="edit", ident="alice", rate="2/10m", cache_alias="rate-test", now=NOW) for _ in range(3)]
    assert [(h.allowed, h.count, h.limit, h.window_end) for h in hits] == [
        (True, 1, 2, end), (True, 2, 2, end), (False, 3, 2, end)]
    # Counted under the budget, the client and the window's start.
    assert cache.get(f"rate:edit:alice:{start}") == 3


def test_counting_without_increment_only_reads(rates):
    cache = caches["rate-test"]
    start, end = window_of("k", 60, NOW)
    assert count(cache, "k", period=60, now=NOW, increment=False) == (0, end)
    assert count(cache, "k", period=60, now=NOW) == (1, end)
    assert count(cache, "k", period=60, now=NOW) == (2, end)
    assert count(cache, "k", period=60, now=NOW, increment=False) == (2, end)
    assert count(cache, "k", period=60, now=NOW, increment=False) == (2, end)
    assert cache.get(f"k:{start}") == 2


def test_counting_uses_the_clock_when_no_moment_is_given(rates, clock):
    cache = caches["rate-test"]
    _start, end = window_of("k", 60, NOW)
    assert count(cache, "k", period=60) == (1, end)
    assert count(cache, "k", period=60, increment=False) == (1, end)


def test_a_counter_lives_five_seconds_past_its_window(rates, clock):
    """The counter only has to outlive its window (its expiry never decides the window)."""
    cache = caches["rate-test"]
    start, end = window_of("k", 60, NOW)
    clock.move_to(datetime.fromtimestamp(start, UTC))  # a whole number of seconds before the end
    count(cache, "k", period=60)
    clock.move_to(datetime.fromtimestamp(end - 0.001, UTC))
    assert count(cache, "k", period=60) == (2, end)
    clock.move_to(datetime.fromtimestamp(end + 4.9, UTC))
    assert cache.get(f"k:{start}") == 2
    clock.move_to(datetime.fromtimestamp(end + 5.1, UTC))
    assert cache.get(f"k:{start}") is None


def test_one_reading_of_the_clock_decides_both_the_window_and_the_wait(rates, monkeypatch):
    """A refusal's Retry-After is about the window the request was counted in, even when the clock turns
    over to the next window while the request is being counted."""
    rates.IMAGEGEN_CREATE_RATE = "1/m"
    start, end = window_of("rate:generation:alice", 60, NOW)
    readings = iter([start + 1.0, end - 0.5, end + 0.5, end + 0.6])
    monkeypatch.setattr(throttling, "time", type("Clock", (), {"time": staticmethod(lambda: next(readings))}))
    assert spend("generation", "alice") is None
    assert spend("generation", "alice") == 1  # counted at end - 0.5, in the full window
