"""The WebSocket's gatekeepers: the Origin check and the single route."""

from __future__ import annotations

from urllib.parse import urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings


class OriginCheck(OriginValidator):
    """A browser always sends Origin: it must be one of ALLOWED_HOSTS (any port) or CSRF_TRUSTED_ORIGINS.
    A client without Origin is not a browser, so no site can ride on its credentials: it may connect."""

    def __init__(self, application):
        allowed = list(settings.ALLOWED_HOSTS) + list(settings.CSRF_TRUSTED_ORIGINS)
        super().__init__(application, allowed)

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def only_path(path: str, app):
    async def route(scope, receive, send):
        if scope.get("path") != path:
            return await WebsocketDenier()(scope, receive, send)
        return await app(scope, receive, send)

    return route


def origin_of(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.scheme and parsed.netloc else ""
