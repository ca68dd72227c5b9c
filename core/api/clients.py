from rest_framework.throttling import BaseThrottle

from core.access import accounts_mode


def client_id(request) -> str:
    """Who is asking: the signed-in user in accounts mode; else the client address, honouring
    IMAGEGEN_NUM_PROXIES (DRF's NUM_PROXIES) only. Rate limits, the unfinished-task limit and idempotency
    keys all go by it."""
    user = getattr(request, "user", None)
    if accounts_mode() and user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return BaseThrottle().get_ident(request) or "unknown"


def client_ip(request) -> str:
    """The client's address: the connecting one, or behind IMAGEGEN_NUM_PROXIES proxies the entry of
    X-Forwarded-For the nearest proxy wrote (what a client sends itself further left is never believed).
    Network rules (the /metrics allowlist, IMAGEGEN_ALLOWED_NETWORKS) and the audit log go by it."""
    return BaseThrottle().get_ident(request) or ""
