"""Time as a dependency: decisions take a clock, they never read the system time themselves."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time in epoch seconds."""

    def now(self) -> float: ...


class SystemClock:
    """Wall-clock time (``time.time``)."""

    def now(self) -> float:
        return time.time()


class MonotonicClock:
    """A clock for cache ages and cool-downs: never jumps back when the wall clock does."""

    def now(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to: tests, benchmarks and replay."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a ManualClock only moves forward")
        self._now += seconds

    def set(self, epoch_seconds: float) -> None:
        self._now = epoch_seconds
