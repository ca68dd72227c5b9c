"""The fair rule in the claim query (in process; tests/test_fair_scheduling.py runs real workers): clients
are served in turn, not in creation order; a queue message may run another client's task; staff can move
a task to the front; queue_position follows the rule; a staff retry spends the generation budget."""

import pytest

from generation import scheduling, selectors
from generation.models import GenerationTask

from .accounts import accounts  # noqa: F401  (fixture)
from .admin_helpers import TASKS, act, messages_of
from .conftest import Api, run

pytestmark = pytest.mark.django_db


def client_at(address: str) -> Api:
    api = Api()
    api.client.defaults["REMOTE_ADDR"] = address
    return api


def start_order() -> list[str]:
    return list(GenerationTask.objects.exclude(started_at=None).order_by("started_at", "id")
                .values_list("prompt", flat=True))


def test_waiting_clients_are_served_in_turn_not_in_creation_order(media):
    alice, bob = client_at("10.0.0.1"), client_at("10.0.0.2")
    batch = [alice.generate(prompt=f"alice {n}") for n in range(3)]
    single = bob.generate(prompt="bob")
    # The workers get the messages in creation order; each runs the task the rule picks.
    for task_id in [*batch, single]:
        run(task_id)
    # Alice's first task, then Bob's (Alice has had a turn), then Alice's others (which of her own tasks
    # runs is the one whose message came).
    assert [prompt.split()[0] for prompt in start_order()] == ["alice", "bob", "alice", "alice"]
    assert set(GenerationTask.objects.values_list("status", flat=True)) == {"completed"}


def test_a_client_with_a_task_running_waits_behind_one_with_none(media):
    alice, bob = client_at("10.0.0.1"), client_at("10.0.0.2")
    first, second = alice.generate(prompt="alice 0"), alice.generate(prompt="alice 1")
    held = scheduling.claim_next(first)  # a worker holds Alice's first task
    assert held.task_id == first
    single = bob.generate(prompt="bob")
    assert scheduling.claim_next(second).task_id == single  # the message named Alice's task; Bob's goes first


def test_queue_position_follows_the_fair_rule(db):
    alice, bob = client_at("10.0.0.1"), client_at("10.0.0.2")
    batch = [alice.generate(prompt=f"alice {n}") for n in range(4)]
    single = bob.generate(prompt="bob")
    positions = {task_id: alice.get(f"task/{task_id}").json()["queue_position"] for task_id in [*batch, single]}
    assert positions[single] == 0  # Bob's turn comes before Alice's second task
    assert [positions[t] for t in batch] == [0, 2, 3, 4]


def test_staff_move_a_waiting_task_to_the_front(admin_client, media):
    alice, bob = client_at("10.0.0.1"), client_at("10.0.0.2")
    batch = [alice.generate(prompt=f"alice {n}") for n in range(3)]
    bob.generate(prompt="bob")
    last = GenerationTask.objects.get(task_id=batch[2])
    response = act(admin_client, TASKS, "move_to_front", [last.pk])
    assert "1 task moved to the front of the queue." in messages_of(response)
    assert alice.get(f"task/{last.task_id}").json()["queue_position"] == 0
    run(batch[0])
    assert start_order() == ["alice 2"]
    # Moving a task that is not waiting does nothing.
    response = act(admin_client, TASKS, "move_to_front", [last.pk])
    assert messages_of(response) == ["1 task was skipped: only tasks waiting for a worker can be moved."]


def test_a_staff_retry_spends_the_generation_budget(admin_client, media, default_rates, settings):
    settings.IMAGEGEN_CREATE_RATE = "1/h"
    failed = [GenerationTask.objects.create(prompt=f"failed {n}", model="general_v2.0", width=512, height=512,
                                            upstream_width=512, upstream_height=512, engine="preview",
                                            status="failed", stage="done") for n in range(2)]
    response = act(admin_client, TASKS, "retry_tasks", [t.pk for t in failed])
    refusal, success = messages_of(response)
    assert refusal.startswith("Not retried: your generation budget is used up. Try again in ")
    assert 1 <= int(refusal.split()[-2]) <= 3600
    assert success == "1 task queued for another attempt."
    assert sorted(GenerationTask.objects.values_list("status", flat=True)) == ["failed", "pending"]
    assert selectors.queue_position(GenerationTask.objects.get(status="pending")) == 0



def test_when_a_users_task_ends_their_next_waiting_task_gets_a_message(accounts, media, caplog, monkeypatch):
    # Workers may have spent the waiting tasks' messages while the user was at their running cap.
    import logging

    from django_q.models import OrmQ

    from generation import queueing

    from .accounts import make_user, signed_in

    def messages_for(task_id):
        return sum(1 for m in OrmQ.objects.all() if task_id in str(m.task["args"]))

    alice, bob = signed_in(make_user("alice")), signed_in(make_user("bob"))
    ended, first, second = (alice.generate(prompt=f"alice {n}") for n in range(3))
    bobs = bob.generate(prompt="bob")
    GenerationTask.objects.filter(task_id=ended).update(status="completed", stage="done", lease_holder="")
    OrmQ.objects.all().delete()
    stamped = GenerationTask.objects.get(task_id=first).enqueued_at
    scheduling.wake_capped(GenerationTask.objects.get(task_id=ended))
    assert [messages_for(t) for t in (first, second, bobs)] == [1, 0, 0]
    # A wake-up is an extra message, not a new enqueue: the recovery sweep's stamp stays.
    assert GenerationTask.objects.get(task_id=first).enqueued_at == stamped
    # Made at the same instant, the one made first (the lower id) goes first.
    GenerationTask.objects.filter(task_id=first).update(created_at=GenerationTask.objects.get(task_id=second).created_at)
    OrmQ.objects.all().delete()
    scheduling.wake_capped(GenerationTask.objects.get(task_id=ended))
    assert [messages_for(t) for t in (first, second)] == [1, 0]

    # An anonymous client (by address) has no running cap: nothing to wake.
    anonymous = GenerationTask.objects.get(task_id=bobs)
    anonymous.client_id = "ip:10.0.0.9"
    OrmQ.objects.all().delete()
    scheduling.wake_capped(anonymous)
    assert OrmQ.objects.count() == 0

    # A broken queue is logged, not raised: the recovery sweep sends forgotten messages anyway.
    caplog.set_level(logging.WARNING, logger="generation.scheduling")

    def broken(task, stamp=True):
        raise ConnectionError("broker down")

    monkeypatch.setattr(queueing, "enqueue", broken)
    scheduling.wake_capped(GenerationTask.objects.get(task_id=ended))
    client_id = GenerationTask.objects.get(task_id=ended).client_id
    said = [r for r in caplog.records if r.name == "generation.scheduling"]
    assert [r.getMessage() for r in said] == [f"could not enqueue the next task of {client_id}"]
    assert isinstance(said[0].exc_info[1], ConnectionError)


def test_a_run_takes_the_task_its_message_names_among_the_clients_own_and_logs_under_its_id(api, media, scripted):
    from core.logs import current_task_id

    seen = []

    def attempt(request, progress):
        seen.append(current_task_id.get())
        return engine._preview.generate(request, progress)

    engine = scripted(attempt)
    first, second = api.generate(prompt="first"), api.generate(prompt="second")
    run(second)
    assert [GenerationTask.objects.get(task_id=t).status for t in (first, second)] == ["pending", "completed"]
    assert seen == [second] and current_task_id.get() == ""
