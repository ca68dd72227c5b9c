"""The VolcEngine visual API through the official `volcengine` SDK — the only module that imports it.

Traps of the SDK this module handles (see docs/spec/volcengine-protocol.md):
- its default scheme is plain http: https is set explicitly (VOLC_SCHEME);
- `VisualService()` is a singleton whose __init__ resets host and keys on every call: each thread gets
  its own instance built with `object.__new__`, after django-q2 forked the worker;
- it loads keys from the environment or ~/.volc on its own: keys are always set from settings;
- an HTTP error is raised as a bare Exception whose text is the repr of the response bytes, and an HTTP
  200 with an error code is *returned*: both are parsed and mapped to our error taxonomy;
- it never retries and every call blocks: retries are the task's (run.TaskRun), and the blocking
  happens in a worker, never in a web request.
"""

from __future__ import annotations

import ast
import base64
import binascii
import json
import logging
import re
import time
from dataclasses import dataclass

import requests
from django.conf import settings

from ..catalogue import get_model
from ..models import Stage
from .base import Cancelled, EngineError, EngineRequest, EngineResult, Progress, RemoteEngine, Retry

log = logging.getLogger(__name__)

OK = 10000
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024

# Business error codes (docs/spec/volcengine-protocol.md §4.3) -> (our code, retry policy).
BUSINESS_CODES: dict[int, tuple[str, Retry]] = {
    50200: ("invalid_request", Retry.NEVER),
    50201: ("invalid_request", Retry.NEVER),
    50204: ("invalid_request", Retry.NEVER),
    50215: ("invalid_request", Retry.NEVER),
    50400: ("not_activated", Retry.NEVER),
    50402: ("invalid_request", Retry.NEVER),
    50411: ("content_rejected", Retry.NEVER),
    50412: ("content_rejected", Retry.NEVER),
    50413: ("content_rejected", Retry.NEVER),
    50512: ("content_rejected", Retry.NEVER),
    50518: ("content_rejected", Retry.NEVER),
    50511: ("content_rejected", Retry.ONCE_NEW_SEED),
    50519: ("content_rejected", Retry.ONCE_NEW_SEED),
    50520: ("upstream_error", Retry.NEVER),
    50521: ("upstream_error", Retry.NEVER),
    50522: ("upstream_error", Retry.NEVER),
    50429: ("quota_exceeded", Retry.BACKOFF),
    50430: ("quota_exceeded", Retry.BACKOFF),
    50500: ("upstream_error", Retry.ONCE),
    50501: ("upstream_error", Retry.ONCE),
}
for _code in range(50205, 50215):
    BUSINESS_CODES.setdefault(_code, ("invalid_request", Retry.NEVER))

# Gateway errors (docs/spec/volcengine-protocol.md §2.2): configuration or clock problems, never retried.
GATEWAY_CODES = {
    "MissingAuthenticationToken": "auth_failed",
    "MissingSignature": "auth_failed",
    "InvalidAccessKey": "auth_failed",
    "SignatureDoesNotMatch": "auth_failed",
    "InvalidTimestamp": "auth_failed",
    "MissingParameter": "invalid_request",
    "InvalidActionOrVersion": "invalid_request",
}

# The async job statuses of CVSync2AsyncGetResult.
POLLING = {"in_queue": Stage.QUEUED_UPSTREAM, "generating": Stage.GENERATING}


@dataclass
class SdkFailure:
    """What an SDK exception said, decoded."""

    body: dict | None  # the JSON error body, when there was one
    text: str  # the raw text (HTML page, transport message, ...)


def parse_sdk_error(exc: Exception) -> SdkFailure:
    """Undo the SDK's `Exception(resp.text.encode())`: its message is the repr of a bytes object."""
    message = str(exc)
    if message.startswith(("b'", 'b"')):
        try:
            text = ast.literal_eval(message).decode("utf-8", "replace")
        except (ValueError, SyntaxError):
            return SdkFailure(None, message)
        try:
            body = json.loads(text)
        except ValueError:
            return SdkFailure(None, text)
        return SdkFailure(body if isinstance(body, dict) else None, text)
    return SdkFailure(None, message)


def _short(text: str, limit: int = 300) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit] + "…"


def business_error(body: dict, *, upstream_task_id: str = "") -> EngineError:
    code = body.get("code")
    message = str(body.get("message") or "")
    request_id = str(body.get("request_id") or "")
    ours, retry = BUSINESS_CODES.get(code, ("upstream_error", Retry.NEVER))
    delay = settings.IMAGEGEN_RETRY_INTERNAL_ERROR_DELAY if code in (50500, 50501) else None
    if code == 50430:
        delay = None  # backoff; the concurrency semaphore should make this rare
    return EngineError(
        ours,
        f"VolcEngine error {code}: {message}",
        retry=retry,
        upstream_code=str(code),
        upstream_message=message,
        request_id=request_id,
        upstream_task_id=upstream_task_id if retry == Retry.BACKOFF else "",
        delay=delay,
    )


def classify_exception(exc: Exception, *, action: str, upstream_task_id: str = "") -> EngineError:
    """Map an SDK exception to our taxonomy. `action` matters: a read that failed after the request was
    sent may already have been billed (CVProcess, Submit), so it is retried at most once; a failed poll
    (GetResult) is always safe to repeat."""
    failure = parse_sdk_error(exc)
    idempotent = action == "CVSync2AsyncGetResult"
    if failure.body is not None:
        if "code" in failure.body:
            return business_error(failure.body, upstream_task_id=upstream_task_id)
        meta = failure.body.get("ResponseMetadata") or {}
        error = meta.get("Error") or {}
        code = str(error.get("Code") or "")
        return EngineError(
            GATEWAY_CODES.get(code, "upstream_error"),
            f"VolcEngine gateway error {code}: {error.get('Message', '')}",
            retry=Retry.NEVER,
            upstream_code=code,
            upstream_message=str(error.get("Message") or ""),
            request_id=str(meta.get("RequestId") or ""),
        )
    text = failure.text
    transient = Retry.BACKOFF if idempotent else Retry.ONCE
    keep_task = upstream_task_id if idempotent else ""
    status = re.search(r"<title>\s*(\d{3})", text)
    if status:
        return EngineError(
            "upstream_error",
            f"VolcEngine answered HTTP {status.group(1)}: {_short(text, 120)}",
            retry=Retry.BACKOFF if status.group(1) in ("502", "503", "504") else transient,
            upstream_code=f"http_{status.group(1)}",
            upstream_task_id=keep_task,
        )
    if "Read timed out" in text or "timed out" in text.lower():
        return EngineError(
            "upstream_timeout", f"VolcEngine did not answer in time: {_short(text)}", retry=transient,
            upstream_task_id=keep_task,
        )
    if "Connection refused" in text or "NewConnectionError" in text or "Name or service not known" in text:
        # Nothing reached the service: always safe to try again.
        return EngineError(
            "upstream_unreachable", f"VolcEngine could not be reached: {_short(text)}", retry=Retry.BACKOFF,
            upstream_task_id=upstream_task_id, reached=False,
        )
    if "Connection aborted" in text or "reset" in text.lower() or "RemoteDisconnected" in text:
        return EngineError(
            "upstream_unreachable", f"VolcEngine closed the connection: {_short(text)}", retry=transient,
            upstream_task_id=keep_task,
        )
    if "Expecting" in text or "Unterminated" in text or "JSON" in text:
        return EngineError(
            "upstream_error", f"VolcEngine sent an unreadable answer: {_short(text)}", retry=transient,
            upstream_task_id=keep_task,
        )
    return EngineError("upstream_error", f"VolcEngine call failed: {_short(text)}", retry=transient,
                       upstream_task_id=keep_task)


def request_body(req: EngineRequest, *, seed: int) -> dict:
    """The documented body for each model (docs/spec/volcengine-protocol.md §3), from its catalogue entry: the size and seed, each
    parameter the model takes (use_pre_llm, scale, ddim_steps, use_sr), and its fixed fields."""
    spec = get_model(req.model)
    if spec is None:
        raise EngineError("invalid_parameters", f"unknown model {req.model!r}", retry=Retry.NEVER)
    body: dict = {"req_key": spec.id, "prompt": req.prompt, "seed": seed,
                  "width": req.upstream_width, "height": req.upstream_height, **dict(spec.body_extra)}
    if spec.enhance_prompt is not None:
        body["use_pre_llm"] = spec.enhance_prompt if req.enhance_prompt is None else req.enhance_prompt
    if spec.scale is not None:
        body["scale"] = req.scale
    if spec.steps is not None:
        body["ddim_steps"] = req.steps
    if spec.super_resolution:
        body["use_sr"] = req.use_sr
    if req.reference_images:
        body["image_urls"] = list(req.reference_images)  # presigned URLs: the service fetches them itself
    return {k: v for k, v in body.items() if v is not None}


@dataclass(kw_only=True, repr=False, eq=False)
class VolcEngine(RemoteEngine):
    name = "volcengine"
    label = "VolcEngine"

    access_key: str
    secret_key: str
    host: str
    scheme: str
    poll_interval: float = 1.0
    poll_max_interval: float = 5.0
    async_deadline: float = 600.0

    @classmethod
    def from_settings(cls) -> VolcEngine:
        return cls(
            access_key=settings.VOLC_ACCESSKEY,
            secret_key=settings.VOLC_SECRETKEY,
            host=settings.VOLC_HOST,
            scheme=settings.VOLC_SCHEME,
            connect_timeout=settings.VOLC_CONNECT_TIMEOUT,
            read_timeout=settings.VOLC_READ_TIMEOUT,
            poll_interval=settings.VOLC_POLL_INTERVAL,
            poll_max_interval=settings.VOLC_POLL_MAX_INTERVAL,
            async_deadline=settings.VOLC_ASYNC_DEADLINE,
        )

    def __repr__(self) -> str:  # never the keys
        return f"<VolcEngine {self.scheme}://{self.host}>"

    # -- the SDK client

    def _new_client(self):
        from volcengine.visual.VisualService import VisualService

        # Not VisualService(): that singleton's __init__ would reset every other thread's client.
        client = object.__new__(VisualService)
        client.__init__()
        client.set_ak(self.access_key)
        client.set_sk(self.secret_key)
        client.set_host(self.host)
        client.set_scheme(self.scheme)
        client.set_connection_timeout(self.connect_timeout)
        client.set_socket_timeout(self.read_timeout)
        return client

    def _call(self, action: str, form: dict, *, upstream_task_id: str = "") -> dict:
        client = self._client()
        method = {
            "CVProcess": client.cv_process,
            "CVSync2AsyncSubmitTask": client.cv_sync2async_submit_task,
            "CVSync2AsyncGetResult": client.cv_sync2async_get_result,
        }[action]
        try:
            response = method(form)
        except Exception as exc:  # the SDK raises only bare Exception
            raise classify_exception(exc, action=action, upstream_task_id=upstream_task_id) from None
        if not isinstance(response, dict):
            raise EngineError("upstream_error", f"unexpected {action} answer: {_short(str(response))}",
                              retry=Retry.ONCE)
        if response.get("code") != OK:
            # HTTP 200 with an error code is returned by the SDK, not raised.
            raise business_error(response, upstream_task_id=upstream_task_id)
        return response

    # -- Engine protocol

    def check(self) -> dict:
        if not (self.access_key and self.secret_key):
            return {"ok": False, "detail": "VOLC_ACCESSKEY and VOLC_SECRETKEY are not both set"}
        if self.scheme not in ("http", "https"):
            return {"ok": False, "detail": f"VOLC_SCHEME must be http or https, not {self.scheme!r}"}
        return {"ok": True, "detail": f"{self.scheme}://{self.host}"}

    def generate(self, request: EngineRequest, progress: Progress) -> EngineResult:
        images: list[bytes] = []
        request_ids: list[str] = []
        revised = ""
        billed = 0
        upstream_task_id = request.upstream_task_id
        for index in range(request.num_images):
            seed = (request.seed + index) % 2147483648
            if request.action == "async":
                data, request_id = self._run_async(request, seed, progress, resume=upstream_task_id if index == 0 else "")
            else:
                data, request_id = self._run_sync(request, seed, progress)
            upstream_task_id = ""
            request_ids.append(request_id)
            revised = revised or str(data.get("rephraser_result") or data.get("pe_result") or "")
            returned = self._images(data, progress)
            billed += len(returned)  # CV bills each image it returns, even one beyond the one kept
            images.extend(returned[:1])
        return EngineResult(
            images=images,
            upstream_request_id=",".join(r for r in request_ids if r)[:100],
            revised_prompt=revised,
            images_billed=billed,
        )

    def _run_sync(self, request: EngineRequest, seed: int, progress: Progress) -> tuple[dict, str]:
        with progress.upstream_slot(self.connect_timeout + self.read_timeout):
            progress.stage(Stage.GENERATING)
            progress.extend(self.connect_timeout + self.read_timeout)
            response = self._call("CVProcess", request_body(request, seed=seed))
        return response.get("data") or {}, str(response.get("request_id") or "")

    def _run_async(self, request: EngineRequest, seed: int, progress: Progress, *, resume: str) -> tuple[dict, str]:
        call_time = self.connect_timeout + self.read_timeout
        with progress.upstream_slot(call_time) as hold:
            task_id = resume
            if not task_id:
                progress.extend(call_time)
                response = self._call("CVSync2AsyncSubmitTask", request_body(request, seed=seed))
                task_id = str((response.get("data") or {}).get("task_id") or "")
                if not task_id:
                    raise EngineError("upstream_error", "VolcEngine accepted the job but sent no task id",
                                      retry=Retry.ONCE, request_id=str(response.get("request_id") or ""))
            # Recorded at once: an attempt that follows a crash polls this job instead of paying again.
            progress.stage(Stage.QUEUED_UPSTREAM, upstream_task_id=task_id)
            return self._poll(request, task_id, progress, hold)

    def _poll(self, request: EngineRequest, task_id: str, progress: Progress, hold) -> tuple[dict, str]:
        started = time.monotonic()
        interval = self.poll_interval
        form = {"req_key": request.model, "task_id": task_id, "req_json": json.dumps({"return_url": False})}
        while True:
            if progress.cancelled():
                raise Cancelled()
            progress.extend(interval + self.connect_timeout + self.read_timeout)
            hold(interval + self.connect_timeout + self.read_timeout)
            response = self._call("CVSync2AsyncGetResult", form, upstream_task_id=task_id)
            data = response.get("data") or {}
            status = str(data.get("status") or "")
            if status == "done":
                return data, str(response.get("request_id") or "")
            if status in POLLING:
                progress.stage(POLLING[status])
            elif status == "expired":
                raise EngineError("upstream_expired", f"VolcEngine job {task_id} expired", retry=Retry.ONCE,
                                  upstream_code="expired", request_id=str(response.get("request_id") or ""))
            elif status == "not_found":
                raise EngineError("upstream_expired", f"VolcEngine does not know job {task_id}",
                                  retry=Retry.NEVER, upstream_code="not_found",
                                  request_id=str(response.get("request_id") or ""))
            else:
                raise EngineError("upstream_error", f"VolcEngine job {task_id} has unknown status {status!r}",
                                  retry=Retry.NEVER)
            if time.monotonic() - started > self.async_deadline:
                raise EngineError("upstream_timeout",
                                  f"VolcEngine job {task_id} was not done after {self.async_deadline:.0f}s",
                                  retry=Retry.NEVER, upstream_code="deadline")
            time.sleep(interval)
            interval = min(self.poll_max_interval, interval * 1.5)

    def _images(self, data: dict, progress: Progress) -> list[bytes]:
        encoded = data.get("binary_data_base64") or []
        if encoded:
            try:
                return [base64.b64decode(item, validate=True) for item in encoded]
            except (binascii.Error, ValueError, TypeError):
                raise EngineError("bad_upstream_data", "VolcEngine sent base64 image data that does not decode",
                                  retry=Retry.NEVER) from None
        urls = data.get("image_urls") or []
        if not urls:
            raise EngineError("bad_upstream_data", "VolcEngine reported success but sent no image",
                              retry=Retry.NEVER)
        progress.stage(Stage.DOWNLOADING)
        return [self._download(url, progress) for url in urls]

    def _download(self, url: str, progress: Progress) -> bytes:
        """Result URLs expire (24 h, 1 h on older models): fetch at once, bounded in size and time."""
        progress.extend(self.connect_timeout + self.read_timeout)
        try:
            with requests.get(url, stream=True, timeout=(self.connect_timeout, self.read_timeout)) as resp:
                if resp.status_code != 200:
                    raise EngineError("bad_upstream_data", f"image download answered HTTP {resp.status_code}",
                                      retry=Retry.NEVER, upstream_code=f"http_{resp.status_code}")
                kind = resp.headers.get("Content-Type", "")
                if kind and not kind.startswith(("image/", "application/octet-stream")):
                    raise EngineError("bad_upstream_data", f"image download sent {kind}, not an image",
                                      retry=Retry.NEVER)
                chunks, size = [], 0
                for chunk in resp.iter_content(256 * 1024):
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise EngineError("bad_upstream_data", "image download is too large", retry=Retry.NEVER)
                    chunks.append(chunk)
                return b"".join(chunks)
        except requests.RequestException as exc:
            raise EngineError("upstream_unreachable", f"image download failed: {_short(str(exc))}",
                              retry=Retry.ONCE) from None


def probe_model(engine: VolcEngine, model: str) -> tuple[str, str]:
    """One free call that tells whether `model` is usable with these credentials: asking for the result of
    a job that does not exist costs nothing, yet the gateway checks the keys and the service checks that
    the model (req_key) is activated for the account. Returns (state, detail): state is "ok",
    "not_activated", "auth_failed" or "error"."""
    form = {"req_key": model, "task_id": "0", "req_json": json.dumps({"return_url": False})}
    try:
        engine._call("CVSync2AsyncGetResult", form)
    except EngineError as err:
        if err.code == "auth_failed":
            return "auth_failed", err.message
        if err.code == "not_activated":
            return "not_activated", err.message
        if err.upstream_code in ("50215", "50200", "50201", "50204"):
            return "ok", "model answers (probe job unknown, as expected)"
        return "error", err.message
    return "ok", "model answers"
