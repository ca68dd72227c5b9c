"""A worker's lease on one task row. Every write of a run goes through it and is guarded by it: the write
applies only while the row is still held by this worker in the expected status. A write that finds the row
gone from under it (cancelled, or taken over after the lease ran out) marks the lease lost, and the run
stops at its next step. The lease's end is kept on the row, so a dead worker's task can be taken back."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from . import clock
from .models import GenerationTask, Status


class Lease:
    def __init__(self, task: GenerationTask, holder: str):
        self.task_pk = task.pk
        self.holder = holder  # the worker's holder string: host, pid and this attempt's token
        self.lost = False
        self._deadline = 0.0  # on this process's clock; unknown until this run writes the lease itself

    def write(self, *, held_as: str = Status.PROCESSING, **fields) -> bool:
        """Update the row if this worker still holds it as `held_as`; False (and lost) when it does not."""
        if self.lost:
            return False
        rows = GenerationTask.objects.filter(pk=self.task_pk, lease_holder=self.holder, status=held_as)
        if not rows.update(**fields):
            self.lost = True
            return False
        return True

    def until(self, seconds: float) -> datetime:
        """The lease's end `seconds` from now, plus the safety margin, to write with the next update."""
        self._deadline = time.monotonic() + seconds + settings.IMAGEGEN_LEASE_MARGIN
        return timezone.now() + timedelta(seconds=seconds + settings.IMAGEGEN_LEASE_MARGIN)

    def covers(self, seconds: float) -> bool:
        """The written lease still covers `seconds` from now with half its margin to spare."""
        return self._deadline - settings.IMAGEGEN_LEASE_MARGIN / 2 >= time.monotonic() + seconds

    def hold_until(self, when: datetime, *, held_as: str = Status.PROCESSING) -> bool:
        """Wait until `when`, renewing the lease every step; False if it was lost meanwhile. A write every
        step, not only when the lease runs short: it is also the cancellation check, so a task cancelled
        during the wait stops it at the next step."""
        while True:
            remaining = (when - clock.now()).total_seconds()
            if remaining <= 0:
                return not self.lost
            if not self.write(held_as=held_as, lease_expires_at=self.until(min(remaining, 5) + 5)):
                return False
            clock.sleep(min(remaining, 1.0))
