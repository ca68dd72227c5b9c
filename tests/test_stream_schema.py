"""The OpenAPI schema documents the server-sent events endpoint (an async view drf-spectacular cannot see
by itself) and stays a valid OpenAPI document."""

from __future__ import annotations

from django.test import Client
from openapi_spec_validator import validate


def test_the_schema_documents_the_event_stream_as_text_event_stream(db):
    schema = Client().get("/api/v1/schema", HTTP_ACCEPT="application/json").json()
    events = schema["paths"]["/api/v1/task/{task_id}/events"]["get"]
    assert set(events["responses"]["200"]["content"]) == {"text/event-stream"}
    assert events["responses"]["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "Last-Event-ID" in {p["name"] for p in events["parameters"]}
    assert "/api/v1/generate/stream" in schema["info"]["description"]
    validate(schema)
