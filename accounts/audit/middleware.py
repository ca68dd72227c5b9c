"""Records every state-changing request (API, pages, staff console) after its response."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.functional import SimpleLazyObject, empty

from core.api.clients import client_ip

from .services import audit_request, current_request, who, without_keys

# The access lines (one per request, on the console as a web server's access log would be): who asked (user,
# or user/token prefix; "-" for nobody) after the address, never a token. Written by the app rather than the
# server, so that every server that runs it (uvicorn under `serve`, the Docker image) logs the same line.
access_log = logging.getLogger("imagegen.access")


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request.set(request)
        try:
            response = self.get_response(request)
            audit_request(request, response)
            if access_log.isEnabledFor(logging.INFO) and not _quiet_asset(request, response):
                access_log.info(
                    '%s %s "%s %s %s" %s %s', client_ip(request), _who_label(request), request.method,
                    without_keys(request, request.get_full_path()), request.META.get("SERVER_PROTOCOL", "HTTP/1.1"), response.status_code,
                    len(response.content) if not response.streaming else "-",
                )
            return response
        finally:
            current_request.reset(token)


# A gallery page reads dozens of thumbnails: one line each would drown every other line.
_ASSET_ROUTES = {"api:image", "api:image-thumbnail", "javascript-catalog"}


def _quiet_asset(request, response) -> bool:
    if settings.IMAGEGEN_ACCESS_LOG_ASSETS or request.method not in ("GET", "HEAD"):
        return False
    match = getattr(request, "resolver_match", None)
    return response.status_code in (200, 304) and match is not None and match.view_name in _ASSET_ROUTES


def _who_label(request) -> str:
    lazy = request.__dict__.get("user")
    if isinstance(lazy, SimpleLazyObject) and lazy._wrapped is empty and not getattr(request, "audit_user", None):
        # Nobody asked who the session's user is: reading the session now would add Vary: Cookie.
        return "-"
    fields = who(request)
    if fields.get("token_prefix"):
        return f"{fields['username']}/{fields['token_prefix']}"
    return fields.get("username") or "-"
