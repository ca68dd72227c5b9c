"""The Ark account's images-per-minute limit (ARK_IMAGES_PER_MINUTE), shared by every worker on every
machine through the shared cache.

Ark counts generated images per account and model version per minute (500 for Seedream 4.x,
docs/notes/seedream-ark.md §1.7) and refuses beyond it with a 429; whether its minute is fixed or sliding is
not documented. Counting here first keeps a busy deployment under the limit instead of collecting 429s, in
the strictest reading: never more than the limit in ANY 60 seconds.

How: time is cut into BUCKETS slices of PERIOD / BUCKETS seconds, each with an atomic counter in the cache. An
image is counted in the current slice first, then the counts of the slices that any 60 seconds ending now
can touch (the current one and the BUCKETS before it) are read in one call; over the limit, the count is
undone and the caller waits until the oldest counted slice has left that range. Two workers racing for the
last place may both be refused (each sees the other's count), never both let through, so the limit holds
exactly; what it costs is up to one slice (PERIOD / BUCKETS seconds) of unused budget. An image is counted
when its request is sent, whatever comes back (conservative).
"""

from __future__ import annotations

import math
import time

from django.core.cache import caches

PERIOD = 60  # seconds: "per minute"
BUCKETS = 12  # slices of a period: 5 s each


def _slice_of(now: float) -> tuple[int, float]:
    """The index of the slice `now` falls in, and the slices' length."""
    width = PERIOD / BUCKETS
    return math.floor(now / width), width


def _counter(key: str, index: int) -> str:
    return f"ipm:{key}:{index}"


def take(key: str, per_minute: int, *, now: float | None = None) -> float:
    """Count one image against `key`'s budget. 0 when it fits; else the seconds until it may, with the count
    undone (the caller waits and asks again)."""
    if per_minute <= 0:
        return 0.0  # no limit configured
    cache = caches["default"]
    now = time.time() if now is None else now
    current, width = _slice_of(now)
    counter = _counter(key, current)
    # A slice's counter only has to outlive the range that reads it.
    if not cache.add(counter, 1, math.ceil(PERIOD + 2 * width)):
        try:
            cache.incr(counter)
        except ValueError:  # expired between add and incr: impossible within its range; count afresh
            cache.add(counter, 1, math.ceil(PERIOD + 2 * width))
    window = range(current - BUCKETS, current + 1)
    found = cache.get_many([_counter(key, index) for index in window])
    counts = [int(found.get(_counter(key, index)) or 0) for index in window]
    if sum(counts) <= per_minute:
        return 0.0
    try:
        cache.decr(counter)
    except ValueError:
        pass
    # The oldest slice holding a count leaves the range when the slice BUCKETS + 1 after it begins.
    oldest = next(index for index, n in zip(window, counts) if n > 0)
    return max(0.01, (oldest + BUCKETS + 1) * width - now)
