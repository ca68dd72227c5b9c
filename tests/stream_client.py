"""Real clients of the stream process for the tests: a WebSocket client (the `websockets` library) and a
server-sent events client (a raw HTTP connection, parsed by the spec's rules)."""

from __future__ import annotations

import http.client
import json

from websockets.sync.client import connect


class Socket:
    """A WebSocket to /api/v1/generate/stream that reads JSON messages, each within `timeout` seconds."""

    def __init__(self, url: str, *, timeout: float = 30, **headers):
        extra = {k.replace("_", "-"): v for k, v in headers.items() if k != "origin"}
        self._connection = connect(url, additional_headers=extra, origin=headers.get("origin"), open_timeout=10)
        self.ws = self._connection.__enter__()
        self.timeout = timeout
        self.seen: list[dict] = []

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message))

    def send_raw(self, text: str) -> None:
        self.ws.send(text)

    def receive(self, *, skip_pings: bool = True) -> dict:
        while True:
            message = json.loads(self.ws.recv(timeout=self.timeout))
            self.seen.append(message)
            if not (skip_pings and message["type"] == "ping"):
                return message

    def until(self, predicate, *, limit: int = 500) -> list[dict]:
        """Messages up to and including the first that `predicate` accepts."""
        got = []
        for _ in range(limit):
            message = self.receive()
            got.append(message)
            if predicate(message):
                return got
        raise AssertionError(f"no matching message in {limit}: {got[-5:]}")

    def close(self) -> None:
        self._connection.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class EventStream:
    """GET /api/v1/task/{id}/events, read event by event. `events` are dicts with event, id, data (JSON),
    retry; comments are dropped."""

    def __init__(self, port: int, task_id: str, *, last_event_id: str | None = None, timeout: float = 30, **headers):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        headers = {k.replace("_", "-"): v for k, v in headers.items()}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", f"/api/v1/task/{task_id}/events", headers={"Accept": "text/event-stream", **headers})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.content_type = self.response.getheader("Content-Type", "")

    def json(self) -> dict:
        return json.loads(self.response.read())

    def events(self):
        """Every event until the server ends the response."""
        event: dict = {}
        while True:
            raw = self.response.readline()
            if not raw:
                if event:
                    yield event
                return
            line = raw.decode().rstrip("\n")
            if line == "":
                if event:
                    if "data" in event:
                        event["data"] = json.loads(event["data"])
                    yield event
                event = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            event[name] = value[1:] if value.startswith(" ") else value

    def close(self) -> None:
        self.conn.close()


def stream_stack(tmp_path_factory, name: str, *, static: bool = False, **env):
    """web, stream and worker as three real processes; the watcher reads every 0.1 s so that a 1.5 s
    preview run shows each of its stages."""
    from .stack import Stack

    stack = Stack(tmp_path_factory.mktemp(name) / "data", IMAGEGEN_PREVIEW_LATENCY="1.5", IMAGEGEN_STREAM_POLL="0.1",
                  static=static, **env)
    stack.start_stream()
    stack.start_web()
    stack.start_worker()
    return stack


def final(message: dict) -> bool:
    return message["type"] == "unsubscribed"
