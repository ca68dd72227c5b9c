"""The watcher's database reads depend on the watched tasks, not on the number of clients: one query per
tick for all of them (task_fingerprints), plus one read of each task that changed (task_state, the one
query of GET /api/v1/task/{id})."""

from __future__ import annotations

import asyncio

import pytest

from generation.models import GenerationTask, Status
from streaming import watcher as watcher_module
from streaming.watcher import Watcher

from .conftest import Api, run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def reads(monkeypatch, settings):
    """Every read the watcher makes, by name. Only the ticks a test runs itself: the watcher's own timer
    would otherwise tick too when a loaded machine takes longer than IMAGEGEN_STREAM_POLL between two, and
    take the change a test's tick is to see."""
    settings.IMAGEGEN_STREAM_POLL = 3600
    calls: list[str] = []
    for name in ("task_fingerprints", "task_state"):
        real = getattr(watcher_module, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(watcher_module, name, counted)
    return calls


def ticks(reads: list, queues: list, task_ids: list[str], change=None) -> tuple[list, list]:
    """Subscribe every queue to every task, then run a tick without changes and one after `change`;
    returns the reads of each tick."""
    watcher = Watcher()

    async def scenario():
        for queue in queues:
            for task_id in task_ids:
                await watcher.subscribe(task_id, queue)
        reads.clear()
        await watcher.tick()
        quiet = list(reads)
        if change:
            await asyncio.to_thread(change)
        reads.clear()
        await watcher.tick()
        watcher._task.cancel()
        return quiet, list(reads)

    return asyncio.run(scenario())


@pytest.mark.parametrize("clients", [1, 200])
def test_a_tick_reads_once_for_all_tasks_and_once_per_changed_task_however_many_clients_watch(reads, clients):
    api = Api()
    task_ids = [api.generate(prompt=f"watched {n}") for n in range(3)]
    queues = [asyncio.Queue() for _ in range(clients)]
    quiet, changed = ticks(reads, queues, task_ids, change=lambda: run(task_ids[-1]))
    assert quiet == ["task_fingerprints"]
    # The task that ran is read once more for all its watchers; the others (ahead of it in the queue,
    # so their positions stand) are not read at all.
    assert changed == ["task_fingerprints", "task_state"]
    assert all(q.qsize() == 4 for q in queues)  # 3 snapshots + the one change


def test_every_watcher_gets_the_final_state_once(reads):
    api = Api()
    task_id = api.generate(prompt="finishing")
    queues = [asyncio.Queue() for _ in range(5)]
    ticks(reads, queues, [task_id], change=lambda: run(task_id))
    for queue in queues:
        kinds = [queue.get_nowait().kind for _ in range(queue.qsize())]
        assert kinds == ["snapshot", "final"]
    assert GenerationTask.objects.get(task_id=task_id).status == Status.COMPLETED


def test_a_waiting_task_hears_when_another_clients_task_joins_ahead_of_it_in_the_fair_order(reads):
    alice, bob = Api(), Api()
    alice.client.defaults["REMOTE_ADDR"] = "10.0.0.1"
    bob.client.defaults["REMOTE_ADDR"] = "10.0.0.2"
    alice.generate(prompt="alice first")
    second = alice.generate(prompt="alice second")
    queue = asyncio.Queue()
    quiet, changed = ticks(reads, [queue], [second], change=lambda: bob.generate(prompt="bob's only one"))
    assert quiet == ["task_fingerprints"]
    assert changed == ["task_fingerprints", "task_state"]
    snapshot, update = queue.get_nowait(), queue.get_nowait()
    # Created later, Bob's task still goes before Alice's second: it is Bob's turn after Alice's first.
    assert (snapshot.kind, update.kind) == ("snapshot", "update")
    assert snapshot.state.body["queue_position"] == 1 and update.state.body["queue_position"] == 2


def test_a_failed_tasks_version_does_not_depend_on_the_language_its_body_was_built_in():
    from django.utils import translation

    from streaming.selectors import body_version

    body = {"task_id": "t", "status": "failed", "error": {"code": "content_rejected", "message": "refused"}}
    with translation.override("zh-hans"):
        chinese = {**body, "error": {**body["error"], "message": "拒绝"}}
    assert body_version(body) == body_version(chinese)
    assert body_version(body) != body_version({**body, "error": {**body["error"], "code": "upstream_error"}})
