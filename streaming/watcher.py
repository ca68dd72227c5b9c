"""The per-process watcher: one asyncio task that polls the watched tasks' rows and fans changes out.

Every IMAGEGEN_STREAM_POLL seconds it reads the fingerprints of ALL watched tasks in one query; only a
task whose fingerprint changed has its full body read again (one more indexed query). Subscribers are
asyncio queues; each receives Event(kind, state) with kind "snapshot" (first), "update", "final" (the
task finished; the subscription ends) or "gone" (the task was deleted; the subscription ends).

A queue may also follow the tasks of one owner (the queue page): a user's, or everyone's in open mode. Each
tick then reads, per followed owner, the tasks made since it last looked (one query on a range of the primary
key), and each follower receives Event("queued", task_id, None) for each: it subscribes to them."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import NotFound

from .selectors import TaskState, latest_task_pk, new_tasks, task_fingerprints, task_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    kind: str  # snapshot | update | final | gone | queued
    task_id: str
    state: TaskState | None


class Watcher:
    def __init__(self):
        self.subscribers: dict[str, set[asyncio.Queue]] = {}
        self.states: dict[str, TaskState] = {}
        self.fingerprints: dict[str, tuple | None] = {}
        # Following queue -> [whose tasks (an owner's id; None: everyone's), the highest task pk it was told of].
        self.followers: dict[asyncio.Queue, list] = {}
        self.reads = 0  # queries issued, for the tests and the benchmark
        self._task: asyncio.Task | None = None

    @property
    def watched(self) -> int:
        return len(self.subscribers)

    async def subscribe(self, task_id: str, queue: asyncio.Queue, user=None) -> TaskState:
        """Watch `task_id` for `queue`, which gets the current state as a "snapshot" at once (a finished
        task's final state: its subscription is then over). Raises NotFound."""
        self._ensure_running()
        state = self.states.get(task_id)
        if state is None or task_id not in self.subscribers:
            fingerprint = (await database_sync_to_async(task_fingerprints)([task_id])).get(task_id)
            state = await database_sync_to_async(task_state)(task_id, user)
            self.reads += 2
            # The tick may have read a newer state meanwhile: keep whichever came last.
            if task_id not in self.subscribers:
                self.states[task_id], self.fingerprints[task_id] = state, fingerprint
            state = self.states[task_id]
        elif not state.visible_to(user):
            # Watched already for its owner: someone else learns no more than of a missing task.
            raise NotFound(_("Task not found."))
        queue.put_nowait(Event("snapshot", state.task_id, state))
        if not state.final:
            self.subscribers.setdefault(state.task_id, set()).add(queue)
        return state

    def unsubscribe(self, task_id: str, queue: asyncio.Queue) -> None:
        queues = self.subscribers.get(task_id)
        if queues is None:
            return
        queues.discard(queue)
        if not queues:
            del self.subscribers[task_id]
            self.states.pop(task_id, None)
            self.fingerprints.pop(task_id, None)

    async def follow(self, queue: asyncio.Queue, user=None) -> None:
        """Tell `queue` of every task of `user` (everyone's in open mode: user None) made from now on, as a
        "queued" event."""
        self._ensure_running()
        latest = await database_sync_to_async(latest_task_pk)()
        self.reads += 1
        self.followers[queue] = [user.pk if user is not None else None, latest]

    def unfollow(self, queue: asyncio.Queue) -> None:
        self.followers.pop(queue, None)

    async def _announce_new_tasks(self) -> None:
        # By primary key: on PostgreSQL a task whose insert commits after a later one's may be passed over;
        # the queue page also re-reads its list now and then, which finds it.
        owners: dict = {}
        for owner, seen in self.followers.values():
            owners[owner] = min(seen, owners.get(owner, seen))
        for owner, since in owners.items():
            found = await database_sync_to_async(new_tasks)(owner_id=owner, after_pk=since)
            self.reads += 1
            for queue, follower in list(self.followers.items()):
                if follower[0] != owner:
                    continue
                for pk, task_id in found:
                    if pk > follower[1]:
                        queue.put_nowait(Event("queued", task_id, None))
                        follower[1] = pk

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="imagegen-stream-watcher")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(settings.IMAGEGEN_STREAM_POLL)
            try:
                await self.tick()
            except Exception:  # a database hiccup must not end the stream for everyone
                log.exception("stream watcher tick failed")

    async def tick(self) -> None:
        if self.followers:
            await self._announce_new_tasks()
        ids = list(self.subscribers)
        if not ids:
            return
        current = await database_sync_to_async(task_fingerprints)(ids)
        self.reads += 1
        for task_id in ids:
            if task_id not in self.subscribers:
                continue
            fingerprint = current.get(task_id)
            if fingerprint is None:
                self._fan_out(task_id, Event("gone", task_id, None), end=True)
                continue
            if fingerprint == self.fingerprints.get(task_id):
                continue
            try:
                state = await database_sync_to_async(task_state)(task_id)
            except NotFound:
                self._fan_out(task_id, Event("gone", task_id, None), end=True)
                continue
            self.reads += 1
            if task_id not in self.subscribers:
                continue
            self.fingerprints[task_id] = fingerprint
            previous = self.states.get(task_id)
            if previous is not None and previous.version == state.version:
                continue
            self.states[task_id] = state
            self._fan_out(task_id, Event("final" if state.final else "update", task_id, state), end=state.final)

    def _fan_out(self, task_id: str, event: Event, *, end: bool) -> None:
        queues = self.subscribers.get(task_id, set())
        for queue in list(queues):
            queue.put_nowait(event)
        if end:
            self.subscribers.pop(task_id, None)
            self.states.pop(task_id, None)
            self.fingerprints.pop(task_id, None)


_watchers: dict[int, Watcher] = {}


def get_watcher() -> Watcher:
    """The watcher of the running event loop (uvicorn runs one loop per process)."""
    loop = asyncio.get_running_loop()
    watcher = _watchers.get(id(loop))
    if watcher is None:
        watcher = _watchers[id(loop)] = Watcher()
    return watcher
