"""The Ark account's images-per-minute limit (ARK_IMAGES_PER_MINUTE), shared by every worker on every
machine through the shared cache — the same atomic window counter as the API's rate limits.

Ark counts generated images per account and model version per minute (500 for Seedream 4.x,
docs/notes/seedream-ark.md §1.7) and refuses beyond it with a 429. Counting here first keeps a busy deployment under
the limit instead of collecting 429s. The windows are fixed minutes: a burst across a window's end can
still reach twice the limit in some sliding minute; Ark's 429 then waits on the quota retry budget, as
any rate limit does. An image is counted when its request is sent, whatever comes back (conservative).
"""

from __future__ import annotations

import time

from django.core.cache import caches

from core.api.throttling import count, give_back

PERIOD = 60  # seconds: "per minute"


def take(key: str, per_minute: int, *, now: float | None = None) -> float:
    """Count one image in the current window of `key`. 0 when it fits; else the seconds until the window
    ends, with the count undone (the caller waits and asks again)."""
    if per_minute <= 0:
        return 0.0  # no limit configured
    cache = caches["default"]
    now = time.time() if now is None else now
    used, end = count(cache, f"ipm:{key}", period=PERIOD, now=now)
    if used <= per_minute:
        return 0.0
    give_back(cache, f"ipm:{key}", period=PERIOD, now=now)
    return max(0.01, end - now)
