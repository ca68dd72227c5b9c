"""/api/v1/health answers 503, naming the dependency, when the database or the broker is down, and 200 again
once it is back, without a restart. Real processes: a web server of the app, the machine's PostgreSQL
(the test's own database, whose connections it refuses and then allows again) and a Redis server process
the test starts and stops as the broker. (The storage case is tests/test_system_api.py.)"""

from __future__ import annotations

import subprocess
import time

import pytest

from .services import PG_ADMIN_URL, _reachable, postgres_url, redis_url  # noqa: F401  (fixtures)
from .stack import Stack, free_port

pytestmark = [pytest.mark.processes]


def health(stack: Stack) -> tuple[int, dict]:
    status, body = stack.request("GET", "/api/v1/health")
    return status, body


def test_it_is_503_naming_the_database_while_the_database_refuses_connections(tmp_path, postgres_url, redis_url):
    import psycopg

    name = postgres_url.rsplit("/", 1)[1]
    # A Redis broker: with the ORM broker the broker check fails with the database, and a 503 would not
    # show that the database check itself makes the endpoint unhealthy.
    stack = Stack(tmp_path / "data", DATABASE_URL=postgres_url, IMAGEGEN_BROKER=redis_url)
    try:
        stack.start_web()
        status, body = health(stack)
        assert status == 200 and body["checks"]["database"]["ok"] is True

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        for _ in range(4):  # whichever web worker process answers (each had its own connection)
            status, body = health(stack)
            assert status == 503, body
            assert body["status"] == "unhealthy"
            assert body["checks"]["database"]["ok"] is False
            assert "OperationalError" in body["checks"]["database"]["detail"]
            assert body["checks"]["broker"]["ok"] is True and body["checks"]["storage"]["ok"] is True

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        stack.wait_for(lambda: health(stack)[0] == 200, timeout=30, what="health to be 200 again")
        assert health(stack)[1]["checks"]["database"]["ok"] is True
    finally:
        stack.close()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


class RedisServer:
    """A Redis server process of the test's own, on a free port, that the test can stop and start again."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not _reachable("127.0.0.1", self.port):
            assert self.proc.poll() is None and time.monotonic() < deadline, "the test's redis-server did not start"
            time.sleep(0.05)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    import shutil

    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_it_is_503_naming_the_broker_while_the_broker_is_down(tmp_path, redis_server):
    stack = Stack(tmp_path / "data", IMAGEGEN_BROKER=f"redis://127.0.0.1:{redis_server.port}/0")
    try:
        stack.start_web()
        status, body = health(stack)
        assert status == 200 and body["checks"]["broker"]["ok"] is True

        redis_server.stop()
        status, body = health(stack)
        assert status == 503, body
        assert body["status"] == "unhealthy"
        assert body["checks"]["broker"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True and body["checks"]["storage"]["ok"] is True
        assert "Error" in body["checks"]["broker"]["detail"] or "did not answer" in body["checks"]["broker"]["detail"]

        redis_server.start()
        stack.wait_for(lambda: health(stack)[0] == 200, timeout=30, what="health to be 200 again")
        assert health(stack)[1]["checks"]["broker"]["ok"] is True
    finally:
        stack.close()
