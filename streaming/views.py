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

from accounts.auth import caller
from core.api.envelope import method_not_allowed, plain_api_view
from core.errors import NotFound, RateLimited, Unavailable

from . import messages
from .consumers import read_allowed, standing
from .heartbeat import Ping, get_heartbeat
from .selectors import task_state
from .watcher import get_watcher


# Nothing but GET and HEAD does anything here (anything else is a 405 in the envelope), so the CSRF check
# has nothing to protect and would answer other methods with Django's HTML 403 instead.
@csrf_exempt
@plain_api_view
async def task_events(request, task_id: str):
    if request.method not in ("GET", "HEAD"):
        raise method_not_allowed(request, ("GET", "HEAD"))
    if not isinstance(request, ASGIRequest):
        # Under a bare WSGI server (not imagegen.asgi) an event stream would hold a thread for its whole life,
        # and Django would buffer it: say that no stream runs here.
        raise Unavailable(_("Event streams are served by the stream process, which does not run here."),
                          code="stream_unavailable")
    user = await sync_to_async(caller)(request)
    if user is not None:
        request.user = user  # a token's user: the read rate counts per user
    wait = await sync_to_async(read_allowed)(request)
    if wait is not None:
        raise RateLimited(Throttled(wait).detail, retry_after=wait)
    state = await sync_to_async(task_state)(task_id, user)
    last_id = request.headers.get("Last-Event-ID", "")
    if state.final and last_id == state.version:
        # The client has the final state already; 204 tells an EventSource to stop reconnecting.
        return HttpResponse(status=204)
    response = StreamingHttpResponse(
        _events(state.task_id, user, last_id, translation.get_language(), scope=request.scope),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


async def _events(task_id: str, user, last_id: str, language: str, scope=None):
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
                if user is not None and scope is not None:
                    # Accounts mode: a revoked token, a signed-out session or a deactivated user ends the
                    # stream at its next heartbeat, as it ends HTTP access (and the WebSocket).
                    refused = await sync_to_async(standing)(scope, user)
                    if refused is not None:
                        with translation.override(language):
                            yield messages.sse(messages.error_message(refused[0], str(refused[1])))
                        return
                yield event.sse
                continue
            with translation.override(language):
                if event.kind == "gone":
                    yield messages.sse(messages.gone_message(task_id))
                    yield messages.sse(messages.unsubscribed_message(task_id, "deleted"))
                    return
                if not (event.kind == "snapshot" and event.state.version == last_id):
                    resumed = bool(last_id) and event.kind == "snapshot"
                    yield messages.sse(messages.task_message(event, resumed=resumed), event_id=event.state.version)
                if event.state.final:
                    yield messages.sse(messages.unsubscribed_message(task_id, "finished"))
                    return
    finally:
        heartbeat.discard(queue)
        watcher.unsubscribe(task_id, queue)  # also when the client left while the subscription was made
