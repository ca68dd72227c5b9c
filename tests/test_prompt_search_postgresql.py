"""Prompt search on PostgreSQL (the machine's): the pg_trgm index serves it and it follows every change to the
tasks, with the same literal text, Chinese substrings, users kept apart and capped count as on SQLite
(tests/test_prompt_search.py); the checks themselves run in `manage.py shell` (tests/prompt_search_checks.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .services import postgres_url  # noqa: F401  (fixture)
from .stack import ROOT, Stack

pytestmark = pytest.mark.processes


def test_the_search_index_works_and_follows_the_tasks_on_postgresql(tmp_path, postgres_url):
    stack = Stack(tmp_path / "node", DATABASE_URL=postgres_url)  # migrated: migration 0013 made the index
    try:
        out = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                              "from tests.prompt_search_checks import check; check()"],
                             cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=180)
        assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-4000:]
    finally:
        stack.close()
