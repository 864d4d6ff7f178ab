"""The time-of-day slot of an epoch time in a zone (the detectors' calendar, cached: many series share few zones)."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["day_slot", "slot_label"]


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


def slot_label(slot: int, slot_s: int) -> str:
    """A slot of the local day as its start, ``'HH:MM'`` (what an explanation says the usual is for).

    >>> slot_label(20, 1800), slot_label(9, 3600)
    ('10:00', '09:00')
    """
    m = slot * slot_s // 60
    return f"{m // 60:02d}:{m % 60:02d}"
