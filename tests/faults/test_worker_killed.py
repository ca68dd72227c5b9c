"""Scenario 1: worker processes killed with SIGKILL at random points of a task, 20 times.

The kills land before the upstream call (the worker waits for the account's only concurrency slot), during
it (at a random moment while VolcEngine is still working) and after the images were written but before the
task was marked done. Each is verified as landing where it was meant to: the fake server saw no request /
had not answered yet, the attempt's files were on disk / the task was not completed when the process died.
Two tasks are killed on every one of their attempts and must end `failed` ("interrupted"); the others must
complete with exactly one image set, and nothing may be left behind."""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from ..stack import Stack
from . import harness
from .harness import SYNC_MODEL, attempt_lines, prompt_calls, sigkill, tasks

pytestmark = harness.MARKS

KILLS = 20
MAX_ATTEMPTS = 4
N_IMAGES = 3
LATENCY = 0.5
SIZE = 2048  # large enough that writing three images takes a few hundred milliseconds

# Per task: the phases it is killed in (in any order), and the phase reserved for its last kill. The
# first two use up all their attempts; the rest are killed three times and complete on the fourth try.
PLANS = [
    (["during", "before", "during"], "after_store"),
    (["before", "during", "before"], "after_store"),
    (["during", "after_store"], "before"),
    (["during", "after_store"], "before"),
    (["before", "after_store"], "during"),
    (["before", "during"], "after_store"),
]
assert sum(len(free) + 1 for free, _last in PLANS) == KILLS


@pytest.fixture
def upstream():
    server = harness.fake_upstream(latency=LATENCY)
    yield server
    server.stop()


class Plan:
    def __init__(self, free, last):
        self.free = Counter(free)
        self.last = last

    def wants(self, phase: str) -> bool:
        if sum(self.free.values()):
            return self.free[phase] > 0
        return self.last == phase

    def take(self, phase: str) -> None:
        if sum(self.free.values()):
            self.free[phase] -= 1
        else:
            self.last = None

    @property
    def done(self) -> bool:
        return not sum(self.free.values()) and self.last is None


def test_workers_killed_at_random_points_lose_nothing_and_duplicate_nothing(tmp_path, upstream):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"random seed {seed}")
    stack = Stack(
        tmp_path / "data",
        **harness.volc_env(upstream, VOLC_MAX_CONCURRENCY=1, VOLC_READ_TIMEOUT=10),
        IMAGEGEN_WORKERS=2,
        IMAGEGEN_MAX_ATTEMPTS=MAX_ATTEMPTS,
    )
    media = stack.data_dir / "media"
    prompts: dict[str, str] = {}
    plans: dict[str, Plan] = {}
    baseline: Counter = Counter()  # upstream calls of each task made before its current attempt
    kills: list[tuple[str, str]] = []
    journal: list[tuple] = []  # what each kill hit, for the failure message
    dead: set[str] = set()  # lease owners killed

    def submit(plan: Plan | None) -> str:
        prompt = f"kill round {len(prompts)} {rng.random():.6f}"
        task_id = stack.generate(prompt=prompt, model=SYNC_MODEL, width=SIZE, height=SIZE, num_images=N_IMAGES)
        prompts[task_id] = prompt
        if plan is not None:
            plans[task_id] = plan
        return task_id

    def record(task_id: str, phase: str, row: dict) -> None:
        dead.add(row["lease_holder"])
        baseline[task_id] = len(prompt_calls(upstream, prompts[task_id]))
        plans[task_id].take(phase)
        kills.append((task_id, phase))
        journal.append((task_id[:8], phase, row["attempts"], row["lease_holder"], row["stage"]))

    def attempt_files(task_id: str, token: str):
        folder = media / "images" / task_id[:2] / task_id
        return list(folder.glob(f"{token}-*")) if folder.exists() else []

    try:
        stack.start_web()
        stack.start_worker()
        for free, last in PLANS:
            submit(Plan(free, last))
        fillers = [submit(None)]  # never killed; keeps the upstream slot busy now and then
        deadline = time.monotonic() + 240
        while len(kills) < KILLS:
            assert time.monotonic() < deadline, f"only {len(kills)} kills: {kills}"
            rows = tasks(stack)
            busy_slots = dict(stack.query("SELECT holder, slot FROM upstream_slots WHERE holder != ''"))
            if not any(rows[t]["status"] not in harness.FINISHED for t in fillers):
                fillers.append(submit(None))
            for task_id, plan in list(plans.items()):
                if plan.done:
                    continue
                row = rows[task_id]
                if row["status"] in harness.FINISHED:
                    # It finished before all its kills landed (a kill came too late): a new task takes the rest.
                    submit(plan)
                    plans[task_id] = Plan([], None)
                    continue
                pid = harness.lease_pid(row)
                if row["status"] != "processing" or pid is None or row["lease_holder"] in dead:
                    continue  # not running, or still held by a worker already killed (not yet handed back)
                token = row["lease_holder"].rsplit(":", 1)[1]
                calls = prompt_calls(upstream, prompts[task_id])[baseline[task_id]:]
                if plan.wants("before") and not calls and row["stage"] == "queued_upstream" and busy_slots \
                        and row["lease_holder"] not in busy_slots:
                    sigkill(pid)
                    # Nothing may have reached VolcEngine between the look and the kill.
                    landed = "before" if len(prompt_calls(upstream, prompts[task_id])) == baseline[task_id] else "during"
                    record(task_id, landed, row)
                    break
                in_flight = [c for c in calls if c.status is None]
                if plan.wants("during") and in_flight:
                    moment = in_flight[0].at + rng.uniform(0.02, LATENCY * 0.6)
                    time.sleep(max(0.0, moment - time.monotonic()))
                    if in_flight[0].status is None:  # VolcEngine has not answered yet
                        sigkill(pid)
                        record(task_id, "during", row)
                        break
                if plan.wants("after_store") and len(calls) == N_IMAGES and all(c.status == 200 for c in calls):
                    # The last image came back: wait for the first file of this attempt, then kill.
                    spin_until = time.monotonic() + 5
                    while time.monotonic() < spin_until and not attempt_files(task_id, token):
                        time.sleep(0.002)
                    if attempt_files(task_id, token):
                        sigkill(pid)
                        dead.add(row["lease_holder"])
                        if tasks(stack)[task_id]["status"] != "completed":  # died before it was marked done
                            record(task_id, "after_store", row)
                        break
            else:
                time.sleep(0.01)

        ids = list(prompts)
        harness.wait_all_finished(stack, ids, timeout=120)
        rows = harness.assert_final_state(stack, ids, max_attempts=MAX_ATTEMPTS, failures={"interrupted"})
    finally:
        stack.close()

    per_phase = Counter(phase for _task, phase in kills)
    print(f"kills per phase: {dict(per_phase)}; tasks {len(ids)}")
    assert len(kills) == KILLS
    assert min(per_phase[p] for p in ("before", "during", "after_store")) >= 4, per_phase

    killed = Counter(task for task, _phase in kills)
    print("\n".join(map(str, journal)))
    attempts_logged = attempt_lines(stack)
    for task_id in ids:
        row, k = rows[task_id], killed[task_id]
        calls = prompt_calls(upstream, prompts[task_id])
        if k >= MAX_ATTEMPTS:
            # Every attempt was interrupted: given up with a reason, not left running.
            assert (row["status"], row["error_code"], row["attempts"]) == ("failed", "interrupted", MAX_ATTEMPTS)
        else:
            assert row["status"] == "completed", row
            assert (row["attempts"], row["retry_count"]) == (k + 1, k)
            # The run that completed made exactly one call per image, all answered.
            assert [c.status for c in calls[baseline[task_id]:]] == [200] * N_IMAGES
        # Upstream calls within the policy: at most one per image per attempt.
        assert len(calls) <= row["attempts"] * N_IMAGES
        # No attempt ran twice: each attempt number appears once in the workers' logs.
        numbers = sorted(n for n, _pid in attempts_logged[task_id])
        assert numbers == list(range(1, row["attempts"] + 1)), (task_id, numbers)
    # A task given up right after a kill that followed its writes still leaves no file (checked above).
    assert any(rows[t]["status"] == "failed" and [p for tt, p in kills if tt == t][-1] == "after_store" for t in ids)
