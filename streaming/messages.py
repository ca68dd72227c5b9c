"""The stream's messages, the same over the WebSocket (one JSON text frame each) and server-sent events
(`event:` = type, `id:` = the task's version, `data:` = the JSON).

snapshot   the task's current state, first message of every subscription (a finished task's final state)
update     the state, stage or progress changed
completed / failed / cancelled   the final state, with image URLs; the subscription then ends
unsubscribed   a subscription ended (reason: finished | deleted | requested)
following_queue   follow_queue was accepted: the snapshot of each new task of yours follows as it is made
ping       heartbeat
error      the API's error envelope, with the request_id (or task_id) it answers
"""

from __future__ import annotations

import json
import time

from django.utils.translation import gettext as _

from core.api.envelope import envelope

from .selectors import localized
from .watcher import Event


def task_message(event: Event, *, resumed: bool = False) -> dict:
    """`resumed`: the client has an older state of this task (an event stream reconnecting with
    Last-Event-ID), so the current state is sent as the change it is to that client, and a final state
    as its final message, which an EventSource listening for `completed` must not miss."""
    state = event.state
    if event.kind == "snapshot" and resumed:
        event = Event("update", event.task_id, state)
    if event.kind == "snapshot" or not state.final:
        kind = "snapshot" if event.kind == "snapshot" else "update"
    else:
        kind = state.body["status"]
    return {"type": kind, "task_id": state.task_id, "version": state.version, "task": localized(state.body)}


def gone_message(task_id: str) -> dict:
    return error_message("not_found", _("Task not found."), task_id=task_id)


def unsubscribed_message(task_id: str, reason: str) -> dict:
    return {"type": "unsubscribed", "task_id": task_id, "reason": reason}


def ping_message() -> dict:
    return {"type": "ping", "time": round(time.time(), 3)}


def error_message(code: str, message, details=None, **extra) -> dict:
    return {"type": "error", **{k: v for k, v in extra.items() if v is not None}, **envelope(code, message, details)}


def encode(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False, default=str)


def sse(message: dict, *, event_id: str | None = None) -> str:
    lines = [f"event: {message['type']}"]
    if event_id:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {encode(message)}")
    return "\n".join(lines) + "\n\n"
