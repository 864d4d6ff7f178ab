"""The wall clock of the delivery service, injectable so tests can move time.

Acknowledgement deadlines, claim leases and quiet hours are about the phone
side of the world - a duty manager's ten minutes are real minutes - so they run
on the wall clock, not on event time. Tests pass a :class:`ManualClock` and
advance it instead of sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the epoch (wall clock)."""
        ...


class SystemClock:
    """The real wall clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.t = int(start_ms)

    def now_ms(self) -> int:
        return self.t

    def advance(self, *, ms: int = 0, s: float = 0, minutes: float = 0) -> None:
        self.t += int(ms + s * 1000 + minutes * 60_000)

    def set(self, ms: int) -> None:
        self.t = int(ms)
