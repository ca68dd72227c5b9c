"""The API's throttle counts reads (GET, HEAD, OPTIONS) on the read budget and other methods on the view's
write budget ("edit" unless the view names another); the fixed throttles always count on their own; a
refused request waits the seconds to the window's end (1 when nothing was refused)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import caches
from django.test import RequestFactory

from core.api.throttling import ApiThrottle, CreateThrottle, EditThrottle, GenerationThrottle, ReadThrottle, window_of

NOW = 1_800_000_000.25


class View:
    pass


class GenerateView:
    write_budget = "generation"


@pytest.mark.parametrize("method", ["get", "head", "options"])
def test_reads_count_on_the_read_budget(method):
    request = getattr(RequestFactory(), method)("/api/v1/tasks")
    assert ApiThrottle().budget_for(request, GenerateView()) == "read"
    assert ApiThrottle().budget_for(request, View()) == "read"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_count_on_the_views_write_budget_or_edit(method):
    request = getattr(RequestFactory(), method)("/api/v1/generate")
    assert ApiThrottle().budget_for(request, View()) == "edit"
    assert ApiThrottle().budget_for(request, GenerateView()) == "generation"


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_fixed_throttles_count_on_their_own_budget(method):
    request = getattr(RequestFactory(), method)("/api/v1/x")
    assert ReadThrottle().budget_for(request, GenerateView()) == "read"
    assert EditThrottle().budget_for(request, GenerateView()) == "edit"
    assert GenerationThrottle().budget_for(request, View()) == "generation"
    assert CreateThrottle is GenerationThrottle


def test_a_refused_request_waits_until_the_window_ends(settings):
    settings.CACHES = {**settings.CACHES, "throttle-test": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle-test"}}
    settings.IMAGEGEN_READ_RATE_CACHE = "throttle-test"
    settings.IMAGEGEN_READ_RATE = "2/m"
    settings.RATELIMIT_ENABLE = True
    settings.IMAGEGEN_ACCESS = "open"
    caches["throttle-test"].clear()
    request = RequestFactory().get("/api/v1/tasks", REMOTE_ADDR="10.1.2.3")
    other = RequestFactory().get("/api/v1/tasks", REMOTE_ADDR="10.1.2.4")
    with time_machine.travel(datetime.fromtimestamp(NOW, UTC), tick=False):
        throttle = ApiThrottle()
        assert throttle.wait() == 1  # nothing asked yet
        assert [throttle.allow_request(request, View()) for _ in range(2)] == [True, True]
        assert throttle.wait() == 1
        assert throttle.allow_request(request, View()) is False
        _start, end = window_of("rate:read:10.1.2.3", 60, NOW)
        assert throttle.wait() == -(-(end - NOW) // 1)
        assert throttle.allow_request(other, View()) is True  # counted per client
    caches["throttle-test"].clear()
