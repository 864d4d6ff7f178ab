"""The time-of-day slot of an epoch time in a zone (the detectors' calendar, cached: many series share few zones)."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["day_slot"]


@lru_cache(maxsize=64)
def _zone(tz: str):
    return timezone.utc if tz == "UTC" else ZoneInfo(tz)


def day_slot(t: float, tz: str, slot_s: int) -> int:
    """The slot of the local day ``t`` (epoch seconds) falls in, slots ``slot_s`` seconds wide.

    >>> day_slot(1_700_000_000, "UTC", 1800)      # 22:13 UTC
    44
    >>> day_slot(1_700_000_000, "Asia/Jerusalem", 1800)   # 00:13 the next day there
    0
    """
    d = datetime.fromtimestamp(t, _zone(tz))
    return (d.hour * 3600 + d.minute * 60 + d.second) // slot_s
