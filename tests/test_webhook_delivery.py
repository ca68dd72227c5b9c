"""Webhook deliveries over real HTTP to a local receiver (127.0.0.1, allowed by the setting for these
tests): signed so the reference receiver (standardwebhooks) verifies them, retried with backoff on 5xx and
timeouts with the clock controlled, stopped by 410, final on other 4xx, never following a redirect; the
delivery log matches what the receiver saw; a delivery whose worker died goes out again with the same id."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django_q.models import OrmQ
from standardwebhooks import Webhook

from generation import services, webhooks
from generation.models import GenerationTask, WebhookDelivery

from .conftest import run
from .webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooks(settings):
    settings.IMAGEGEN_WEBHOOK_ALLOW_HTTP = True
    settings.IMAGEGEN_WEBHOOK_ALLOW_NETWORKS = ["127.0.0.0/8"]
    settings.IMAGEGEN_WEBHOOK_READ_TIMEOUT = 0.5
    settings.IMAGEGEN_WEBHOOK_CONNECT_TIMEOUT = 0.5
    return webhooks.secret_rotate(owner=None)


@pytest.fixture
def receiver():
    made = []

    def make(*answers, **options):
        made.append(Receiver(*answers, **options))
        return made[-1]

    yield make
    for server in made:
        server.stop()


def deliveries(task_id: str) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(task__task_id=task_id).order_by("id"))


def test_a_completed_task_is_delivered_signed_and_the_reference_receiver_verifies_it(api, media, hooks, receiver):
    server = receiver(200)
    task_id = api.generate(webhook=server.url)
    run(task_id)
    [delivery] = deliveries(task_id)
    assert (delivery.event, delivery.state) == ("completed", "pending")
    assert webhooks.deliver(delivery_id=delivery.delivery_id) == "delivered"

    [got] = server.requests
    payload = Webhook(hooks).verify(got.body, got.headers)
    assert got.headers["webhook-id"] == delivery.delivery_id
    assert payload["type"] == "task.completed"
    assert payload["data"]["task_id"] == task_id and payload["data"]["status"] == "completed"
    assert payload["data"] == api.get(f"task/{task_id}").json()  # the documented snapshot, as GET gives it
    assert hooks not in json.dumps(dict(got.headers)) + got.body.decode()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status, delivery.next_attempt_at) == ("delivered", 1, 200, None)


def test_a_signature_made_with_another_secret_does_not_verify(api, media, hooks, receiver):
    server = receiver(200)
    task_id = api.generate(webhook=server.url)
    run(task_id)
    webhooks.deliver(delivery_id=deliveries(task_id)[0].delivery_id)
    from standardwebhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.secret_rotate(owner=None)).verify(server.requests[0].body, server.requests[0].headers)


def test_a_500_and_a_timeout_are_retried_with_backoff_and_the_log_matches_the_receiver(api, media, hooks, receiver,
                                                                                       fake_clock, settings):
    settings.IMAGEGEN_WEBHOOK_RETRY_BASE = 5.0
    server = receiver(500, "hang", 200, hang_seconds=2)
    task_id = api.generate(webhook=server.url)
    run(task_id)
    [delivery] = deliveries(task_id)
    delivery_id = delivery.delivery_id
    waits = []
    for expected in ("pending", "pending", "delivered"):
        assert webhooks.deliver(delivery_id=delivery_id) == expected
        delivery.refresh_from_db()
        if expected == "pending":
            wait = (delivery.next_attempt_at - fake_clock.now()).total_seconds()
            waits.append(wait)
            assert webhooks.deliver(delivery_id=delivery_id) is None  # not due yet
            fake_clock.sleep(wait + 0.01)
    assert 0.8 * 5 <= waits[0] <= 1.2 * 5 + 0.1
    assert 0.8 * 20 <= waits[1] <= 1.2 * 20 + 0.1

    log = list(delivery.attempt_log.all())
    assert [a.status for a in log] == [500, None, 200]
    assert log[1].error == "timed out"
    assert len(server.requests) == len(log) == delivery.attempts == 3
    assert {r.headers["webhook-id"] for r in server.requests} == {delivery_id}
    assert [r.answered for r in server.requests] == [500, None, 200]
    assert delivery.state == "delivered" and delivery.next_attempt_at is None


def test_a_410_stops_delivery_for_good(api, media, hooks, receiver, fake_clock):
    server = receiver(410, 200)
    task_id = api.generate(webhook=server.url)
    run(task_id)
    [delivery] = deliveries(task_id)
    assert webhooks.deliver(delivery_id=delivery.delivery_id) == "stopped"
    fake_clock.sleep(3600)
    assert webhooks.deliveries_recover() == 0
    assert webhooks.deliver(delivery_id=delivery.delivery_id) is None
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_4xx_answers_are_final(api, media, hooks, receiver, status):
    server = receiver(status, 200)
    task_id = api.generate(webhook=server.url)
    run(task_id)
    [delivery] = deliveries(task_id)
    assert webhooks.deliver(delivery_id=delivery.delivery_id) == "failed"
    delivery.refresh_from_db()
    assert (delivery.last_status, delivery.next_attempt_at) == (status, None) and delivery.finished_at is not None
    assert len(server.requests) == 1


def test_a_redirect_is_not_followed(api, media, hooks, receiver):
    elsewhere = receiver(200)
    server = receiver(302, headers={"Location": elsewhere.url})
    task_id = api.generate(webhook=server.url)
    run(task_id)
    [delivery] = deliveries(task_id)
    assert webhooks.deliver(delivery_id=delivery.delivery_id) == "failed"
    delivery.refresh_from_db()
    assert delivery.last_error == "redirects are not followed" and delivery.last_status == 302
    assert elsewhere.requests == []


def test_retries_end_when_the_window_ends(api, media, hooks, receiver, fake_clock, settings):
    settings.IMAGEGEN_WEBHOOK_RETRY_HOURS = 1 / 60  # one minute: 5 s, 20 s, then 80 s would pass it
    server = receiver(503)
    task_id = api.generate(webhook=server.url)
    run(task_id)
    [delivery] = deliveries(task_id)
    states = []
    for _ in range(5):
        state = webhooks.deliver(delivery_id=delivery.delivery_id)
        if state is None:
            break
        states.append(state)
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            fake_clock.sleep((delivery.next_attempt_at - fake_clock.now()).total_seconds() + 0.01)
    assert states == ["pending", "pending", "failed"]
    delivery.refresh_from_db()
    assert delivery.last_error.endswith("gave up: retries ran out") and len(server.requests) == 3


def test_only_the_events_asked_for_are_sent_and_the_default_is_the_terminal_ones(api, media, hooks, receiver):
    server = receiver(200)
    every = api.generate(webhook=server.url, webhook_events_filter=["started", "progress", "completed"])
    default = api.generate(webhook=server.url)
    cancelled = api.generate(webhook=server.url)
    none = api.generate()
    services.task_cancel(task=GenerationTask.objects.get(task_id=cancelled))
    for task_id in (every, default, none):
        run(task_id)
    events = [d.event for d in deliveries(every)]
    assert events[0] == "started" and events[-1] == "completed" and set(events[1:-1]) == {"progress"}
    assert [d.event for d in deliveries(default)] == ["completed"]
    assert [d.event for d in deliveries(cancelled)] == ["cancelled"]
    assert deliveries(none) == []


def test_each_event_sends_one_queue_message(api, media, hooks, receiver):
    server = receiver(200)
    task_id = api.generate(webhook=server.url)
    before = OrmQ.objects.count()
    run(task_id)
    assert OrmQ.objects.count() == before + 1  # the completed event's message (the run's own was not taken)


def test_a_delivery_whose_worker_died_goes_out_again_with_the_same_id(api, media, hooks, receiver, fake_clock):
    server = receiver(200)
    task_id = api.generate(webhook=server.url)
    run(task_id)
    [delivery] = deliveries(task_id)
    # As a worker killed while sending leaves it: held, by a process that no longer exists here.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state="sending", lease_holder=f"{__import__('socket').gethostname()}:999999:dead",
        lease_expires_at=fake_clock.now() + timedelta(minutes=1))
    messages = OrmQ.objects.count()
    assert webhooks.deliveries_recover() == 1
    assert OrmQ.objects.count() == messages + 1
    assert webhooks.deliver(delivery_id=delivery.delivery_id) == "delivered"
    assert [r.headers["webhook-id"] for r in server.requests] == [delivery.delivery_id]


def test_a_held_delivery_of_a_live_worker_is_left_alone_until_its_lease_ends(api, media, hooks, receiver, fake_clock):
    server = receiver(200)
    task_id = api.generate(webhook=server.url)
    run(task_id)
    [delivery] = deliveries(task_id)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state="sending", lease_holder="another-host:1:live", lease_expires_at=fake_clock.now() + timedelta(seconds=60))
    assert webhooks.deliveries_recover() == 0
    fake_clock.sleep(61)
    assert webhooks.deliveries_recover() == 1
    assert webhooks.deliver(delivery_id=delivery.delivery_id) == "delivered"


def test_resend_sends_the_same_delivery_again(api, media, hooks, receiver):
    server = receiver(200)
    task_id = api.generate(webhook=server.url)
    run(task_id)
    [delivery] = deliveries(task_id)
    webhooks.deliver(delivery_id=delivery.delivery_id)
    webhooks.delivery_resend(delivery=delivery)
    assert webhooks.deliver(delivery_id=delivery.delivery_id) == "delivered"
    assert [r.headers["webhook-id"] for r in server.requests] == [delivery.delivery_id] * 2
    assert [r.body for r in server.requests][0] == server.requests[1].body


def test_old_finished_deliveries_are_pruned(api, media, hooks, receiver, settings):
    server = receiver(200)
    task_id = api.generate(webhook=server.url)
    run(task_id)
    [delivery] = deliveries(task_id)
    webhooks.deliver(delivery_id=delivery.delivery_id)
    assert webhooks.deliveries_prune(days=1) == 0
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=delivery.created_at - timedelta(days=2))
    assert webhooks.deliveries_prune(days=1) >= 1
    assert deliveries(task_id) == []


def test_each_attempt_is_logged_with_the_task_s_public_id(api, media, hooks, receiver, caplog):
    import logging

    server = receiver(200)
    task_id = api.generate(webhook=server.url)
    run(task_id)
    caplog.set_level(logging.INFO, logger="generation.webhooks")
    [delivery] = deliveries(task_id)
    webhooks.deliver(delivery_id=delivery.delivery_id)
    assert [r.getMessage() for r in caplog.records if r.name == "generation.webhooks"] == [
        f"webhook {delivery.delivery_id} (completed of task {task_id}) attempt 1: 200 -> delivered"]
