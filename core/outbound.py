"""Which addresses the product may send requests to that users name (webhook receivers): ssrfguard's policy
from the IMAGEGEN_WEBHOOK_* settings. generation/webhook_sender.py connects under it; a token's default
webhook is checked against it when the token is made."""

from __future__ import annotations

from django.conf import settings
from ssrfguard import Policy, SSRFGuardError


class RefusedURL(ValueError):
    """The URL, or an address its name resolves to, is one the policy refuses. Says why, never the secret."""


def policy() -> Policy:
    return Policy(
        allowed_schemes=frozenset({"https", "http"} if settings.IMAGEGEN_WEBHOOK_ALLOW_HTTP else {"https"}),
        allowed_networks=tuple(settings.IMAGEGEN_WEBHOOK_ALLOW_NETWORKS),
        allowed_ports=frozenset(range(1, 65536)),
        allow_userinfo=False,
    )


def check_url(url: str) -> None:
    """What can be said without resolving the name (scheme, credentials, port, a literal address)."""
    try:
        policy().check_url(url)
    except SSRFGuardError as err:
        raise RefusedURL(reason(err, url)) from None


def reason(err: SSRFGuardError, url: str) -> str:
    # ssrfguard's messages quote the whole URL, whose credentials, path and query may carry a receiver's
    # token: only the rule that decided is kept (it names the host or address, never the rest).
    first = (str(err).splitlines() or [""])[0]
    return first.split(" is not permitted: ", 1)[-1].replace(url, "the URL")[:280]
