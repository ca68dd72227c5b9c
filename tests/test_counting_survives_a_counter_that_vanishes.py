"""Counting is `add`, else `incr`; a counter that expires between the two (possible only after its window)
is added again, up to three tries, then counting gives up with an error naming the counter."""

from __future__ import annotations

import math

import pytest

from core.api.throttling import count, window_of

NOW = 1_800_000_000.25


class ScriptedCache:
    """A cache whose `add` answers from a script (True: added) and whose `incr` fails while the counter is
    "gone"; it records every call."""

    def __init__(self, adds, value=7):
        self.adds = list(adds)
        self.value = value
        self.calls = []

    def add(self, key, value, timeout):
        self.calls.append(("add", key, value, timeout))
        return self.adds.pop(0)

    def incr(self, key):
        self.calls.append(("incr", key))
        if self.value is None:
            raise ValueError(key)
        return self.value


def test_the_first_request_of_a_window_adds_a_counter_at_one_that_outlives_the_window():
    cache = ScriptedCache([True])
    start, end = window_of("k", 60, NOW)
    assert count(cache, "k", period=60, now=NOW) == (1, end)
    assert cache.calls == [("add", f"k:{start}", 1, math.ceil(end - NOW) + 5)]


def test_a_later_request_increments_the_counter():
    cache = ScriptedCache([False], value=4)
    start, end = window_of("k", 60, NOW)
    assert count(cache, "k", period=60, now=NOW) == (4, end)
    assert [call[0] for call in cache.calls] == ["add", "incr"]
    assert cache.calls[1] == ("incr", f"k:{start}")


def test_a_counter_that_vanished_between_add_and_incr_is_added_again():
    cache = ScriptedCache([False, True], value=None)
    _start, end = window_of("k", 60, NOW)
    assert count(cache, "k", period=60, now=NOW) == (1, end)
    assert [call[0] for call in cache.calls] == ["add", "incr", "add"]


def test_counting_gives_up_after_three_tries_naming_the_counter():
    cache = ScriptedCache([False] * 5, value=None)
    start, _end = window_of("k", 60, NOW)
    with pytest.raises(RuntimeError, match=rf"^could not count on k:{start}$"):
        count(cache, "k", period=60, now=NOW)
    assert [call[0] for call in cache.calls] == ["add", "incr"] * 3
