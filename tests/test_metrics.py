"""/metrics: Prometheus exposition of requests, latency, errors, tasks by state, success rate, queue
length and upstream errors by code; only for allowed clients."""

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from generation.engines.base import EngineError, Retry

from .conftest import run

pytestmark = pytest.mark.django_db


def scrape(**headers):
    response = Client(**headers).get("/metrics")
    assert response.status_code == 200, response.content
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    return families


def value(families, name, **labels):
    for sample in families[name].samples:
        if sample.name in (name, name + "_total") and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return None


def test_it_exposes_every_listed_series_in_the_text_format(api, media, scripted):
    scripted(EngineError("quota_exceeded", "50429", retry=Retry.BACKOFF, upstream_code="50429"), "ok")
    done = api.generate()
    run(done)
    api.generate()
    api.get("task/nope")
    families = scrape()
    assert value(families, "imagegen_tasks", state="completed") == 1
    assert value(families, "imagegen_tasks", state="pending") == 1
    assert value(families, "imagegen_queue_length") == 1
    assert value(families, "imagegen_success_ratio") == 1.0
    assert value(families, "imagegen_upstream_errors", code="50429") >= 1
    assert value(families, "imagegen_http_requests", route="api/v1/task/<str:task_id>", status="404") >= 1
    assert value(families, "imagegen_http_requests", route="api/v1/generate", status="201") >= 2
    assert families["imagegen_http_request_duration_seconds"].type == "histogram"
    assert "imagegen_oldest_pending_seconds" in families


def test_it_refuses_clients_outside_the_allowed_networks(db):
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403


def test_a_token_replaces_the_network_rule(db, settings):
    settings.IMAGEGEN_METRICS_TOKEN = "scrape-token"
    assert Client().get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer scrape-token").get("/metrics").status_code == 200


def test_json_logs_carry_the_task_id(api, media, caplog):
    import json
    import logging

    from core.logs import JsonFormatter, TaskContextFilter

    caplog.set_level(logging.INFO)
    task_id = api.generate()
    run(task_id)
    formatter, context = JsonFormatter(), TaskContextFilter()
    lines = []
    for record in caplog.records:
        context.filter(record)
        lines.append(json.loads(formatter.format(record)))
    attempt = next(entry for entry in lines if "attempt 1" in entry["message"])
    assert attempt["task_id"] == task_id and attempt["level"] == "INFO" and attempt["logger"] == "generation.run"



def test_the_trash_is_counted_apart_from_the_tasks_states(api, media):
    kept, trashed = api.generate(num_images=2), api.generate(num_images=3)
    run(kept)
    run(trashed)
    families = scrape()
    assert value(families, "imagegen_tasks", state="completed") == 2
    assert (value(families, "imagegen_trash_tasks"), value(families, "imagegen_trash_images")) == (0, 0)
    assert api.delete(f"history/{trashed}").status_code == 204
    families = scrape()
    assert value(families, "imagegen_tasks", state="completed") == 1
    assert (value(families, "imagegen_trash_tasks"), value(families, "imagegen_trash_images")) == (1, 3)
