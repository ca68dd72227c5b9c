"""The one application behind HOST:PORT (`make run`, and the web container behind nginx):
`uvicorn imagegen.asgi:application`.

- WebSocket: /api/v1/generate/stream, the stream consumer behind an Origin check; any other path is refused, and
  so is every socket when IMAGEGEN_STREAM_URL is "off" (`manage.py serve --no-stream`: pages poll).
- HTTP /api/v1/task/{id}/events: Django's ASGI handler, so that a held event stream costs no thread.
- Every other HTTP request: the WSGI application, run on a thread pool of this process (a2wsgi). Django's own
  ASGI path runs sync views one at a time per process and was measured far slower on the read path; this
  hand-off keeps it at gunicorn's figures (BENCHMARKS.md, "Serving: one address").
"""

from __future__ import annotations

import os
import re

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagegen.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

from imagegen import startup  # noqa: E402

startup.point_counters_at_the_metrics_dir()

django_asgi = get_asgi_application()  # sets Django up first

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.security.websocket import WebsocketDenier  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from streaming.consumers import StreamConsumer  # noqa: E402
from streaming.security import OriginCheck, only_path  # noqa: E402

STREAM_PATH = "/api/v1/generate/stream"
EVENTS_PATH = re.compile(r"^/api/v1/task/[^/]+/events$")
# Threads for the WSGI hand-off: a request holds one for its whole life (gunicorn's gthread: --threads).
THREADS = int(os.environ.get("IMAGEGEN_WEB_THREADS", "8"))

wsgi = WSGIMiddleware(get_wsgi_application(), workers=THREADS)
websocket = OriginCheck(only_path(STREAM_PATH, StreamConsumer.as_asgi()))
if settings.IMAGEGEN_STREAM_URL == "off":
    websocket = WebsocketDenier()


async def application(scope, receive, send):
    kind = scope["type"]
    if kind == "http":
        if EVENTS_PATH.match(scope["path"]):
            return await django_asgi(scope, receive, send)
        return await wsgi(scope, receive, send)
    if kind == "websocket":
        return await websocket(scope, receive, send)
    if kind == "lifespan":
        return await _lifespan(receive, send)
    raise ValueError(f"no handler for ASGI scope type {kind!r}")


async def _lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            wsgi.executor.shutdown(wait=False, cancel_futures=True)
            await send({"type": "lifespan.shutdown.complete"})
            return
