"""The clock a task run waits on, replaceable so that tests never sleep for a retry policy.

A run computes its retry time with `clock.now()` and waits for it with `clock.sleep()`. Production uses
the wall clock; a test installs a clock of its own (see tests/conftest.py `fake_clock`) that moves time
forward instead of sleeping, and can act at a chosen moment of the wait (cancel the task, take it over).
Leases are not measured on this clock: they are promises to other processes, so they use real time.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.utils import timezone


class WallClock:
    def now(self) -> datetime:
        return timezone.now()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


clock = WallClock()


def now() -> datetime:
    return clock.now()


def sleep(seconds: float) -> None:
    clock.sleep(seconds)


def install(new_clock) -> object:
    """Use `new_clock` (anything with now() and sleep()) from now on; returns the one it replaces."""
    global clock
    previous, clock = clock, new_clock
    return previous
