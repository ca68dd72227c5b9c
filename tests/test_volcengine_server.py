"""The local VolcEngine visual-API server, driven by the real `volcengine` SDK over HTTP (no mocking).

What the SDK surfaces for each situation is taken from the protocol spec (§1.5 of
/work/shared/spec/volcengine-protocol.md): HTTP != 200 raises a bare Exception whose str is the repr of
the response bytes, HTTP 200 with valid JSON is returned whatever its code.
"""

from __future__ import annotations

import ast
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from PIL import Image, UnidentifiedImageError
from requests.adapters import HTTPAdapter
from volcengine.auth.SignerV4 import SignerV4
from volcengine.visual.VisualService import VisualService

from tests.volcengine_server import BUSINESS_ERRORS, FakeVolcEngine

AK, SK = "AKLTimagegentest", "imagegen-test-secret"
V30L = "high_aes_general_v30l_zt2i"
V21 = "high_aes_general_v21_L"
V31 = "jimeng_t2i_v31"
RID = re.compile(r"^\d{14}[0-9A-F]{20}$")


# ---- helpers -------------------------------------------------------------------------------------

@pytest.fixture
def fake():
    with FakeVolcEngine() as server:
        yield server


def client(server, *, ak=AK, sk=SK, read_timeout=5) -> VisualService:
    """An independent VisualService (protocol §1.6) pointed at the local server."""
    svc = object.__new__(VisualService)
    svc.__init__()
    svc.set_ak(ak)
    svc.set_sk(sk)
    svc.set_host(server.host)
    svc.set_scheme("http")
    svc.set_connection_timeout(2)
    svc.set_socket_timeout(read_timeout)
    return svc


def sdk_error(call, *args) -> tuple[str, dict | None]:
    """Run an SDK call that must raise; decode its message the way §1.5 says: (text, parsed JSON or None)."""
    with pytest.raises(Exception) as info:
        call(*args)
    assert type(info.value) is Exception
    msg = str(info.value)
    if msg.startswith(("b'", 'b"')):
        text = ast.literal_eval(msg).decode("utf-8", "replace")
        try:
            return text, json.loads(text)
        except ValueError:
            return text, None
    return msg, None


def t2i(**changes) -> dict:
    return {"req_key": V30L, "prompt": "a red fox in the snow", "width": 640, "height": 512, **changes}


def png_size(b64: str) -> tuple[int, int]:
    data = base64.b64decode(b64, validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(data))
    img.load()
    return img.size


def official_request(server, body: dict | bytes, *, action="CVProcess", version="2022-08-31", ak=AK, sk=SK,
                     region="cn-north-1", service="cv", algorithm="HMAC-SHA256", x_date=None, cred_date=None,
                     signed="content-type;host;x-content-sha256;x-date", terminal="request"):
    """An independent signer in the style of the official HTTP example (§2.1): fixed header list."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    x_date = x_date or dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    date = cred_date or x_date[:8]
    digest = hashlib.sha256(payload).hexdigest()
    headers = {"Content-Type": "application/json", "Host": server.host, "X-Content-Sha256": digest,
               "X-Date": x_date}
    query = f"Action={action}&Version={version}"
    lower = {k.lower(): v for k, v in headers.items()}
    canonical_headers = "".join(f"{name}:{lower[name]}\n" for name in signed.split(";"))
    canonical = "\n".join(["POST", "/", query, canonical_headers, signed, digest])
    scope = f"{date}/{region}/{service}/{terminal}"
    to_sign = "\n".join([algorithm, x_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = sk.encode()
    for part in (date, region, service, "request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = f"{algorithm} Credential={ak}/{scope}, SignedHeaders={signed}, Signature={signature}"
    return requests.post(f"{server.url}/?{query}", data=payload, headers=headers, timeout=5)


def gateway_error(response) -> dict:
    meta = response.json()["ResponseMetadata"]
    assert RID.match(meta["RequestId"])
    return meta


class Tamper(HTTPAdapter):
    """A man in the middle on the SDK's session: edits the prepared request after the SDK signed it."""

    def __init__(self, edit):
        super().__init__()
        self.edit = edit

    def send(self, request, **kwargs):
        self.edit(request)
        return super().send(request, **kwargs)


# ---- signatures ----------------------------------------------------------------------------------

def test_a_request_signed_by_the_real_sdk_is_accepted_and_recorded(fake):
    resp = client(fake).cv_process(t2i())
    assert resp["code"] == 10000 and resp["status"] == 10000 and resp["message"] == "Success"
    assert RID.match(resp["request_id"])
    assert re.fullmatch(r"[0-9a-f]{64}", resp["data"]["request_id"])
    (rec,) = fake.calls("CVProcess")
    assert rec.signature_ok and rec.error is None and rec.version == "2022-08-31"
    assert rec.body == t2i()
    assert rec.headers["Authorization"].startswith(f"HMAC-SHA256 Credential={AK}/")
    assert "SignedHeaders=content-type;host;x-content-sha256;x-date," in rec.headers["Authorization"]
    assert rec.headers["Host"] == fake.host


def test_a_request_from_an_independent_official_style_signer_is_accepted(fake):
    response = official_request(fake, t2i(prompt="千军万马"))
    assert response.status_code == 200, response.text
    assert response.json()["code"] == 10000
    assert fake.requests[-1].signature_ok


def test_a_request_without_authorization_is_missing_authentication_token(fake):
    response = requests.post(f"{fake.url}/?Action=CVProcess&Version=2022-08-31", json=t2i(), timeout=5)
    assert response.status_code == 401
    meta = gateway_error(response)
    assert meta["Error"]["CodeN"] == 100003 and meta["Error"]["Code"] == "MissingAuthenticationToken"
    assert meta["Action"] == "CVProcess" and meta["Version"] == "2022-08-31" and meta["Service"] == "cv"
    assert fake.requests[-1].error == "MissingAuthenticationToken" and not fake.requests[-1].signature_ok
    assert fake.requests[-1].body == t2i()  # recorded either way


def test_an_unparsable_authorization_header_is_missing_signature(fake):
    response = requests.post(f"{fake.url}/?Action=CVProcess&Version=2022-08-31", json=t2i(), timeout=5,
                             headers={"Authorization": "HMAC-SHA256 nonsense", "X-Date": "20250101T000000Z"})
    assert response.status_code == 401
    assert gateway_error(response)["Error"]["CodeN"] == 100005


def test_the_sdk_with_an_unknown_access_key_gets_invalid_access_key(fake):
    _, err = sdk_error(client(fake, ak="AKLTnobody").cv_process, t2i())
    assert err["ResponseMetadata"]["Error"]["CodeN"] == 100009
    assert err["ResponseMetadata"]["Error"]["Code"] == "InvalidAccessKey"
    assert "AKLTnobody" in err["ResponseMetadata"]["Error"]["Message"]
    assert fake.requests[-1].status == 401


def test_the_sdk_with_a_wrong_secret_key_gets_signature_does_not_match(fake):
    _, err = sdk_error(client(fake, sk="not-the-secret").cv_process, t2i())
    assert err["ResponseMetadata"]["Error"] == {
        "CodeN": 100010, "Code": "SignatureDoesNotMatch",
        "Message": "The request signature we calculated does not match the signature you provided. Check your "
                   "Secret Access Key and signing method. Consult the service documentation for details.",
    }
    assert err["ResponseMetadata"]["Region"] == "cn-north-1"
    assert fake.requests[-1].status == 401 and not fake.requests[-1].signature_ok


@pytest.mark.parametrize("fix_hash", [False, True], ids=["hash-header-kept", "hash-header-recomputed"])
def test_a_body_tampered_after_the_sdk_signed_it_gets_signature_does_not_match(fake, fix_hash):
    def edit(request):
        request.body = request.body.replace("red fox", "big cat")  # same length
        if fix_hash:
            request.headers["X-Content-Sha256"] = hashlib.sha256(request.body.encode()).hexdigest()

    svc = client(fake)
    svc.session.mount("http://", Tamper(edit))
    _, err = sdk_error(svc.cv_process, t2i())
    assert err["ResponseMetadata"]["Error"]["CodeN"] == 100010
    assert fake.requests[-1].body["prompt"] == "a big cat in the snow"


def test_the_sdk_with_a_clock_twenty_minutes_behind_gets_invalid_timestamp(fake, monkeypatch):
    def skewed(minutes):
        when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes)
        monkeypatch.setattr(SignerV4, "get_current_format_date", staticmethod(lambda: when.strftime("%Y%m%dT%H%M%SZ")))

    skewed(20)
    _, err = sdk_error(client(fake).cv_process, t2i())
    assert err["ResponseMetadata"]["Error"]["CodeN"] == 100006
    assert err["ResponseMetadata"]["Error"]["Code"] == "InvalidTimestamp"
    assert fake.requests[-1].status == 400
    skewed(10)  # inside the 15-minute window
    assert client(fake).cv_process(t2i())["code"] == 10000


def test_a_missing_x_date_is_invalid_timestamp(fake):
    response = requests.post(f"{fake.url}/?Action=CVProcess&Version=2022-08-31", json=t2i(), timeout=5, headers={
        "Authorization": f"HMAC-SHA256 Credential={AK}/20250101/cn-north-1/cv/request, "
                         "SignedHeaders=host;x-date, Signature=00ff"})
    assert response.status_code == 400 and gateway_error(response)["Error"]["CodeN"] == 100006


@pytest.mark.parametrize("change", [
    {"region": "cn-beijing"},
    {"service": "iam"},
    {"algorithm": "HMAC-SHA1"},
    {"cred_date": "20200101"},
    {"terminal": "aws4_request"},
    {"signed": "content-type;x-content-sha256;x-date"},  # host not signed
    {"signed": "content-type;host;x-content-sha256"},  # x-date not signed
    {"sk": "wrong"},
], ids=lambda c: next(iter(c.items()))[1])
def test_scope_and_signed_header_problems_are_signature_does_not_match(fake, change):
    response = official_request(fake, t2i(), **change)
    assert response.status_code == 401
    meta = gateway_error(response)
    assert meta["Error"]["CodeN"] == 100010
    assert meta["Region"] == change.get("region", "cn-north-1")  # the gateway echoes the client's region


def test_routing_is_checked_before_auth(fake):
    bare = requests.post(f"{fake.url}/?Version=2022-08-31", json=t2i(), timeout=5)
    assert bare.status_code == 400 and gateway_error(bare)["Error"]["CodeN"] == 100002
    assert gateway_error(bare)["Error"]["Code"] == "MissingParameter"
    no_version = requests.post(f"{fake.url}/?Action=CVProcess", json=t2i(), timeout=5)
    assert no_version.status_code == 400 and gateway_error(no_version)["Error"]["CodeN"] == 100002
    for query in ("Action=Nope&Version=2022-08-31", "Action=CVProcess&Version=2020-08-26",
                  "Action=CVCancelTask&Version=2022-08-31"):
        response = requests.post(f"{fake.url}/?{query}", json=t2i(), timeout=5)
        assert response.status_code == 404 and gateway_error(response)["Error"]["CodeN"] == 100008
    get = requests.get(f"{fake.url}/?Action=CVProcess&Version=2022-08-31", timeout=5)
    assert get.status_code == 404 and gateway_error(get)["Error"]["Code"] == "InvalidActionOrVersion"


# ---- CVProcess -----------------------------------------------------------------------------------

def test_cv_process_returns_a_png_of_the_requested_size(fake):
    data = client(fake).cv_process(t2i(width=768, height=512))["data"]
    assert data["image_urls"] is None and len(data["binary_data_base64"]) == 1
    assert png_size(data["binary_data_base64"][0]) == (768, 512)
    assert data["algorithm_base_resp"] == {"status_code": 0, "status_message": "Success"}
    assert data["rephraser_result"] == ""  # v30l: use_pre_llm defaults to false


def test_use_sr_doubles_the_size_and_use_pre_llm_fills_the_rephraser_result(fake):
    data = client(fake).cv_process({"req_key": V21, "prompt": "a lighthouse", "width": 512, "height": 384,
                                    "use_sr": True, "use_pre_llm": True})["data"]
    assert png_size(data["binary_data_base64"][0]) == (1024, 768)
    assert data["rephraser_result"].startswith("a lighthouse")
    assert len(data["rephraser_result"]) > len("a lighthouse")


def test_legacy_models_default_to_512_squared(fake):
    data = client(fake).cv_process({"req_key": "high_aes_general_v20", "prompt": "a tree"})["data"]
    assert png_size(data["binary_data_base64"][0]) == (512, 512)


def test_return_url_images_download_as_jpeg_without_auth(fake):
    data = client(fake).cv_process(t2i(return_url=True))["data"]
    assert data["binary_data_base64"] == []
    (url,) = data["image_urls"]
    assert url.startswith(f"{fake.url}/images/") and url.endswith(".jpeg")
    image = requests.get(url, timeout=5)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    assert image.content[:2] == b"\xff\xd8"
    assert Image.open(io.BytesIO(image.content)).size == (640, 512)
    assert requests.get(f"{fake.url}/images/{'0' * 32}.jpeg", timeout=5).status_code == 404


def test_jimeng_models_are_async_only(fake):
    for req_key in ("jimeng_t2i_v30", "jimeng_t2i_v31", "jimeng_t2i_v40"):
        _, err = sdk_error(client(fake).cv_process, {"req_key": req_key, "prompt": "x"})
        assert err["code"] == 50400 and err["message"] == "Access Denied: Internal Error"
        assert fake.requests[-1].status == 401


@pytest.mark.parametrize("body, code", [
    ({"req_key": "no_such_model", "prompt": "x"}, 50400),
    ({"req_key": V30L}, 50201),
    ({"req_key": V30L, "prompt": ""}, 50201),
    ({"prompt": "x"}, 50201),
    (t2i(width="640"), 50204),
    (t2i(seed=1.5), 50204),
    (t2i(use_pre_llm="true"), 50204),
    ({"req_key": V21, "prompt": "x", "use_sr": 1}, 50204),
    (t2i(logo_info="yes"), 50204),
    (t2i(prompt=["x"]), 50204),
    (t2i(height=None), 50200),  # width without height
    (t2i(width=2100, height=1024), 50200),
    (t2i(width=500, height=1024), 50200),
    (t2i(scale=11), 50200),
    (t2i(prompt="x" * 801), 50200),
    ({"req_key": V21, "prompt": "x", "width": 800}, 50200),
    ({"req_key": "high_aes_general_v20", "prompt": "x", "width": 700, "height": 512}, 50200),
    ({"req_key": V21, "prompt": "x", "width": 200}, 50200),
], ids=lambda v: str(v)[:60] if isinstance(v, dict) else str(v))
def test_invalid_bodies_get_business_errors(fake, body, code):
    _, err = sdk_error(client(fake).cv_process, body)
    assert err["code"] == code and err["status"] == code and err["data"] is None and err["message"]
    assert RID.match(err["request_id"]) and err["time_elapsed"].endswith("µs")
    rec = fake.requests[-1]
    assert rec.status == (401 if code == 50400 else 400) and rec.error == str(code) and rec.body == body


def test_jimeng_sizes_follow_area_and_ratio_rules(fake):
    svc = client(fake)

    def submit(**size):
        return svc.cv_sync2async_submit_task({"req_key": V31, "prompt": "x", **size})

    assert submit(width=3024, height=1296)["code"] == 10000  # a recommended 2K size
    assert submit(width=512, height=512)["code"] == 10000
    for bad in ({"width": 500, "height": 500}, {"width": 2100, "height": 2100}, {"width": 2048, "height": 640},
                {"width": 1024}):
        _, err = sdk_error(lambda: submit(**bad))
        assert err["code"] == 50200, bad


# ---- async pair ----------------------------------------------------------------------------------

def test_async_jobs_go_in_queue_then_generating_then_done(fake):
    svc = client(fake)
    submitted = svc.cv_sync2async_submit_task({"req_key": V31, "prompt": "a harbour", "width": 512, "height": 512})
    task_id = submitted["data"]["task_id"]
    assert re.fullmatch(r"\d{19}", task_id)
    poll = {"req_key": V31, "task_id": task_id}
    statuses = [svc.cv_sync2async_get_result(poll)["data"] for _ in range(3)]
    assert [d["status"] for d in statuses] == ["in_queue", "generating", "done"]
    assert statuses[0]["binary_data_base64"] is None and statuses[0]["image_urls"] is None
    assert png_size(statuses[2]["binary_data_base64"][0]) == (512, 512)
    assert statuses[2]["rephraser_result"]  # jimeng: use_pre_llm defaults to true
    assert fake.peak_concurrency == 1 and fake.job_status(task_id) == "done"
    again = svc.cv_sync2async_get_result(poll)["data"]
    assert again["status"] == "done" and again["binary_data_base64"] == statuses[2]["binary_data_base64"]


def test_async_return_url_in_req_json_gives_jpeg_links(fake):
    svc = client(fake)
    task_id = svc.cv_sync2async_submit_task({"req_key": V31, "prompt": "x", "width": 512, "height": 512,
                                             "return_url": True})["data"]["task_id"]  # ignored at submit
    req_json = json.dumps({"return_url": True, "logo_info": {"add_logo": True, "position": 0}})
    for _ in range(2):
        svc.cv_sync2async_get_result({"req_key": V31, "task_id": task_id})
    data = svc.cv_sync2async_get_result({"req_key": V31, "task_id": task_id, "req_json": req_json})["data"]
    assert data["status"] == "done" and data["binary_data_base64"] == []
    image = requests.get(data["image_urls"][0], timeout=5)
    assert image.headers["Content-Type"] == "image/jpeg" and image.content[:2] == b"\xff\xd8"
    _, err = sdk_error(svc.cv_sync2async_get_result, {"req_key": V31, "task_id": task_id, "req_json": "{bad"})
    assert err["code"] == 50204


def test_an_unknown_task_id_is_not_found_with_code_10000(fake):
    resp = client(fake).cv_sync2async_get_result({"req_key": V31, "task_id": "7000000000000000000"})
    assert resp["code"] == 10000 and resp["data"]["status"] == "not_found"


def test_jimeng_v40_returns_two_images_unless_force_single(fake):
    svc = client(fake, read_timeout=10)
    fake.async_steps = 0
    for force_single, count in ((False, 2), (True, 1)):
        task_id = svc.cv_sync2async_submit_task({"req_key": "jimeng_t2i_v40", "prompt": "x",
                                                 "force_single": force_single})["data"]["task_id"]
        data = svc.cv_sync2async_get_result({"req_key": "jimeng_t2i_v40", "task_id": task_id})["data"]
        assert data["status"] == "done" and len(data["binary_data_base64"]) == count
        assert png_size(data["binary_data_base64"][0]) == (1024, 1024)


def test_async_jobs_take_the_latency_even_when_polled_fast():
    latency = 1.0
    with FakeVolcEngine(latency=latency, async_steps=0) as server:
        svc = client(server)
        submitted = time.monotonic()  # the job's clock starts after this, when the server gets the request
        task_id = svc.cv_sync2async_submit_task({"req_key": V31, "prompt": "x", "width": 512,
                                                 "height": 512})["data"]["task_id"]
        poll = {"req_key": V31, "task_id": task_id}
        seen = []  # (seconds since the submit was sent, when this poll was sent; status)
        deadline = submitted + 30
        while not seen or seen[-1][1] != "done":
            assert time.monotonic() < deadline, seen
            sent = time.monotonic() - submitted
            seen.append((sent, svc.cv_sync2async_get_result(poll)["data"]["status"]))
            time.sleep(0.02)
    statuses = [status for _at, status in seen]
    assert statuses[:2] == ["in_queue", "generating"], seen  # it answers polls from the first one on
    assert set(statuses[2:-1]) <= {"generating"}, seen
    # "done" never before the latency: the first done poll was sent at least `latency` after the submit.
    assert seen[-1][0] >= latency, seen


def test_a_task_cancelled_while_in_queue_is_gone(fake):
    svc = client(fake)
    task_id = svc.cv_sync2async_submit_task({"req_key": V31, "prompt": "x", "width": 512,
                                             "height": 512})["data"]["task_id"]
    assert svc.cv_cancel_task({"req_key": V31, "task_id": task_id})["code"] == 10000
    assert fake.calls("CVCancelTask")[0].version == "2024-06-06"
    assert svc.cv_sync2async_get_result({"req_key": V31, "task_id": task_id})["data"]["status"] == "not_found"


# ---- concurrency ---------------------------------------------------------------------------------

def test_max_concurrency_rejects_exactly_the_extra_cv_process_calls():
    with FakeVolcEngine(max_concurrency=2) as server:
        server.gate = threading.Event()  # the accepted calls stay in flight until the rejections are in
        barrier = threading.Barrier(4)
        outcomes: list = []

        def one():
            svc = client(server)
            barrier.wait()
            try:
                outcomes.append(svc.cv_process(t2i())["code"])
            except Exception as exc:  # noqa: BLE001 - the SDK raises bare Exception
                outcomes.append(json.loads(ast.literal_eval(str(exc)))["code"])

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(outcomes) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert outcomes == [50430, 50430]  # both extra calls refused while two were in flight
        server.gate.set()
        for t in threads:
            t.join(30)
        assert sorted(outcomes) == [10000, 10000, 50430, 50430]
        assert server.peak_concurrency == 2
        assert sorted(r.status for r in server.calls("CVProcess")) == [200, 200, 429, 429]


def test_max_concurrency_counts_unfinished_async_jobs():
    with FakeVolcEngine(max_concurrency=1, async_steps=0) as server:
        svc = client(server)
        body = {"req_key": V31, "prompt": "x", "width": 512, "height": 512}
        first = svc.cv_sync2async_submit_task(body)["data"]["task_id"]
        _, err = sdk_error(svc.cv_sync2async_submit_task, body)
        assert err["code"] == 50430
        assert err["message"] == "Request Has Reached API Concurrent Limit, Please Try Later"
        assert svc.cv_sync2async_get_result({"req_key": V31, "task_id": first})["data"]["status"] == "done"
        assert svc.cv_sync2async_submit_task(body)["code"] == 10000
        assert server.peak_concurrency == 1


# ---- injected faults -----------------------------------------------------------------------------

@pytest.mark.parametrize("code", sorted(BUSINESS_ERRORS))
def test_each_injected_business_code_raises_a_bytes_repr_exception(fake, code):
    fake.inject(str(code))
    text, err = sdk_error(client(fake).cv_process, t2i())
    status, message = BUSINESS_ERRORS[code]
    assert err["code"] == code and err["message"] == message and err["data"] is None
    assert "\xb5s" in err["time_elapsed"]  # the SDK message carries it as \xc2\xb5s
    assert fake.requests[-1].status == status and fake.requests[-1].fault == str(code)
    assert client(fake).cv_process(t2i())["code"] == 10000  # times=1: the next call is fine


def test_non_ascii_time_elapsed_shows_as_escaped_utf8_in_the_sdk_message(fake):
    fake.inject("50429")
    with pytest.raises(Exception) as info:
        client(fake).cv_process(t2i())
    assert str(info.value).startswith("b'{\"code\":50429,") and "\\xc2\\xb5s" in str(info.value)


def test_a_fault_for_get_result_leaves_the_other_actions_alone(fake):
    svc = client(fake)
    fake.inject("50413", action="CVSync2AsyncGetResult")
    task_id = svc.cv_sync2async_submit_task({"req_key": V31, "prompt": "x", "width": 512,
                                             "height": 512})["data"]["task_id"]
    assert svc.cv_process(t2i())["code"] == 10000
    for _ in range(2):  # an audit failure is final for the task
        _, err = sdk_error(svc.cv_sync2async_get_result, {"req_key": V31, "task_id": task_id})
        assert err["code"] == 50413 and err["message"] == "Post Text Risk Not Pass"
    assert fake.job_status(task_id) == "failed"


def test_faults_honour_times_and_req_key(fake):
    svc = client(fake)
    fake.inject("50500", times=2, req_key=V21)
    assert svc.cv_process(t2i())["code"] == 10000
    for _ in range(2):
        assert sdk_error(svc.cv_process, {"req_key": V21, "prompt": "x"})[1]["code"] == 50500
    assert svc.cv_process({"req_key": V21, "prompt": "x"})["code"] == 10000
    assert fake.pending_faults == []


def test_a_timeout_fault_is_a_read_timeout_in_the_sdk(fake):
    fake.inject("timeout", seconds=3)
    text, _ = sdk_error(client(fake, read_timeout=0.3).cv_process, t2i())
    assert "Read timed out" in text and "read timeout=0.3" in text


def test_a_reset_fault_closes_the_connection_without_a_response(fake):
    svc = client(fake)
    assert svc.cv_process(t2i())["code"] == 10000  # the same keep-alive connection is used next
    fake.inject("reset")
    text, _ = sdk_error(svc.cv_process, t2i())
    assert "Connection aborted" in text and "RemoteDisconnected" in text
    assert fake.requests[-1].status is None and fake.requests[-1].error == "reset"
    assert svc.cv_process(t2i())["code"] == 10000
    fake.inject("reset", rst=True)  # a TCP RST instead of a clean close
    text, _ = sdk_error(svc.cv_process, t2i())
    assert "Connection aborted" in text and "ConnectionResetError(104" in text


@pytest.mark.parametrize("status", [500, 502, 503])
def test_html_error_pages_surface_as_html_bytes(fake, status):
    fake.inject(f"html{status}")
    text, err = sdk_error(client(fake).cv_process, t2i())
    assert err is None and text.startswith(f"<html>\r\n<head><title>{status} ") and "nginx" in text


def test_malformed_json_surfaces_the_decode_error(fake):
    fake.inject("malformed_json")
    text, _ = sdk_error(client(fake).cv_process, t2i())
    assert text.startswith("Unterminated string starting at")


def test_an_http_200_error_body_is_returned_not_raised(fake):
    fake.inject("http200_error", code=50501)
    resp = client(fake).cv_process(t2i())
    assert resp["code"] == 50501 and resp["data"] is None and resp["message"] == "Internal RPC Error"


def test_broken_base64_images(fake):
    svc = client(fake)
    fake.inject("corrupt_image")
    corrupt = base64.b64decode(svc.cv_process(t2i())["data"]["binary_data_base64"][0], validate=True)
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(corrupt))
    fake.inject("truncated_image")
    with pytest.raises(OSError):
        png_size(svc.cv_process(t2i())["data"]["binary_data_base64"][0])
    fake.inject("bad_base64")
    with pytest.raises(binascii.Error):
        base64.b64decode(svc.cv_process(t2i())["data"]["binary_data_base64"][0], validate=True)


def test_broken_image_urls(fake):
    svc = client(fake)
    fake.inject("url_403")
    (url,) = svc.cv_process(t2i())["data"]["image_urls"]  # a URL even without return_url
    assert requests.get(url, timeout=5).status_code == 403
    fake.inject("url_html")
    (url,) = svc.cv_process(t2i(return_url=True))["data"]["image_urls"]
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")


def test_an_image_fault_injected_at_submit_shows_when_the_job_is_done(fake):
    svc = client(fake)
    fake.async_steps = 0
    fake.inject("corrupt_image", action="CVSync2AsyncSubmitTask")
    task_id = svc.cv_sync2async_submit_task({"req_key": V31, "prompt": "x", "width": 512,
                                             "height": 512})["data"]["task_id"]
    data = svc.cv_sync2async_get_result({"req_key": V31, "task_id": task_id})["data"]
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(base64.b64decode(data["binary_data_base64"][0])))


def test_not_found_expired_and_slow_async_faults(fake):
    svc = client(fake)
    body = {"req_key": V31, "prompt": "x", "width": 512, "height": 512}
    fake.async_steps = 0
    fake.inject("slow_async", polls=3)
    task_id = svc.cv_sync2async_submit_task(body)["data"]["task_id"]
    poll = {"req_key": V31, "task_id": task_id}
    assert [svc.cv_sync2async_get_result(poll)["data"]["status"] for _ in range(4)] == \
        ["generating", "generating", "generating", "done"]

    task_id = svc.cv_sync2async_submit_task(body)["data"]["task_id"]
    fake.inject("expired")
    poll = {"req_key": V31, "task_id": task_id}
    assert [svc.cv_sync2async_get_result(poll)["data"]["status"] for _ in range(2)] == ["expired", "expired"]

    task_id = svc.cv_sync2async_submit_task(body)["data"]["task_id"]
    fake.inject("not_found")
    resp = svc.cv_sync2async_get_result({"req_key": V31, "task_id": task_id})
    assert resp["code"] == 10000 and resp["data"]["status"] == "not_found"


def test_unknown_faults_are_refused(fake):
    with pytest.raises(ValueError):
        fake.inject("refuse")
    with pytest.raises(ValueError):
        fake.inject("expired", action="CVProcess")


def test_a_stopped_server_refuses_connections_and_can_start_again_on_the_same_port():
    server = FakeVolcEngine().start()
    svc = client(server)
    assert svc.cv_process(t2i())["code"] == 10000
    server.stop()
    text, _ = sdk_error(svc.cv_process, t2i())
    assert "Connection refused" in text or "Max retries exceeded" in text
    server.start()
    try:
        assert client(server).cv_process(t2i())["code"] == 10000
    finally:
        server.stop()


def test_reset_clears_faults_records_jobs_and_peak(fake):
    svc = client(fake)
    task_id = svc.cv_sync2async_submit_task({"req_key": V31, "prompt": "x", "width": 512,
                                             "height": 512})["data"]["task_id"]
    fake.inject("50500")
    fake.reset()
    assert fake.requests == [] and fake.pending_faults == [] and fake.peak_concurrency == 0
    assert svc.cv_sync2async_get_result({"req_key": V31, "task_id": task_id})["data"]["status"] == "not_found"


def test_the_server_runs_standalone_from_the_command_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = Path(__file__).with_name("volcengine_server.py")
    proc = subprocess.Popen([sys.executable, str(script), "--port", str(port), "--quiet",
                             "--access-key", "AKcli", "--secret-key", "SKcli"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f"127.0.0.1:{port}" in line
        svc = client(type("S", (), {"host": f"127.0.0.1:{port}"})(), ak="AKcli", sk="SKcli")
        assert svc.cv_process(t2i())["code"] == 10000
    finally:
        proc.terminate()
        proc.wait(5)
