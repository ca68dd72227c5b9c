"""Request-rate limits as DRF throttles, so an exceeded limit is a JSON 429 with Retry-After.

A window opens at a client's first request and lasts the rate's period. Creations are counted in the
shared "default" cache; reads, which clients poll, in IMAGEGEN_READ_RATE_CACHE — on the embedded
default a per-process memory cache, because a database cache would turn every GET into a write.
"""

import math
import time

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import BaseThrottle

from .clients import client_id


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """"30/m" → (30, 60); "5/10m" → (5, 600)."""
    count, _, period = rate.partition("/")
    multiplier = int(period[:-1] or 1)
    return int(count), multiplier * _PERIODS[period[-1]]


class RateThrottle(BaseThrottle):
    group = "api.read"
    setting = "IMAGEGEN_READ_RATE"
    cache_setting = "IMAGEGEN_READ_RATE_CACHE"

    def allow_request(self, request, view):
        if not settings.RATELIMIT_ENABLE:
            return True
        limit, period = parse_rate(getattr(settings, self.setting))
        cache = caches[getattr(settings, self.cache_setting)]
        key = f"rate:{self.group}:{client_id(request)}"
        now = time.time()
        cache.add(key, 0, period)
        try:
            used = cache.incr(key)
        except ValueError:  # the window expired between add and incr
            cache.set(key, 1, period)
            used = 1
        if used == 1:
            cache.set(f"{key}:start", now, period)
        if used <= limit:
            return True
        started = cache.get(f"{key}:start") or now
        self._wait = max(1, math.ceil(started + period - now))
        return False

    def wait(self):
        return getattr(self, "_wait", 1)


class ReadThrottle(RateThrottle):
    pass


class CreateThrottle(RateThrottle):
    group = "api.create"
    setting = "IMAGEGEN_CREATE_RATE"
    cache_setting = "IMAGEGEN_CREATE_RATE_CACHE"
