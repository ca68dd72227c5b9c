"""CI that refuses to skip: a service that cannot be started stops `.ci/run` before pytest, naming it, and
under CI=true a missing capability fails the test that needs it instead of skipping it.

Nothing here breaks the machine's own services: PostgreSQL is asked to start a cluster that does not
exist (a real pg_ctlcluster failure), Redis to come up on a port another server holds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.processes


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not shutil.which("pg_ctlcluster"), reason="needs Debian's postgresql-common")
def test_ci_run_stops_before_pytest_naming_postgresql_when_it_cannot_start():
    env = {**os.environ, "CI_PG_PORT": str(free_port()), "CI_PG_CLUSTER": "15 no-such-cluster"}
    env.pop("CI", None)  # .ci/run sets it itself
    done = subprocess.run(["bash", ".ci/run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "PostgreSQL could not be started" in output
    assert "pytest" not in output and "passed" not in output and "are up" not in output


def test_the_service_start_up_names_redis_when_it_does_not_answer():
    # A port PostgreSQL holds: redis-cli gets no PONG there, and a Redis started for it cannot bind.
    env = {**os.environ, "CI_REDIS_PORT": "5432", "CI_SERVICE_WAIT": "2"}
    done = subprocess.run(["bin/ci-services"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "Redis" in done.stderr and "5432" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv to drop the capability")
def test_the_disk_full_test_fails_under_ci_when_mounting_is_refused(tmp_path):
    # The same test run, with the capability to mount taken away.
    env = {**os.environ, "CI": "true"}
    done = subprocess.run(
        ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", sys.executable, "-m", "pytest", "-q",
         "-p", "no:cacheprovider", "tests/faults/test_disk_full.py", "-x"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "the mount capability (root or CAP_SYS_ADMIN) is missing" in done.stdout
    assert "1 error" in done.stdout and "skipped" not in done.stdout  # the fixture failed: an error, not a skip
