"""A local stand-in for the Ark (方舟) images API, for tests, written from /work/shared/notes/seedream-ark.md.

* ``POST /api/v3/images/generations`` with ``Authorization: Bearer <key>`` (401 AuthenticationError without);
* every documented field of §1.3, checked per model: ``size`` as ``WxH`` (pixel range and ratio [1/16, 16]
  for 4.x, sides [512, 2048] for 3.0) or a tier the model has (4.5 has no ``1K``; 3.0 none); ``seed`` and
  ``guidance_scale`` only on 3.0; ``sequential_image_generation`` and its ``max_images`` only on 4.x;
* ``response_format`` ``url`` (the API's default; images then served at ``GET /images/<id>.jpeg``) or
  ``b64_json``; ``watermark`` defaults to true (recorded, as the API does);
* ``image`` (a string or a list): data URLs with a lowercase format, decoded and checked per model (count,
  format, aspect ratio, > 14 px, at most 6000 px and 10 MB); none on 3.0;
* group generation (``sequential_image_generation: "auto"``): up to ``max_images`` images (15 when unset),
  and references and outputs together at most 15;
* per-image failures inside a 200 (``data[i].error``), with ``usage.generated_images`` counting successes;
* scriptable faults (``inject``): 400 input moderation, 404 model not enabled, 429 rate limits with and
  without ``Retry-After``, 429 ``QuotaExceeded`` / ``SetLimitExceeded``, 500 ``InternalServiceError``, a
  proxy's HTML 502, slow answers (past a client's read timeout), a 200 carrying only ``error``, a malformed
  200, a dropped connection; and ``max_concurrency`` (429 beyond it, peak recorded).

Stricter than the real service on purpose, where that catches our mistakes: a JSON ``null`` field is a 400
(the SDK's ``images.generate`` sends unset fields as null), and so are ``seed`` / ``guidance_scale`` on a 4.x
model (the real API's answer to them is not documented; third-party code says 4.x "does not accept" them).

Standard library HTTP only (plus Pillow for the images). It does not import the SDK.

Standalone::

    python tests/ark_server.py --port 8124 --api-key KEY [--latency 2]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import re
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw

__all__ = ["FakeArk", "Recorded", "MODELS", "FAULTS"]

PATH = "/api/v3/images/generations"

# Per model: the WxH pixel range and ratio, or per-side range (3.0), and the tiers it takes (§1.3).
MODELS: dict[str, dict] = {
    "doubao-seedream-4-5-251128": dict(min_pixels=2560 * 1440, max_pixels=4096 * 4096, ratio=(1 / 16, 16),
                                       tiers={"2K", "4K"}, seed=False, guidance=False, group=True,
                                       refs=14, ref_formats={"jpeg", "png", "webp"}, ref_ratio=(1 / 16, 16)),
    "doubao-seedream-4-0-250828": dict(min_pixels=1280 * 720, max_pixels=4096 * 4096, ratio=(1 / 16, 16),
                                       tiers={"1K", "2K", "4K"}, seed=False, guidance=False, group=True,
                                       refs=10, ref_formats={"jpeg", "png"}, ref_ratio=(1 / 3, 3)),
    "doubao-seedream-3-0-t2i-250415": dict(sides=(512, 2048), tiers=set(), seed=True, guidance=True,
                                           group=False, refs=0),
}
TIER_SIZES = {"1K": (1024, 1024), "2K": (2048, 2048), "4K": (4096, 4096)}
FIELDS = {
    "model", "prompt", "image", "size", "seed", "guidance_scale", "sequential_image_generation",
    "sequential_image_generation_options", "stream", "response_format", "watermark", "optimize_prompt_options",
}

# Fault kind -> (HTTP status, error code, message). "slow", "reset", "html_502", "malformed",
# "item_error" and "error_only" are shaped in the handler.
FAULTS: dict[str, tuple[int, str, str]] = {
    "moderation": (400, "InputTextSensitiveContentDetected",
                   "The request failed because the input text may contain sensitive information."),
    "invalid": (400, "InvalidParameter", "The parameter `size` specified in the request is not valid."),
    "not_enabled": (404, "ModelNotOpen", "Your account has not activated the model service."),
    "rate_limit": (429, "ModelAccountIpmRateLimitExceeded",
                   "The request has exceeded the images-per-minute limit of the model for your account."),
    "quota": (429, "QuotaExceeded", "Your account has exceeded its quota."),
    "set_limit": (429, "SetLimitExceeded", "Your account has reached the limit set in 安心体验模式."),
    "server_error": (500, "InternalServiceError", "The service encountered an unexpected internal error."),
    "unauthorized": (401, "AuthenticationError", "The API key in the request is missing or invalid."),
    "overdue": (403, "AccountOverdueError", "Your account has an overdue balance."),
    "slow": (0, "", ""),
    "reset": (0, "", ""),
    "html_502": (502, "", ""),
    "malformed": (200, "", ""),
    "error_only": (200, "InternalServiceError", "The service encountered an unexpected internal error."),
    "item_error": (200, "OutputImageSensitiveContentDetected",
                   "The generated image may contain sensitive information."),
}


@dataclass
class Recorded:
    body: dict | None
    headers: dict[str, str]
    status: int | None = None  # None: no answer (reset, or still slow when the client gave up)
    code: str = ""
    fault: str | None = None
    at: float = 0.0
    raw_body: bytes = b""
    usage: dict | None = None  # a 200's `usage` (generated_images: what Ark bills)


@dataclass
class _Fault:
    kind: str
    times: int
    options: dict = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, param: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param


def new_request_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(10)


def _jpeg(width: int, height: int, index: int) -> bytes:
    img = Image.new("RGB", (width, height), ((40 * index) % 256, 90, 160))
    ImageDraw.Draw(img).rectangle((0, 0, width // 4, height // 4), fill=(230, 230, 230))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


class FakeArk:
    def __init__(self, *, api_key: str = "ark-test-key", latency: float = 0.0, max_concurrency: int | None = None,
                 enabled: set[str] | None = None, port: int = 0, verbose: bool = False):
        self.api_key = api_key
        self.latency = float(latency)
        self.max_concurrency = max_concurrency
        self.enabled = set(MODELS) if enabled is None else set(enabled)
        self.verbose = verbose
        self._port = port
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._faults: list[_Fault] = []
        self._images: dict[str, bytes] = {}
        self._active = 0
        self._peak = 0
        self.requests: list[Recorded] = []
        self.url = ""

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeArk:
        if self._httpd is not None:
            return self
        self._stop.clear()
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", self._port), handler)
        self._httpd.fake = self
        self._port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self._port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=f"fake-ark-{self._port}", daemon=True)
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        """What ARK_BASE_URL is set to (the SDK appends /images/generations)."""
        return self.url + "/api/v3"

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stop.set()  # wakes handlers sleeping on latency or a "slow" fault
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

    def __enter__(self) -> FakeArk:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- test controls ---------------------------------------------------------------------------

    def inject(self, fault: str, *, times: int = 1, **options) -> None:
        """Queue a fault for the next `times` generation requests. Options: retry_after (429s), seconds
        (slow), skip=N (let N requests pass first), indexes=[…] (item_error: which images of the answer
        fail, default [0])."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {sorted(FAULTS)}")
        with self._lock:
            self._faults.append(_Fault(fault, times, dict(options)))

    @property
    def peak_concurrency(self) -> int:
        with self._lock:
            return self._peak

    def calls(self) -> list[Recorded]:
        with self._lock:
            return list(self.requests)

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            for f in self._faults:
                if f.options.get("skip", 0) > 0:
                    f.options["skip"] -= 1
                    continue
                f.times -= 1
                if f.times <= 0:
                    self._faults.remove(f)
                return f
        return None

    # ---- validation ------------------------------------------------------------------------------

    def validate(self, body: dict) -> tuple[dict, list[tuple[int, int]]]:
        """(the model's rules, the sizes of the images to make); raises ApiError like the service."""
        nulls = [k for k, v in body.items() if v is None]
        if nulls:
            raise ApiError(400, "InvalidParameter", f"The parameter `{nulls[0]}` must not be null.", nulls[0])
        unknown = sorted(set(body) - FIELDS)
        if unknown:
            raise ApiError(400, "InvalidParameter", f"The parameter `{unknown[0]}` is not supported.", unknown[0])
        for name in ("model", "prompt"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise ApiError(400, f"MissingParameter.{name}", f"The parameter `{name}` is required.", name)
        model_id = body["model"]
        if model_id not in MODELS:
            raise ApiError(404, "InvalidEndpointOrModel.NotFound",
                           f"The model or endpoint {model_id} does not exist or you do not have access to it.")
        if model_id not in self.enabled:
            raise ApiError(404, "ModelNotOpen", f"Your account has not activated the model {model_id}.")
        rules = MODELS[model_id]
        for name, allowed in (("seed", rules["seed"]), ("guidance_scale", rules["guidance"])):
            if name in body and not allowed:
                raise ApiError(400, "InvalidParameter", f"The parameter `{name}` is not supported by the current "
                               f"model {model_id}.", name)
        if "seed" in body and (not isinstance(body["seed"], int) or not -1 <= body["seed"] <= 2147483647):
            raise ApiError(400, "InvalidParameter", "The parameter `seed` is not valid.", "seed")
        if "guidance_scale" in body and not (isinstance(body["guidance_scale"], int | float)
                                             and 1 <= body["guidance_scale"] <= 10):
            raise ApiError(400, "InvalidParameter", "The parameter `guidance_scale` is not valid.", "guidance_scale")
        if body.get("response_format", "url") not in ("url", "b64_json"):
            raise ApiError(400, "InvalidParameter", "The parameter `response_format` is not valid.", "response_format")
        if "watermark" in body and not isinstance(body["watermark"], bool):
            raise ApiError(400, "InvalidParameter", "The parameter `watermark` is not valid.", "watermark")
        if body.get("stream"):
            raise ApiError(400, "InvalidParameter", "This fake does not stream.", "stream")
        width, height = self._size(model_id, rules, body.get("size"))
        refs = self._references(model_id, rules, body.get("image"))
        count = 1
        mode = body.get("sequential_image_generation", "disabled")
        if ("sequential_image_generation" in body or "sequential_image_generation_options" in body) \
                and not rules["group"]:
            raise ApiError(400, "InvalidParameter", "The parameter `sequential_image_generation` is not supported "
                           f"by the current model {model_id}.", "sequential_image_generation")
        if mode not in ("auto", "disabled"):
            raise ApiError(400, "InvalidParameter", "The parameter `sequential_image_generation` is not valid.",
                           "sequential_image_generation")
        if mode == "auto":
            options = body.get("sequential_image_generation_options") or {}
            count = options.get("max_images", 15)  # the documented default is 15
            if not isinstance(count, int) or not 1 <= count <= 15:
                raise ApiError(400, "InvalidParameter", "The parameter `max_images` is not valid.", "max_images")
            count = min(count, 15 - len(refs))  # references and outputs together: at most 15 (§1.3)
        return rules, [(width, height)] * count

    @staticmethod
    def _references(model_id: str, rules: dict, image) -> list[tuple[int, int]]:
        """The (width, height) of each reference in `image` (a string or a list of them): data URLs with a
        lowercase format, decoded and checked against the model's limits (§1.3); http(s) URLs are not fetched."""
        if image is None:
            return []
        items = [image] if isinstance(image, str) else image
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            raise ApiError(400, "InvalidParameter", "The parameter `image` is not valid.", "image")
        if not rules.get("refs"):
            raise ApiError(400, "InvalidParameter", f"The parameter `image` is not supported by the current model "
                           f"{model_id}.", "image")
        if len(items) > rules["refs"]:
            raise ApiError(400, "InvalidParameter", f"The parameter `image` is not valid: at most {rules['refs']} "
                           "images.", "image")
        sizes = []
        for item in items:
            if item.startswith(("http://", "https://")):
                sizes.append((1024, 1024))
                continue
            match = re.fullmatch(r"data:image/([a-z]+);base64,([A-Za-z0-9+/=]+)", item)
            if not match:
                raise ApiError(400, "InvalidImageURL.InvalidFormat", "The image is not a URL or a base64 data URL "
                               "with a lowercase format.", "image")
            fmt, data = match.group(1), base64.b64decode(match.group(2))
            try:
                with Image.open(io.BytesIO(data)) as img:
                    actual, (w, h) = img.format.lower(), img.size
            except Exception:
                raise ApiError(400, "InvalidImageURL.InvalidFormat", "The image data cannot be decoded.",
                               "image") from None
            lo, hi = rules["ref_ratio"]
            if actual != fmt.replace("jpg", "jpeg") or actual not in rules["ref_formats"] or not lo <= w / h <= hi \
                    or min(w, h) <= 14 or max(w, h) > 6000 or len(data) > 10 * 1024 * 1024:
                raise ApiError(400, "InvalidParameter", "The parameter `image` is not valid.", "image")
            sizes.append((w, h))
        return sizes

    @staticmethod
    def _size(model_id: str, rules: dict, size) -> tuple[int, int]:
        if size is None:
            return (2048, 2048) if rules.get("min_pixels") else (1024, 1024)  # the documented defaults
        bad = ApiError(400, "InvalidParameter", f"The parameter `size` specified in the request is not valid: the "
                       f"specified size is not supported for model {model_id}.", "size")
        if isinstance(size, str) and size in TIER_SIZES:
            if size not in rules["tiers"]:
                raise bad
            return TIER_SIZES[size]
        match = re.fullmatch(r"(\d+)x(\d+)", size) if isinstance(size, str) else None
        if not match:
            raise bad
        w, h = int(match.group(1)), int(match.group(2))
        if "sides" in rules:
            lo, hi = rules["sides"]
            if not (lo <= w <= hi and lo <= h <= hi):
                raise bad
            return w, h
        ratio_lo, ratio_hi = rules["ratio"]
        if not (rules["min_pixels"] <= w * h <= rules["max_pixels"] and ratio_lo <= w / h <= ratio_hi):
            raise bad
        return w, h

    # ---- answering -------------------------------------------------------------------------------

    def generate(self, body: dict, fault: _Fault | None, request_id: str) -> dict:
        _rules, sizes = self.validate(body)
        fmt = body.get("response_format", "url")
        failing = set()
        if fault is not None and fault.kind == "item_error":
            failing = set(fault.options.get("indexes", [0]))
        data, sizes_made = [], []
        for index, (w, h) in enumerate(sizes):
            if index in failing:
                _status, code, message = FAULTS["item_error"]
                data.append({"error": {"code": code, "message": f"{message} Request id: {request_id}"}})
                continue
            jpeg = _jpeg(w, h, index)
            sizes_made.append((w, h))
            if fmt == "b64_json":
                data.append({"b64_json": base64.b64encode(jpeg).decode(), "size": f"{w}x{h}"})
            else:
                key = secrets.token_hex(8)
                with self._lock:
                    self._images[key] = jpeg
                data.append({"url": f"{self.url}/images/{key}.jpeg", "size": f"{w}x{h}"})
        tokens = sum(w * h for w, h in sizes_made) // 256
        return {"model": body["model"], "created": int(time.time()), "data": data,
                "usage": {"generated_images": len(sizes_made), "output_tokens": tokens, "total_tokens": tokens}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    fake: FakeArk

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
    server_version = "ark-fake/1.0"
    sys_version = ""
    fake: FakeArk

    def log_message(self, format, *args):  # noqa: A002
        if self.fake.verbose:
            sys.stderr.write("fake-ark: " + (format % args) + "\n")

    def _send(self, status: int, payload: bytes, content_type: str, extra: dict | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _send_json(self, status: int, obj: dict, request_id: str, extra: dict | None = None) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode(), "application/json",
                   {"X-Request-Id": request_id, **(extra or {})})

    def _error(self, rec: Recorded, err: ApiError, request_id: str, extra: dict | None = None) -> None:
        rec.status, rec.code = err.status, err.code
        body = {"error": {"code": err.code, "message": f"{err.message} Request id: {request_id}",
                          "param": err.param, "type": "BadRequest" if err.status == 400 else ""}}
        self._send_json(err.status, body, request_id, extra)

    def do_GET(self):
        match = re.fullmatch(r"/images/([0-9a-f]+)\.jpeg", self.path)
        with self.fake._lock:
            data = self.fake._images.get(match.group(1)) if match else None
        if data is None:
            self._send(404, b"NoSuchKey", "text/plain")
        else:
            self._send(200, data, "image/jpeg")

    def do_POST(self):
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        request_id = new_request_id()
        rec = Recorded(body=None, headers={k.lower(): v for k, v in self.headers.items()}, at=time.monotonic(),
                       raw_body=raw)
        with fake._lock:
            fake.requests.append(rec)
        if self.path.split("?")[0] != PATH:
            return self._error(rec, ApiError(404, "NotFound", f"{self.path} does not exist."), request_id)
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return self._error(rec, ApiError(401, *FAULTS["unauthorized"][1:]), request_id)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return self._error(rec, ApiError(400, "InvalidParameter", "The request body is not JSON."), request_id)
        if not isinstance(body, dict):
            return self._error(rec, ApiError(400, "InvalidParameter", "The request body is not an object."),
                               request_id)
        rec.body = body
        with fake._lock:
            if fake.max_concurrency is not None and fake._active >= fake.max_concurrency:
                busy = ApiError(429, "InflightBatchsizeExceeded", "Too many requests in flight.")
                return self._error(rec, busy, request_id)
            fake._active += 1
            fake._peak = max(fake._peak, fake._active)
        try:
            self._generation(body, rec, request_id)
        finally:
            with fake._lock:
                fake._active -= 1

    def _generation(self, body: dict, rec: Recorded, request_id: str) -> None:
        fake = self.fake
        fault = fake._take_fault()
        rec.fault = fault.kind if fault else None
        if fake.latency > 0:
            fake._stop.wait(fake.latency)
        if fault is not None and fault.kind == "slow":
            # Answers after `seconds` (the client may have given up: then nobody reads it).
            fake._stop.wait(float(fault.options.get("seconds", 5)))
        if fault is not None and fault.kind == "reset":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault is not None and fault.kind == "html_502":
            rec.status = 502
            page = b"<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
            return self._send(502, page, "text/html")
        if fault is not None and fault.kind == "malformed":
            rec.status = 200
            return self._send(200, b'{"data": [{"b64_json": "', "application/json")
        if fault is not None and fault.kind == "error_only":
            rec.status, rec.code = 200, FAULTS["error_only"][1]
            error = {"code": FAULTS["error_only"][1], "message": FAULTS["error_only"][2]}
            return self._send_json(200, {"error": error}, request_id)
        if fault is not None and fault.kind in FAULTS and FAULTS[fault.kind][0] >= 400:
            status, code, message = FAULTS[fault.kind]
            extra = {}
            if "retry_after" in fault.options:
                extra["Retry-After"] = str(fault.options["retry_after"])
            return self._error(rec, ApiError(status, code, message), request_id, extra)
        try:
            answer = fake.generate(body, fault, request_id)
        except ApiError as err:
            return self._error(rec, err, request_id)
        rec.status, rec.usage = 200, answer["usage"]
        self._send_json(200, answer, request_id)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8124)
    parser.add_argument("--api-key", default="ark-test-key")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--max-concurrency", type=int, default=None)
    args = parser.parse_args(argv)
    server = FakeArk(api_key=args.api_key, latency=args.latency, max_concurrency=args.max_concurrency,
                     port=args.port, verbose=True).start()
    print(f"fake Ark on {server.base_url} (key {args.api_key})")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
