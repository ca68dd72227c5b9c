from __future__ import annotations

from .models import AuditEvent


def audit_events(*, since=None, until=None, username: str | None = None, kind: str | None = None):
    """Events oldest first, filtered."""
    events = AuditEvent.objects.order_by("at", "id")
    if since is not None:
        events = events.filter(at__gte=since)
    if until is not None:
        events = events.filter(at__lte=until)
    if username:
        events = events.filter(username=username)
    if kind:
        events = events.filter(kind=kind)
    return events
