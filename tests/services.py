"""The scale path's services for tests: the machine's PostgreSQL and Redis, and an S3-protocol server
(moto in server mode) started as a real process. Each test gets its own database, Redis db and bucket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

PG_ADMIN_URL = os.environ.get("IMAGEGEN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _missing(what: str):
    # In CI the services must be there (.ci/run starts them): a missing one is a failure, not a skip.
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not reachable; .ci/run should have started it")
    pytest.skip(f"{what} is not reachable on 127.0.0.1")


@pytest.fixture
def postgres_url():
    if not _reachable("127.0.0.1", 5432):
        _missing("PostgreSQL")
    import psycopg

    name = f"imagegen_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgres://", 1)
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url():
    if not _reachable(REDIS_HOST, REDIS_PORT):
        _missing("Redis")
    import redis

    # A database index of its own, emptied before and after: 2..8 for the first pytest-xdist worker (and a
    # run without workers), 9..15 for the second, so that the two never share one.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    half = int(worker[2:]) % 2 if worker[2:].isdigit() else 0
    index = 2 + 7 * half + uuid.uuid4().int % 7
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=index)
    client.flushdb()
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{index}"
    client.flushdb()


class S3Server:
    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not _reachable("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the S3 test server did not start")
            time.sleep(0.1)

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="testing",
                            aws_secret_access_key="testing", region_name="us-east-1")

    def bucket(self) -> str:
        name = f"imagegen-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server):
    bucket = s3_server.bucket()
    return bucket, {
        "IMAGEGEN_STORAGE": "s3",
        "IMAGEGEN_S3_BUCKET": bucket,
        "IMAGEGEN_S3_ENDPOINT_URL": s3_server.endpoint,
        "IMAGEGEN_S3_ACCESS_KEY": "testing",
        "IMAGEGEN_S3_SECRET_KEY": "testing",
        "IMAGEGEN_S3_REGION": "us-east-1",
        "IMAGEGEN_S3_ADDRESSING_STYLE": "path",
    }


def use_bucket(settings, monkeypatch, env: dict) -> None:
    """Point the app's default storage at the bucket of `env` (an s3_env), configured exactly as
    IMAGEGEN_STORAGE=s3 configures it (imagegen.environment.s3_storage)."""
    from imagegen import environment

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": environment.s3_storage(environment.Env())}
