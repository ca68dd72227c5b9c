"""Request-rate limits ("budgets") as DRF throttles, so an exceeded limit is a JSON 429 with Retry-After.

Window semantics (README, "Limits"): fixed windows. A budget of `count/period` gives each client `count`
requests per window of `period` seconds. The windows of one client and budget are consecutive,
`[start, start + period)`, aligned to the Unix epoch plus a fixed per-client offset (so that clients'
windows do not all turn over at the same instant). A request is counted in the window the clock is in
when it arrives; the (count+1)th request in a window and every one after it are refused with
`Retry-After` = the seconds left until the window ends, rounded up, so a request sent then is in the
next window and is counted afresh.

The window's end is computed from the clock, never read from a cache entry's expiry: each window has its
own counter key (the window's start is in the name), which merely has to outlive the window. Refused
requests therefore cannot extend a window, whatever a cache backend does to expiry on a write (Django's
database cache resets it on every `set`, which is what made windows endless before). Counting is one
atomic `add` or `incr` on the cache: atomic on Redis and in local memory, and on the database cache
through core.cache.DatabaseCache, whose `incr` is a locked read-modify-write.

Budgets: "generation" (POST /generate, generate over the WebSocket, staff retries), "edit" (tags, bulk
actions, cancel/delete, token management) and "read" (every GET, including a browser opening an API page).
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import BaseThrottle

from .clients import client_id


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def parse_rate(rate: str) -> tuple[int, int]:
    """"30/m" → (30, 60); "5/10m" → (5, 600)."""
    count, _, period = rate.partition("/")
    multiplier = int(period[:-1] or 1)
    return int(count), multiplier * _PERIODS[period[-1]]


@dataclass(frozen=True)
class Hit:
    allowed: bool
    count: int  # requests counted in this window, this one included
    limit: int
    window_end: float  # Unix time the window ends

    def retry_after(self, now: float) -> int:
        """Whole seconds until the window ends (at least 1): a request sent then is in the next window."""
        return max(1, math.ceil(self.window_end - now))


def window_of(key: str, period: int, now: float) -> tuple[int, int]:
    """The fixed window `[start, end)` the instant `now` falls in, for this key."""
    offset = zlib.crc32(key.encode()) % period
    start = math.floor((now - offset) / period) * period + offset
    return start, start + period


def count(cache, key: str, *, period: int, now: float | None = None, increment: bool = True) -> tuple[int, float]:
    """Count one request in the current window of `key` (atomically) and return (count, window end);
    with increment=False only read the count."""
    now = time.time() if now is None else now
    start, end = window_of(key, period, now)
    counter = f"{key}:{start}"
    if not increment:
        return int(cache.get(counter) or 0), end
    # The counter only has to outlive its window; the window's end never depends on this expiry.
    timeout = math.ceil(end - now) + 5
    for _attempt in range(3):
        if cache.add(counter, 1, timeout):
            return 1, end
        try:
            return cache.incr(counter), end
        except ValueError:  # it expired between add and incr (only possible after its window): add again
            continue
    raise RuntimeError(f"could not count on {counter}")


def give_back(cache, key: str, *, period: int, now: float | None = None) -> None:
    """Undo one count in the current window (a sign-in that turned out right does not use up an attempt)."""
    now = time.time() if now is None else now
    start, _end = window_of(key, period, now)
    try:
        cache.decr(f"{key}:{start}")
    except ValueError:
        pass


def hit(*, budget: str, ident: str, rate: str, cache_alias: str, now: float | None = None) -> Hit:
    limit, period = parse_rate(rate)
    used, end = count(caches[cache_alias], f"rate:{budget}:{ident}", period=period, now=now)
    return Hit(allowed=used <= limit, count=used, limit=limit, window_end=end)


# name → (rate setting, cache setting)
BUDGETS = {
    "generation": ("IMAGEGEN_CREATE_RATE", "IMAGEGEN_CREATE_RATE_CACHE"),
    "edit": ("IMAGEGEN_EDIT_RATE", "IMAGEGEN_EDIT_RATE_CACHE"),
    "read": ("IMAGEGEN_READ_RATE", "IMAGEGEN_READ_RATE_CACHE"),
}


def spend(budget: str, ident: str) -> int | None:
    """Spend one request of `budget` for the client `ident`: None when allowed, else the seconds to wait."""
    if not settings.RATELIMIT_ENABLE:
        return None
    rate_setting, cache_setting = BUDGETS[budget]
    now = time.time()
    result = hit(budget=budget, ident=ident, rate=getattr(settings, rate_setting),
                 cache_alias=getattr(settings, cache_setting), now=now)
    return None if result.allowed else result.retry_after(now)


class BudgetThrottle(BaseThrottle):
    """Counts a request against one budget; `budget` None picks it by method: safe methods are reads,
    others spend the view's `write_budget` (default "edit")."""

    budget: str | None = None

    def budget_for(self, request, view) -> str:
        if self.budget:
            return self.budget
        if request.method in SAFE_METHODS:
            return "read"
        return getattr(view, "write_budget", "edit")

    def allow_request(self, request, view):
        self._wait = spend(self.budget_for(request, view), client_id(request))
        return self._wait is None

    def wait(self):
        return getattr(self, "_wait", None) or 1


class ApiThrottle(BudgetThrottle):
    """The throttle of every API view: reads for GET/HEAD/OPTIONS, the view's write budget otherwise."""


class ReadThrottle(BudgetThrottle):
    budget = "read"


class EditThrottle(BudgetThrottle):
    budget = "edit"


class GenerationThrottle(BudgetThrottle):
    budget = "generation"


CreateThrottle = GenerationThrottle  # the old name
