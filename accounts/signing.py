"""Signed requests (请求签名验证) for signing tokens.

A request carries, beside `Authorization: Bearer <token>`:
  X-Imagegen-Timestamp: Unix seconds (within ±IMAGEGEN_SIGNATURE_WINDOW of the server's clock, 300 s)
  X-Imagegen-Nonce:     8-64 characters of [A-Za-z0-9_-], never used twice within the window
  X-Imagegen-Signature: hex HMAC-SHA256(signing secret, canonical)
canonical = METHOD \\n path \\n sorted query \\n timestamp \\n nonce \\n hex SHA-256 of the body
(sorted query: the query's name=value pairs, each percent-encoded (RFC 3986, unreserved kept), sorted,
joined with &). README, "Signed requests", has a reference client.

The signing secret is derived from SECRET_KEY and the token's digest: shown once at creation, never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import parse_qsl, quote

from django.conf import settings
from django.core.cache import caches
from django.utils.translation import gettext as _

TIMESTAMP, NONCE, SIGNATURE = "X-Imagegen-Timestamp", "X-Imagegen-Nonce", "X-Imagegen-Signature"
NONCE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class SignatureRefused(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def signing_secret(digest: str) -> str:
    return "igs_" + hmac.new(settings.SECRET_KEY.encode(), b"imagegen-signing:" + digest.encode(),
                             hashlib.sha256).hexdigest()


def sorted_query(query_string: str) -> str:
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))


def canonical(method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, sorted_query(query_string), timestamp, nonce,
                      hashlib.sha256(body).hexdigest()]).encode()


def sign(secret: str, method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret.encode(), canonical(method, path, query_string, timestamp, nonce, body),
                    hashlib.sha256).hexdigest()


def is_signed(request) -> bool:
    return any(request.headers.get(h) for h in (TIMESTAMP, NONCE, SIGNATURE))


def verify(request, digest: str) -> None:
    """SignatureRefused unless the request is signed with this token's secret, fresh and not replayed."""
    timestamp, nonce, signature = (request.headers.get(h, "") for h in (TIMESTAMP, NONCE, SIGNATURE))
    if not (timestamp and nonce and signature):
        raise SignatureRefused(_("This token requires signed requests: send X-Imagegen-Timestamp, "
                                 "X-Imagegen-Nonce and X-Imagegen-Signature."))
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureRefused(_("X-Imagegen-Timestamp must be Unix seconds."))
    window = settings.IMAGEGEN_SIGNATURE_WINDOW
    if abs(time.time() - int(timestamp)) > window:
        raise SignatureRefused(_("The request's timestamp is more than %(seconds)d seconds from the server's "
                                 "clock.") % {"seconds": window})
    if not NONCE_SHAPE.match(nonce):
        raise SignatureRefused(_("X-Imagegen-Nonce must be 8 to 64 letters, digits, - or _."))
    body = request.body if request.method not in ("GET", "HEAD") else b""
    expected = sign(signing_secret(digest), request.method, request.path, request.META.get("QUERY_STRING", ""),
                    timestamp, nonce, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureRefused(_("The request signature does not match."))
    # Checked last, so that only correctly signed requests use up a nonce.
    if not caches[settings.IMAGEGEN_NONCE_CACHE].add(f"imagegen:nonce:{digest[:16]}:{nonce}", 1, timeout=2 * window + 60):
        raise SignatureRefused(_("This nonce was already used: every signed request needs a new one."))
