"""The stream's serving design, measured (`make bench`, or `benchmarks/run.py --only stream`):

- the read path (`GET /api/v1/task/{id}` req/s, wrk) on gunicorn (WSGI, as served today) versus the whole
  app under uvicorn (ASGI), same run, same worker count;
- the read path on gunicorn again while the stream process holds 500 idle WebSockets, each subscribed to
  a waiting task (the watcher polls them all the while);
- the stream process's memory idle and with the 500 sockets."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time

from common import ROOT, Stack, rss_kb

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


def bench_stream(tmp, wrk, fast: dict, small: dict, rounds: int = 5) -> dict:
    """The machine is shared and noisy: each comparison alternates its two sides `rounds` times (5 s of wrk
    each) and compares the medians."""
    from statistics import median

    stack = Stack(tmp / "stream", IMAGEGEN_PREVIEW_LATENCY="0", DJANGO_SETTINGS_MODULE="benchmarks.settings",
                  IMAGEGEN_STREAM_HEARTBEAT="5", **fast)
    stack.env["PYTHONPATH"] = str(ROOT)
    try:
        stack.start_stream()
        stack.start_web()
        stack.start_worker()
        task_id = stack.generate(prompt="read path", **small)
        stack.wait_for(lambda: stack.task(task_id)["status"] == "completed", timeout=60, what="the task")
        stack.stop("worker")
        waiting = [stack.generate(prompt=f"waiting {n}", **small) for n in range(10)]  # no worker: they wait
        url = f"http://127.0.0.1:{stack.port}/api/v1/task/{task_id}"
        # The alternative: the whole app under an ASGI server (uvicorn, as many workers as gunicorn has).
        port = stack.stream_port + 1 if stack.stream_port + 1 != stack.port else stack.stream_port + 2
        stack._spawn("asgi", [sys.executable, "-m", "uvicorn", "imagegen.asgi:application", "--host", "127.0.0.1",
                              "--port", str(port), "--workers", "2", "--no-access-log", "--log-level", "warning"])
        stack.wait_for(lambda: stack._ping(port), timeout=60, what="uvicorn")
        asgi_url = f"http://127.0.0.1:{port}/api/v1/task/{task_id}"
        wrk(url, seconds=2)  # warm-up
        wrk(asgi_url, seconds=2)
        stream_pid = stack.procs["stream"].pid
        stream_idle_kb = rss_kb(stream_pid)
        wsgi, held, asgi, pings, held_kb = [], [], [], 0, 0
        for _ in range(rounds):
            wsgi.append(wrk(url, seconds=5))
            with HeldSockets(stack.stream_url, SOCKETS, waiting) as sockets:
                time.sleep(1)
                held.append(wrk(url, seconds=5))
                held_kb = max(held_kb, rss_kb(stream_pid))
                pings += sockets.pings
            asgi.append(wrk(asgi_url, seconds=5))

        def rps(runs):
            return median(r[0] for r in runs)

        def p99(runs):
            return round(median(r[1] for r in runs), 1)

        return {
            "rounds": rounds, "wsgi_rps": round(rps(wsgi)), "wsgi_p99_ms": p99(wsgi),
            "wsgi_each": [round(r[0]) for r in wsgi],
            "held_rps": round(rps(held)), "held_p99_ms": p99(held), "held_each": [round(r[0]) for r in held],
            "held_ratio": round(rps(held) / rps(wsgi), 3),
            "asgi_rps": round(rps(asgi)), "asgi_p99_ms": p99(asgi), "asgi_each": [round(r[0]) for r in asgi],
            "asgi_ratio": round(rps(asgi) / rps(wsgi), 3),
            "sockets": SOCKETS, "watched_tasks": len(waiting), "pings_during": pings,
            "stream_idle_mb": round(stream_idle_kb / 1024, 1), "stream_held_mb": round(held_kb / 1024, 1),
            "per_socket_kb": round((held_kb - stream_idle_kb) / SOCKETS, 1),
            "pass": rps(held) >= 0.95 * rps(wsgi),
        }
    finally:
        stack.close()
