"""The request-rate budgets at their documented default rates (settings_test raises them; the
`default_rates` fixture restores them), under a controlled clock: a scripted 30-minute studio session is
never throttled, and a control run that generates faster than the generation budget allows is throttled
on generation only, with a Retry-After that holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from .conftest import Api, run

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 5, 10, 0, 0, 250_000, tzinfo=UTC)
SMALL = {"prompt": "a quiet harbour at dawn", "model": "general_v2.0", "width": 512, "height": 512}


class Session:
    """One studio user (one client): every request is recorded with the budget it belongs to."""

    def __init__(self, clock):
        self.api = Api()
        self.clock = clock
        self.log: list[tuple[str, str, int]] = []  # (budget, what, status)
        self.images: list[str] = []
        self.tasks: list[str] = []

    def _record(self, budget, what, response):
        self.log.append((budget, what, response.status_code))
        return response

    def generate(self):
        response = self._record("generation", "POST /generate", self.api.post("generate", SMALL))
        if response.status_code == 201:
            task_id = response.json()["task_id"]
            self.tasks.append(task_id)
            self.poll(task_id)
            run(task_id)
            body = self.poll(task_id).json()
            self.images += [image["image_id"] for image in body["images"]]
        return response

    def poll(self, task_id):
        return self._record("read", "GET /task", self.api.get(f"task/{task_id}"))

    def browse(self):
        for path in ("tasks", "images", "tags", "history", "models"):
            self._record("read", f"GET /{path}", self.api.get(path))
        # A browser opening an API page: a read, whatever the page is for.
        self._record("read", "browser GET /generate", self.api.client.get("/api/v1/generate", HTTP_ACCEPT="text/html"))
        for page in ("/", "/gallery", "/history", "/queue"):
            self._record("page", f"GET {page}", self.api.client.get(page))

    def edit(self, step: int):
        if not self.images:
            return
        image = self.images[-1]
        self._record("edit", "POST tags", self.api.post(f"images/{image}/tags", {"tags": ["harbour", f"s{step}"]}))
        self._record("edit", "DELETE tag", self.api.delete(f"images/{image}/tags/s{step}"))
        self._record("edit", "bulk tag", self.api.post("images/bulk", {"action": "tag", "image_ids": self.images[-3:],
                                                                      "tags": ["favourite"]}))

    def delete_some(self):
        if len(self.images) > 3:
            self._record("edit", "DELETE image", self.api.delete(f"images/{self.images.pop(0)}"))
            self._record("edit", "bulk delete", self.api.post("images/bulk", {"action": "delete",
                                                                             "image_ids": [self.images.pop(0)]}))
        if len(self.tasks) > 5:
            self._record("edit", "DELETE task", self.api.delete(f"task/{self.tasks.pop(0)}"))

    def throttled(self) -> list[tuple[str, str, int]]:
        return [entry for entry in self.log if entry[2] == 429]


def play(session: Session, *, minutes: int, generate_every: int):
    """The script: generating every `generate_every` seconds, polling, browsing, tagging and bulk actions
    every 20 s, deleting every minute."""
    for second in range(minutes * 60):
        session.clock.move_to(START.timestamp() + second)
        if second % generate_every == 0:
            session.generate()
        if second % 20 == 5:
            session.edit(second)
        if second % 20 == 10:
            session.browse()
        if second % 60 == 30:
            session.delete_some()


def test_a_thirty_minute_studio_session_is_never_throttled(default_rates, media):
    with time_machine.travel(START, tick=False) as clock:
        session = Session(clock)
        play(session, minutes=30, generate_every=20)
    assert session.throttled() == []
    kinds = {budget for budget, _what, _status in session.log}
    assert kinds == {"generation", "read", "edit", "page"}
    assert sum(what == "POST /generate" for _b, what, _s in session.log) == 90
    # Everything worked (the browsable API page of /generate shows its POST form under a 405 for GET).
    failed = [e for e in session.log if e[2] >= 400 and not (e[1] == "browser GET /generate" and e[2] == 405)]
    assert failed == []


def test_generating_faster_than_the_budget_is_throttled_on_generation_only(default_rates, media):
    with time_machine.travel(START, tick=False) as clock:
        session = Session(clock)
        play(session, minutes=3, generate_every=1)
        throttled = session.throttled()
        assert throttled, "generating every second never hit the generation budget"
        assert {budget for budget, _what, _status in throttled} == {"generation"}
        accepted = sum(what == "POST /generate" and status == 201 for _b, what, status in session.log)
        assert accepted <= 3 * 30 + 30  # at most one budget per window the 3 minutes touch
        # Retry-After is the truth: a generation sent then is accepted.
        refused = session.api.post("generate", SMALL)
        assert refused.status_code == 429
        body = refused.json()
        assert body["error"] == "rate_limit_exceeded" and body["retry_after"] == int(refused["Retry-After"])
        clock.shift(body["retry_after"] - 1)
        assert session.api.post("generate", SMALL).status_code == 429
        clock.shift(1)
        assert session.api.post("generate", SMALL).status_code == 201
