"""WebSocket /api/v1/generate/stream: submit generations and follow several tasks on one socket.

Client → server (JSON text frames):
  {"type": "generate", "request_id": "c1", "body": {...as POST /api/v1/generate...}, "idempotency_key": "..."}
  {"type": "subscribe", "task_id": "..."}      {"type": "unsubscribe", "task_id": "..."}
  {"type": "follow_queue"}   every task of yours (everyone's in open mode) made from now on, from any device, is
                             subscribed to for you: its snapshot comes as if you had asked
Server → client: see streaming.messages. A malformed message gets an `error` and the socket stays open.
"""

from __future__ import annotations

import asyncio
import json
import logging
from io import BytesIO

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.urls import resolve, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from rest_framework.exceptions import Throttled

from accounts.audit.services import audit_request
from accounts.auth import NotSignedIn, caller, not_signed_in_message
from core.api.throttling import ReadThrottle
from core.errors import ApplicationError, RateLimited, ValidationFailed
from generation.apis import GenerateApi

from . import messages
from .heartbeat import Ping, get_heartbeat
from .watcher import Event, get_watcher

log = logging.getLogger(__name__)

MAX_TASK_ID = 64


def scope_headers(scope) -> dict[str, str]:
    return {name.decode("latin1").lower(): value.decode("latin1") for name, value in scope.get("headers", [])}


def scope_language(scope) -> str:
    """The language a page request with these headers would get (cookie, then Accept-Language)."""
    headers = scope_headers(scope)
    request = HttpRequest()
    request.META = {"HTTP_ACCEPT_LANGUAGE": headers.get("accept-language", "")}
    request.COOKIES = parse_cookie(headers.get("cookie", ""))
    return translation.get_language_from_request(request)


def scope_request(scope, *, method: str = "GET", path: str = "", body: bytes = b"", language: str = "en",
                  headers: dict | None = None, user=None) -> WSGIRequest:
    """A Django request standing for this socket: its client address (and X-Forwarded-For, read with
    IMAGEGEN_NUM_PROXIES as for any request), host and language. No cookies: the Origin check at the
    handshake stands in for the CSRF check a cookie-bearing browser request would need."""
    sent = scope_headers(scope)
    client = scope.get("client") or ("", 0)
    server = scope.get("server") or ("localhost", 80)
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path or scope.get("path", "/"), "SCRIPT_NAME": "",
        "SERVER_NAME": str(server[0]), "SERVER_PORT": str(server[1]), "REMOTE_ADDR": client[0] or "",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.input": BytesIO(body),
        "wsgi.url_scheme": "https" if scope.get("scheme") == "wss" else "http",
        "HTTP_HOST": sent.get("host", "localhost"), "HTTP_ACCEPT": "application/json",
        "HTTP_ACCEPT_LANGUAGE": language,
    }
    for name in ("x-forwarded-for", "x-forwarded-proto", "user-agent"):
        if name in sent:
            environ["HTTP_" + name.upper().replace("-", "_")] = sent[name]
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    request = WSGIRequest(environ)
    if user is not None:
        # The socket's user (accounts mode), resolved once at the handshake: limits and ownership go by it.
        request.user = request._force_auth_user = user
    return request


def socket_user(scope, *, recheck: bool = False):
    """Who opened the socket: None in open mode; in accounts mode the user of its bearer token or of its
    session cookie (the Origin check has vouched for a browser's). NotSignedIn otherwise. A signing token's
    signature is checked at the handshake (its nonce cannot be used again): `recheck` skips it.
    The socket's token, if any, is left in SOCKET_TOKEN for its scopes."""
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    sent = scope_headers(scope)
    names = ("cookie", "authorization", "x-imagegen-timestamp", "x-imagegen-nonce", "x-imagegen-signature")
    request = scope_request(scope, headers={name: sent[name] for name in names if name in sent})
    request.signature_checked = recheck
    SessionMiddleware(lambda r: None).process_request(request)
    AuthenticationMiddleware(lambda r: None).process_request(request)
    user = caller(request)
    token = getattr(request, "api_token", None)
    scope["imagegen_token_scopes"] = token.scope_list if token is not None else None
    scope["imagegen_token_prefix"] = getattr(request, "audit_token_prefix", "")
    return user


def standing(scope, user) -> tuple[str, object] | None:
    """None while the credentials the connection was opened with still stand for `user` (read again from the
    database: token, session, the user's active flag); else the error code and message an HTTP request
    with them would get now."""
    try:
        now = socket_user(scope, recheck=True)
    except NotSignedIn as err:
        return err.code, err.message
    if now is not None and now.pk == user.pk:
        return None
    return "not_authenticated", not_signed_in_message()


def generate(scope, body, idempotency_key, language: str, user=None) -> tuple[int, dict]:
    """POST /api/v1/generate, run in-process through the very same view: same validation, services,
    throttling and error envelope."""
    headers = {"Idempotency-Key": str(idempotency_key)} if idempotency_key is not None else {}
    request = scope_request(scope, method="POST", path=reverse("api:generate"), body=json.dumps(body).encode(),
                            language=language, headers=headers, user=user)
    with translation.override(language):
        response = GenerateApi.as_view()(request)
        response.render()
    # Audited like POST /api/v1/generate over HTTP (which the audit middleware records).
    request.resolver_match = resolve(request.path)
    request.audit_token_prefix = scope.get("imagegen_token_prefix", "")
    if user is not None:
        request.audit_user = user
    audit_request(request, response)
    return response.status_code, json.loads(response.content)


def read_allowed(request) -> int | None:
    """None when the client may read once more (IMAGEGEN_READ_RATE, as GET /task/{id}); else the seconds
    to wait."""
    throttle = ReadThrottle()
    return None if throttle.allow_request(request, None) else throttle.wait()


class StreamConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.language = scope_language(self.scope)
        try:
            self.user = await database_sync_to_async(socket_user)(self.scope)
        except NotSignedIn as err:
            self.closed = True
            await self.accept()
            with translation.override(self.language):
                await self._send(messages.error_message(err.code, str(err.message)))
            await self.close(code=4401)
            return
        self.queue: asyncio.Queue = asyncio.Queue()
        self.tasks: set[str] = set()
        self.watcher = get_watcher()
        self.closed = False
        await self.accept()
        self.sender = asyncio.get_running_loop().create_task(self._send_loop())
        get_heartbeat().add(self.queue)

    async def disconnect(self, code):
        self.closed = True
        sender = getattr(self, "sender", None)
        if sender is not None:
            sender.cancel()
        if hasattr(self, "queue"):
            get_heartbeat().discard(self.queue)
        for task_id in list(getattr(self, "tasks", ())):
            self.watcher.unsubscribe(task_id, self.queue)
        if hasattr(self, "watcher"):
            self.watcher.unfollow(self.queue)

    # -- client → server

    async def _still_signed_in(self) -> bool:
        """Accounts mode: the socket's credentials are checked again (a revoked token, a signed-out session
        or a deactivated user end the socket, as they end HTTP access). False after closing it with 4401."""
        if self.user is None:
            return True
        try:
            user = await database_sync_to_async(socket_user)(self.scope, recheck=True)
        except NotSignedIn as err:
            code, message = err.code, err.message
        else:
            if user is not None and user.pk == self.user.pk:
                self.user = user  # fresh flags and limits
                return True
            code, message = "not_authenticated", not_signed_in_message()
        with translation.override(self.language):
            await self._send(messages.error_message(code, str(message)))
        await self.close(code=4401)
        self.closed = True
        return False

    async def receive(self, text_data=None, bytes_data=None):
        if self.closed or not await self._still_signed_in():
            return
        with translation.override(self.language):
            try:
                message = json.loads(text_data if text_data is not None else bytes_data)
            except (ValueError, TypeError):
                await self._send(messages.error_message("invalid_json", _("The message is not valid JSON.")))
                return
            if not isinstance(message, dict):
                await self._send(messages.error_message("validation_error", _("The message must be a JSON object.")))
                return
            request_id = message.get("request_id")
            if request_id is not None and not isinstance(request_id, (str, int)):
                request_id = None
            kind = message.get("type")
            handler = {"generate": self._generate, "subscribe": self._subscribe, "unsubscribe": self._unsubscribe,
                       "follow_queue": self._follow_queue}.get(kind)
            if handler is None:
                await self._send(messages.error_message(
                    "validation_error",
                    _("Unknown message type; use generate, subscribe, unsubscribe or follow_queue."),
                    {"type": [_("Unknown message type.")]}, request_id=request_id))
                return
            try:
                await handler(message, request_id)
            except ApplicationError as err:
                await self._send(messages.error_message(err.code, err.message, err.details, request_id=request_id,
                                                        task_id=message.get("task_id") if kind != "generate" else None,
                                                        **err.extra))

    def _task_id(self, message) -> str:
        task_id = message.get("task_id")
        if not isinstance(task_id, str) or not task_id or len(task_id) > MAX_TASK_ID:
            raise ValidationFailed(_("task_id: a task id is required."), details={"task_id": [_("A task id is required.")]})
        return task_id

    async def _generate(self, message, request_id):
        scopes = self.scope.get("imagegen_token_scopes")
        if scopes is not None and "generate" not in scopes:
            raise ApplicationError(_("This API token may not %(what)s (its scopes: %(scopes)s).")
                                   % {"what": _("generate images"), "scopes": ", ".join(scopes)},
                                   code="permission_denied", status=403)
        body = message.get("body")
        if not isinstance(body, dict):
            raise ValidationFailed(_("The request body must be a JSON object."),
                                   details={"body": [_("The request body must be a JSON object.")]})
        status, payload = await database_sync_to_async(generate)(self.scope, body, message.get("idempotency_key"), self.language,
                                                                 self.user)
        if status != 201:
            await self._send({"type": "error", "request_id": request_id, "status": status, **payload})
            return
        await self._send({"type": "created", "request_id": request_id, "task": payload})
        # The creation was rate-limited already; following it is not counted as a read.
        await self._subscribe({"task_id": payload["task_id"]}, request_id, counted=False)

    async def _subscribe(self, message, request_id, counted: bool = True):
        task_id = self._task_id(message)
        if task_id in self.tasks:
            return
        limit = settings.IMAGEGEN_STREAM_MAX_SUBSCRIPTIONS
        if len(self.tasks) >= limit:
            raise RateLimited(_("Too many subscriptions on this socket (limit %(limit)d).") % {"limit": limit},
                              retry_after=1, details={"limit": limit})
        # A subscription reads the task, as a GET would: the same read rate applies.
        wait = await sync_to_async(read_allowed)(scope_request(self.scope, user=self.user)) if counted else None
        if wait is not None:
            raise RateLimited(str(Throttled(wait).detail), retry_after=wait)
        state = await self.watcher.subscribe(task_id, self.queue, self.user)
        if self.closed:  # the client left while the subscription was made
            self.watcher.unsubscribe(state.task_id, self.queue)
        elif not state.final:
            self.tasks.add(state.task_id)

    async def _follow_queue(self, message, request_id):
        # Following reads the queue as GET /api/v1/queue would: the same read rate applies, once.
        wait = await sync_to_async(read_allowed)(scope_request(self.scope, user=self.user))
        if wait is not None:
            raise RateLimited(str(Throttled(wait).detail), retry_after=wait)
        await self.watcher.follow(self.queue, self.user)
        if self.closed:
            self.watcher.unfollow(self.queue)
            return
        await self._send({"type": "following_queue", "request_id": request_id})

    async def _unsubscribe(self, message, request_id):
        task_id = self._task_id(message)
        if task_id in self.tasks:
            self.tasks.discard(task_id)
            self.watcher.unsubscribe(task_id, self.queue)
        await self._send(messages.unsubscribed_message(task_id, "requested"))

    # -- server → client

    async def _send(self, message: dict) -> None:
        await self.send(text_data=messages.encode(message))

    async def _send_loop(self):
        while True:
            event: Event | Ping = await self.queue.get()
            if isinstance(event, Ping):  # the process's heartbeat (heartbeat.py): one timer for every socket
                if not await self._still_signed_in():
                    return
                await self.send(text_data=event.text)
                continue
            if event.kind == "queued":  # a new task of the queue this socket follows: subscribe to it
                try:
                    await self._subscribe({"task_id": event.task_id}, None, counted=False)
                except ApplicationError:
                    pass  # over the subscription limit, or deleted meanwhile: the page's re-read shows it
                continue
            if event.kind != "snapshot" and event.task_id not in self.tasks:
                continue  # queued before the client unsubscribed
            with translation.override(self.language):
                if event.kind == "gone":
                    self.tasks.discard(event.task_id)
                    await self._send(messages.gone_message(event.task_id))
                    await self._send(messages.unsubscribed_message(event.task_id, "deleted"))
                    continue
                await self._send(messages.task_message(event))
                if event.state.final:
                    self.tasks.discard(event.task_id)
                    await self._send(messages.unsubscribed_message(event.task_id, "finished"))
