"""Sending one webhook request, safely: the one module that opens connections to addresses users name.

- The address check (core/outbound.py) is ssrfguard's (evaluated against advocate, which pins urllib3 < 2 and is unmaintained):
  the name is resolved once, every answer is checked, and the connection goes to the address that was
  checked, so DNS rebinding cannot swap it afterwards. Loopback, link-local (169.254.169.254 included),
  private, shared, multicast, reserved and unspecified addresses, IPv4-mapped and other translated forms
  of them, are refused unless IMAGEGEN_WEBHOOK_ALLOW_NETWORKS names them.
- https only, unless IMAGEGEN_WEBHOOK_ALLOW_HTTP; no credentials in the URL; any port.
- Redirects are not followed (a 3xx is the receiver's answer); connect and read time out quickly; at most
  MAX_RESPONSE bytes of the answer are read.
- The body is signed to the Standard Webhooks spec (`standardwebhooks`): webhook-id, webhook-timestamp and
  webhook-signature headers. The secret appears nowhere else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import requests
from django.conf import settings
from ssrfguard import SSRFGuardError
from ssrfguard.requests import Session
from standardwebhooks import Webhook

from core.outbound import policy, reason

MAX_RESPONSE = 64 * 1024
USER_AGENT = "imagegen-webhooks/1"


@dataclass(frozen=True)
class Answer:
    status: int | None  # the receiver's HTTP status; None when there was no answer
    error: str  # why there was no answer, or what was wrong with it ("" for a plain answer)
    latency_ms: int
    refused: bool = False  # the policy refused the address: trying again cannot help


def sign(*, secret: str, delivery_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery_id, timestamp, body),
    }


def send(*, url: str, body: bytes, headers: dict[str, str], resolver=None) -> Answer:
    """POST the body once. `resolver` stands in for socket.getaddrinfo (tests inject theirs)."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    timeout = (settings.IMAGEGEN_WEBHOOK_CONNECT_TIMEOUT, settings.IMAGEGEN_WEBHOOK_READ_TIMEOUT)
    all_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    try:
        with Session(policy=policy(), resolver=resolver, max_retries=0) as session:
            session.trust_env = False  # no proxy from the environment: it would resolve the name itself
            with session.post(url, data=body, headers=all_headers, timeout=timeout, allow_redirects=False,
                              stream=True) as response:
                response.raw.read(MAX_RESPONSE, decode_content=False)
                error = "redirects are not followed" if 300 <= response.status_code < 400 else ""
                return Answer(status=response.status_code, error=error, latency_ms=took())
    except SSRFGuardError as err:
        return Answer(status=None, error=f"refused: {reason(err, url)}"[:300], latency_ms=took(), refused=True)
    except requests.Timeout:
        return Answer(status=None, error="timed out", latency_ms=took())
    except requests.ConnectionError as err:
        return Answer(status=None, error=f"could not connect: {type(err).__name__}", latency_ms=took())
    except requests.RequestException as err:
        return Answer(status=None, error=f"request failed: {type(err).__name__}", latency_ms=took())
