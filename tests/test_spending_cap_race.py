"""A site-wide spending cap holds exactly when creations race on PostgreSQL: 24 creations from four
processes at once, each for its own client (so no per-client lock serialises them), against a cap of 5
images: exactly 5 are made, the others refused with spending_cap_reached. The creations call the service
in a tight loop from a common start, so they meet inside the check's window (through the web server's
HTTP and sign-in work they rarely did); without the cap's lock this test fails."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from .services import postgres_url  # noqa: F401  (fixture)
from .stack import ROOT, Stack

pytestmark = [pytest.mark.processes]

CAP, PROCESSES, EACH = 5, 4, 6

CREATE = f"""
import json, os, time
from core.errors import SpendingCapReached
from generation import services
from generation.apis import GenerateApi
from generation.planning import plan_generation
serializer = GenerateApi.InputSerializer(data={{"prompt": "racing"}})
serializer.is_valid(raise_exception=True)
plan = plan_generation(dict(serializer.validated_data))
outcomes = []
while time.time() < float(os.environ["START_AT"]):
    time.sleep(0.005)
for n in range({EACH}):
    try:
        services.task_create(plan=plan, client_id=f"{{os.getpid()}}-{{n}}")
        outcomes.append("created")
    except SpendingCapReached as err:
        outcomes.append(err.code)
print(json.dumps(outcomes))
"""


def test_racing_creations_never_pass_the_site_cap(tmp_path, postgres_url):
    stack = Stack(tmp_path / "data", IMAGEGEN_CAP_DAILY_IMAGES=str(CAP), DATABASE_URL=postgres_url)
    env = {**stack.env, "START_AT": str(time.time() + 4)}  # every process imported and connected by then
    procs = [subprocess.Popen([sys.executable, "manage.py", "shell", "-c", CREATE], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(PROCESSES)]
    outcomes = [o for p in procs for o in json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1])]
    assert sorted(outcomes) == ["created"] * CAP + ["spending_cap_reached"] * (PROCESSES * EACH - CAP)
    # No worker ran and a refused creation made no task, so nothing refused was ever sent upstream.
    assert stack.query("SELECT COUNT(*), SUM(num_images) FROM tasks") == [(CAP, CAP)]
