"""The VolcEngine engine: the real SDK over real HTTP against tests/volcengine_server.py, which speaks the
protocol and verifies signatures. Every catalogue model, the error taxonomy, and secrets kept secret."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image as PILImage

from generation.catalogue import all_models
from generation.models import GenerationTask

from .conftest import files_under, run
from .volcengine_server import FakeVolcEngine

pytestmark = pytest.mark.django_db

AK, SK = "AKLTimagegentest", "imagegen-test-secret"


@pytest.fixture
def upstream(settings):
    server = FakeVolcEngine(access_key=AK, secret_key=SK, async_steps=2).start()
    settings.IMAGEGEN_ENGINE = "volcengine"
    settings.VOLC_ACCESSKEY = AK
    settings.VOLC_SECRETKEY = SK
    settings.VOLC_HOST = server.host
    settings.VOLC_SCHEME = "http"
    settings.VOLC_CONNECT_TIMEOUT = 2
    settings.VOLC_READ_TIMEOUT = 1.5
    settings.VOLC_POLL_INTERVAL = 0.02
    settings.VOLC_POLL_MAX_INTERVAL = 0.05
    settings.IMAGEGEN_RETRY_BASE_DELAY = 0.01
    settings.IMAGEGEN_RETRY_MAX_DELAY = 0.05
    yield server
    server.stop()


def small_size(model):
    """The smallest preset of a model, to keep the tests quick."""
    preset = min(model.presets, key=lambda p: p.width * p.height)
    return preset.width, preset.height


@pytest.mark.parametrize("model", [m for m in all_models() if m.engine == "volcengine"], ids=lambda m: m.id)
def test_every_catalogue_model_generates_with_the_documented_request(api, media, upstream, model):
    width, height = small_size(model)
    task_id = api.generate(model=model.id, width=width, height=height, seed=1234, prompt="千军万马",
                           negative_prompt=None, steps=None, scale=None)
    run(task_id)
    body = api.get(f"task/{task_id}").json()
    assert body["status"] == "completed", body
    assert body["engine"] == "volcengine"
    assert len(body["images"]) == 1
    assert (body["images"][0]["width"], body["images"][0]["height"]) == (width, height)

    calls = upstream.requests
    assert calls and all(c.signature_ok for c in calls)
    expected_first = "CVSync2AsyncSubmitTask" if model.action == "async" else "CVProcess"
    assert calls[0].action == expected_first
    sent = calls[0].body
    assert sent["req_key"] == model.id and sent["prompt"] == "千军万马" and sent["seed"] == 1234
    task = GenerationTask.objects.get(task_id=task_id)
    assert (sent["width"], sent["height"]) == (task.upstream_width, task.upstream_height)
    if model.super_resolution:
        assert sent["use_sr"] == task.use_sr
    if model.id == "jimeng_t2i_v40":
        assert sent["force_single"] is True
    if model.id == "high_aes_general_v20":
        assert sent["model_version"] == "general_v2.0"
    if model.action == "async":
        polls = [c for c in calls if c.action == "CVSync2AsyncGetResult"]
        assert polls and json.loads(polls[-1].body["req_json"]) == {"return_url": False}
        assert task.upstream_task_id == polls[-1].body["task_id"]
    assert task.upstream_request_id


def test_the_seed_example_is_sent_at_half_size_with_super_resolution(api, media, upstream):
    task_id = api.generate()  # general_v2.0, 1024x1024
    run(task_id)
    sent = upstream.requests[0].body
    assert (sent["width"], sent["height"], sent["use_sr"]) == (512, 512, True)
    assert sent["ddim_steps"] == 20 and sent["scale"] == 7.5
    assert "negative_prompt" not in sent
    image = api.get(f"task/{task_id}").json()["images"][0]
    assert (image["width"], image["height"]) == (1024, 1024)


def test_several_images_are_several_calls_with_consecutive_seeds(api, media, upstream):
    task_id = api.generate(model="jimeng_t2i_v40", width=1024, height=1024, num_images=2, seed=10,
                           negative_prompt=None, steps=None, scale=None)
    run(task_id)
    submits = upstream.calls("CVSync2AsyncSubmitTask")
    assert [c.body["seed"] for c in submits] == [10, 11]
    assert all(c.body["force_single"] is True for c in submits)
    assert len(api.get(f"task/{task_id}").json()["images"]) == 2


def test_the_stage_follows_the_upstream_job(api, media, upstream):
    upstream.inject("slow_async", polls=4)
    seen = []
    from generation.run import TaskRun

    original = TaskRun.stage

    def spy(self, stage, **kwargs):
        seen.append(stage)
        return original(self, stage, **kwargs)

    TaskRun.stage = spy
    try:
        task_id = api.generate(model="jimeng_t2i_v31", width=1328, height=1328)
        run(task_id)
    finally:
        TaskRun.stage = original
    assert "queued_upstream" in seen and "generating" in seen and "saving" in seen
    assert seen.index("queued_upstream") < seen.index("generating") < seen.index("saving")


# -- the error taxonomy: (fault, how many times, final status, upstream calls, our error code) ---------------

SYNC = {"model": "high_aes_general_v30l_zt2i", "width": 1328, "height": 1328, "negative_prompt": None, "steps": None}
ASYNC = {"model": "jimeng_t2i_v31", "width": 1328, "height": 1328, "negative_prompt": None, "steps": None,
         "scale": None}

BUSINESS = [
    # final at once: user or configuration errors, and moderation of the prompt
    ("50200", 1, "failed", 1, "invalid_request"),
    ("50201", 1, "failed", 1, "invalid_request"),
    ("50204", 1, "failed", 1, "invalid_request"),
    ("50215", 1, "failed", 1, "invalid_request"),
    ("50400", 1, "failed", 1, "not_activated"),
    ("50402", 1, "failed", 1, "invalid_request"),
    ("50411", 1, "failed", 1, "content_rejected"),
    ("50412", 1, "failed", 1, "content_rejected"),
    ("50413", 1, "failed", 1, "content_rejected"),
    ("50512", 1, "failed", 1, "content_rejected"),
    ("50518", 1, "failed", 1, "content_rejected"),
    ("50520", 1, "failed", 1, "upstream_error"),
    ("50521", 1, "failed", 1, "upstream_error"),
    ("50522", 1, "failed", 1, "upstream_error"),
    # moderation of the output: once more with a new seed
    ("50511", 1, "completed", 2, None),
    ("50511", 2, "failed", 2, "content_rejected"),
    ("50519", 1, "completed", 2, None),
    ("50519", 2, "failed", 2, "content_rejected"),
    # rate and concurrency limits: back off, never reach the user while the budget lasts
    ("50429", 3, "completed", 4, None),
    ("50430", 3, "completed", 4, None),
    # internal errors: one delayed retry
    ("50500", 1, "completed", 2, None),
    ("50500", 2, "failed", 2, "upstream_error"),
    ("50501", 1, "completed", 2, None),
    ("50501", 2, "failed", 2, "upstream_error"),
]


def outcome(api, task_id):
    body = api.get(f"task/{task_id}").json()
    return body["status"], (body["error"] or {}).get("code"), (body["error"] or {}).get("message")


@pytest.mark.parametrize("fault,times,status,calls,code", BUSINESS, ids=lambda v: str(v))
def test_business_errors_of_the_sync_call(api, media, upstream, fault, times, status, calls, code):
    upstream.inject(fault, times=times, action="CVProcess")
    task_id = api.generate(**SYNC, seed=77)
    run(task_id)
    got_status, got_code, message = outcome(api, task_id)
    assert (got_status, got_code) == (status, code)
    assert len(upstream.calls("CVProcess")) == calls
    if status == "failed":
        assert message and "VolcEngine error" not in message  # the user reads our sentence, not the raw text
        task = GenerationTask.objects.get(task_id=task_id)
        assert task.upstream_error_code == fault and len(task.upstream_request_id) == 34
        assert files_under(media) == []
    if fault in ("50511", "50519"):
        seeds = [c.body["seed"] for c in upstream.calls("CVProcess")]
        assert seeds[0] == 77 and seeds[1] != 77


@pytest.mark.parametrize("fault,times,status,calls,code", BUSINESS, ids=lambda v: str(v))
def test_business_errors_of_the_async_submit(api, media, upstream, fault, times, status, calls, code):
    upstream.inject(fault, times=times, action="CVSync2AsyncSubmitTask")
    task_id = api.generate(**ASYNC)
    run(task_id)
    assert outcome(api, task_id)[:2] == (status, code)
    assert len(upstream.calls("CVSync2AsyncSubmitTask")) == calls


@pytest.mark.parametrize(
    "fault,times,status,submits,code",
    [
        ("50413", 1, "failed", 1, "content_rejected"),  # prompt moderation surfaces at GetResult
        ("50511", 1, "completed", 2, None),  # output moderation: a new job with a new seed
        ("50429", 2, "completed", 1, None),  # a refused poll is polled again, the job is not paid twice
        ("50500", 1, "completed", 2, None),
    ],
)
def test_business_errors_of_the_async_poll(api, media, upstream, fault, times, status, submits, code):
    upstream.inject(fault, times=times, action="CVSync2AsyncGetResult")
    task_id = api.generate(**ASYNC)
    run(task_id)
    assert outcome(api, task_id)[:2] == (status, code)
    assert len(upstream.calls("CVSync2AsyncSubmitTask")) == submits


@pytest.mark.parametrize(
    "fault,times,status,calls,code",
    [
        ("timeout", 1, "completed", 2, None),  # ambiguous (maybe billed): at most one retry
        ("timeout", 2, "failed", 2, "upstream_timeout"),
        ("reset", 1, "completed", 2, None),
        ("reset", 2, "failed", 2, "upstream_unreachable"),
        ("html500", 1, "completed", 2, None),
        ("html500", 2, "failed", 2, "upstream_error"),
        ("html502", 3, "completed", 4, None),  # a gateway in front said "try later": backoff
        ("html503", 4, "failed", 4, "upstream_error"),  # ... within the attempts budget (4)
        ("malformed_json", 1, "completed", 2, None),
        ("malformed_json", 2, "failed", 2, "upstream_error"),
        ("http200_error", 1, "completed", 2, None),  # HTTP 200 carrying code 50500 is still an error
        ("corrupt_image", 1, "failed", 1, "bad_upstream_data"),
        ("truncated_image", 1, "failed", 1, "bad_upstream_data"),
        ("bad_base64", 1, "failed", 1, "bad_upstream_data"),
        ("url_403", 1, "failed", 1, "bad_upstream_data"),
        ("url_html", 1, "failed", 1, "bad_upstream_data"),
    ],
    ids=lambda v: str(v),
)
def test_transport_and_data_faults_of_the_sync_call(api, media, upstream, fault, times, status, calls, code):
    upstream.inject(fault, times=times, action="CVProcess", seconds=3, code=50500)
    task_id = api.generate(**SYNC)
    run(task_id)
    got = outcome(api, task_id)
    assert got[:2] == (status, code), got
    assert len(upstream.calls("CVProcess")) == calls
    assert (files_under(media) == []) == (status == "failed")


@pytest.mark.parametrize("fault", ["timeout", "reset", "html502", "malformed_json"])
def test_a_failed_poll_is_repeated_without_paying_for_a_new_job(api, media, upstream, fault):
    upstream.inject(fault, times=2, action="CVSync2AsyncGetResult", seconds=3)
    task_id = api.generate(**ASYNC)
    run(task_id)
    assert outcome(api, task_id)[0] == "completed"
    assert len(upstream.calls("CVSync2AsyncSubmitTask")) == 1


def test_an_unknown_job_fails_and_an_expired_one_is_submitted_again(api, media, upstream):
    upstream.inject("not_found", action="CVSync2AsyncGetResult")
    lost = api.generate(**ASYNC)
    run(lost)
    assert outcome(api, lost)[:2] == ("failed", "upstream_expired")
    upstream.reset()
    upstream.inject("expired", action="CVSync2AsyncGetResult")
    expired = api.generate(**ASYNC)
    run(expired)
    assert outcome(api, expired)[0] == "completed"
    assert len(upstream.calls("CVSync2AsyncSubmitTask")) == 2


def test_an_unreachable_service_waits_on_its_own_budget_then_fails_clearly(api, media, upstream, settings):
    # Nothing reached the service, so nothing was billed: like 50429 it does not use up the attempts.
    settings.IMAGEGEN_MAX_ATTEMPTS = 2
    settings.IMAGEGEN_QUOTA_RETRIES = 4
    upstream.stop()
    task_id = api.generate(**SYNC)
    run(task_id)
    status, code, message = outcome(api, task_id)
    assert (status, code) == ("failed", "upstream_unreachable")
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.retry_count == 4 and task.attempts == 1
    assert "could not be reached" in message


def test_a_short_outage_does_not_fail_a_task_under_the_default_attempts(api, media, upstream, settings):
    upstream.stop()
    calls = {"n": 0}
    from generation.engines import volcengine as engine_module

    original = engine_module.VolcEngine._call

    def restart_after_five_refusals(self, action, form, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            upstream.start()  # the service comes back
        return original(self, action, form, **kwargs)

    engine_module.VolcEngine._call = restart_after_five_refusals
    try:
        task_id = api.generate(**SYNC)
        run(task_id)
    finally:
        engine_module.VolcEngine._call = original
    assert outcome(api, task_id)[0] == "completed"
    assert GenerationTask.objects.get(task_id=task_id).retry_count == 5


def test_wrong_credentials_fail_without_retrying(api, media, upstream, settings):
    settings.VOLC_SECRETKEY = "not-the-secret"
    task_id = api.generate(**SYNC)
    run(task_id)
    assert outcome(api, task_id)[:2] == ("failed", "auth_failed")
    assert len(upstream.requests) == 1 and upstream.requests[0].error == "SignatureDoesNotMatch"


def test_messages_are_translated_for_the_reader(api, api_zh, media, upstream):
    upstream.inject("50412", action="CVProcess")
    task_id = api.generate(**SYNC)
    run(task_id)
    assert api_zh.get(f"task/{task_id}").json()["error"]["message"] != outcome(api, task_id)[2]


def test_keys_never_appear_in_responses_logs_or_the_database(api, media, upstream, settings, caplog):
    caplog.set_level("DEBUG")
    upstream.inject("50400", action="CVProcess")
    failed = api.generate(**SYNC)
    run(failed)
    ok = api.generate(**ASYNC)
    run(ok)
    texts = [caplog.text]
    for path in (f"task/{failed}", f"task/{ok}", "system/info", "health", "tasks"):
        texts.append(api.get(path).content.decode())
    for row in GenerationTask.objects.values():
        texts.append(json.dumps(row, default=str))
    blob = "\n".join(texts)
    assert SK not in blob
    assert AK not in blob
