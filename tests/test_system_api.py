"""/models, /system/info, /health, /schema and /docs."""

import pytest
from django.test import Client

from .conftest import run

pytestmark = pytest.mark.django_db


def test_models_lists_the_catalogue_with_its_default(api):
    body = api.get("models").json()
    ids = [m["id"] for m in body["models"]]
    assert body["default"] == "jimeng_t2i_v31"
    assert {"jimeng_t2i_v31", "jimeng_t2i_v30", "jimeng_t2i_v40", "high_aes_general_v30l_zt2i", "high_aes_general_v20"} <= set(ids)
    v20 = next(m for m in body["models"] if m["id"] == "high_aes_general_v20")
    assert "general_v2.0" in v20["aliases"]
    assert v20["parameters"]["negative_prompt"]["supported"] is False


def test_models_are_named_in_the_request_language(api_zh):
    model = api_zh.get("models").json()["models"][0]
    assert model["name"] == model["name_zh"]


def test_system_info_reports_engine_queue_and_counts_without_secrets(api, media, settings):
    settings.SECRET_KEY = "s3cr3t-value-for-test"
    done = api.generate()
    run(done)
    api.generate()
    response = api.get("system/info")
    body = response.json()
    assert body["engine"] == {"name": "preview", "label": "Preview (offline)", "preview": True}
    assert body["tasks"]["completed"] == 1 and body["tasks"]["pending"] == 1
    assert body["queue"]["depth"] == 1
    assert body["storage"]["images"] == 1 and body["storage"]["bytes"] > 0
    assert "s3cr3t" not in response.content.decode()


def test_health_checks_each_dependency(api):
    response = api.get("health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage", "engine", "upstream", "worker", "spending"}
    assert all(check["ok"] for check in body["checks"].values())


def test_health_reports_upstream_trouble_until_a_success_without_failing(api, media, scripted):
    from generation.engines.base import EngineError, Retry

    refused = EngineError("upstream_unreachable", "VolcEngine could not be reached: Connection refused",
                          retry=Retry.NEVER)
    scripted(refused, EngineError("content_rejected", "50412", retry=Retry.NEVER, upstream_code="50412"), "ok")
    run(api.generate())
    response = api.get("health")
    body = response.json()
    assert response.status_code == 200  # reported, not a reason to take the app out of service
    assert body["status"] == "degraded"
    assert body["checks"]["upstream"]["ok"] is False
    assert "upstream_unreachable" in body["checks"]["upstream"]["detail"]
    assert "Connection refused" in body["checks"]["upstream"]["detail"]

    run(api.generate())  # a rejection on content grounds means the service answers: not trouble, not a success
    assert api.get("health").json()["status"] == "degraded"
    run(api.generate())  # a success
    body = api.get("health").json()
    assert body["status"] == "ok" and body["checks"]["upstream"]["ok"] is True


def test_health_is_503_when_storage_fails(api, monkeypatch):
    from django.core.files.storage import default_storage

    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(default_storage, "save", refuse)
    response = api.get("health")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["ok"] is False


def test_the_openapi_schema_describes_every_endpoint(db):
    response = Client().get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/generate",
        "/api/v1/task/{task_id}",
        "/api/v1/tasks",
        "/api/v1/history",
        "/api/v1/history/{item_id}",
        "/api/v1/models",
        "/api/v1/system/info",
        "/api/v1/health",
    ]:
        assert path in paths, path


def test_the_docs_page_loads_swagger_from_local_files(db):
    html = Client().get("/api/v1/docs").content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "https://" not in html.replace("https://swagger.io", "")


def test_the_browsable_api_renders_html(db):
    response = Client().get("/api/v1/tasks", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
