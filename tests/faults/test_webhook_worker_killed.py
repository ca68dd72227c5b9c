"""A worker SIGKILLed while it is sending a webhook (the receiver holds the request open): the replacement
worker hands the delivery back at its start, and it goes out again with the same webhook-id, body and
signature scheme; the receiver verifies both copies and the delivery ends delivered. Real processes: the web
server, a django-q2 cluster, a receiver on 127.0.0.1."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from ..stack import Stack
from ..webhook_receiver import Receiver
from . import harness
from .harness import sigkill

pytestmark = harness.MARKS


def test_a_worker_killed_mid_delivery_leads_to_redelivery_with_the_same_id(tmp_path):
    receiver = Receiver("hang", 200, hang_seconds=60)
    stack = Stack(tmp_path / "data", IMAGEGEN_WORKERS=2, IMAGEGEN_PREVIEW_LATENCY="0.1",
                  IMAGEGEN_WEBHOOK_ALLOW_HTTP="true", IMAGEGEN_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",
                  IMAGEGEN_WEBHOOK_READ_TIMEOUT="120")
    try:
        stack.start_web()
        status, made = stack.request("POST", "/api/v1/webhooks/secret")
        assert status == 201
        task_id = stack.generate(webhook=receiver.url)
        stack.start_worker()
        stack.wait_for(lambda: len(receiver.requests) == 1, timeout=120, what="the first delivery to reach the receiver")
        [(holder,)] = stack.query("SELECT lease_holder FROM webhook_deliveries WHERE state = 'sending'")
        sigkill(int(holder.split(":")[1]))  # the worker process that is sending, as an OOM kill would

        stack.wait_for(lambda: stack.query("SELECT state FROM webhook_deliveries") == [("delivered",)], timeout=120,
                       what="the delivery to go out again and be delivered")
        first, second = receiver.requests
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert first.body == second.body
        [(delivery_id, attempts)] = stack.query("SELECT delivery_id, attempts FROM webhook_deliveries")
        assert first.headers["webhook-id"] == delivery_id
        for got in (first, second):
            event = Webhook(made["secret"]).verify(got.body, got.headers)
            assert event["type"] == "task.completed" and event["data"]["task_id"] == task_id
        # The killed try never finished, so only the one that did is in the log (at least once: the
        # receiver saw it twice and drops the repeat by its id).
        assert attempts == 1
        assert stack.query("SELECT status FROM webhook_attempts") == [(200,)]
    finally:
        stack.close()
        receiver.stop()
