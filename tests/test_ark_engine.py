"""The Ark engine: the real SDK (volcengine-ark-runtime) over real HTTP against tests/ark_server.py. The
outcome table is README's ("The Ark engine"): each upstream outcome, the task's end state, the requests
sent and the images billed (the server bills each image it returns, as Ark does)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image as PILImage

from generation.catalogue import all_models
from generation.models import GenerationTask

from .ark_server import FakeArk
from .conftest import files_under, run

pytestmark = pytest.mark.django_db

KEY = "ark-test-key-never-shown-0123456789"
S40 = {"model": "doubao-seedream-4-0-250828", "width": 1280, "height": 720, "negative_prompt": None,
       "steps": None, "scale": None}
S30 = {"model": "doubao-seedream-3-0-t2i-250415", "width": 512, "height": 512, "negative_prompt": None,
       "steps": None}


@pytest.fixture
def ark(settings):
    server = FakeArk(api_key=KEY).start()
    settings.IMAGEGEN_ENGINE = "auto"
    settings.ARK_API_KEY = KEY
    settings.ARK_BASE_URL = server.base_url
    settings.ARK_CONNECT_TIMEOUT = 2
    settings.ARK_READ_TIMEOUT = 1.5
    settings.IMAGEGEN_RETRY_BASE_DELAY = 0.01
    settings.IMAGEGEN_RETRY_MAX_DELAY = 0.05
    yield server
    server.stop()


def outcome(api, task_id):
    body = api.get(f"task/{task_id}").json()
    return body["status"], (body["error"] or {}).get("code"), len(body["images"])


def billed(server: FakeArk) -> int:
    """Images the fake made and sent back: what Ark would bill."""
    return sum(1 for r in server.calls() if r.status == 200 and r.fault not in ("item_error", "error_only",
                                                                               "malformed"))


def smallest(model):
    preset = min(model.presets, key=lambda p: p.width * p.height)
    return preset.width, preset.height


ARK_MODELS = [m for m in all_models() if m.engine == "ark"]


@pytest.mark.parametrize("model", ARK_MODELS, ids=lambda m: m.id)
def test_every_ark_model_generates_with_only_the_fields_it_takes(api, media, ark, model):
    width, height = smallest(model)
    task_id = api.generate(model=model.id, width=width, height=height, seed=1234, prompt="千军万马",
                           negative_prompt=None, steps=None, scale=None)
    run(task_id)
    body = api.get(f"task/{task_id}").json()
    assert body["status"] == "completed", body
    assert body["engine"] == "ark"
    assert (body["images"][0]["width"], body["images"][0]["height"]) == (width, height)
    [call] = ark.calls()
    assert call.headers["authorization"] == f"Bearer {KEY}"
    sent = call.body
    assert None not in sent.values()  # the SDK's images.generate would have sent every unset field as null
    assert sent["model"] == model.id and sent["prompt"] == "千军万马" and sent["size"] == f"{width}x{height}"
    assert sent["response_format"] == "b64_json" and sent["watermark"] is False
    if model.seed:
        assert sent["seed"] == 1234 and sent["guidance_scale"] == 2.5
        assert "sequential_image_generation" not in sent
    else:
        assert "seed" not in sent and "guidance_scale" not in sent
        assert sent["sequential_image_generation"] == "disabled"
    assert GenerationTask.objects.get(task_id=task_id).upstream_request_id


def test_several_images_are_several_single_image_requests(api, media, ark):
    task_id = api.generate(**S30, num_images=3, seed=10)
    run(task_id)
    assert outcome(api, task_id) == ("completed", None, 3)
    assert [c.body["seed"] for c in ark.calls()] == [10, 11, 12]


def test_the_requests_of_one_task_respect_the_upstream_concurrency(api, media, ark, settings):
    settings.VOLC_MAX_CONCURRENCY = 1
    ark.max_concurrency = 1  # a second request in flight would be refused with a 429
    task_id = api.generate(**S40, num_images=3)
    run(task_id)
    assert outcome(api, task_id) == ("completed", None, 3)
    assert ark.peak_concurrency == 1


def test_the_images_are_the_jpegs_the_service_sent(api, media, ark):
    task_id = api.generate(**S40)
    run(task_id)
    image = GenerationTask.objects.get(task_id=task_id).images.get()
    with PILImage.open(io.BytesIO((media / image.file_path).read_bytes())) as img:
        assert img.size == (1280, 720)


# README, "The Ark engine": upstream outcome -> task end state, requests sent, images billed.
OUTCOMES = [
    # fault, times, status, error code, requests, billed
    (None, 0, "completed", None, 1, 1),
    ("item_error", 1, "completed", None, 2, 1),  # output moderation inside a 200: one retry
    ("item_error", 2, "failed", "content_rejected", 2, 0),
    ("moderation", 1, "failed", "content_rejected", 1, 0),
    ("invalid", 1, "failed", "invalid_request", 1, 0),
    ("unauthorized", 1, "failed", "auth_failed", 1, 0),
    ("overdue", 1, "failed", "account_limit", 1, 0),
    ("not_enabled", 1, "failed", "not_activated", 1, 0),
    ("rate_limit", 2, "completed", None, 3, 1),  # not billed, waits on the quota budget
    ("quota", 1, "failed", "account_limit", 1, 0),  # final: the SDK would have sent it 3 times
    ("set_limit", 1, "failed", "account_limit", 1, 0),
    ("server_error", 1, "completed", None, 2, 1),
    ("server_error", 2, "failed", "upstream_error", 2, 0),
    ("error_only", 1, "completed", None, 2, 1),  # a 200 carrying only `error` is an error
    ("html_502", 3, "completed", None, 4, 1),
    ("html_502", 4, "failed", "upstream_error", 4, 0),
    # Sent, and no (readable) answer: the image may have been made and billed (None: unknown), so the
    # request is never repeated.
    ("slow", 1, "failed", "upstream_timeout", 1, None),
    ("reset", 1, "failed", "upstream_timeout", 1, None),
    ("malformed", 1, "failed", "bad_upstream_data", 1, None),
]


@pytest.mark.parametrize("fault,times,status,code,requests,images_billed", OUTCOMES, ids=lambda v: str(v))
def test_each_upstream_outcome_ends_the_task_as_the_readme_table_says(api, media, ark, fault, times, status,
                                                                     code, requests, images_billed):
    if fault:
        ark.inject(fault, times=times, seconds=4)
    task_id = api.generate(**S40)
    run(task_id)
    got_status, got_code, images = outcome(api, task_id)
    assert (got_status, got_code) == (status, code)
    assert len(ark.calls()) == requests
    if images_billed is not None:
        assert billed(ark) == images_billed
    assert images == (1 if status == "completed" else 0)
    if status == "failed":
        assert files_under(media) == []
        task = GenerationTask.objects.get(task_id=task_id)
        assert task.upstream_error_code


def test_a_timeout_after_sending_says_the_image_may_have_been_billed(api, media, ark):
    ark.inject("slow", seconds=4)
    task_id = api.generate(**S40)
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.error_code == "upstream_timeout" and task.attempts == 1
    assert "may have been generated and billed" in task.error_message


def test_retry_after_is_waited_for_before_the_next_request(api, media, ark):
    ark.inject("rate_limit", retry_after=1)
    task_id = api.generate(**S40)
    run(task_id)
    assert outcome(api, task_id)[0] == "completed"
    first, second = ark.calls()
    assert second.at - first.at >= 0.95


def test_an_unreachable_service_is_retried_on_its_own_budget(api, media, ark, settings):
    settings.IMAGEGEN_QUOTA_RETRIES = 2
    ark.stop()
    task_id = api.generate(**S40)
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.error_code, task.attempts, task.retry_count) == ("failed", "upstream_unreachable", 1, 2)


def test_a_per_image_failure_keeps_the_images_that_came_back(api, media, ark):
    ark.inject("item_error", skip=1)  # the second of three
    task_id = api.generate(**S40, num_images=3)
    run(task_id)
    assert outcome(api, task_id) == ("completed", None, 2)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.error_message.startswith("1 of 3 images not made: OutputImageSensitiveContentDetected")
    assert len(ark.calls()) == 3


def test_a_failure_after_images_came_back_keeps_them_and_stops_without_paying_again(api, media, ark):
    ark.inject("server_error", skip=1)
    task_id = api.generate(**S40, num_images=3)
    run(task_id)
    assert outcome(api, task_id) == ("completed", None, 1)
    assert len(ark.calls()) == 2  # the third is not attempted, the first is not made again
    assert "InternalServiceError" in GenerationTask.objects.get(task_id=task_id).error_message


def test_the_key_never_appears_in_responses_logs_or_the_database(api, media, ark, caplog):
    ark.inject("unauthorized")
    task_id = api.generate(**S40)
    run(task_id)
    body = api.get(f"task/{task_id}").content.decode()
    assert KEY not in body and KEY not in caplog.text
    task = GenerationTask.objects.get(task_id=task_id)
    assert KEY not in task.error_message


def test_the_fake_answers_url_and_group_requests_like_ark():
    import httpx

    with FakeArk(api_key=KEY) as server:
        server.inject("item_error", indexes=[1])
        answer = httpx.post(server.base_url + "/images/generations", headers={"Authorization": f"Bearer {KEY}"},
                            json={"model": "doubao-seedream-4-0-250828", "prompt": "a", "size": "1K",
                                  "sequential_image_generation": "auto",
                                  "sequential_image_generation_options": {"max_images": 3}}).json()
        assert [("url" in d, "error" in d) for d in answer["data"]] == [(True, False), (False, True), (True, False)]
        assert answer["usage"]["generated_images"] == 2
        jpeg = httpx.get(answer["data"][0]["url"]).content
        assert jpeg[:2] == b"\xff\xd8"
        wrong = httpx.post(server.base_url + "/images/generations", headers={"Authorization": "Bearer nope"},
                           json={"model": "doubao-seedream-4-0-250828", "prompt": "a"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "AuthenticationError"
        tier = httpx.post(server.base_url + "/images/generations", headers={"Authorization": f"Bearer {KEY}"},
                          json={"model": "doubao-seedream-4-5-251128", "prompt": "a", "size": "1K"})
        assert tier.status_code == 400 and "size" in tier.json()["error"]["message"]
        null = httpx.post(server.base_url + "/images/generations", headers={"Authorization": f"Bearer {KEY}"},
                          json={"model": "doubao-seedream-4-0-250828", "prompt": "a", "seed": None})
        assert null.status_code == 400
        b64 = httpx.post(server.base_url + "/images/generations", headers={"Authorization": f"Bearer {KEY}"},
                         json={"model": "doubao-seedream-3-0-t2i-250415", "prompt": "a", "seed": 3,
                               "response_format": "b64_json"}).json()
        assert base64.b64decode(b64["data"][0]["b64_json"])[:2] == b"\xff\xd8"


def test_the_images_per_minute_limit_spaces_the_requests_across_windows(api, media, ark, settings, monkeypatch):
    from generation import images_per_minute

    monkeypatch.setattr(images_per_minute, "PERIOD", 1)  # one-second windows keep the test short
    settings.ARK_IMAGES_PER_MINUTE = 1
    task_id = api.generate(**S40, num_images=3)
    run(task_id)
    assert outcome(api, task_id) == ("completed", None, 3)
    first, _second, third = ark.calls()
    assert third.at - first.at >= 0.99  # three requests, three consecutive windows


def test_a_rate_limit_after_images_came_back_is_waited_out_without_remaking_them(api, media, ark):
    ark.inject("rate_limit", skip=1, times=2, retry_after=0)
    task_id = api.generate(**S40, num_images=3)
    run(task_id)
    assert outcome(api, task_id) == ("completed", None, 3)
    assert len(ark.calls()) == 5 and billed(ark) == 3  # nothing was made twice
    assert GenerationTask.objects.get(task_id=task_id).attempts == 1
