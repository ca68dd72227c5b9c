"""Rate counting on the embedded default cache (the database cache) is atomic across web processes: 40
parallel attempts against a limit of 10 let exactly 10 through, for generations and for sign-ins, on
SQLite and on PostgreSQL. (Local memory and Redis: tests/test_rate_windows.py.)"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .accounts import stack_user
from .services import postgres_url  # noqa: F401  (fixture)
from .stack import Stack

pytestmark = [pytest.mark.processes]

PARALLEL = 40
LIMIT = 10


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request) -> dict:
    return {"DATABASE_URL": request.getfixturevalue("postgres_url")} if request.param == "postgresql" else {}


def test_forty_parallel_attempts_against_a_limit_of_ten_let_exactly_ten_through(tmp_path, database):
    stack = Stack(tmp_path / "data", static=True, IMAGEGEN_ACCESS="accounts", IMAGEGEN_CREATE_RATE=f"{LIMIT}/h",
                  IMAGEGEN_LOGIN_RATE=f"{LIMIT}/h", IMAGEGEN_DEFAULT_DAILY_IMAGES="1000", **database)
    try:
        token = stack_user(stack, "alice")
        stack_user(stack, "bob")
        stack.start_web()
        base = f"http://127.0.0.1:{stack.port}"

        def create(n):
            return stack.request("POST", "/api/v1/generate", {"prompt": f"parallel {n}"},
                                 headers={"Authorization": f"Bearer {token}"})

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            created = list(pool.map(create, range(PARALLEL)))
        statuses = sorted(status for status, _body in created)
        assert statuses == [201] * LIMIT + [429] * (PARALLEL - LIMIT)
        assert all(body["error"] == "rate_limit_exceeded" and body["retry_after"] >= 1
                   for status, body in created if status == 429)
        assert stack.query("SELECT COUNT(*) FROM tasks") == [(LIMIT,)]

        session = requests.Session()
        response = session.get(f"{base}/login", timeout=30)
        page = response.text
        assert "csrfmiddlewaretoken" in page, (response.status_code, response.url, page[:500])
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

        def sign_in(n):
            return session.post(f"{base}/login", timeout=60, headers={"Referer": f"{base}/login"},
                                data={"csrfmiddlewaretoken": csrf, "username": "bob", "password": f"wrong {n}"},
                                allow_redirects=False).status_code

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            attempts = sorted(pool.map(sign_in, range(PARALLEL)))
        # 200: the password was checked (and was wrong); 429: refused unchecked.
        assert attempts == [200] * LIMIT + [429] * (PARALLEL - LIMIT)
    finally:
        stack.close()
