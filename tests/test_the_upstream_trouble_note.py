"""The note workers leave for /api/v1/health (upstream.note_error / note_success): only errors that say the
service is in trouble, counted per code (with the service's own code), since the first and at the last,
the last message cut to 300 characters, kept TROUBLE_SECONDS; a success removes it; a broken cache never
fails the task."""

import logging
from types import SimpleNamespace

import pytest

from generation import upstream
from generation.engines.base import EngineError, Retry


class FakeCache:
    def __init__(self):
        self.data, self.timeouts, self.deleted = {}, [], 0

    def get(self, key):
        return self.data.get(key)

    def set(self, key, value, timeout):
        self.data[key] = value
        self.timeouts.append(timeout)

    def delete(self, key):
        self.deleted += 1
        self.data.pop(key, None)


@pytest.fixture
def cache(monkeypatch):
    fake = FakeCache()
    monkeypatch.setattr(upstream, "cache", fake)
    return fake


@pytest.fixture
def now(monkeypatch):
    clock = SimpleNamespace(t=1000.0)
    monkeypatch.setattr(upstream, "time", SimpleNamespace(time=lambda: clock.t))
    return clock


def error(code, upstream_code="", message="refused"):
    return EngineError(code, message, retry=Retry.BACKOFF, upstream_code=upstream_code)


def test_trouble_is_counted_per_code_since_the_first_error_until_the_last(cache, now):
    upstream.note_error(error("upstream_unreachable", message="first"))
    now.t = 1005.0
    upstream.note_error(error("upstream_error", "50500", message="second"))
    now.t = 1009.0
    upstream.note_error(error("upstream_unreachable", message="x" * 400))
    assert upstream.trouble() == {
        "since": 1000.0, "last": 1009.0, "message": "x" * 300,
        "codes": {"upstream_unreachable": 2, "upstream_error (50500)": 1},
    }
    assert cache.timeouts == [upstream.TROUBLE_SECONDS] * 3 and upstream.TROUBLE_SECONDS == 600


@pytest.mark.parametrize("code", ["upstream_unreachable", "upstream_timeout", "upstream_error"])
def test_each_trouble_code_is_noted(cache, now, code):
    upstream.note_error(error(code))
    assert upstream.trouble()["codes"] == {code: 1}


@pytest.mark.parametrize("code", ["quota_exceeded", "content_rejected", "invalid_parameters", "bad_upstream_data"])
def test_rejections_that_show_the_service_works_are_not_trouble(cache, now, code):
    upstream.note_error(error(code))
    assert upstream.trouble() is None and cache.timeouts == []


def test_a_success_removes_the_note_and_deletes_nothing_when_there_is_none(cache, now):
    upstream.note_success()
    assert cache.deleted == 0
    upstream.note_error(error("upstream_timeout"))
    upstream.note_success()
    assert upstream.trouble() is None and cache.deleted == 1


def test_a_broken_cache_is_logged_and_never_raised(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(upstream, "cache", SimpleNamespace(get=broken, set=broken, delete=broken))
    caplog.set_level(logging.WARNING, logger="generation.upstream")
    upstream.note_error(error("upstream_error"))
    upstream.note_success()
    assert [r.getMessage() for r in caplog.records if r.name == "generation.upstream"] == [
        "could not record upstream trouble", "could not clear upstream trouble"]
    # with the error that broke it, for whoever reads the log
    assert all(r.exc_info and isinstance(r.exc_info[1], ConnectionError)
               for r in caplog.records if r.name == "generation.upstream")
