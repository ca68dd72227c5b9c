"""core.cache.DatabaseCache.incr is atomic across processes and keeps the entry's expiry: four
processes incrementing one counter 100 times each end at exactly 400, on SQLite and on PostgreSQL.
(Django's own database-cache incr is a get then a set, which loses increments under this race.)"""

from __future__ import annotations

import base64
import pickle
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from .services import postgres_url  # noqa: F401  (fixture)
from .stack import ROOT, Stack

pytestmark = [pytest.mark.processes]

PROCESSES, EACH = 4, 100

HAMMER = f"""
import time
from django.core.cache import caches
cache = caches["default"]
assert type(cache).__module__ == "core.cache", type(cache)
cache.add("counter", 0, 3600)
while time.time() < float(__import__("os").environ["START_AT"]):
    time.sleep(0.005)
for _ in range({EACH}):
    cache.incr("counter")
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request) -> dict:
    return {"DATABASE_URL": request.getfixturevalue("postgres_url")} if request.param == "postgresql" else {}


def test_parallel_increments_are_never_lost_and_keep_the_expiry(tmp_path, database):
    stack = Stack(tmp_path / "data", **database)  # migrated, with the cache table; no process started
    env = {**stack.env, "START_AT": str(time.time() + 3)}
    procs = [subprocess.Popen([sys.executable, "manage.py", "shell", "-c", HAMMER], cwd=ROOT, env=env)
             for _ in range(PROCESSES)]
    assert [p.wait(timeout=120) for p in procs] == [0] * PROCESSES
    [(value, expires)] = stack.query("SELECT value, expires FROM imagegen_cache WHERE cache_key LIKE ?", ["%:counter"])
    assert pickle.loads(base64.b64decode(value)) == PROCESSES * EACH
    # The expiry is the one `add` set (an hour), not Django's default 300 s from the last increment.
    when = expires if isinstance(expires, datetime) else datetime.fromisoformat(expires)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    assert when - datetime.now(UTC) > timedelta(minutes=50)
