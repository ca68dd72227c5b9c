"""The Ark (方舟) images API through the official `volcengine-ark-runtime` SDK — the only module that imports it.

One image per request: a task asking for N images sends N single-image requests, unless it asked for group
generation (`group`): then one request with sequential_image_generation "auto" and max_images N, where the
model decides how many images (up to N) come back, each either an image or its own error. Each request holds one unit of the upstream
concurrency (progress.upstream_slot), like the CV engine's calls.

Where the SDK (5.0.54) behaves wrongly for us, this module works around it (docs/notes/seedream-ark.md §1.8):
- `images.generate()` sends every argument it was not given as JSON null ("seed": null, "image": null, …),
  which the API may read as a value: the request goes through the client's lower layer (`client.post`)
  with a body holding only the fields this model takes;
- with its default max_retries=2 it sends the same generation up to 3 times after a read timeout, and Ark
  bills each image it made (there is no idempotency key): max_retries=0, and the task's retry policy
  decides — a request that may have reached the service is never repeated automatically;
- it ignores Retry-After and retries even final 429s (QuotaExceeded, SetLimitExceeded): the same
  max_retries=0, and the 429 is classified here (Retry-After honoured, capped);
- a 200 whose body carries only `error` is returned, not raised, and a malformed 200 raises a bare JSON
  error: the raw response is asked for (cast_to=httpx.Response) and read here;
- its client is not thread-safe: one client per thread;
- it reads ARK_API_KEY, VOLC_ACCESSKEY and VOLC_SECRETKEY from the environment on its own: the key is
  always passed from settings and the AK/SK pair is set empty (images take only an API key).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from dataclasses import dataclass

import httpx
from django.conf import settings

from ..catalogue import get_model
from ..models import Stage
from .base import Cancelled, EngineError, EngineRequest, EngineResult, Progress, RemoteEngine, Retry

log = logging.getLogger(__name__)

PATH = "/images/generations"
# Free refusals (rate limits, unreachable) waited out inside a task that already has images (_one_in_task).
IN_TASK_WAITS = 3
RETRY_AFTER_CAP = 60.0  # seconds: a longer Retry-After is treated as this (the task's lease must outlive it)

# Error codes (docs/notes/seedream-ark.md §1.5; the official code page was read through third-party transcriptions
# only, so the exact spellings below are third-party-only unless also seen in an official example).
# Matched by prefix, first match wins: our code and retry policy.
_CODE_RULES: tuple[tuple[str, str, Retry], ...] = (
    # Output moderation: the image was made but withheld; not billed (only successes are). A retry may pass.
    ("OutputImageSensitiveContentDetected", "content_rejected", Retry.ONCE_NEW_SEED),
    ("InputTextSensitiveContentDetected", "content_rejected", Retry.NEVER),
    ("InputImageSensitiveContentDetected", "content_rejected", Retry.NEVER),
    ("SensitiveContentDetected", "content_rejected", Retry.NEVER),
    ("MissingParameter", "invalid_request", Retry.NEVER),
    ("InvalidParameter", "invalid_request", Retry.NEVER),
    ("InvalidImageURL", "invalid_request", Retry.NEVER),
    ("InvalidEndpointOrModel", "not_activated", Retry.NEVER),
    ("InvalidEndpoint", "not_activated", Retry.NEVER),
    ("ModelNotOpen", "not_activated", Retry.NEVER),
    ("OperationDenied.ServiceNotOpen", "not_activated", Retry.NEVER),
    ("AuthenticationError", "auth_failed", Retry.NEVER),
    ("InvalidAccountStatus", "auth_failed", Retry.NEVER),
    ("AccessDenied", "auth_failed", Retry.NEVER),
    # Account stops that only the console can lift: retrying cannot help and would only add requests.
    ("AccountOverdueError", "account_limit", Retry.NEVER),
    ("OperationDenied.ServiceOverdue", "account_limit", Retry.NEVER),
    ("QuotaExceeded", "account_limit", Retry.NEVER),  # third-party-only: three meanings, all treated final
    ("SetLimitExceeded", "account_limit", Retry.NEVER),
    ("InternalServiceError", "upstream_error", Retry.ONCE),
)

# By HTTP status, when the code is unknown or absent (a proxy's HTML page).
_STATUS_RULES: dict[int, tuple[str, Retry]] = {
    400: ("invalid_request", Retry.NEVER),
    401: ("auth_failed", Retry.NEVER),
    403: ("auth_failed", Retry.NEVER),
    404: ("not_activated", Retry.NEVER),
    429: ("quota_exceeded", Retry.BACKOFF),  # rate limits (RPM, IPM, burst, in-flight): nothing was made
}


def _short(text: str, limit: int = 300) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[:limit] + "…"


def classify(status: int, code: str, message: str, *, request_id: str = "", retry_after: str | None = None) -> EngineError:
    """An Ark error (HTTP status and `error.code`) in our taxonomy (README, "The Ark engine")."""
    for prefix, ours, retry in _CODE_RULES:
        if code.startswith(prefix):
            break
    else:
        if status in _STATUS_RULES:
            ours, retry = _STATUS_RULES[status]
        elif status >= 500:
            # A 5xx means the generation did not succeed, so nothing was billed: safe to try again.
            ours, retry = "upstream_error", Retry.BACKOFF
        else:
            ours, retry = "upstream_error", Retry.NEVER
    delay = None
    if ours == "quota_exceeded":
        delay = _retry_after(retry_after)
    elif ours == "upstream_error" and retry == Retry.ONCE:
        delay = settings.IMAGEGEN_RETRY_INTERNAL_ERROR_DELAY
    label = code or f"HTTP {status}"
    return EngineError(
        ours,
        f"Ark error {label}: {_short(message)}",
        retry=retry,
        upstream_code=code or f"http_{status}",
        upstream_message=message,
        request_id=request_id,
        delay=delay,
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds only), capped; None when absent or unreadable.
    Whether Ark sends it at all is not documented (docs/notes/seedream-ark.md §1.5)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return min(seconds, RETRY_AFTER_CAP)


def request_body(req: EngineRequest, spec, *, seed: int) -> dict:
    """Only the fields this model takes (never null): size as WxH, b64 images, no watermark (the API's
    default is a visible "AI生成" mark), seed and guidance_scale only where the model documents them."""
    body: dict = {
        "model": spec.id,
        "prompt": req.prompt,
        "size": f"{req.upstream_width}x{req.upstream_height}",
        "response_format": "b64_json",
        "watermark": False,
        **dict(spec.body_extra),
    }
    if req.reference_images:
        # A string for one (the form every model taking references accepts), a list for several.
        refs = list(req.reference_images)
        body["image"] = refs[0] if len(refs) == 1 else refs
    if spec.seed:
        body["seed"] = seed
    if spec.scale is not None and req.scale is not None:
        body["guidance_scale"] = req.scale
    return body


class Billed:
    """What Ark's answers of one task billed, summed: `usage.generated_images` counts only the images made
    (billing is per successful image) and `usage.total_tokens` the tokens (docs/notes/seedream-ark.md). An
    answer without `usage` leaves `reported` False, and the task then counts its returned images."""

    def __init__(self):
        self.images = 0
        self.tokens = 0
        self.reported = False
        self.tokens_reported = False

    def add(self, usage) -> None:
        if not isinstance(usage, dict):
            return
        images, tokens = usage.get("generated_images"), usage.get("total_tokens", usage.get("output_tokens"))
        if isinstance(images, int) and not isinstance(images, bool) and images >= 0:
            self.images += images
            self.reported = True
        if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0:
            self.tokens += tokens
            self.tokens_reported = True


@dataclass(kw_only=True, repr=False, eq=False)
class ArkEngine(RemoteEngine):
    name = "ark"
    label = "VolcEngine Ark"

    api_key: str
    base_url: str  # "" for the SDK's own (cn-beijing)
    images_per_minute: int = 500

    @classmethod
    def from_settings(cls) -> ArkEngine:
        return cls(
            api_key=settings.ARK_API_KEY,
            base_url=settings.ARK_BASE_URL,
            connect_timeout=settings.ARK_CONNECT_TIMEOUT,
            read_timeout=settings.ARK_READ_TIMEOUT,
            images_per_minute=settings.ARK_IMAGES_PER_MINUTE,
        )

    def __repr__(self) -> str:  # never the key
        return f"<ArkEngine {self.base_url or 'default'}>"

    def _new_client(self):
        # Imported on first use, like the CV SDK: it loads hundreds of pydantic models, which a deployment
        # without Ark models never needs.
        from volcenginesdkarkruntime import Ark

        kwargs = {"base_url": self.base_url} if self.base_url else {}  # else the SDK's own (cn-beijing)
        return Ark(
            api_key=self.api_key,
            ak="",
            sk="",
            max_retries=0,
            timeout=httpx.Timeout(self.read_timeout, connect=self.connect_timeout),
            **kwargs,
        )

    # -- Engine protocol

    def check(self) -> dict:
        if not self.api_key:
            return {"ok": False, "detail": "ARK_API_KEY is not set"}
        return {"ok": True, "detail": self.base_url or "the SDK's default Ark address"}

    def probe_key(self, model_id: str) -> tuple[str, str]:
        """Whether Ark accepts the API key, for check_engine, without generating anything: a request with no
        prompt cannot make (or bill) an image. ("ok" | "auth_failed" | "not_activated" | "unreachable" |
        "unexpected", a detail.) A 400 for the missing prompt means the key was accepted; whether Ark checks a
        model's activation before the parameters is not documented, so a 400 says nothing about the model."""
        from volcenginesdkarkruntime import _exceptions as ark_errors

        try:
            response = self._client().post(PATH, body={"model": model_id}, cast_to=httpx.Response)
        except ark_errors.ArkAPIStatusError as exc:
            err = self._status_error(exc)
            if err.code == "invalid_request":
                return "ok", "API key accepted"
            if err.code in ("auth_failed", "not_activated"):
                return err.code, err.message
            return "unexpected", err.message
        except ark_errors.ArkAPIConnectionError as exc:
            return "unreachable", self._transport_error(exc).message
        return "unexpected", f"HTTP {response.status_code} to a request without a prompt"

    def generate(self, request: EngineRequest, progress: Progress) -> EngineResult:
        spec = get_model(request.model)
        if spec is None:
            raise EngineError("invalid_parameters", f"unknown model {request.model!r}", retry=Retry.NEVER)
        if request.group:
            return self._group(request, spec, progress)
        images: list[bytes] = []
        request_ids: list[str] = []
        failures: list[EngineError] = []
        billed = Billed()
        for index in range(request.num_images):
            if progress.cancelled():
                raise Cancelled()
            seed = (request.seed + index) % 2147483648
            try:
                outcome, request_id = self._one_in_task(request_body(request, spec, seed=seed), progress,
                                                        have_images=bool(images), billed=billed)
            except EngineError as err:
                if not images:
                    raise  # nothing made yet: the task's retry policy decides
                # Images already came back (and were billed): keep them rather than fail the task and pay
                # for them again on a retry. The remaining ones are not attempted.
                failures.append(err)
                break
            if request_id:
                request_ids.append(request_id)
            if isinstance(outcome, EngineError):  # this image failed inside a 200 (not billed)
                failures.append(outcome)
                continue
            images.append(outcome)
        if not images:
            raise failures[0]
        return EngineResult(
            images=images,
            upstream_request_id=",".join(request_ids)[:100],
            partial_failures=[f"{f.upstream_code or f.code}: {f.upstream_message or f.message}" for f in failures],
            images_billed=billed.images if billed.reported else len(images),
            tokens_billed=billed.tokens if billed.tokens_reported else None,
        )

    def _group(self, request: EngineRequest, spec, progress: Progress) -> EngineResult:
        """One group-generation request. The images that came back are kept and the ones refused on their own
        (data[i].error, not billed) are listed; only when none came back does the task fail (or retry, by the
        first refusal's policy: nothing was billed)."""
        if progress.cancelled():
            raise Cancelled()
        body = request_body(request, spec, seed=request.seed)
        body["sequential_image_generation"] = "auto"
        body["sequential_image_generation_options"] = {"max_images": request.num_images}
        billed = Billed()
        items, request_id = self._answer(body, progress, billed=billed)
        images = [item for item in items if isinstance(item, bytes)]
        failures = [item for item in items if isinstance(item, EngineError)]
        if not images:
            raise failures[0]
        return EngineResult(
            images=images,
            upstream_request_id=request_id[:100],
            partial_failures=[f"{f.upstream_code or f.code}: {f.upstream_message or f.message}" for f in failures],
            images_billed=billed.images if billed.reported else len(images),
            tokens_billed=billed.tokens if billed.tokens_reported else None,
        )

    def _one_in_task(self, body: dict, progress: Progress, *, have_images: bool,
                     billed: Billed | None = None) -> tuple[bytes | EngineError, str]:
        """`_one`, except that once images of this task came back, a refusal that cost nothing (a rate
        limit, a connection that never reached Ark) is waited out here, a few times: failing now would
        either drop the images asked for or, through the task's retry, make (and bill) the kept ones again."""
        waits = 0
        while True:
            try:
                return self._one(body, progress, billed=billed)
            except EngineError as err:
                free = err.code == "quota_exceeded" or not err.reached
                if not (have_images and free and waits < IN_TASK_WAITS):
                    raise
                delay = err.delay if err.delay is not None else min(2.0 * 2**waits, 30.0)
                waits += 1
                self._wait(progress, delay)

    @staticmethod
    def _wait(progress: Progress, seconds: float) -> None:
        """Sleep `seconds`, keeping the task's lease and stopping at a cancellation."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            if progress.cancelled():
                raise Cancelled()
            progress.extend(left + 5)
            time.sleep(min(left, 0.5))

    def _one(self, body: dict, progress: Progress, *, billed: Billed | None = None) -> tuple[bytes | EngineError, str]:
        """One single-image request: (the image bytes, or the EngineError of a per-image failure; the
        server's request id). A whole-request failure is raised."""
        items, request_id = self._answer(body, progress, billed=billed)
        return items[0], request_id

    def _answer(self, body: dict, progress: Progress, *,
                billed: Billed | None = None) -> tuple[list[bytes | EngineError], str]:
        """One request: (each data[] item as image bytes or the EngineError of that image's failure, at least
        one; the server's request id). A whole-request failure is raised."""
        # The SDK's package does not re-export its exception classes; they live in its _exceptions module.
        from volcenginesdkarkruntime import _exceptions as ark_errors

        call_time = self.connect_timeout + self.read_timeout
        # Wait for the account's images-per-minute budget before taking a concurrency slot, so that a
        # waiting task holds no slot. Ark counts per model version.
        progress.image_budget(f"ark:{body['model']}", self.images_per_minute)
        with progress.upstream_slot(call_time):
            progress.stage(Stage.GENERATING)
            progress.extend(call_time)
            try:
                response = self._client().post(PATH, body=body, cast_to=httpx.Response)
            except ark_errors.ArkAPIStatusError as exc:
                raise self._status_error(exc) from None
            except ark_errors.ArkAPIConnectionError as exc:  # includes ArkAPITimeoutError
                raise self._transport_error(exc) from None
        request_id = response.headers.get("x-request-id", "")
        try:
            payload = response.json()
        except ValueError:
            # The generation may have run (and been billed): an unreadable answer is not sent again.
            raise EngineError("bad_upstream_data", f"Ark sent an unreadable answer: {_short(response.text, 120)}",
                              retry=Retry.NEVER, upstream_code="unreadable_answer", request_id=request_id) from None
        if not isinstance(payload, dict):
            raise EngineError("bad_upstream_data", "Ark sent an answer that is not a JSON object",
                              retry=Retry.NEVER, upstream_code="unreadable_answer", request_id=request_id)
        error = payload.get("error")
        if isinstance(error, dict) and error:
            # A 200 carrying only `error`: a whole-request failure, classified by its code.
            raise classify(response.status_code, str(error.get("code") or ""), str(error.get("message") or ""),
                           request_id=request_id)
        if billed is not None:
            billed.add(payload.get("usage"))
        data = payload.get("data") or []
        if not data or not all(isinstance(item, dict) for item in data):
            raise EngineError("bad_upstream_data", "Ark reported success but sent no image", retry=Retry.NEVER,
                              upstream_code="no_image", request_id=request_id)
        items: list[bytes | EngineError] = []
        for item in data:
            if isinstance(item.get("error"), dict):
                err = item["error"]
                items.append(classify(200, str(err.get("code") or ""), str(err.get("message") or ""),
                                      request_id=request_id))
            else:
                items.append(self._image(item, request_id))
        return items, request_id

    @staticmethod
    def _image(item: dict, request_id: str) -> bytes:
        encoded = item.get("b64_json")
        if not encoded:
            # Only b64_json is asked for; a URL answer would need a download within its 24 h life.
            raise EngineError("bad_upstream_data", "Ark sent no b64_json image", retry=Retry.NEVER,
                              upstream_code="no_image", request_id=request_id)
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise EngineError("bad_upstream_data", "Ark sent base64 image data that does not decode",
                              retry=Retry.NEVER, upstream_code="bad_base64", request_id=request_id) from None

    @staticmethod
    def _status_error(exc) -> EngineError:
        body = exc.body if isinstance(exc.body, dict) else {}
        message = str(body.get("message") or "") or _short(getattr(exc.response, "text", "") or str(exc), 200)
        return classify(
            exc.status_code,
            str(body.get("code") or ""),
            message,
            request_id=exc.response.headers.get("x-request-id", ""),
            retry_after=exc.response.headers.get("retry-after"),
        )

    @staticmethod
    def _transport_error(exc) -> EngineError:
        cause = exc.__cause__
        if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            # The request never reached the service: nothing was made or billed, always safe to repeat.
            return EngineError("upstream_unreachable", f"Ark could not be reached: {_short(str(cause) or type(cause).__name__)}",
                               retry=Retry.BACKOFF, reached=False)
        # Sent, and then no answer (read timeout, reset): the image may have been made and billed. Never
        # repeated automatically: Ark has no idempotency key, so a repeat would be a second generation.
        what = "did not answer in time" if isinstance(cause, httpx.TimeoutException) else "closed the connection"
        return EngineError(
            "upstream_timeout",
            f"Ark {what} after the request was sent; the image may have been generated and billed. "
            "Not retried automatically.",
            retry=Retry.NEVER,
            upstream_code="unknown_outcome",
        )
