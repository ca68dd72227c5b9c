"""GET /api/v1/task/{task_id}/events: the task's stream as server-sent events, for clients that cannot
use the WebSocket. Served on the main address by imagegen.asgi's route to Django's ASGI handler; an async view, so a
held stream costs no thread."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import Throttled

from core.api.errors import error_response
from core.errors import NotFound
from imagegen.accounts.auth import WWW_AUTHENTICATE, NotSignedIn, caller

from . import messages
from .consumers import read_allowed
from .heartbeat import Ping, get_heartbeat
from .selectors import task_state
from .watcher import get_watcher


# Nothing but GET and HEAD does anything here (anything else is a 405 in the envelope), so the CSRF check
# has nothing to protect and would answer other methods with Django's HTML 403 instead.
@csrf_exempt
async def task_events(request, task_id: str):
    if request.method not in ("GET", "HEAD"):
        return error_response("method_not_allowed", _('Method "%(method)s" not allowed.') % {"method": request.method},
                              405, headers={"Allow": "GET, HEAD"})
    if not isinstance(request, ASGIRequest):
        return _elsewhere(request)
    try:
        user = await sync_to_async(caller)(request)
    except NotSignedIn as err:
        return error_response(err.code, err.message, err.status,
                              headers={"WWW-Authenticate": WWW_AUTHENTICATE} if err.status == 401 else {})
    if user is not None:
        request.user = user  # a token's user: the read rate counts per user
    wait = await sync_to_async(read_allowed)(request)
    if wait is not None:
        return error_response("rate_limit_exceeded", Throttled(wait).detail, 429, headers={"Retry-After": str(wait)},
                              retry_after=wait)
    try:
        state = await sync_to_async(task_state)(task_id, user)
    except NotFound as err:
        return error_response(err.code, err.message, err.status)
    last_id = request.headers.get("Last-Event-ID", "")
    if state.final and last_id == state.version:
        # The client has the final state already; 204 tells an EventSource to stop reconnecting.
        return HttpResponse(status=204)
    response = StreamingHttpResponse(
        _events(state.task_id, user, last_id, translation.get_language()), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


async def _events(task_id: str, user, last_id: str, language: str):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.IMAGEGEN_STREAM_SSE_LIFETIME
    retry_ms = int(settings.IMAGEGEN_STREAM_SSE_RETRY * 1000)
    watcher = get_watcher()
    heartbeat = get_heartbeat()
    queue: asyncio.Queue = asyncio.Queue()
    try:
        yield f"retry: {retry_ms}\n\n"
        try:
            await watcher.subscribe(task_id, queue, user)
        except NotFound:
            with translation.override(language):
                yield messages.sse(messages.gone_message(task_id))
            return
        heartbeat.add(queue)  # pings come from the process's one heartbeat timer (heartbeat.py)
        while True:
            left = deadline - loop.time()
            if left <= 0:
                # Bounded lifetime: the client reconnects (with Last-Event-ID) after the retry delay.
                yield f": reconnect\nretry: {retry_ms}\n\n"
                return
            try:
                event = await asyncio.wait_for(queue.get(), timeout=left)
            except TimeoutError:
                continue
            if isinstance(event, Ping):
                yield event.sse
                continue
            with translation.override(language):
                if event.kind == "gone":
                    yield messages.sse(messages.gone_message(task_id))
                    yield messages.sse(messages.unsubscribed_message(task_id, "deleted"))
                    return
                if not (event.kind == "snapshot" and event.state.version == last_id):
                    yield messages.sse(messages.task_message(event), event_id=event.state.version)
                if event.state.final:
                    yield messages.sse(messages.unsubscribed_message(task_id, "finished"))
                    return
    finally:
        heartbeat.discard(queue)
        watcher.unsubscribe(task_id, queue)  # also when the client left while the subscription was made


def _elsewhere(request):
    """Under a bare WSGI server (not imagegen.asgi) an event stream would hold a thread for its whole life, and
    Django would buffer it: say that no stream runs here."""
    return error_response("stream_unavailable",
                          _("Event streams are served by the stream process, which does not run here."), 503)
