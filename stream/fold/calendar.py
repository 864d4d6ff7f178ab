"""A site's local calendar on epoch milliseconds: local days and 15-minute intervals.

The day-to-date window is the site's local day (midnight to midnight, DST
aware); intervals are the fixed 15-minute buckets of local time that
contact-centre reports use. Lookups are cached per day because the core asks
for the same day millions of times during a replay.

>>> cal = DayCalendar("Asia/Shanghai")
>>> ms = 1795395600000                    # 2026-11-23 09:00 +08:00
>>> cal.date_of(ms)
'2026-11-23'
>>> cal.interval_start(ms + 7 * 60_000) == ms
True
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from stream.contracts.floor_config import zone

INTERVAL_MS = 15 * 60 * 1000
_UTC = timezone.utc


class DayCalendar:
    """Local-day arithmetic for one timezone, cached one day at a time."""

    __slots__ = ("tz", "_start", "_end", "_date", "_offset", "_uniform")

    def __init__(self, tz_name: str) -> None:
        self.tz = zone(tz_name)
        self._start = 0
        self._end = -1
        self._date = ""
        self._offset = 0
        self._uniform = True

    def _load(self, ms: int) -> None:
        local = datetime.fromtimestamp(ms / 1000, tz=self.tz)
        d = local.date()
        start = _local_midnight_ms(self.tz, d)
        end = _local_midnight_ms(self.tz, d + timedelta(days=1))
        self._start, self._end, self._date = start, end, d.isoformat()
        off_start = datetime.fromtimestamp(start / 1000, tz=self.tz).utcoffset()
        off_end = datetime.fromtimestamp((end - 1) / 1000, tz=self.tz).utcoffset()
        self._offset = int(off_start.total_seconds() * 1000) if off_start is not None else 0
        # A DST change inside the day: intervals need the offset at each instant.
        self._uniform = off_start == off_end

    def day_info(self, ms: int) -> tuple[int, int, str, int, bool]:
        """The local day holding ``ms``: (start, end, date, UTC offset at the start in ms,
        whether that offset holds all day). What the native core keeps per day."""
        if not (self._start <= ms < self._end):
            self._load(ms)
        return self._start, self._end, self._date, self._offset, self._uniform

    def date_of(self, ms: int) -> str:
        """The site-local date (YYYY-MM-DD) of an instant."""
        if not (self._start <= ms < self._end):
            self._load(ms)
        return self._date

    def day_bounds(self, ms: int) -> tuple[int, int]:
        """[start, end) of the local day holding ``ms``, in epoch ms."""
        if not (self._start <= ms < self._end):
            self._load(ms)
        return self._start, self._end

    def bounds_of_date(self, d: str) -> tuple[int, int]:
        dd = date.fromisoformat(d)
        return _local_midnight_ms(self.tz, dd), _local_midnight_ms(self.tz, dd + timedelta(days=1))

    def interval_start(self, ms: int) -> int:
        """Start (epoch ms) of the local 15-minute interval holding ``ms``."""
        if not (self._start <= ms < self._end):
            self._load(ms)
        if self._uniform:
            off = self._offset
        else:
            o = datetime.fromtimestamp(ms / 1000, tz=self.tz).utcoffset()
            off = int(o.total_seconds() * 1000) if o is not None else 0
        # Offsets are whole quarter hours in practice, so this lands on local :00/:15/:30/:45.
        return ms - (ms + off) % INTERVAL_MS

    def date_interval(self, ms: int) -> tuple[str, int]:
        """``(date_of(ms), interval_start(ms))`` in one call (the core's per-contact lookup)."""
        if not (self._start <= ms < self._end):
            self._load(ms)
        if self._uniform:
            return self._date, ms - (ms + self._offset) % INTERVAL_MS
        return self._date, self.interval_start(ms)

    def local_iso(self, ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=self.tz).isoformat(timespec="seconds")


def _local_midnight_ms(tz, d: date) -> int:
    # fold=0 picks the first midnight when a DST change repeats it.
    return int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() * 1000)


def iso_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=_UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
