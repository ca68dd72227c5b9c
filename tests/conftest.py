"""Shared fixtures: an API client, task helpers and a scriptable engine for the pipeline's own tests."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from generation import run as task_runs
from generation import services
from generation.engines.base import EngineError, EngineResult

SEED_EXAMPLE = {
    "prompt": "一只可爱的猫咪",
    "negative_prompt": "模糊, 低质量",
    "model": "general_v2.0",
    "width": 1024,
    "height": 1024,
    "num_images": 1,
    "steps": 20,
    "scale": 7.5,
    "seed": None,
}


class Api:
    """A JSON client for /api/v1 with the caller's language."""

    def __init__(self, language: str = "en"):
        self.client = Client(HTTP_ACCEPT_LANGUAGE=language)

    def post(self, path, body=None, *, raw: str | bytes | None = None, **headers):
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(f"/api/v1/{path}", data=data, content_type="application/json", headers=headers)

    def get(self, path, **params):
        return self.client.get(f"/api/v1/{path}", params)

    def delete(self, path):
        return self.client.delete(f"/api/v1/{path}")

    def generate(self, **changes):
        body = {**SEED_EXAMPLE, **changes}
        response = self.post("generate", body)
        assert response.status_code == 201, response.content
        return response.json()["task_id"]


@pytest.fixture
def api(db):
    return Api()


@pytest.fixture
def api_zh(db):
    return Api("zh-hans")


def run(task_id: str) -> None:
    """What a worker does with the queue message for this task."""
    task_runs.task_run(task_id=task_id)


@pytest.fixture
def media(settings, tmp_path):
    """Image files in a fresh directory, so a test can count every file it leaves."""
    # FileSystemStorage follows a changed MEDIA_ROOT (it listens to setting_changed).
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def files_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class ScriptedEngine:
    """An engine whose outcomes the test sets: a list of EngineError instances or "ok" (a preview image)."""

    name = "scripted"
    label = "Scripted test engine"
    is_preview = True

    def __init__(self, outcomes):
        from generation.engines.preview import PreviewEngine

        self.outcomes = list(outcomes)
        self.calls = []
        self._preview = PreviewEngine(latency=0)

    def generate(self, request, progress):
        self.calls.append(request)
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(outcome, EngineError):
            raise outcome
        if callable(outcome):
            return outcome(request, progress)
        return self._preview.generate(request, progress)

    def check(self):
        return {"ok": True, "detail": "scripted"}


@pytest.fixture
def scripted(monkeypatch, settings):
    """Install a scripted engine; retries wait a few milliseconds instead of seconds."""
    settings.IMAGEGEN_RETRY_BASE_DELAY = 0.01
    settings.IMAGEGEN_RETRY_MAX_DELAY = 0.05

    def install(*outcomes):
        engine = ScriptedEngine(outcomes)
        monkeypatch.setattr(services, "get_engine_for", lambda model: engine)
        monkeypatch.setattr(task_runs, "get_engine_for", lambda model: engine)
        return engine

    return install


class FakeClock:
    """The task run's clock (generation/clock.py) in a test: sleeping moves time forward at once.

    `now()` is the real time plus all the time slept so far, so a run waits out any retry delay without
    sleeping. `on_sleep(n, seconds)`, when set, runs at the n-th sleep (1-based) before time moves: a test
    acts there at a chosen moment of a wait (cancel the task, take it over)."""

    def __init__(self):
        self.offset = timedelta(0)
        self.slept: list[float] = []
        self.on_sleep = None

    def now(self):
        return timezone.now() + self.offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.slept), seconds)
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def fake_clock():
    """Install a FakeClock for the task run; retry waits take no real time."""
    from generation import clock

    fake = FakeClock()
    previous = clock.install(fake)
    yield fake
    clock.install(previous)


__all__ = ["EngineError", "EngineResult", "SEED_EXAMPLE", "run", "files_under"]


def pytest_sessionstart(session):
    from .secrets_guard import install_log_handler

    install_log_handler()


@pytest.fixture(autouse=True)
def no_secret_leaks():
    """Fails the test during which a configured secret reached a response, a log line or a process log."""
    from .secrets_guard import guard, install_log_handler

    install_log_handler()
    seen = len(guard.leaks)
    yield
    leaks = guard.leaks[seen:]
    if leaks:
        del guard.leaks[seen:]
        pytest.fail("A secret leaked:\n  " + "\n  ".join(dict.fromkeys(leaks)), pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    from .secrets_guard import guard

    if guard.leaks:  # outside any test: collection, session fixtures
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("A secret leaked outside the tests:\n  " + "\n  ".join(dict.fromkeys(guard.leaks)),
                                red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


FAST_TEST_TIMEOUT = 120  # seconds; pytest.ini's `timeout` (600) bounds the slow kinds


def pytest_collection_modifyitems(config, items):
    """A fast test (neither processes, browser nor faults) that runs two minutes is hung: bound it tighter."""
    slow = {"processes", "browser", "faults"}
    for item in items:
        if item.get_closest_marker("timeout") is None and not slow & {m.name for m in item.iter_markers()}:
            item.add_marker(pytest.mark.timeout(FAST_TEST_TIMEOUT))


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the test item, so fixtures can act on failures (screenshots)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def default_rates(settings):
    """The documented default request rates (settings_test raises them all), with empty counters."""
    from django.core.cache import caches

    for name, rate in settings.IMAGEGEN_DEFAULT_RATES.items():
        setattr(settings, name, rate)
    caches["default"].clear()
    caches["local"].clear()
    return settings.IMAGEGEN_DEFAULT_RATES


if os.environ.get("IMAGEGEN_TEST_DB_TEMPLATE"):
    # Mutation testing (scripts/mutants.py) runs the selected tests once per mutant, each run a new pytest
    # session: the test database is a copy of one migrated once for the whole run, not migrated again (a
    # second and a half per mutant). Its own copy per session, so sessions running at once share nothing.
    @pytest.fixture(scope="session")
    def django_db_setup(django_db_blocker):
        import shutil
        import tempfile
        from pathlib import Path

        from django.db import connections

        copy = Path(tempfile.mkdtemp(prefix="imagegen-mutant-db-")) / "db.sqlite3"
        shutil.copyfile(os.environ["IMAGEGEN_TEST_DB_TEMPLATE"], copy)
        with django_db_blocker.unblock():
            connections["default"].close()
            connections["default"].settings_dict["NAME"] = str(copy)
        yield
        with django_db_blocker.unblock():
            connections["default"].close()
        shutil.rmtree(copy.parent, ignore_errors=True)
