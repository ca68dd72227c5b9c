"""The stream's ASGI application (Origin check, routing, consumer) driven in this process through asgiref's
ApplicationCommunicator: the same code uvicorn runs, for checks that need no worker. (Channels' own
WebsocketCommunicator needs daphne installed.)"""

from __future__ import annotations

import asyncio
import json

from asgiref.testing import ApplicationCommunicator


class WebsocketCommunicator(ApplicationCommunicator):
    def __init__(self, app, path: str, headers):
        super().__init__(app, {"type": "websocket", "path": path, "raw_path": path.encode(), "query_string": b"",
                               "headers": headers, "subprotocols": [], "client": ("127.0.0.1", 50000)})

    async def connect(self, timeout: float = 10):
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        return True, response.get("subprotocol")

    async def send_json_to(self, data) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_from(self, timeout: float = 10):
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            raise Closed(response.get("code", 1000))
        return response.get("text") or response.get("bytes")

    async def disconnect(self, code: int = 1000, timeout: float = 10) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


class Closed(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code

PATH = "/api/v1/generate/stream"


def application():
    from imagegen.asgi import application as app

    return app


def communicator(*, host: str = "127.0.0.1:8000", origin: str | None = None, cookie: str | None = None,
                 token: str | None = None, scheme: str = "ws") -> WebsocketCommunicator:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    comm = WebsocketCommunicator(application(), PATH, headers=headers)
    comm.scope["scheme"] = scheme
    comm.scope["server"] = (host.rsplit(":", 1)[0], int(host.rsplit(":", 1)[1]) if ":" in host else 80)
    return comm


async def receive_json(comm, timeout: float = 10) -> dict:
    while True:
        message = json.loads(await comm.receive_from(timeout=timeout))
        if message.get("type") != "ping":
            return message


def run(coro):
    return asyncio.run(coro)
