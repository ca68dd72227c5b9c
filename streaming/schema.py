"""drf-spectacular documents DRF views only: this hook adds the server-sent events endpoint (an async
Django view, served by the stream process) and describes the WebSocket, which OpenAPI cannot express."""

from __future__ import annotations

EVENTS_DESCRIPTION = """\
The task's state as server-sent events (`text/event-stream`), for clients that cannot use the WebSocket
`/api/v1/generate/stream`. Served by the stream process (nginx routes this path to it).

Each event has `event:` = the message type, `id:` = the task's version, `data:` = one JSON message:
`snapshot` (first: the current state, as GET /api/v1/task/{task_id} returns it, under `task`), `update`
(status, stage or progress changed), then the final `completed` / `failed` / `cancelled` (with image URLs)
followed by `unsubscribed`, after which the response ends. `ping` every IMAGEGEN_STREAM_HEARTBEAT seconds;
`error` (the error envelope) if the task is deleted.

Reconnect with `Last-Event-ID`: the current version is not sent again, an older one gets the current state
as `update`, or as its final message (`completed`/`failed`/`cancelled`) if the task finished meanwhile;
a finished task whose final version the client has answers 204 (an EventSource stops).
A response lasts at most IMAGEGEN_STREAM_SSE_LIFETIME seconds, then ends with a `retry:` hint."""

WEBSOCKET_DESCRIPTION = """

**WebSocket `/api/v1/generate/stream`** (not expressible in OpenAPI; see README, "Real-time stream"):
send `{"type": "generate", "request_id": "c1", "body": {...POST /api/v1/generate body...}}`,
`{"type": "subscribe", "task_id": "..."}` or `{"type": "unsubscribe", "task_id": "..."}`; receive `created`,
then the same messages as the server-sent events, as JSON text frames. `{"type": "follow_queue"}` (answered
by `following_queue`) subscribes you to every task of yours made from then on, from any device or the CLI
(everyone's in open mode): each comes as a `snapshot`."""


def add_stream_paths(result, generator, request, public):
    result.setdefault("paths", {})["/api/v1/task/{task_id}/events"] = {
        "get": {
            "operationId": "task_events",
            "summary": "Follow a task's state as server-sent events",
            "description": EVENTS_DESCRIPTION,
            "tags": ["task"],
            "parameters": [
                {"in": "path", "name": "task_id", "required": True, "schema": {"type": "string"}},
                {"in": "header", "name": "Last-Event-ID", "required": False, "schema": {"type": "string"},
                 "description": "The `id:` of the last event received: resume without duplicates."},
            ],
            "responses": {
                "200": {
                    "description": "An event stream (snapshot, update, completed/failed/cancelled, unsubscribed, ping, error).",
                    "content": {"text/event-stream": {"schema": {"type": "string"},
                                                      "example": 'event: snapshot\nid: 3f2a9c0d1e2b4a5c\ndata: {"type": "snapshot", "task_id": "...", "version": "3f2a9c0d1e2b4a5c", "task": {}}\n\n'}},
                },
                "204": {"description": "The task is finished and Last-Event-ID is its final version: nothing more to send."},
                "404": {"description": "not_found", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
    }
    info = result.setdefault("info", {})
    info["description"] = (info.get("description") or "") + WEBSOCKET_DESCRIPTION
    return result
