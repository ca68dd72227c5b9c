"""A batch of 50 tasks from one client, in each access mode, at the documented default limits: every one is
accepted (sent at the pace the generation budget allows, waiting out each Retry-After) and completes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from generation.models import GenerationTask

from .accounts import make_user, signed_in
from .conftest import Api, run

pytestmark = pytest.mark.django_db

BATCH = 50
SMALL = {"prompt": "variation", "model": "general_v2.0", "width": 512, "height": 512}


@pytest.fixture(params=["open", "accounts"])
def client(request, settings, default_rates, media) -> Api:
    settings.IMAGEGEN_ACCESS = request.param
    return signed_in(make_user("alice")) if request.param == "accounts" else Api()


def test_fifty_tasks_from_one_client_are_all_accepted_and_complete(client, settings):
    assert settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT >= BATCH
    accepted, waits = [], []
    with time_machine.travel(datetime(2026, 12, 5, 11, 0, 0, 500_000, tzinfo=UTC), tick=False) as clock:
        while len(accepted) < BATCH:
            response = client.post("generate", {**SMALL, "prompt": f"variation {len(accepted)}"})
            if response.status_code == 429:
                assert response.json()["error"] == "rate_limit_exceeded"
                waits.append(int(response["Retry-After"]))
                clock.shift(waits[-1])
                continue
            assert response.status_code == 201, response.content
            accepted.append(response.json()["task_id"])
            clock.shift(0.5)
        # None ran yet: all 50 wait in the queue at once.
        assert GenerationTask.objects.filter(status="pending").count() == BATCH
        for task_id in accepted:
            run(task_id)
    assert waits, "50 requests fitted in one generation window: the budget was not exercised"
    assert GenerationTask.objects.filter(status="completed").count() == BATCH
