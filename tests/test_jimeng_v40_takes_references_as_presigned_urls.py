"""jimeng_t2i_v40 takes reference images only as web addresses VolcEngine fetches itself (its image_urls). With
the files in object storage and IMAGEGEN_S3_REFERENCE_URLS on, the app sends presigned URLs of the bucket; the
fake service (tests/volcengine_server.py) downloads them as the real one does, through the real SDK's request.
Without that setting the model takes none, and says why."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image as PILImage

from generation.catalogue import get_model
from generation.models import GenerationTask

from .conftest import run
from .services import s3_env, s3_server  # noqa: F401  (fixtures)
from .stack import ROOT
from .volcengine_server import FakeVolcEngine

pytestmark = pytest.mark.django_db

AK, SK = "AKLTimagegentest", "imagegen-test-secret"
V40 = "jimeng_t2i_v40"
V40_BODY = {"model": V40, "width": 1024, "height": 1024, "negative_prompt": None, "steps": None, "scale": None}


@pytest.fixture
def upstream(settings):
    server = FakeVolcEngine(access_key=AK, secret_key=SK, async_steps=1).start()
    settings.IMAGEGEN_ENGINE = "volcengine"
    settings.VOLC_ACCESSKEY, settings.VOLC_SECRETKEY = AK, SK
    settings.VOLC_HOST, settings.VOLC_SCHEME = server.host, "http"
    settings.VOLC_CONNECT_TIMEOUT, settings.VOLC_READ_TIMEOUT = 2, 5
    settings.VOLC_POLL_INTERVAL, settings.VOLC_POLL_MAX_INTERVAL = 0.02, 0.05
    yield server
    server.stop()


@pytest.fixture
def bucket_urls(settings, s3_env):
    """Files in the S3 test server's bucket, references sent as its presigned URLs."""
    bucket, env = s3_env
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": bucket, "endpoint_url": env["IMAGEGEN_S3_ENDPOINT_URL"], "access_key": "testing",
        "secret_key": "testing", "region_name": "us-east-1", "addressing_style": "path", "default_acl": None,
        "file_overwrite": True, "signature_version": "s3v4"}}}
    settings.IMAGEGEN_STORAGE = "s3"
    settings.IMAGEGEN_S3_REFERENCE_URLS = True
    return bucket


def picture(width: int, height: int, colour=(20, 120, 200)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def upload(api, data: bytes) -> str:
    response = api.client.post("/api/v1/references", data=data, content_type="image/png")
    assert response.status_code == 201, response.content
    return response.json()["reference_id"]


def v40_models_entry(api) -> dict:
    return next(m for m in api.get("models").json()["models"] if m["id"] == V40)


def test_without_reference_urls_the_model_takes_none_and_says_why(api, media, upstream):
    limits = v40_models_entry(api)["reference_images"]
    assert limits["supported"] is False and limits["max"] == 0 and limits["needs_presigned_urls"] is True
    assert "presigned" in limits["unavailable_reason"]
    reference = upload(api, picture(64, 64))
    response = api.post("generate", {**V40_BODY, "prompt": "a lighthouse", "reference_images": [reference]})
    assert response.status_code == 400
    assert response.json()["details"]["reference_images"] == [limits["unavailable_reason"]]
    assert upstream.requests == []


def test_with_reference_urls_the_service_fetches_each_reference_from_the_bucket(api, media, upstream, bucket_urls,
                                                                               s3_server):
    limits = v40_models_entry(api)["reference_images"]
    assert limits["supported"] is True and limits["max"] == 10 and limits["unavailable_reason"] is None
    first, second = picture(64, 64), picture(80, 60, colour=(200, 40, 40))
    references = [upload(api, first), upload(api, second)]
    task_id = api.generate(**V40_BODY, prompt="a lighthouse in the style of these", reference_images=references)
    run(task_id)
    task = api.get(f"task/{task_id}").json()
    assert task["status"] == "completed", task

    (submit,) = upstream.calls("CVSync2AsyncSubmitTask")
    urls = submit.body["image_urls"]
    assert len(urls) == 2
    for url in urls:
        parts = urlsplit(url)
        assert url.startswith(s3_server.endpoint + "/" + bucket_urls + "/")
        assert "X-Amz-Signature" in parse_qs(parts.query)  # presigned: the bucket itself need not be public
    # In order, the very bytes uploaded: what the service downloaded are the task's own copies of them.
    assert upstream.fetched_references == [first, second]
    task_row = GenerationTask.objects.get(task_id=task_id)
    copies = [ref.file_path for ref in task_row.references.order_by("index")]
    assert [urlsplit(url).path.split("/", 2)[2] for url in urls] == copies


def test_a_reference_the_service_cannot_fetch_fails_the_task_without_retrying(api, media, upstream, bucket_urls,
                                                                               s3_server):
    task_id = api.generate(**V40_BODY, prompt="a harbour", reference_images=[upload(api, picture(64, 64))])
    copy = GenerationTask.objects.get(task_id=task_id).references.get().file_path
    s3_server.client().delete_object(Bucket=bucket_urls, Key=copy)  # gone before the service asks for it
    run(task_id)
    task = api.get(f"task/{task_id}").json()
    assert task["status"] == "failed", task
    assert task["error"]["code"] == "invalid_request"
    assert len(upstream.calls("CVSync2AsyncSubmitTask")) == 1


def test_the_setting_needs_object_storage():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "imagegen.settings", "IMAGEGEN_S3_REFERENCE_URLS": "true",
           "IMAGEGEN_STORAGE": "local"}
    done = subprocess.run([sys.executable, "-c", "import imagegen.settings"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "IMAGEGEN_S3_REFERENCE_URLS needs IMAGEGEN_STORAGE=s3" in done.stderr


def test_the_catalogue_limits_the_model_to_ten_references(settings):
    settings.IMAGEGEN_S3_REFERENCE_URLS = True
    assert get_model(V40).takes_references and get_model(V40).reference_images == 10
    settings.IMAGEGEN_S3_REFERENCE_URLS = False
    assert not get_model(V40).takes_references
