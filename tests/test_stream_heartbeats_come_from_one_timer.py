"""Idle streams are kept alive by one heartbeat timer per process, not one per stream: each tick puts the
same ping (encoded once) on every registered stream's queue, and the timer stops when no stream is left."""

from __future__ import annotations

import asyncio
import json

from streaming.heartbeat import Heartbeat, Ping


def test_one_tick_puts_the_same_ping_on_every_stream_and_the_timer_ends_with_the_last_stream(settings):
    settings.IMAGEGEN_STREAM_HEARTBEAT = 0.01
    heartbeat = Heartbeat()

    async def scenario():
        queues = [asyncio.Queue() for _ in range(200)]
        for queue in queues:
            heartbeat.add(queue)
        timer = heartbeat._task
        firsts = [await queue.get() for queue in queues]
        for queue in queues:
            heartbeat.discard(queue)
        await asyncio.wait_for(timer, timeout=30)
        return firsts, timer

    firsts, timer = asyncio.run(scenario())
    assert all(isinstance(ping, Ping) for ping in firsts)
    assert len({id(ping) for ping in firsts}) <= heartbeat.ticks  # one object per tick, shared by all
    assert json.loads(firsts[0].text)["type"] == "ping"
    assert firsts[0].sse.startswith("event: ping\n")
    assert timer.done() and heartbeat._task is None


def test_a_stream_added_after_the_timer_ended_starts_it_again(settings):
    settings.IMAGEGEN_STREAM_HEARTBEAT = 0.01
    heartbeat = Heartbeat()

    async def one_ping():
        queue = asyncio.Queue()
        heartbeat.add(queue)
        ping = await queue.get()
        heartbeat.discard(queue)
        await asyncio.wait_for(heartbeat._task, timeout=30) if heartbeat._task else None
        return ping

    assert isinstance(asyncio.run(one_ping()), Ping)
    assert isinstance(asyncio.run(one_ping()), Ping)  # a new loop: a new timer
