"""Heartbeats of every idle stream of a process from one timer.

Each stream used to wait for its next event with a timeout of IMAGEGEN_STREAM_HEARTBEAT seconds: 500 idle
sockets at 5 s were 100 timers a second firing on the event loop, each raising a TimeoutError through
`wait_for` and cancelling a queue read, and 100 wake-ups a second of the loop's thread, which then takes the
GIL from the request threads serving the read path on the same process (BENCHMARKS.md, section 7). Now one
task per event loop wakes every IMAGEGEN_STREAM_HEARTBEAT seconds and puts one shared Ping on every
registered stream's queue, in one burst: the ping's JSON is encoded once for all of them, and the stream
sends it in its own order with its events (and, in accounts mode, checks its user first, as before)."""

from __future__ import annotations

import asyncio
from functools import cached_property

from django.conf import settings

from . import messages


class Ping:
    """One heartbeat, the same object on every queue of a tick: its text is encoded once."""

    kind = "ping"

    @cached_property
    def message(self) -> dict:
        return messages.ping_message()

    @cached_property
    def text(self) -> str:
        return messages.encode(self.message)

    @cached_property
    def sse(self) -> str:
        return messages.sse(self.message)


class Heartbeat:
    def __init__(self):
        self.queues: set[asyncio.Queue] = set()
        self.ticks = 0  # for the tests
        self._task: asyncio.Task | None = None

    def add(self, queue: asyncio.Queue) -> None:
        self.queues.add(queue)
        loop = asyncio.get_running_loop()
        # (A loop that was closed may have left its id, and an unfinished task, to this one.)
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="imagegen-stream-heartbeat")

    def discard(self, queue: asyncio.Queue) -> None:
        self.queues.discard(queue)

    async def _run(self) -> None:
        while self.queues:
            await asyncio.sleep(settings.IMAGEGEN_STREAM_HEARTBEAT)
            ping = Ping()
            for queue in list(self.queues):
                queue.put_nowait(ping)
            self.ticks += 1
        self._task = None  # no stream left: the next one starts the timer again (no await since the check)


_heartbeats: dict[int, Heartbeat] = {}


def get_heartbeat() -> Heartbeat:
    """The heartbeat of the running event loop (uvicorn runs one loop per process)."""
    loop = asyncio.get_running_loop()
    heartbeat = _heartbeats.get(id(loop))
    if heartbeat is None:
        heartbeat = _heartbeats[id(loop)] = Heartbeat()
    return heartbeat
