"""A faithful local stand-in for the VolcEngine visual API (visual.volcengineapi.com), for tests.

It follows /work/shared/spec/volcengine-protocol.md:

* routing before auth (POST ``/?Action=..&Version=..``), then HMAC-SHA256 signature verification
  exactly as the gateway does it (§2.2), with the gateway error envelope of §2.3;
* per-req_key body validation (§3.1) and business errors with the HTTP statuses of §4.3;
* ``CVProcess`` (sync) and the ``CVSync2AsyncSubmitTask`` / ``CVSync2AsyncGetResult`` pair
  (in_queue -> generating -> done), ``CVCancelTask``, and ``return_url`` images served as JPEG;
* scriptable faults (``inject``): every business code, read timeouts, connection resets, HTML 5xx
  pages from a proxy, malformed JSON, broken images (including a decompression bomb: a PNG whose header
  claims 50000x50000), unreachable image URLs, async states. ``skip=N`` lets N matching requests pass
  before a fault applies.

Standard library HTTP only (plus Pillow for the images). The signature check is an independent
implementation: it does not import the SDK.

Standalone::

    python tests/volcengine_server.py --port 8123 [--latency 2] [--access-key AK --secret-key SK]
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import hashlib
import hmac
import io
import json
import math
import random
import re
import secrets
import socket
import struct
import sys
import threading
import time
import urllib.request
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from PIL import Image, ImageDraw

__all__ = ["FakeVolcEngine", "Recorded", "BUSINESS_ERRORS", "GATEWAY_ERRORS", "MODELS", "FAULT_KINDS"]

# --------------------------------------------------------------------------------------------------
# Protocol constants
# --------------------------------------------------------------------------------------------------

REGION = "cn-north-1"
SERVICE = "cv"
ALGORITHM = "HMAC-SHA256"
MAX_CLOCK_SKEW = 15 * 60  # seconds
BEIJING = _dt.timezone(_dt.timedelta(hours=8))

ACTIONS = {
    "CVProcess": "2022-08-31",
    "CVSync2AsyncSubmitTask": "2022-08-31",
    "CVSync2AsyncGetResult": "2022-08-31",
    "CVCancelTask": "2024-06-06",
}

# Gateway errors (§2.2/§2.3): name -> (CodeN, HTTP status)
GATEWAY_ERRORS = {
    "MissingParameter": (100002, 400),
    "MissingAuthenticationToken": (100003, 401),
    "MissingSignature": (100005, 401),
    "InvalidTimestamp": (100006, 400),
    "InvalidActionOrVersion": (100008, 404),
    "InvalidAccessKey": (100009, 401),
    "SignatureDoesNotMatch": (100010, 401),
}

SIGNATURE_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. Check your Secret "
    "Access Key and signing method. Consult the service documentation for details."
)

# Business errors (§4.3): code -> (HTTP status, message)
BUSINESS_ERRORS: dict[int, tuple[int, str]] = {
    50200: (400, "Request Invalid Args"),
    50201: (400, "Request Missing Args"),
    50204: (400, "Request Parse Args Error"),
    50205: (400, "Request Image Size Exceeds Limit"),
    50206: (400, "Request Image Decode Error"),
    50207: (400, "Request Image Resolution Invalid"),
    50209: (400, "Request Video Size Exceeds Limit"),
    50210: (400, "Request Video Decode Error"),
    50211: (400, "Request Video Duration Invalid"),
    50212: (400, "Request Body Size Exceeds Limit"),
    50213: (400, "Request Image Format Invalid"),
    50214: (400, "Request Image Download Error"),
    50215: (400, "Input invalid for this service."),
    50400: (401, "Access Denied: Internal Error"),
    50402: (404, "Request Method Not Found"),
    50411: (400, "Pre Img Risk Not Pass"),
    50412: (400, "Text Risk Not Pass"),
    50413: (400, "Post Text Risk Not Pass"),
    50429: (429, "Request Has Reached API Limit, Please Try Later"),
    50430: (429, "Request Has Reached API Concurrent Limit, Please Try Later"),
    50500: (500, "Internal Error"),
    50501: (500, "Internal RPC Error"),
    50511: (400, "Post Img Risk Not Pass"),
    50512: (400, "Post Text Risk Not Pass"),
    50518: (400, "Pre Img Risk Not Pass: Copyright"),
    50519: (400, "Post Img Risk Not Pass: Copyright"),
    50520: (400, "Risk Internal Error"),
    50521: (400, "Antidirt Internal Error"),
    50522: (400, "Image Copyright Internal Error"),
}

# req_key catalogue (§3.1). "sync": CVProcess allowed. Sizes: see _check_size.
MODELS: dict[str, dict] = {
    "jimeng_t2i_v31": {"family": "v3x", "sync": False, "default": (1328, 1328), "pre_llm": True},
    "jimeng_t2i_v30": {"family": "v3x", "sync": False, "default": (1328, 1328), "pre_llm": True},
    # The real default is 2048x2048; 1024x1024 keeps the tests fast.
    "jimeng_t2i_v40": {"family": "v40", "sync": False, "default": (1024, 1024), "pre_llm": False},
    "high_aes_general_v30l_zt2i": {"family": "v30l", "sync": True, "default": (1328, 1328), "pre_llm": False},
    "high_aes_general_v21_L": {"family": "v2x", "sync": True, "default": (512, 512), "pre_llm": True, "max_side": 768},
    "jimeng_high_aes_general_v21_L": {"family": "v2x", "sync": True, "default": (512, 512), "pre_llm": True,
                                      "max_side": 768},
    "high_aes_general_v20_L": {"family": "v2x", "sync": True, "default": (512, 512), "pre_llm": False, "max_side": 768},
    "high_aes_general_v20": {"family": "v2x", "sync": True, "default": (512, 512), "pre_llm": False, "max_side": 680},
}

MAX_PROMPT_CHARS = 800

# Injected on GetResult of a pending task, these fail the task for good (later polls repeat the error).
TERMINAL_JOB_ERRORS = {50411, 50412, 50413, 50511, 50512, 50518, 50519, 50520, 50521, 50522}

# Field types checked on the generation bodies (wrong type -> 50204).
_INT, _NUM, _BOOL, _STR, _DICT, _LIST = "int", "number", "bool", "string", "object", "array"
FIELD_TYPES = {
    "prompt": _STR, "negative_prompt": _STR, "model_version": _STR, "req_schedule_conf": _STR,
    "width": _INT, "height": _INT, "seed": _INT, "llm_seed": _INT, "ddim_steps": _INT, "size": _INT,
    "scale": _NUM, "min_ratio": _NUM, "max_ratio": _NUM,
    "use_sr": _BOOL, "use_pre_llm": _BOOL, "return_url": _BOOL, "force_single": _BOOL,
    "logo_info": _DICT, "image_urls": _LIST,
}
LOGO_TYPES = {"add_logo": _BOOL, "position": _INT, "language": _INT, "opacity": _NUM, "logo_text_content": _STR}

# Fault kinds (besides business codes given as "50429" etc.) and the actions each applies to.
_GEN = ("CVProcess", "CVSync2AsyncSubmitTask", "CVSync2AsyncGetResult")
IMMEDIATE_FAULTS = {"timeout", "reset", "html500", "html502", "html503", "malformed_json", "http200_error"}
IMAGE_FAULTS = {"corrupt_image", "truncated_image", "bad_base64", "bomb_image", "url_403", "url_html"}
FAULT_ACTIONS = {
    **{k: tuple(ACTIONS) for k in IMMEDIATE_FAULTS},
    **{k: _GEN for k in IMAGE_FAULTS},
    "not_found": ("CVSync2AsyncGetResult",),
    "expired": ("CVSync2AsyncGetResult",),
    "slow_async": ("CVSync2AsyncSubmitTask", "CVSync2AsyncGetResult"),
}
FAULT_KINDS = frozenset(FAULT_ACTIONS) | frozenset(str(c) for c in BUSINESS_ERRORS)

HTML_PAGES = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
}


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------

def new_request_id() -> str:
    """34 chars: 14 digits of Beijing time + 20 upper-case hex characters."""
    return _dt.datetime.now(BEIJING).strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


def new_task_id() -> str:
    return str(random.randint(7 * 10 ** 18, 8 * 10 ** 18 - 1))


def format_elapsed(seconds: float, *, micro: bool = False) -> str:
    if micro or seconds < 1e-3:
        return f"{seconds * 1e6:.3f}µs"
    if seconds < 1:
        return f"{seconds * 1e3:.6f}ms"
    return f"{seconds:.9f}s"


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def canonical_query(raw_query: str) -> str:
    """Parse the received query and re-encode it as the signer does: keys sorted, RFC 3986 quoting."""
    grouped: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        grouped.setdefault(key, []).append(value)
    parts = []
    for key in sorted(grouped):
        for value in grouped[key]:
            parts.append(quote(key, safe="-_.~") + "=" + quote(value, safe="-_.~"))
    return "&".join(parts).replace("+", "%20")


def canonical_uri(raw_path: str) -> str:
    return quote(unquote(raw_path) or "/").replace("%2F", "/").replace("+", "%20")


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    k_date = _hmac(secret_key.encode("utf-8"), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, "request")


def _type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, int):
        return _INT
    if isinstance(value, float):
        return _NUM
    if isinstance(value, str):
        return _STR
    if isinstance(value, dict):
        return _DICT
    if isinstance(value, list):
        return _LIST
    return type(value).__name__


def _has_type(value, expected: str) -> bool:
    if expected == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == _NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == _BOOL:
        return isinstance(value, bool)
    if expected == _STR:
        return isinstance(value, str)
    if expected == _DICT:
        return isinstance(value, dict)
    if expected == _LIST:
        return isinstance(value, list)
    return False


class BusinessError(Exception):
    def __init__(self, code: int, message: str | None = None, status: int | None = None):
        default_status, default_message = BUSINESS_ERRORS.get(code, (500, "Internal Error"))
        self.code = code
        self.status = status or default_status
        self.message = message or default_message
        super().__init__(f"{code} {self.message}")


class GatewayError(Exception):
    def __init__(self, name: str, message: str, region: str = REGION):
        self.name = name
        self.code_n, self.status = GATEWAY_ERRORS[name]
        self.message = message
        self.region = region
        super().__init__(f"{name}: {message}")


# --------------------------------------------------------------------------------------------------
# Public records
# --------------------------------------------------------------------------------------------------

@dataclass
class Recorded:
    action: str
    version: str
    body: dict | None
    headers: dict[str, str]
    signature_ok: bool
    error: str | None  # gateway error name ("SignatureDoesNotMatch"), business code ("50430") or transport fault
    at: float  # time.monotonic() when the request arrived
    # extras
    status: int | None = None  # HTTP status sent (None: no response, e.g. "reset")
    code: int | None = None  # business code sent (10000 on success)
    fault: str | None = None  # injected fault that this request consumed
    method: str = "POST"
    path: str = "/"
    query: str = ""
    raw_body: bytes = b""


@dataclass
class _Fault:
    kind: str
    times: int
    action: str | None
    req_key: str | None
    options: dict


@dataclass
class _Job:
    task_id: str
    req_key: str
    body: dict
    created: float
    not_done_polls: int
    slow: bool = False
    polls: int = 0
    state: str = "pending"  # pending | done | expired | failed | gone
    image_fault: str | None = None
    error: BusinessError | None = None
    images: list | None = None  # PIL images, made once at done
    urls: list | None = None
    rephraser: str = ""


class _Transport(Exception):
    """Internal: the handler must not send a normal response."""


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------

class FakeVolcEngine:
    def __init__(self, *, access_key: str = "AKLTimagegentest", secret_key: str = "imagegen-test-secret",
                 latency: float = 0.0, async_steps: int = 2, max_concurrency: int | None = None, port: int = 0,
                 verbose: bool = False, credentials: dict[str, str] | None = None):
        self.credentials: dict[str, str] = {access_key: secret_key, **(credentials or {})}
        self.latency = float(latency)
        self.async_steps = int(async_steps)
        self.max_concurrency = max_concurrency
        # When set, a CVProcess call in flight waits for this event instead of `latency`: a test holds calls
        # open for exactly as long as it needs (no timing window), then sets it.
        self.gate: threading.Event | None = None
        self.verbose = verbose
        self._port = port
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.requests: list[Recorded] = []
        self.image_requests: list[Recorded] = []
        # What each jimeng_t2i_v40 submission's image_urls gave when fetched, in order (the bytes).
        self.fetched_references: list[bytes] = []
        self._faults: list[_Fault] = []
        self._jobs: dict[str, _Job] = {}
        self._images: dict[str, tuple[int, str, bytes]] = {}
        self._active_sync = 0
        self._peak = 0
        self.host = ""
        self.url = ""

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "FakeVolcEngine":
        if self._httpd is not None:
            return self
        self._stop.clear()
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", self._port), handler)
        self._httpd.fake = self
        port = self._httpd.server_address[1]
        self._port = port
        self.host = f"127.0.0.1:{port}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=f"fake-volcengine-{port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stop.set()  # wakes handlers sleeping on latency / "timeout" faults
        httpd.shutdown()
        with self._lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "FakeVolcEngine":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- test controls ---------------------------------------------------------------------------

    def inject(self, fault: str, *, times: int = 1, action: str | None = None, req_key: str | None = None,
               **options) -> None:
        """Queue a fault for the next `times` matching requests (action None = any action it applies to)."""
        fault = str(fault)
        if fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault!r}; known: {sorted(FAULT_KINDS)}")
        if action is not None:
            if action not in ACTIONS:
                raise ValueError(f"unknown action {action!r}")
            if fault in FAULT_ACTIONS and action not in FAULT_ACTIONS[fault]:
                raise ValueError(f"fault {fault!r} cannot apply to {action}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.append(_Fault(fault, times, action, req_key, dict(options)))

    def clear_faults(self) -> None:
        """Drop every queued fault (an outage that ends); the recorded requests stay."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self.image_requests.clear()
            self.fetched_references.clear()
            self._jobs.clear()
            self._images.clear()
            self._peak = self._active_sync

    def calls(self, action: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if action is None or r.action == action]

    @property
    def peak_concurrency(self) -> int:
        with self._lock:
            return self._peak

    @property
    def pending_faults(self) -> list[str]:
        with self._lock:
            return [f.kind for f in self._faults]

    def job_status(self, task_id: str) -> str | None:
        with self._lock:
            job = self._jobs.get(task_id)
            return None if job is None else job.state

    # ---- bookkeeping -----------------------------------------------------------------------------

    def _unfinished_jobs(self) -> int:
        return sum(1 for j in self._jobs.values() if j.state == "pending")

    def _note_peak(self) -> None:
        self._peak = max(self._peak, self._active_sync + self._unfinished_jobs())

    def _take_fault(self, action: str, req_key: str | None, kinds) -> _Fault | None:
        with self._lock:
            for f in self._faults:
                if f.kind not in kinds:
                    continue
                if f.action is not None and f.action != action:
                    continue
                if f.kind in FAULT_ACTIONS and action not in FAULT_ACTIONS[f.kind]:
                    continue
                if f.req_key is not None and f.req_key != req_key:
                    continue
                if f.options.get("skip", 0) > 0:  # let this matching request pass
                    f.options["skip"] -= 1
                    continue
                f.times -= 1
                if f.times <= 0:
                    self._faults.remove(f)
                return f
        return None

    # ---- signature (§2.2) ------------------------------------------------------------------------

    _AUTH_RE = re.compile(
        r"^(?P<alg>\S+)\s+Credential=(?P<cred>[^,\s]+)\s*,\s*SignedHeaders=(?P<signed>[^,\s]+)\s*,"
        r"\s*Signature=(?P<sig>[0-9a-fA-F]+)\s*$"
    )

    def verify(self, method: str, raw_path: str, raw_query: str, headers, body: bytes) -> None:
        """Raise GatewayError unless the request carries a valid SignerV4 signature."""
        auth = headers.get("Authorization")
        if not auth:
            raise GatewayError("MissingAuthenticationToken",
                               "The request must contain an Authorization header with a valid signature.")
        m = self._AUTH_RE.match(auth.strip())
        scope = m.group("cred").split("/") if m else []
        if not m or len(scope) != 5 or not all(scope[:4]):
            raise GatewayError("MissingSignature",
                               "The Authorization header of the request is malformed or the signature is missing.")
        ak, date, region, service, terminal = scope
        alg, signed, signature = m.group("alg"), m.group("signed"), m.group("sig").lower()

        secret = self.credentials.get(ak)
        if secret is None:
            raise GatewayError("InvalidAccessKey", f"The accesskey {ak} included in the request is invalid.", region)

        x_date = headers.get("X-Date")
        try:
            when = _dt.datetime.strptime(x_date or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.timezone.utc)
        except ValueError:
            when = None
        if when is None or abs((_dt.datetime.now(_dt.timezone.utc) - when).total_seconds()) > MAX_CLOCK_SKEW:
            raise GatewayError("InvalidTimestamp", "The signature of the request is expired.", region)

        def mismatch():
            return GatewayError("SignatureDoesNotMatch", SIGNATURE_MISMATCH_MESSAGE, region)

        if alg != ALGORITHM or terminal != "request" or date != x_date[:8]:
            raise mismatch()
        if region != REGION or service != SERVICE:
            raise mismatch()
        names = signed.split(";")
        if "host" not in [n.lower() for n in names] or "x-date" not in [n.lower() for n in names]:
            raise mismatch()
        body_hash = _sha256_hex(body)
        content_sha = headers.get("X-Content-Sha256")
        if content_sha is not None and content_sha != body_hash:
            raise mismatch()

        lines = []
        for name in names:
            value = headers.get(name)
            if value is None:
                raise mismatch()
            if name == "host" and ":" in value:
                host_name, port = value.split(":", 1)
                if port in ("80", "443"):
                    value = host_name
            lines.append(f"{name}:{value}\n")
        canonical = "\n".join([method, canonical_uri(raw_path), canonical_query(raw_query), "".join(lines),
                               signed, body_hash])
        string_to_sign = "\n".join([alg, x_date, f"{date}/{region}/{service}/request",
                                    _sha256_hex(canonical.encode("utf-8"))])
        expected = hmac.new(signing_key(secret, date, region, service), string_to_sign.encode("utf-8"),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise mismatch()

    # ---- validation (§3.1) -----------------------------------------------------------------------

    @staticmethod
    def _require_req_key(body: dict) -> dict:
        if "req_key" not in body or body["req_key"] in (None, ""):
            raise BusinessError(50201, "Missing required parameter: req_key")
        if not isinstance(body["req_key"], str):
            raise BusinessError(50204, f"Parameter req_key must be a string, got {_type_name(body['req_key'])}")
        model = MODELS.get(body["req_key"])
        if model is None:
            raise BusinessError(50400)
        return model

    @staticmethod
    def _check_types(body: dict, *, skip=()) -> None:
        for name, expected in FIELD_TYPES.items():
            if name in skip or name not in body or body[name] is None:
                continue
            if not _has_type(body[name], expected):
                raise BusinessError(50204, f"Parameter {name} must be {'an' if expected[0] in 'aio' else 'a'} "
                                           f"{expected}, got {_type_name(body[name])}")
        logo = body.get("logo_info")
        if isinstance(logo, dict) and "logo_info" not in skip:
            _check_logo(logo)
        urls = body.get("image_urls")
        if isinstance(urls, list) and "image_urls" not in skip:
            if not all(isinstance(u, str) for u in urls):
                raise BusinessError(50204, "Parameter image_urls must be an array of strings")

    def _fetch_references(self, urls: list[str]) -> None:
        """Download each reference like the service does: a URL it cannot GET, or that is not an image, refuses
        the request. (The real code and wording for that are not documented; 50200 is the parameter error.)"""
        fetched = []
        for number, url in enumerate(urls, start=1):
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    data = response.read()
                Image.open(io.BytesIO(data)).verify()
            except Exception as exc:
                raise BusinessError(50200, f"Parameter image_urls: image {number} could not be downloaded "
                                           f"({type(exc).__name__})") from None
            fetched.append(data)
        with self._lock:
            self.fetched_references.extend(fetched)

    def validate_generation(self, body: dict, action: str) -> tuple[str, dict]:
        model = self._require_req_key(body)
        req_key = body["req_key"]
        if action == "CVProcess" and not model["sync"]:
            raise BusinessError(50400)
        skip = ("return_url", "logo_info") if action == "CVSync2AsyncSubmitTask" else ()
        prompt = body.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise BusinessError(50204, f"Parameter prompt must be a string, got {_type_name(prompt)}")
        if not prompt or not prompt.strip():
            raise BusinessError(50201, "Missing required parameter: prompt")
        self._check_types(body, skip=skip)
        if len(prompt) > MAX_PROMPT_CHARS:
            raise BusinessError(50200, f"Parameter prompt is too long: {len(prompt)} characters, "
                                       f"at most {MAX_PROMPT_CHARS} allowed")
        family = model["family"]
        if family == "v40" and isinstance(body.get("image_urls"), list) and len(body["image_urls"]) > 10:
            raise BusinessError(50200, "Parameter image_urls accepts at most 10 images")
        if family == "v40" and isinstance(body.get("image_urls"), list):
            self._fetch_references(body["image_urls"])
        scale = body.get("scale")
        if scale is not None:
            if family == "v30l" and not 1 <= scale <= 10:
                raise BusinessError(50200, f"Parameter scale must be in [1, 10], got {scale}")
            if family == "v40" and not 0 <= scale <= 1:
                raise BusinessError(50200, f"Parameter scale must be in [0, 1], got {scale}")
        _check_size(req_key, model, body)
        return req_key, model


def _check_logo(logo: dict) -> None:
    for name, expected in LOGO_TYPES.items():
        if name in logo and logo[name] is not None and not _has_type(logo[name], expected):
            raise BusinessError(50204, f"Parameter logo_info.{name} must be a {expected}, "
                                       f"got {_type_name(logo[name])}")
    if logo.get("position") is not None and logo["position"] not in (0, 1, 2, 3):
        raise BusinessError(50200, f"Parameter logo_info.position must be 0..3, got {logo['position']}")
    if logo.get("language") is not None and logo["language"] not in (0, 1):
        raise BusinessError(50200, f"Parameter logo_info.language must be 0 or 1, got {logo['language']}")
    if logo.get("opacity") is not None and not 0 <= logo["opacity"] <= 1:
        raise BusinessError(50200, f"Parameter logo_info.opacity must be in [0, 1], got {logo['opacity']}")


def _check_size(req_key: str, model: dict, body: dict) -> None:
    family = model["family"]
    w, h = body.get("width"), body.get("height")
    if family in ("v3x", "v30l", "v40") and (w is None) != (h is None):
        raise BusinessError(50200, f"Parameters width and height must be given together for {req_key}")
    if family == "v3x":
        if w is not None:
            _check_area_ratio(w, h, 512 ** 2, 2048 ** 2, 1 / 3, 3)
    elif family == "v40":
        if w is not None:
            lo, hi = body.get("min_ratio", 1 / 3), body.get("max_ratio", 3)
            if not (1 / 16 <= lo < 16 and 1 / 16 <= hi < 16 and lo <= hi):
                raise BusinessError(50200, f"Parameters min_ratio/max_ratio must be within [1/16, 16), got {lo}/{hi}")
            _check_area_ratio(w, h, 1024 ** 2, 4096 ** 2, lo, hi)
        elif body.get("size") is not None:
            if not 1024 ** 2 <= body["size"] <= 4096 ** 2:
                raise BusinessError(50200, f"Parameter size must be in [{1024 ** 2}, {4096 ** 2}], got {body['size']}")
    elif family == "v30l":
        for name, value in (("width", w), ("height", h)):
            if value is not None and not 512 <= value <= 2048:
                raise BusinessError(50200, f"Parameter {name} must be in [512, 2048], got {value}")
    else:  # 2.x
        top = model["max_side"]
        for name, value in (("width", w), ("height", h)):
            if value is not None and not 256 <= value <= top:
                raise BusinessError(50200, f"Parameter {name} must be in [256, {top}], got {value}")


def _check_area_ratio(w: int, h: int, area_lo: int, area_hi: int, ratio_lo: float, ratio_hi: float) -> None:
    if w <= 0 or h <= 0:
        raise BusinessError(50200, f"Parameters width and height must be positive, got {w}x{h}")
    if not area_lo <= w * h <= area_hi:
        raise BusinessError(50200, f"Image area {w}x{h}={w * h} is outside [{area_lo}, {area_hi}]")
    if not ratio_lo - 1e-9 <= w / h <= ratio_hi + 1e-9:
        raise BusinessError(50200, f"Aspect ratio {w}:{h} is outside [{ratio_lo:.4g}, {ratio_hi:.4g}]")


def output_size(model: dict, body: dict) -> tuple[int, int]:
    w, h = body.get("width"), body.get("height")
    dw, dh = model["default"]
    if model["family"] == "v40" and w is None and body.get("size") is not None:
        side = int(math.isqrt(body["size"]))
        w = h = side
    w, h = w or dw, h or dh
    if model["family"] == "v2x" and body.get("use_sr") is True:
        w, h = w * 2, h * 2
    return w, h


def make_image(width: int, height: int, seed: int, index: int, logo: dict | None = None) -> Image.Image:
    rng = random.Random(seed * 7919 + index)
    base = tuple(rng.randrange(40, 216) for _ in range(3))
    img = Image.new("RGB", (width, height), base)
    draw = ImageDraw.Draw(img)
    for _ in range(3):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = min(width, x0 + rng.randrange(8, max(9, width // 3))), min(height, y0 + rng.randrange(8, max(9, height // 3)))
        colour = tuple(max(0, min(255, c + rng.randrange(-40, 41))) for c in base)
        draw.rectangle([x0, y0, x1, y1], fill=colour)
    if logo and logo.get("add_logo"):
        bw, bh = max(40, width // 8), max(16, height // 24)
        pos = logo.get("position") or 0
        x = width - bw - 4 if pos in (0, 3) else 4
        y = height - bh - 4 if pos in (0, 1) else 4
        draw.rectangle([x, y, x + bw, y + bh], fill=(255, 255, 255))
        text = logo.get("logo_text_content") or ("Generated by AI" if logo.get("language") == 1 else "AI")
        draw.text((x + 3, y + 2), text.encode("ascii", "replace").decode(), fill=(0, 0, 0))
    return img


def encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny, well-formed PNG whose header claims width x height pixels (2.5 gigapixels by default): a
    decoder that trusts the header allocates gigabytes before it notices the data is short."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)  # the first rows only
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def encode_jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def rephrase(prompt: str) -> str:
    return (f"{prompt}, highly detailed, rich colours, soft cinematic lighting, sharp focus, "
            f"balanced composition, professional photography")


# --------------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for idle keep-alive connections
    allow_reuse_address = True
    fake: FakeVolcEngine

    def process_request(self, request, client_address):
        with self.fake._lock:
            self.fake._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.fake._lock:
            self.fake._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        if self.fake.verbose:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "volc-fake/1.0"
    sys_version = ""
    timeout = 120
    fake: FakeVolcEngine

    def log_message(self, format, *args):  # noqa: A002
        if self.fake.verbose:
            sys.stderr.write("fake-volcengine: " + (format % args) + "\n")

    # ---- low level -------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length:
            return self.rfile.read(int(length))
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _send(self, status: int, payload: bytes, content_type: str, extra: dict | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _send_json(self, status: int, obj: dict, request_id: str) -> None:
        payload = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._send(status, payload, "application/json; charset=utf-8", {"X-Tt-Logid": request_id})

    # ---- GET: result images ----------------------------------------------------------------------

    def do_GET(self):
        parts = urlsplit(self.path)
        rec = Recorded(action="", version="", body=None, headers=dict(self.headers.items()), signature_ok=False,
                       error=None, at=time.monotonic(), method=self.command, path=parts.path, query=parts.query)
        m = re.fullmatch(r"/images/([0-9a-f]+)\.jpeg", parts.path)
        if m:
            with self.fake._lock:
                self.fake.image_requests.append(rec)
                entry = self.fake._images.get(m.group(1))
            if entry is None:
                rec.status, rec.error = 404, "NoSuchKey"
                self._send(404, b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
                                b'<Message>The specified key does not exist.</Message></Error>', "application/xml")
                return
            status, ctype, data = entry
            rec.status = status
            self._send(status, data, ctype)
            return
        self._api()

    do_HEAD = do_GET

    def do_POST(self):
        self._api()

    def do_PUT(self):
        self._api()

    def do_DELETE(self):
        self._api()

    # ---- the API ---------------------------------------------------------------------------------

    def _api(self) -> None:
        fake = self.fake
        started = time.monotonic()
        parts = urlsplit(self.path)
        body_bytes = self._read_body() if self.command not in ("GET", "HEAD") else b""
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        action, version = query.get("Action", ""), query.get("Version", "")
        body = None
        try:
            parsed = json.loads(body_bytes) if body_bytes else None
            body = parsed if isinstance(parsed, dict) else None
        except ValueError:
            parsed = None
        rec = Recorded(action=action, version=version, body=body, headers=dict(self.headers.items()),
                       signature_ok=False, error=None, at=started, method=self.command, path=parts.path,
                       query=parts.query, raw_body=body_bytes)
        with fake._lock:
            fake.requests.append(rec)
        request_id = new_request_id()
        try:
            # Routing before auth.
            if not action or not version:
                missing = "Action" if not action else "Version"
                raise GatewayError("MissingParameter", f"The request must contain the parameter {missing}.")
            if parts.path != "/" or self.command != "POST" or ACTIONS.get(action) != version:
                raise GatewayError("InvalidActionOrVersion",
                                   f"Could not find operation {action} for version {version}")
            fake.verify(self.command, parts.path, parts.query, self.headers, body_bytes)
            rec.signature_ok = True

            if body is None:
                raise BusinessError(50204, "Request body must be a JSON object")
            req_key = body.get("req_key") if isinstance(body.get("req_key"), str) else None

            fault = fake._take_fault(action, req_key, IMMEDIATE_FAULTS | {str(c) for c in BUSINESS_ERRORS})
            if fault is not None:
                rec.fault = fault.kind
                self._immediate_fault(fault, rec, request_id, action)
                if fault.kind != "timeout":
                    return

            handler = {
                "CVProcess": self._cv_process,
                "CVSync2AsyncSubmitTask": self._submit,
                "CVSync2AsyncGetResult": self._get_result,
                "CVCancelTask": self._cancel,
            }[action]
            data = handler(body, rec)
            rec.status, rec.code = 200, 10000
            self._send_json(200, {
                "code": 10000, "data": data, "message": "Success", "request_id": request_id, "status": 10000,
                "time_elapsed": format_elapsed(time.monotonic() - started),
            }, request_id)
        except GatewayError as e:
            rec.error, rec.status = e.name, e.status
            self._send_json(e.status, {"ResponseMetadata": {
                "RequestId": request_id, "Action": action, "Version": version, "Service": SERVICE,
                "Region": e.region,
                "Error": {"CodeN": e.code_n, "Code": e.name, "Message": e.message},
            }}, request_id)
        except BusinessError as e:
            rec.error, rec.status, rec.code = str(e.code), e.status, e.code
            self._send_json(e.status, self._error_body(e, request_id, started), request_id)
        except _Transport:
            pass

    @staticmethod
    def _error_body(e: BusinessError, request_id: str, started: float) -> dict:
        return {"code": e.code, "data": None, "message": e.message, "request_id": request_id, "status": e.code,
                "time_elapsed": format_elapsed(time.monotonic() - started, micro=True)}

    def _immediate_fault(self, fault: _Fault, rec: Recorded, request_id: str, action: str) -> None:
        kind, opts = fault.kind, fault.options
        if kind.isdigit():
            error = BusinessError(int(kind), opts.get("message"), opts.get("status"))
            if action == "CVSync2AsyncGetResult" and error.code in TERMINAL_JOB_ERRORS:
                # An audit failure of an async job surfaces at GetResult and is final for that task.
                body = json.loads(rec.raw_body)
                with self.fake._lock:
                    job = self.fake._jobs.get(str(body.get("task_id")))
                    if job is not None and job.req_key == body.get("req_key") and job.state == "pending":
                        job.state, job.error = "failed", error
            raise error
        if kind == "timeout":
            # Answer late (normally, afterwards): longer than the client's read timeout.
            self.fake._stop.wait(float(opts.get("seconds", 5)))
            if self.fake._stop.is_set():
                self.close_connection = True
                raise _Transport()
            return
        if kind == "reset":
            rec.error = "reset"
            if opts.get("rst"):  # a TCP RST instead of a clean close: ConnectionResetError on the client
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            self.close_connection = True
            raise _Transport()
        if kind.startswith("html"):
            status = int(kind[4:])
            title = HTML_PAGES[status]
            page = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>"
                    f"\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n").encode()
            rec.error, rec.status = kind, status
            self._send(status, page, "text/html")
            raise _Transport()
        if kind == "malformed_json":
            rec.error, rec.status = kind, 200
            payload = ('{"code":10000,"data":{"algorithm_base_resp":{"status_code":0,"status_message":"Success"},'
                       '"binary_data_base64":["iVBORw0KGgoAAAANSUhEUgAAB').encode()
            self._send(200, payload, "application/json; charset=utf-8", {"X-Tt-Logid": request_id})
            raise _Transport()
        if kind == "http200_error":
            code = int(opts.get("code", 50500))
            e = BusinessError(code, opts.get("message"))
            rec.error, rec.status, rec.code = str(code), 200, code
            self._send_json(200, self._error_body(e, request_id, rec.at), request_id)
            raise _Transport()
        raise AssertionError(kind)

    # ---- actions ---------------------------------------------------------------------------------

    def _concurrency_limited(self, busy: int) -> bool:
        limit = self.fake.max_concurrency
        return limit is not None and busy >= limit

    def _cv_process(self, body: dict, rec: Recorded) -> dict:
        fake = self.fake
        req_key, model = fake.validate_generation(body, "CVProcess")
        with fake._lock:
            if self._concurrency_limited(fake._active_sync):
                raise BusinessError(50430)
            fake._active_sync += 1
            fake._note_peak()
        try:
            fault = fake._take_fault("CVProcess", req_key, IMAGE_FAULTS)
            if fault is not None:
                rec.fault = fault.kind
            if fake.gate is not None:
                fake.gate.wait(60)
            elif fake.latency > 0:
                fake._stop.wait(fake.latency)
            if fake._stop.is_set() and fake._httpd is None:
                self.close_connection = True
                raise _Transport()
            images = self._render(model, body)
            b64, urls = self._outputs(images, return_url=body.get("return_url") is True,
                                      fault=fault.kind if fault else None)
        finally:
            with fake._lock:
                fake._active_sync -= 1
        use_pre_llm = body.get("use_pre_llm", model["pre_llm"]) is True
        return {
            "algorithm_base_resp": {"status_code": 0, "status_message": "Success"},
            "binary_data_base64": b64,
            "image_urls": urls,
            "infer_ctx": {},
            "llm_result": "",
            "pe_result": "",
            "predict_tags_result": "",
            "rephraser_result": rephrase(body["prompt"]) if use_pre_llm and model["family"] != "v40" else "",
            "request_id": secrets.token_hex(32),
            "vlm_result": "",
        }

    def _render(self, model: dict, body: dict, logo: dict | None = None) -> list[Image.Image]:
        w, h = output_size(model, body)
        seed = body.get("seed")
        if seed is None or seed == -1:
            seed = random.randrange(2 ** 31)
        count = 2 if model["family"] == "v40" and body.get("force_single") is not True else 1
        logo = logo if logo is not None else body.get("logo_info")
        return [make_image(w, h, seed, i, logo if isinstance(logo, dict) else None) for i in range(count)]

    def _outputs(self, images: list[Image.Image], *, return_url: bool, fault: str | None):
        """(binary_data_base64, image_urls) for the images, with an image fault applied."""
        fake = self.fake
        if fault in ("url_403", "url_html"):
            return_url = True
        if fault == "bad_base64":
            return_url = False
        if not return_url:
            out = []
            for img in images:
                png = encode_png(img)
                if fault == "corrupt_image":
                    out.append(base64.b64encode(b"this is not an image; " * 8).decode())
                elif fault == "truncated_image":
                    out.append(base64.b64encode(png[: len(png) // 2]).decode())
                elif fault == "bomb_image":
                    out.append(base64.b64encode(bomb_png()).decode())
                elif fault == "bad_base64":
                    out.append("!!not*base64@@" + base64.b64encode(png[:64]).decode()[:-3] + "%%")
                else:
                    out.append(base64.b64encode(png).decode())
            return out, None
        urls = []
        for img in images:
            jpeg = encode_jpeg(img)
            entry = (200, "image/jpeg", jpeg)
            if fault == "corrupt_image":
                entry = (200, "image/jpeg", b"this is not an image; " * 8)
            elif fault == "truncated_image":
                entry = (200, "image/jpeg", jpeg[: len(jpeg) // 2])
            elif fault == "bomb_image":
                entry = (200, "image/png", bomb_png())
            elif fault == "url_403":
                entry = (403, "application/xml", b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied'
                                                 b'</Code><Message>Request has expired.</Message></Error>')
            elif fault == "url_html":
                entry = (200, "text/html; charset=utf-8",
                         b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><p>Please sign in.</p>"
                         b"</body></html>")
            image_id = secrets.token_hex(16)
            with fake._lock:
                fake._images[image_id] = entry
            urls.append(f"{fake.url}/images/{image_id}.jpeg")
        return [], urls

    def _submit(self, body: dict, rec: Recorded) -> dict:
        fake = self.fake
        req_key, model = fake.validate_generation(body, "CVSync2AsyncSubmitTask")
        with fake._lock:
            if self._concurrency_limited(fake._unfinished_jobs()):
                raise BusinessError(50430)
            task_id = new_task_id()
            while task_id in fake._jobs:
                task_id = new_task_id()
            job = _Job(task_id=task_id, req_key=req_key, body=dict(body), created=time.monotonic(),
                       not_done_polls=fake.async_steps)
            fault = fake._take_fault("CVSync2AsyncSubmitTask", req_key, IMAGE_FAULTS | {"slow_async"})
            if fault is not None:
                rec.fault = fault.kind
                if fault.kind == "slow_async":
                    job.not_done_polls, job.slow = int(fault.options.get("polls", 5)), True
                else:
                    job.image_fault = fault.kind
            fake._jobs[task_id] = job
            fake._note_peak()
        return {"task_id": task_id}

    def _get_result(self, body: dict, rec: Recorded) -> dict:
        fake = self.fake
        fake._require_req_key(body)
        req_key = body["req_key"]
        task_id = body.get("task_id")
        if task_id in (None, ""):
            raise BusinessError(50201, "Missing required parameter: task_id")
        if not isinstance(task_id, str):
            raise BusinessError(50204, f"Parameter task_id must be a string, got {_type_name(task_id)}")
        options = self._req_json(body.get("req_json"))

        empty = {"binary_data_base64": None, "image_urls": None}
        with fake._lock:
            job = fake._jobs.get(task_id)
            if job is not None and job.req_key != req_key:
                job = None
            fault = fake._take_fault("CVSync2AsyncGetResult", req_key,
                                     IMAGE_FAULTS | {"not_found", "expired", "slow_async"})
            if fault is not None:
                rec.fault = fault.kind
                if fault.kind == "not_found":
                    if job is not None:
                        job.state = "gone"
                    return {**empty, "status": "not_found"}
                if fault.kind == "expired":
                    if job is not None:
                        job.state = "expired"
                    return {**empty, "status": "expired"}
            if job is None or job.state == "gone":
                return {**empty, "status": "not_found"}
            if fault is not None and job.state == "pending":
                if fault.kind == "slow_async":
                    job.not_done_polls = max(job.not_done_polls, job.polls + int(fault.options.get("polls", 5)))
                    job.slow = True
                else:
                    job.image_fault = fault.kind
            elif fault is not None and fault.kind in IMAGE_FAULTS:
                job.image_fault = fault.kind
            if job.state == "expired":
                return {**empty, "status": "expired"}
            if job.state == "failed":
                raise job.error
            job.polls += 1
            if job.state == "pending":
                ready = job.polls > job.not_done_polls and time.monotonic() - job.created >= fake.latency
                if not ready:
                    status = "in_queue" if job.polls == 1 and not job.slow else "generating"
                    return {**empty, "status": status}
                job.state = "done"
            first_done = job.images is None
        if first_done:
            model = MODELS[job.req_key]
            job.images = self._render(model, job.body, logo=options.get("logo_info"))
            use_pre_llm = job.body.get("use_pre_llm", model["pre_llm"]) is True
            job.rephraser = rephrase(job.body["prompt"]) if use_pre_llm and model["family"] != "v40" else ""
        return_url = options.get("return_url") is True
        if return_url and job.image_fault is None and job.urls is not None:
            b64, urls = [], job.urls  # the same links on every poll after done
        else:
            b64, urls = self._outputs(job.images, return_url=return_url, fault=job.image_fault)
            if return_url and job.image_fault is None:
                job.urls = urls
        return {
            "algorithm_base_resp": {"status_code": 0, "status_message": "Success"},
            "binary_data_base64": b64,
            "image_urls": urls,
            "infer_ctx": {},
            "rephraser_result": job.rephraser,
            "request_id": secrets.token_hex(32),
            "status": "done",
        }

    @staticmethod
    def _req_json(raw) -> dict:
        if raw in (None, ""):
            return {}
        if not isinstance(raw, str):
            raise BusinessError(50204, f"Parameter req_json must be a JSON string, got {_type_name(raw)}")
        try:
            options = json.loads(raw)
        except ValueError as e:
            raise BusinessError(50204, f"Parameter req_json is not valid JSON: {e}") from None
        if not isinstance(options, dict):
            raise BusinessError(50204, "Parameter req_json must encode a JSON object")
        if options.get("return_url") is not None and not isinstance(options["return_url"], bool):
            raise BusinessError(50204, f"Parameter req_json.return_url must be a bool, "
                                       f"got {_type_name(options['return_url'])}")
        logo = options.get("logo_info")
        if logo is not None:
            if not isinstance(logo, dict):
                raise BusinessError(50204, "Parameter req_json.logo_info must be an object")
            _check_logo(logo)
        aigc = options.get("aigc_meta")
        if aigc is not None and not isinstance(aigc, dict):
            raise BusinessError(50204, "Parameter req_json.aigc_meta must be an object")
        return options

    def _cancel(self, body: dict, rec: Recorded) -> dict:
        fake = self.fake
        fake._require_req_key(body)
        task_id = body.get("task_id")
        if task_id in (None, ""):
            raise BusinessError(50201, "Missing required parameter: task_id")
        if not isinstance(task_id, str):
            raise BusinessError(50204, f"Parameter task_id must be a string, got {_type_name(task_id)}")
        with fake._lock:
            job = fake._jobs.get(task_id)
            if job is None or job.req_key != body["req_key"] or job.state == "gone":
                raise BusinessError(50215)
            if job.state != "pending":
                raise BusinessError(50200, f"Task {task_id} has already finished ({job.state}) and cannot be cancelled")
            if job.polls >= 1 and (job.slow or job.polls >= 2):
                raise BusinessError(50200, f"Task {task_id} is generating and can no longer be cancelled")
            job.state = "gone"
        return {}


# --------------------------------------------------------------------------------------------------
# Standalone
# --------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local fake of the VolcEngine visual API (CVProcess & co).")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--async-steps", type=int, default=2)
    parser.add_argument("--max-concurrency", type=int, default=None)
    parser.add_argument("--access-key", default="AKLTimagegentest")
    parser.add_argument("--secret-key", default="imagegen-test-secret")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)
    fake = FakeVolcEngine(access_key=args.access_key, secret_key=args.secret_key, latency=args.latency,
                          async_steps=args.async_steps, max_concurrency=args.max_concurrency, port=args.port,
                          verbose=not args.quiet)
    fake.start()
    print(f"fake VolcEngine visual API on {fake.url}  (host {fake.host}, AK {args.access_key})", flush=True)
    print(f"point the SDK at it: svc.set_host({fake.host!r}); svc.set_scheme('http')", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
