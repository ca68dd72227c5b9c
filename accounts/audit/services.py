"""Writing the audit log, and its retention. A failure to write is logged and never fails the request."""

from __future__ import annotations

import contextvars
import ipaddress
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.access import accounts_mode
from core.api.clients import client_ip

from .models import AuditEvent, AuditKind

log = logging.getLogger(__name__)

# The request being served, so that services deep in a call (token creation) know where it came from.
current_request: contextvars.ContextVar = contextvars.ContextVar("imagegen_audit_request", default=None)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _ip(request) -> str | None:
    try:
        return str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None


def who(request) -> dict:
    """user, username, token_prefix and client_id of a request (nothing secret)."""
    user = getattr(request, "audit_user", None)
    if user is None:
        candidate = getattr(request, "user", None)
        user = candidate if candidate is not None and getattr(candidate, "is_authenticated", False) else None
    fields = {"user": user, "username": user.get_username() if user is not None else "",
              "token_prefix": getattr(request, "audit_token_prefix", "")}
    if user is None and not accounts_mode():
        fields["client_id"] = f"ip:{_ip(request) or 'unknown'}"
    return fields


# URL arguments that are keys (a share link's, a password-reset token): whoever holds one has the access it
# grants, so neither the audit log nor the access lines write them down.
KEY_URL_ARGUMENTS = frozenset({"token"})


def without_keys(request, path: str) -> str:
    """`path` (or the full path) with the keys it carries replaced by "<token>"."""
    match = getattr(request, "resolver_match", None)
    for name in KEY_URL_ARGUMENTS:
        value = match.kwargs.get(name) if match is not None else None
        if value:
            path = path.replace(str(value), f"<{name}>")
    return path


def audit_record(kind: str, *, request=None, status: int | None = None, object_id: str = "", at_once: bool = False,
                 **fields) -> None:
    """One audit event; request (default: the one being served) supplies who, from where and what.
    `at_once` writes it now instead of with the next batch."""
    request = request if request is not None else current_request.get()
    values = {"kind": kind, "status": status, "object_id": str(object_id or "")[:100]}
    try:
        if request is not None:
            match = getattr(request, "resolver_match", None)
            values.update(who(request), ip=_ip(request), method=(request.method or "")[:10],
                          path=without_keys(request, request.path)[:300],
                          route=str((match.route if match else "") or "")[:200])
            if not values["object_id"] and match and match.kwargs:
                ids = [value for name, value in match.kwargs.items() if name not in KEY_URL_ARGUMENTS]
                values["object_id"] = str(ids[0] if ids else "")[:100]
        values.update(fields)
        event = AuditEvent(**values)
        if settings.IMAGEGEN_AUDIT_FLUSH_SECONDS > 0 and not at_once:
            _writer.add(event)
        else:
            event.save()
    except Exception:  # noqa: BLE001  (the audit log must never turn a request into a 500)
        log.exception("could not write an audit event (%s %s)", kind, values.get("path", ""))


class _BufferedWriter:
    """Events written in batches by a thread of this process, every IMAGEGEN_AUDIT_FLUSH_SECONDS: one
    commit per batch instead of one per request keeps the log's cost on the create path small
    (BENCHMARKS.md, "Audit log"). Flushed at exit; a process killed outright loses at most that interval."""

    def __init__(self):
        import threading

        self.lock = threading.Lock()
        self.pending: list[AuditEvent] = []
        self.pid = None
        self.wake = threading.Event()

    def add(self, event: AuditEvent) -> None:
        import os

        with self.lock:
            self.pending.append(event)
            if self.pid != os.getpid():  # first use in this process (or after a fork)
                self._start()

    def _start(self) -> None:
        import atexit
        import os
        import threading

        self.pid = os.getpid()
        threading.Thread(target=self._run, name="imagegen-audit-writer", daemon=True).start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            interval = settings.IMAGEGEN_AUDIT_FLUSH_SECONDS
            if interval <= 0:  # batching was turned off (a test's settings): write what is left and stop
                with self.lock:
                    self.pid = None
                self.flush()
                return
            self.wake.wait(interval)
            self.flush()

    def flush(self) -> None:
        from django.db import close_old_connections

        with self.lock:
            batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            AuditEvent.objects.bulk_create(batch)
        except Exception:  # noqa: BLE001
            log.exception("could not write %d audit events", len(batch))
        finally:
            close_old_connections()


_writer = _BufferedWriter()


def audit_flush() -> None:
    """Write what this process has buffered now (commands and tests that read the log right away)."""
    _writer.flush()


def audit_request(request, response) -> None:
    """After a response: state-changing requests (and every request refused by the allowlist) are recorded."""
    if request.method in SAFE_METHODS or getattr(request, "audit_skip", False):
        return
    kind = AuditKind.STAFF if request.path.startswith("/admin/") else AuditKind.REQUEST
    audit_record(kind, request=request, status=response.status_code)


def audit_prune(*, now=None) -> int:
    """Delete events older than IMAGEGEN_AUDIT_RETENTION_DAYS (0: keep for ever). Returns how many."""
    days = settings.IMAGEGEN_AUDIT_RETENTION_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _by_model = AuditEvent.objects.filter(at__lt=cutoff).delete()
    return deleted


def audit_event_json(event: AuditEvent) -> str:
    return json.dumps({
        "at": event.at.isoformat(), "kind": event.kind, "user_id": event.user_id, "username": event.username,
        "token_prefix": event.token_prefix, "client_id": event.client_id, "ip": event.ip, "method": event.method,
        "route": event.route, "path": event.path, "object_id": event.object_id, "status": event.status,
    }, ensure_ascii=False)
