"""The WebSocket's gatekeepers: the Origin check and the single route."""

from __future__ import annotations

from urllib.parse import urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings

from accounts import networks

from .consumers import scope_request


class OriginCheck(OriginValidator):
    """A browser always sends Origin: it must pass the HTTP CSRF check's origin rule (scheme, host and port
    of the request itself, or one of CSRF_TRUSTED_ORIGINS), so that a page on another port or scheme of an
    allowed host cannot ride on the visitor's cookie (the stream is served on the pages' own address). A client without Origin is not a browser, so no site can ride on its credentials: it may connect."""

    def __init__(self, application):
        super().__init__(application, [])

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("OriginCheck is for WebSocket connections only")
        if not await network_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        origins = [value for name, value in scope.get("headers", []) if name == b"origin"]
        if not origins or origin_allowed(scope, origins[0].decode("latin1")):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


async def network_allowed(scope) -> bool:
    """IMAGEGEN_ALLOWED_NETWORKS at the handshake (a refused socket is audited, as a refused request is)."""
    from channels.db import database_sync_to_async

    if not settings.IMAGEGEN_ALLOWED_NETWORKS:
        return True
    request = scope_request(scope)
    return await database_sync_to_async(lambda: networks.refuse(request) is None)()


def origin_allowed(scope, origin: str) -> bool:
    from django.middleware.csrf import CsrfViewMiddleware

    request = scope_request(scope, headers={"origin": origin})
    return CsrfViewMiddleware(lambda r: None)._origin_verified(request)


def only_path(path: str, app):
    async def route(scope, receive, send):
        if scope.get("path") != path:
            return await WebsocketDenier()(scope, receive, send)
        return await app(scope, receive, send)

    return route


def origin_of(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.scheme and parsed.netloc else ""
