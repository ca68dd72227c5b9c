"""Every error under /api/ answers in the envelope {"error", "message", "details"}, in the caller's language."""

import pytest
from django.test import Client

from .conftest import SEED_EXAMPLE

pytestmark = pytest.mark.django_db


def assert_envelope(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert {"error", "message", "details"} <= set(body)
    assert body["error"] == code
    assert body["message"]
    return body


def test_an_unknown_api_route_is_404_in_the_envelope(api):
    assert_envelope(api.get("nothing/here"), 404, "not_found")


def test_a_trailing_slash_is_not_redirected(api):
    response = api.get("tasks/")
    assert_envelope(response, 404, "not_found")


def test_a_wrong_method_is_405_in_the_envelope(api):
    assert_envelope(api.get("generate"), 405, "method_not_allowed")
    assert_envelope(api.post("tasks", {}), 405, "method_not_allowed")
    assert_envelope(api.client.put("/api/v1/task/x"), 405, "method_not_allowed")


def test_an_oversized_body_is_413_in_the_envelope(api, settings):
    settings.IMAGEGEN_MAX_BODY_BYTES = 1000
    response = api.post("generate", {**SEED_EXAMPLE, "prompt": "x" * 2000})
    assert_envelope(response, 413, "payload_too_large")


def test_a_non_json_content_type_is_415_in_the_envelope(db):
    response = Client().post("/api/v1/generate", data="prompt=cat", content_type="application/x-www-form-urlencoded")
    assert_envelope(response, 415, "unsupported_media_type")


def test_an_unexpected_error_is_500_in_the_envelope(db, monkeypatch):
    from generation import list_selectors

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(list_selectors, "task_list_rows", broken)
    client = Client(raise_request_exception=False)
    body = assert_envelope(client.get("/api/v1/tasks"), 500, "internal_error")
    assert "boom" not in body["message"]


def test_validation_messages_follow_the_request_language(api_zh):
    body = assert_envelope(api_zh.post("generate", {**SEED_EXAMPLE, "prompt": ""}), 400, "validation_error")
    assert "提示词不能为空" in body["message"]
    assert body["details"]["prompt"] == ["提示词不能为空"]


def test_not_found_routes_are_translated(api_zh):
    assert "接口" in api_zh.get("nothing").json()["message"]


def test_a_page_outside_the_api_gets_an_html_404(db):
    response = Client().get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
