"""One stream process holds 500 concurrent idle sockets, each kept alive by heartbeats, and still serves
a generation from start to finish meanwhile."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from .stream_client import Socket, final, stream_stack

pytestmark = pytest.mark.processes

SOCKETS = 500


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    stack = stream_stack(tmp_path_factory, "stream-idle", IMAGEGEN_STREAM_HEARTBEAT="1")
    yield stack
    stack.close()


async def hold(url: str, count: int, pings: int, during) -> list[int]:
    """Open `count` sockets, run `during` while they are held, then count each one's pings."""
    sockets = []
    for start in range(0, count, 100):  # in batches, as clients arriving do
        sockets += await asyncio.gather(*(connect(url, open_timeout=30, ping_interval=None) for _ in range(start, min(count, start + 100))))

    async def pings_of(ws) -> int:
        seen = 0
        while seen < pings:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
            seen += message["type"] == "ping"
        return seen

    try:
        await asyncio.to_thread(during)
        return await asyncio.gather(*(pings_of(ws) for ws in sockets))
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def test_five_hundred_idle_sockets_are_held_with_heartbeats_while_a_generation_runs(app):
    done = {}

    def generate_meanwhile():
        with Socket(app.stream_url) as ws:
            ws.send({"type": "generate", "request_id": "busy", "body": {"prompt": "amid the crowd"}})
            done["messages"] = ws.until(final)
        done["read"] = app.request("GET", "/api/v1/health")[0]

    pings = asyncio.run(hold(app.stream_url, SOCKETS, 2, generate_meanwhile))
    assert len(pings) == SOCKETS and min(pings) == 2
    assert done["messages"][-2]["type"] == "completed"
    assert done["read"] == 200
    assert app.procs["web"].poll() is None
