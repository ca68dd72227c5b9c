"""Fixed windows: each client's windows are `period` long, consecutive, and offset from the epoch by a
per-client amount (crc32 of the key modulo the period); Retry-After is the whole seconds left, rounded up,
and at least 1."""

from __future__ import annotations

import zlib

import pytest

from core.api.throttling import Hit, window_of

NOW = 1_800_000_000.25  # a fixed Unix time with a fraction of a second in it


@pytest.mark.parametrize(("left", "expected"), [(0.001, 1), (0.5, 1), (1.0, 1), (1.5, 2), (59.2, 60), (0.0, 1), (-3, 1)])
def test_retry_after_is_the_seconds_left_rounded_up_and_at_least_one(left, expected):
    hit = Hit(allowed=False, count=4, limit=3, window_end=NOW + left)
    assert hit.retry_after(NOW) == expected


@pytest.mark.parametrize("period", [1, 60, 600, 3600, 86400])
@pytest.mark.parametrize("key", ["rate:read:10.0.0.1", "rate:generation:user:7", "ipm:alice"])
def test_the_window_holds_the_moment_and_is_one_period_long(key, period):
    start, end = window_of(key, period, NOW)
    assert end - start == period
    assert start <= NOW < end
    # Offset from the epoch by the key's own amount.
    assert (start - zlib.crc32(key.encode()) % period) % period == 0


def test_the_window_starts_at_the_epoch_plus_the_keys_offset():
    key = "rate:generation:client-a"
    offset = zlib.crc32(key.encode()) % 60
    assert 0 < offset < 60
    base = 1_800_000_000  # a multiple of 60
    assert window_of(key, 60, base + offset) == (base + offset, base + offset + 60)
    assert window_of(key, 60, base + offset - 0.001) == (base + offset - 60, base + offset)
    assert window_of(key, 60, base + offset + 59.999) == (base + offset, base + offset + 60)


def test_two_clients_windows_turn_over_at_different_moments():
    starts = {window_of(f"rate:read:10.0.0.{n}", 3600, NOW)[0] for n in range(10)}
    assert len(starts) > 1


def test_a_window_is_given_in_whole_seconds():
    start, end = window_of("rate:edit:x", 60, NOW)
    assert isinstance(start, int) and isinstance(end, int)
