"""Asking for webhooks through the API: the URL and events on /generate and /batches, the signing secret
(shown once, rotatable), the delivery log and resend; refusals in the error envelope and the user's
language; in accounts mode each user has their own secret and sees only their own deliveries."""

from __future__ import annotations

import pytest

from generation import webhooks
from generation.models import GenerationTask, WebhookDelivery

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import run
from .webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def local(settings):
    settings.IMAGEGEN_WEBHOOK_ALLOW_HTTP = True
    settings.IMAGEGEN_WEBHOOK_ALLOW_NETWORKS = ["127.0.0.0/8"]
    server = Receiver(200)
    yield server
    server.stop()


def test_a_webhook_needs_a_signing_secret_first(api, local):
    response = api.post("generate", {"prompt": "a kite", "webhook": local.url})
    assert response.status_code == 409 and response.json()["error"] == "webhook_secret_missing"
    assert GenerationTask.objects.count() == 0


def test_the_secret_is_shown_once_and_rotating_replaces_it(api):
    assert api.get("webhooks/secret").json() == {"exists": False, "created_at": None}
    made = api.post("webhooks/secret")
    assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
    assert made["Cache-Control"] == "no-store"
    state = api.get("webhooks/secret")
    assert state.json()["exists"] is True and made.json()["secret"] not in state.content.decode()
    again = api.post("webhooks/secret").json()["secret"]
    assert again != made.json()["secret"] and webhooks.secret_of(None).secret == again


def test_a_task_records_its_webhook_and_events(api, local):
    api.post("webhooks/secret")
    task_id = api.generate(webhook=local.url, webhook_events_filter=["completed", "started", "completed"])
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.webhook_url, task.webhook_events) == (local.url, ["started", "completed"])
    plain = GenerationTask.objects.get(task_id=api.generate(webhook=""))
    assert (plain.webhook_url, plain.webhook_events) == ("", [])


def test_every_task_of_a_batch_carries_the_webhook(api, local):
    api.post("webhooks/secret")
    response = api.post("batches", {"prompt": "a kite", "variations": 3, "webhook": local.url})
    assert response.status_code == 201, response.content
    tasks = GenerationTask.objects.filter(batch_id=response.json()["batch_id"])
    assert [t.webhook_url for t in tasks] == [local.url] * 3
    assert all(t.webhook_events == ["completed", "failed", "cancelled"] for t in tasks)


@pytest.mark.parametrize("url, says", [
    ("http://hooks.example.com/in", "scheme"),
    ("https://127.0.0.1/in", "Loopback"),
    ("https://169.254.169.254/latest/meta-data", "metadata"),
    ("https://user:pw@hooks.example.com/in", "credentials"),
])
def test_a_refused_url_gets_a_clear_error_and_makes_nothing(api, settings, url, says):
    settings.IMAGEGEN_WEBHOOK_ALLOW_HTTP = False
    api.post("webhooks/secret")
    response = api.post("generate", {"prompt": "a kite", "webhook": url})
    body = response.json()
    assert response.status_code == 400 and body["error"] == "validation_error"
    assert says in body["message"] and body["details"]["webhook"] and "pw@" not in body["message"]
    assert GenerationTask.objects.count() == 0


def test_the_refusal_is_in_the_user_s_language(api_zh, settings):
    api_zh.post("webhooks/secret")
    body = api_zh.post("generate", {"prompt": "一只猫", "webhook": "ftp://hooks.example.com/"}).json()
    assert body["message"].startswith("不允许使用此 webhook 地址")


@pytest.mark.parametrize("events", [[], ["finished"], "completed", [1]])
def test_a_bad_event_filter_is_refused(api, local, events):
    api.post("webhooks/secret")
    response = api.post("generate", {"prompt": "a kite", "webhook": local.url, "webhook_events_filter": events})
    assert response.status_code == 400 and "webhook_events_filter" in response.json()["details"]


def test_the_delivery_log_and_resend(api, media, local):
    api.post("webhooks/secret")
    task_id = api.generate(webhook=local.url)
    run(task_id)
    [delivery] = WebhookDelivery.objects.all()
    webhooks.deliver(delivery_id=delivery.delivery_id)
    [row] = api.get("webhooks/deliveries", task=task_id).json()
    assert row["delivery_id"] == delivery.delivery_id and row["state"] == "delivered" and row["event"] == "completed"
    assert [a["status"] for a in row["log"]] == [200]
    resent = api.post(f"webhooks/deliveries/{delivery.delivery_id}/resend")
    assert resent.status_code == 202 and resent.json()["state"] == "pending"
    assert api.post("webhooks/deliveries/msg_" + "0" * 32 + "/resend").status_code == 404
    assert api.get("webhooks/deliveries", nope="1").status_code == 400


def test_in_accounts_mode_secrets_and_deliveries_are_each_user_s_own(accounts, media, local):
    alice, bob = signed_in(make_user("alice")), signed_in(make_user("bob"))
    alice_secret = alice.post("webhooks/secret").json()["secret"]
    assert bob.get("webhooks/secret").json()["exists"] is False
    assert bob.post("generate", {"prompt": "a kite", "webhook": local.url}).status_code == 409
    task_id = alice.generate(webhook=local.url)
    run(task_id)
    [delivery] = WebhookDelivery.objects.all()
    assert bob.get("webhooks/deliveries").json() == []
    assert bob.get("webhooks/deliveries", task=task_id).status_code == 404
    assert bob.post(f"webhooks/deliveries/{delivery.delivery_id}/resend").status_code == 404
    assert [d["delivery_id"] for d in alice.get("webhooks/deliveries").json()] == [delivery.delivery_id]
    bob_secret = bob.post("webhooks/secret").json()["secret"]
    assert bob_secret != alice_secret and webhooks.secret_of(delivery.owner).secret == alice_secret


def test_the_account_page_makes_the_secret_shows_it_once_and_sends_a_delivery_again(accounts, media, local):
    from django.test import Client

    from .accounts import PASSWORD

    make_user("alice")
    client = Client()
    client.post("/login", {"username": "alice", "password": PASSWORD})
    page = client.get("/account").content.decode()
    assert "You have no signing secret yet" in page
    made = client.post("/account/webhook-secret").content.decode()
    secret = webhooks.secret_of(GenerationTask.owner.field.related_model.objects.get(username="alice")).secret
    assert secret in made and 'id="new-webhook-secret"' in made
    assert secret not in client.get("/account").content.decode()  # shown once

    api = signed_in(GenerationTask.owner.field.related_model.objects.get(username="alice"))
    task_id = api.generate(webhook=local.url)
    run(task_id)
    [delivery] = WebhookDelivery.objects.all()
    webhooks.deliver(delivery_id=delivery.delivery_id)
    page = client.get("/account").content.decode()
    assert f'data-delivery="{delivery.delivery_id}"' in page and "HTTP 200" in page
    assert client.post(f"/account/webhooks/{delivery.delivery_id}/resend")["Location"] == "/account"
    delivery.refresh_from_db()
    assert delivery.state == "pending"
    other = Client()
    make_user("bob")
    other.post("/login", {"username": "bob", "password": PASSWORD})
    assert other.post(f"/account/webhooks/{delivery.delivery_id}/resend").status_code == 404


def test_an_api_token_s_default_webhook_is_used_when_the_request_names_none(accounts, local, settings):
    from .accounts import with_token

    alice = make_user("alice")
    session = signed_in(alice)
    session.post("webhooks/secret")
    made = session.post("account/tokens", {"name": "hooked", "webhook": local.url})
    assert made.status_code == 201 and made.json()["webhook"] == local.url
    refused = session.post("account/tokens", {"name": "bad", "webhook": "https://10.0.0.1/in"})
    assert refused.status_code == 400 and "webhook" in refused.json()["details"]
    token = with_token(made.json()["token"])
    hooked = GenerationTask.objects.get(task_id=token.generate())
    assert (hooked.webhook_url, hooked.webhook_events) == (local.url, ["completed", "failed", "cancelled"])
    assert GenerationTask.objects.get(task_id=token.generate(webhook="")).webhook_url == ""
    other = Receiver(200)
    try:
        assert GenerationTask.objects.get(task_id=token.generate(webhook=other.url)).webhook_url == other.url
    finally:
        other.stop()
    assert GenerationTask.objects.get(task_id=session.generate()).webhook_url == ""  # a session has no default
