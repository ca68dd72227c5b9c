"""The queue (issue 21, item 2): GET /api/v1/queue lists a client's unfinished tasks, from whatever made
them, in the order they will run; POST /api/v1/task/{id}/front moves a waiting task ahead of the owner's
other waiting tasks — the next worker takes it — without passing anyone else's."""

import pytest

from generation import scheduling
from generation.models import GenerationTask

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .admin_helpers import TASKS, act
from .conftest import Api, run

pytestmark = pytest.mark.django_db


def client_at(address: str) -> Api:
    api = Api()
    api.client.defaults["REMOTE_ADDR"] = address
    return api


def order(api, **params) -> list[str]:
    return [t["prompt"] for t in api.get("queue", **params).json()["tasks"]]


def test_the_queue_lists_running_tasks_first_then_the_waiting_in_order(api, media):
    ids = [api.generate(prompt=f"task {n}") for n in range(3)]
    GenerationTask.objects.filter(task_id=ids[1]).update(status="processing", stage="generating", progress=30,
                                                         lease_holder="w:1:x")
    body = api.get("queue").json()["tasks"]
    assert [t["prompt"] for t in body] == ["task 1", "task 0", "task 2"]
    assert [t["queue_position"] for t in body] == [None, 0, 2]  # task 1 runs; it was created after task 0
    assert all(t["estimated_time"] for t in body)
    run(ids[0])
    assert "task 0" not in order(api)


def test_moving_a_task_ahead_of_ones_own_makes_it_the_next_to_run(media):
    alice = client_at("10.0.0.1")
    ids = [alice.generate(prompt=f"alice {n}") for n in range(3)]
    response = alice.post(f"task/{ids[2]}/front")
    assert response.status_code == 200 and response.json()["queue_position"] == 0
    assert order(alice) == ["alice 2", "alice 0", "alice 1"]
    run(ids[0])  # the message of Alice's first task: the worker takes the one she moved
    assert GenerationTask.objects.get(task_id=ids[2]).status == "completed"
    assert GenerationTask.objects.get(task_id=ids[0]).status == "pending"
    # A second move puts the latest one first.
    alice.post(f"task/{ids[1]}/front")
    assert order(alice)[0] == "alice 1"


def test_a_move_does_not_pass_another_clients_task(media):
    alice, bob = client_at("10.0.0.1"), client_at("10.0.0.2")
    first = alice.generate(prompt="alice 0")
    run(first)  # Alice has had a turn
    later = [alice.generate(prompt=f"alice {n}") for n in (1, 2)]
    bobs = bob.generate(prompt="bob")
    before = bob.get(f"task/{bobs}").json()["queue_position"]
    assert alice.post(f"task/{later[1]}/front").status_code == 200
    assert bob.get(f"task/{bobs}").json()["queue_position"] == before == 0
    run(later[0])
    assert GenerationTask.objects.get(task_id=bobs).status == "completed"  # Bob's turn came first
    run(later[0])
    assert GenerationTask.objects.get(task_id=later[1]).status == "completed"  # then Alice's moved one


def test_only_a_waiting_task_can_be_moved(api, media):
    task_id = api.generate()
    run(task_id)
    response = api.post(f"task/{task_id}/front")
    assert response.status_code == 409 and response.json()["error"] == "task_not_waiting"
    assert api.post("task/00000000-0000-4000-8000-000000000000/front").status_code == 404


def test_staff_can_still_move_a_task_before_everyone_after_an_owners_move(admin_client, media):
    alice = client_at("10.0.0.1")
    ids = [alice.generate(prompt=f"alice {n}") for n in range(2)]
    alice.post(f"task/{ids[1]}/front")  # a negative priority among Alice's own
    bob = client_at("10.0.0.2")
    bobs = bob.generate(prompt="bob")
    act(admin_client, TASKS, "move_to_front", [GenerationTask.objects.get(task_id=bobs).pk])
    assert GenerationTask.objects.get(task_id=bobs).priority > 0
    assert scheduling.claim_next(ids[0]).task_id == bobs


def test_each_user_sees_their_own_queue_and_staff_can_see_everyones(accounts, media):
    alice, bob = signed_in(make_user("alice")), signed_in(make_user("bob"))
    staff = signed_in(make_user("root", staff=True))
    alices = alice.generate(prompt="alice's")
    bob.generate(prompt="bob's")
    assert order(alice) == ["alice's"] and order(bob) == ["bob's"]
    refused = alice.get("queue", everyone="true")
    assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"
    assert sorted(order(staff, everyone="true")) == ["alice's", "bob's"]
    assert order(staff) == []
    # Another user's task cannot be moved: it answers like a missing one.
    missing = bob.post("task/00000000-0000-4000-8000-000000000000/front")
    assert bob.post(f"task/{alices}/front").json() == missing.json()


@pytest.mark.parametrize("query", ["everyone=maybe", "page=2"])
def test_bad_queue_parameters_are_refused(api, query):
    key, value = query.split("=")
    response = api.get("queue", **{key: value})
    assert response.status_code == 400 and response.json()["error"] == "validation_error"


def test_each_staff_move_puts_its_task_first_one_step_above_the_last(media):
    # Priorities are a small integer: each move goes one above the highest waiting one, no further.
    alice = client_at("10.0.0.1")
    ids = [alice.generate(prompt=f"alice {n}") for n in range(3)]
    tasks = [GenerationTask.objects.get(task_id=task_id) for task_id in ids]
    assert scheduling.task_move_to_front(task=tasks[0]) is True
    assert scheduling.task_move_to_front(task=tasks[2]) is True
    assert [GenerationTask.objects.get(task_id=t).priority for t in ids] == [1, 0, 2]
    assert [scheduling.claim_next(ids[1]).task_id for _ in range(3)] == [ids[2], ids[0], ids[1]]
    assert scheduling.task_move_to_front(task=tasks[1]) is False  # running now: not waiting


def test_a_staff_move_goes_above_an_owners_moves_from_zero(media):
    alice = client_at("10.0.0.1")
    ids = [alice.generate(prompt=f"alice {n}") for n in range(2)]
    alice.post(f"task/{ids[1]}/front")
    alice.post(f"task/{ids[0]}/front")  # every waiting priority is below zero now
    assert scheduling.task_move_to_front(task=GenerationTask.objects.get(task_id=ids[1])) is True
    assert GenerationTask.objects.get(task_id=ids[1]).priority == 1


def test_an_owners_moves_stack_below_zero_one_step_each_and_leave_a_staff_move_alone(media):
    alice = client_at("10.0.0.1")
    ids = [alice.generate(prompt=f"alice {n}") for n in range(3)]
    for task_id in (ids[2], ids[1]):
        assert alice.post(f"task/{task_id}/front").status_code == 200
    assert [GenerationTask.objects.get(task_id=t).priority for t in ids] == [0, -2, -1]
    assert order(alice) == ["alice 1", "alice 2", "alice 0"]
    # Staff put her first task before everyone; her own move of it keeps it there.
    assert scheduling.task_move_to_front(task=GenerationTask.objects.get(task_id=ids[0])) is True
    response = alice.post(f"task/{ids[0]}/front")
    assert response.status_code == 200 and response.json()["queue_position"] == 0
    assert [GenerationTask.objects.get(task_id=t).priority for t in ids] == [1, -2, -1]


def test_moves_and_retries_lock_their_client_first(media, monkeypatch, admin_client):
    # On PostgreSQL the per-client lock serialises the writes that count or order a client's tasks.
    from generation import queueing, services

    locked = []
    real = queueing.lock_client
    monkeypatch.setattr(queueing, "lock_client", lambda client_id: (locked.append(client_id), real(client_id)))
    alice = client_at("10.0.0.1")
    ids = [alice.generate(prompt=f"alice {n}") for n in range(2)]
    client_id = GenerationTask.objects.get(task_id=ids[0]).client_id
    locked.clear()
    alice.post(f"task/{ids[1]}/front")
    assert locked == [client_id]
    locked.clear()
    GenerationTask.objects.filter(task_id=ids[0]).update(status="failed", stage="done", error_code="x")
    assert services.task_retry(task=GenerationTask.objects.get(task_id=ids[0]), by_owner=True) is True
    assert locked == [client_id]
    locked.clear()
    assert alice.post("batches", {"prompt": "two", "variations": 2}).status_code == 201
    assert locked == [client_id]
