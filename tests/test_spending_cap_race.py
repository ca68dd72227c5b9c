"""A site-wide spending cap holds exactly when many users' requests race through several web processes on
PostgreSQL: the cap's advisory lock counts them one after the other, so never one image more is accepted."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from .accounts import stack_user
from .services import postgres_url  # noqa: F401  (fixture)
from .stack import Stack

pytestmark = [pytest.mark.processes]

CAP = 5
REQUESTS = 24
USERS = ("alice", "bob", "carol")


def test_racing_creates_of_several_users_never_pass_the_site_cap(tmp_path, postgres_url):
    stack = Stack(tmp_path / "data", IMAGEGEN_ACCESS="accounts", IMAGEGEN_CAP_DAILY_IMAGES=str(CAP),
                  IMAGEGEN_DEFAULT_DAILY_IMAGES="1000", IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS="1000",
                  DATABASE_URL=postgres_url)
    try:
        tokens = [stack_user(stack, name) for name in USERS]
        stack.start_web()  # no worker: a task that is accepted stays unfinished, so nothing is billed or sent

        def create(n):
            headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
            return stack.request("POST", "/api/v1/generate", {"prompt": f"racing {n}"}, headers=headers)

        with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
            results = list(pool.map(create, range(REQUESTS)))
        assert sorted(status for status, _body in results) == [201] * CAP + [429] * (REQUESTS - CAP)
        assert {body["error"] for status, body in results if status == 429} == {"spending_cap_reached"}
        assert stack.query("SELECT COUNT(*), SUM(num_images) FROM tasks") == [(CAP, CAP)]
    finally:
        stack.close()
