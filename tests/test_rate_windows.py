"""Request-rate windows on every cache the product supports (the database cache, local memory, Redis): a
window ends exactly when Retry-After says, refused attempts do not extend it, and parallel attempts never
pass the limit. The database and local-memory caches read Python's clock, so they run under a controlled
clock (time-machine); Redis keeps its own time, so it gets short real windows."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import caches

from core.api.throttling import spend, window_of

from .services import redis_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

# A moment with a fraction of a second in it, so that "exactly" is tested off the whole second.
T0 = datetime(2026, 12, 5, 9, 0, 12, 370_000, tzinfo=UTC)


@pytest.fixture(params=["database", "locmem", "redis"])
def backend(request, settings):
    """The generation budget counted on one kind of cache (as CACHE_URL / IMAGEGEN_CREATE_RATE_CACHE pick)."""
    extra = {
        "database": None,  # "default": the embedded database cache (core.cache.DatabaseCache)
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "windows-test"},
        "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                  "LOCATION": request.getfixturevalue("redis_url") if request.param == "redis" else ""},
    }[request.param]
    if extra is None:
        assert settings.CACHES["default"]["BACKEND"] == "core.cache.DatabaseCache"
        alias = "default"
    else:
        settings.CACHES = {**settings.CACHES, "under-test": extra}
        alias = "under-test"
    settings.IMAGEGEN_CREATE_RATE_CACHE = alias
    caches[alias].clear()
    yield request.param
    caches[alias].clear()


def spend_many(n: int, ident: str) -> list[int | None]:
    return [spend("generation", ident) for _ in range(n)]


def test_a_window_ends_exactly_when_retry_after_says(backend, settings):
    if backend == "redis":
        return redis_window_ends_at_retry_after(settings)
    settings.IMAGEGEN_CREATE_RATE = "10/m"
    with time_machine.travel(T0, tick=False) as clock:
        results = spend_many(11, "client-a")
        assert results[:10] == [None] * 10
        wait = results[10]
        assert 1 <= wait <= 60
        # Just before the window's end (a millisecond before the announced second's end, and within it):
        _start, end = window_of("rate:generation:client-a", 60, time.time())
        assert wait == -(-(end - time.time()) // 1)  # whole seconds, rounded up
        clock.move_to(datetime.fromtimestamp(end - 0.001, UTC))
        assert spend("generation", "client-a") is not None
        # At Retry-After: a new window, counted afresh.
        clock.move_to(T0.timestamp() + wait)
        assert spend_many(10, "client-a") == [None] * 10
        assert spend("generation", "client-a") is not None


def test_refused_attempts_during_a_window_do_not_extend_it(backend, settings):
    if backend == "redis":
        return redis_refusals_do_not_extend(settings)
    settings.IMAGEGEN_CREATE_RATE = "10/m"
    with time_machine.travel(T0, tick=False) as clock:
        spend_many(10, "client-b")
        first_wait = spend("generation", "client-b")
        announced_end = T0.timestamp() + first_wait
        # A client that keeps trying: a refusal every 5 s, each told a shorter wait that ends at the same time.
        while time.time() + 5 < announced_end:
            clock.shift(5)
            wait = spend("generation", "client-b")
            assert wait is not None and time.time() + wait == announced_end
        clock.move_to(announced_end)
        assert spend("generation", "client-b") is None


def test_forty_parallel_attempts_against_a_limit_of_ten_let_exactly_ten_through(backend, settings):
    if backend == "database":
        pytest.skip("the database cache's parallel counting runs through real web processes: "
                    "tests/test_rate_limits_in_parallel.py (an in-memory test database cannot take parallel writers)")
    settings.IMAGEGEN_CREATE_RATE = "10/h"
    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(lambda _n: spend("generation", "client-c"), range(40)))
    assert sum(r is None for r in results) == 10


def test_budgets_and_clients_are_counted_apart(backend, settings):
    settings.IMAGEGEN_CREATE_RATE = "2/h"
    assert spend_many(3, "client-d")[2] is not None
    assert spend_many(2, "client-e") == [None, None]


# -- Redis: its own clock, short real windows


def _wait_until(moment: float) -> None:
    while (left := moment - time.time()) > 0:
        time.sleep(min(left, 0.05))


def _start_of_a_fresh_window(key: str, period: int) -> float:
    """Wait for a window to begin (plus a little), so that a burst fits in one window."""
    start, end = window_of(key, period, time.time())
    _wait_until(end + 0.05)
    return end


def redis_window_ends_at_retry_after(settings):
    settings.IMAGEGEN_CREATE_RATE = "10/2s"
    start = _start_of_a_fresh_window("rate:generation:client-r", 2)
    results = spend_many(11, "client-r")
    refused_at = time.time()
    assert refused_at < start + 1, "the burst did not fit in the first second of the window (machine too slow)"
    assert results[:10] == [None] * 10
    wait = results[10]
    assert wait in (1, 2)
    _wait_until(refused_at + wait)
    assert spend_many(10, "client-r") == [None] * 10


def redis_refusals_do_not_extend(settings):
    settings.IMAGEGEN_CREATE_RATE = "10/3s"
    start = _start_of_a_fresh_window("rate:generation:client-s", 3)
    spend_many(10, "client-s")
    wait = spend("generation", "client-s")
    announced_end = time.time() + wait
    assert announced_end >= start + 3
    # Refusals all through the window.
    refusals = 0
    while time.time() < start + 2.5:
        refusals += spend("generation", "client-s") is not None
        time.sleep(0.1)
    assert refusals >= 5
    _wait_until(announced_end)
    assert spend("generation", "client-s") is None
