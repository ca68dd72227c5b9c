"""IP allowlist (IP白名单): IMAGEGEN_ALLOWED_NETWORKS for everything (API, pages, staff console, stream),
IMAGEGEN_STAFF_ALLOWED_NETWORKS, stricter, for the staff console; both judge the proxy-aware client address
(IMAGEGEN_NUM_PROXIES). Health checks are exempt (IMAGEGEN_ALLOWLIST_EXEMPT). A refused request gets a 403
in the API's envelope and an audit record."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.audit.models import AuditKind
from accounts.audit.services import audit_record
from core.api.clients import client_ip
from core.api.envelope import exception_response
from core.errors import Forbidden


@lru_cache(maxsize=16)
def parse_networks(networks: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(net.strip(), strict=False) for net in networks if net.strip())


def _inside(address: str, networks) -> bool:
    if not networks:
        return True  # no list: no restriction
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in parse_networks(tuple(networks)))


def _exempt(path: str) -> bool:
    return any(path.rstrip("/") == p.rstrip("/") for p in settings.IMAGEGEN_ALLOWLIST_EXEMPT)


def refusal(request) -> str | None:
    """None when the client may go on; else why not (a message for the client)."""
    if _exempt(request.path):
        return None
    address = client_ip(request)
    if not _inside(address, settings.IMAGEGEN_ALLOWED_NETWORKS):
        return _("Your network address is not allowed to use this service.")
    if request.path.startswith("/admin") and not _inside(address, settings.IMAGEGEN_STAFF_ALLOWED_NETWORKS):
        return _("Your network address is not allowed to use the staff console.")
    return None


def refuse(request):
    """The 403 for a refused request, recorded in the audit log."""
    message = refusal(request)
    if message is None:
        return None
    request.audit_skip = True
    audit_record(AuditKind.REFUSED, request=request, status=403)
    return exception_response(Forbidden(message, code="network_not_allowed"))


class NetworkAllowlistMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.IMAGEGEN_ALLOWED_NETWORKS or settings.IMAGEGEN_STAFF_ALLOWED_NETWORKS:
            response = refuse(request)
            if response is not None:
                return response
        return self.get_response(request)
