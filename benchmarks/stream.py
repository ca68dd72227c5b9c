"""Idle WebSockets held open for the benchmarks (benchmarks/serving.py measures the read path with 500 of them)."""

from __future__ import annotations

import asyncio
import json
import threading


SOCKETS = 500


class HeldSockets:
    """`count` WebSockets held open from a thread of their own, each subscribed to one of `task_ids`."""

    def __init__(self, url: str, count: int, task_ids: list[str]):
        self.url, self.count, self.task_ids = url, count, task_ids
        self.ready = threading.Event()
        self.pings = 0
        self.error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self):
        self.thread.start()
        if not self.ready.wait(120) or self.error:
            raise RuntimeError(f"could not open {self.count} sockets: {self.error}")
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(60)

    async def _main(self):
        from websockets.asyncio.client import connect

        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        sockets = []
        try:
            for start in range(0, self.count, 100):
                sockets += await asyncio.gather(*(connect(self.url, open_timeout=60, ping_interval=None)
                                                  for _ in range(start, min(self.count, start + 100))))
            for n, ws in enumerate(sockets):
                await ws.send(json.dumps({"type": "subscribe", "task_id": self.task_ids[n % len(self.task_ids)]}))
            await asyncio.gather(*(ws.recv() for ws in sockets))  # every snapshot
        except BaseException as err:  # noqa: BLE001
            self.error = err
            self.ready.set()
            return
        self.ready.set()

        async def drain(ws):
            async for message in ws:
                self.pings += json.loads(message)["type"] == "ping"

        readers = [asyncio.create_task(drain(ws)) for ws in sockets]
        await self._stop.wait()
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
