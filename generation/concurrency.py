"""A counting semaphore in the shared database: the upstream concurrency quota, across every worker on
every machine. Slots are leased like tasks: a holder that dies frees its slot when the lease expires (at
once when it ran on this machine and its process is gone)."""

from __future__ import annotations

import random
import time
from contextlib import contextmanager
from datetime import timedelta

from django.utils import timezone

from .engines.base import Cancelled
from .models import UpstreamSlot
from .processes import holder_is_dead


def _slots(count: int) -> list[tuple[int, str, object]]:
    rows = list(UpstreamSlot.objects.filter(slot__lt=count).values_list("slot", "holder", "expires_at"))
    if len(rows) < count:
        UpstreamSlot.objects.bulk_create([UpstreamSlot(slot=i) for i in range(count)], ignore_conflicts=True)
        rows = list(UpstreamSlot.objects.filter(slot__lt=count).values_list("slot", "holder", "expires_at"))
    return rows


def try_acquire(*, holder: str, count: int, seconds: float) -> int | None:
    """Take a free slot (or one whose holder is gone); None when all `count` slots are busy."""
    now = timezone.now()
    candidates = [
        (slot, old)
        for slot, old, expires_at in _slots(count)
        if not old or expires_at is None or expires_at < now or holder_is_dead(old)
    ]
    random.shuffle(candidates)
    for slot, old_holder in candidates:
        # Compare-and-set on the holder we saw: two workers racing for one slot cannot both win.
        if UpstreamSlot.objects.filter(slot=slot, holder=old_holder).update(
            holder=holder, acquired_at=now, expires_at=now + timedelta(seconds=seconds)
        ):
            return slot
    return None


def extend(*, slot: int, holder: str, seconds: float) -> bool:
    return bool(
        UpstreamSlot.objects.filter(slot=slot, holder=holder).update(
            expires_at=timezone.now() + timedelta(seconds=seconds)
        )
    )


def release(*, slot: int, holder: str) -> None:
    UpstreamSlot.objects.filter(slot=slot, holder=holder).update(holder="", expires_at=None, acquired_at=None)


@contextmanager
def upstream_slot(*, holder: str, count: int, seconds: float, wait, cancelled):
    """Hold one of `count` slots for the duration of the block. While every slot is busy it calls
    `wait()` (keeps the caller's own lease alive) and gives up when `cancelled()` says so."""
    # Short polls: every idle moment of a slot is paid quota left unused. A waiter's poll is two indexed
    # reads of at most `count` rows, cheap next to the 1 s+ upstream call it waits for.
    delay = 0.01
    while True:
        slot = try_acquire(holder=holder, count=count, seconds=seconds)
        if slot is not None:
            break
        if cancelled():
            raise Cancelled()
        wait()
        time.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 1.5, 0.04)
    try:
        yield lambda secs=seconds: extend(slot=slot, holder=holder, seconds=secs)
    finally:
        release(slot=slot, holder=holder)


