"""Per-interval actuals of a log, as the core folds them: what forecasts learn from and are scored on.

A thin shell around ``Floor``: it reads a log (Anonymous Bank or our JSON
lines), keeps only the events before a cut-off instant (so a forecast made
"as of" a time never sees what came after), folds them with the core and
reads back its 15-minute interval rows (``Floor.interval_rows``). No figure
is computed here: offered, handled and AHT per interval are the core's.

Each site × queue becomes a ``QueueHistory``: per local date, three arrays of
``SLOTS`` (96) quarter hours of *local wall time* (slot 36 is 09:00–09:15):
offered, handled and the handle-time sum in seconds. On a DST day the missing
hour's slots stay 0 and a repeated hour's two intervals add up in one slot.

>>> from stream.contracts.events import CallOffered, CallAnswered, CallEnded
>>> from stream.contracts.floor_config import FloorConfig
>>> cfg = FloorConfig.from_dict({"sites": {"s": {"timezone": "UTC"}}})
>>> evs = [CallOffered(id="1", ts=9 * 3_600_000, site="s", call="c", queue="q"),
...        CallAnswered(id="2", ts=9 * 3_600_000 + 5_000, site="s", call="c", agent="a"),
...        CallEnded(id="3", ts=9 * 3_600_000 + 125_000, site="s", call="c")]
>>> hist = fold_history(evs, cfg)
>>> day = hist[("s", "q")].days["1970-01-01"]
>>> int(day.offered[36]), int(day.handled[36]), float(day.handle_s[36])
(1, 1, 120.0)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from stream.contracts.floor_config import FloorConfig, zone
from stream.fold.calendar import INTERVAL_MS
from stream.fold.site import Limits

__all__ = ["SLOTS", "DayCounts", "QueueHistory", "Log", "read_log", "fold_history", "slot_of", "day_starts", "cutoff_for"]

SLOTS = 96  # quarter hours in a local day


def slot_of(ms: int, tz) -> int:
    """The local quarter hour (0..95) of an instant."""
    t = datetime.fromtimestamp(ms / 1000, tz=tz)
    return t.hour * 4 + t.minute // 15


def day_starts(d: date, tz) -> list[tuple[int, int]]:
    """``(interval start ms, slot)`` of every 15-minute interval of local day ``d`` (92/96/100 of them)."""
    b0 = int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() * 1000)
    n = d + timedelta(days=1)
    b1 = int(datetime(n.year, n.month, n.day, tzinfo=tz).timestamp() * 1000)
    return [(s, slot_of(s, tz)) for s in range(b0, b1, INTERVAL_MS)]


@dataclass
class DayCounts:
    """One local day of one queue: offered, handled and handle seconds per slot."""

    offered: np.ndarray = field(default_factory=lambda: np.zeros(SLOTS))
    handled: np.ndarray = field(default_factory=lambda: np.zeros(SLOTS))
    handle_s: np.ndarray = field(default_factory=lambda: np.zeros(SLOTS))


@dataclass
class QueueHistory:
    """A site × queue's days, and the site's timezone name and kind (hotline or hall)."""

    site: str
    queue: str
    timezone: str
    kind: str = "hotline"
    days: dict[str, DayCounts] = field(default_factory=dict)


@dataclass
class Log:
    """A log read into decoded events (epoch-ms ``ts``), the floor config with its sites, what was rejected."""

    events: list
    config: FloorConfig
    rejected: dict[str, int] = field(default_factory=dict)


def read_log(path: str | os.PathLike, fmt: str, config: Optional[FloorConfig] = None) -> Log:
    """Read a log in any ``--format`` of ``stream.sources.formats``; raise ``ValueError`` naming what is wrong.

    A file of which no row is accepted is an error (a wrong ``--format``, most likely), not an empty history.
    """
    from stream.sources import formats

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no such file: {p}")
    config = config if config is not None else FloorConfig()
    try:
        f = formats.get(fmt)
        formats.add_sites(f, config)
        events: list = []
        rejected: dict[str, int] = {}
        for item in f.read(p, config, None):
            if isinstance(item, formats.Dead):
                reason = formats.reason_of(item)
                rejected[reason] = rejected.get(reason, 0) + 1
            else:
                events.append(item)
    except formats.SourceError as exc:
        raise ValueError(str(exc)) from None
    if not events:
        raise ValueError(formats.none_accepted(p, fmt, rejected))
    events.sort(key=lambda ev: ev.ts)
    return Log(events, config, rejected)


def cutoff_for(start: datetime | date, tz_name: str) -> int:
    """The cut-off instant (epoch ms) of ``--from``: a date is local midnight at the site; a datetime is itself."""
    if isinstance(start, datetime):
        if start.tzinfo is None:
            start = start.replace(tzinfo=zone(tz_name))
        return int(start.timestamp() * 1000)
    return int(datetime.combine(start, time(0), tzinfo=zone(tz_name)).timestamp() * 1000)


def fold_history(
    events: Iterable,
    config: FloorConfig,
    before: Optional[Callable[[str], int]] = None,
) -> dict[tuple[str, str], QueueHistory]:
    """Fold ``events`` (only those with ``ts < before(site)`` when given) and return the interval rows per queue."""
    from stream.fold.floor import Floor

    if before is not None:
        cut: dict[str, int] = {}

        def keep(ev) -> bool:
            c = cut.get(ev.site)
            if c is None:
                c = cut[ev.site] = before(ev.site)
            return ev.ts < c

        events = [ev for ev in events if keep(ev)]
    # Every interval is kept (the live floor keeps two days of them).
    floor = Floor(config, limits=Limits(lateness_ms=config.lateness_s * 1000, keep_interval_days=None))
    floor.apply_many(events)
    floor.flush()
    out: dict[tuple[str, str], QueueHistory] = {}
    for site in sorted(floor.sites):
        scfg = config.site(site)
        tz = zone(scfg.timezone)
        for d in sorted(floor.day_sums(site)):
            for row in floor.interval_rows(site, d):
                key = (site, row["queue"])
                qh = out.get(key)
                if qh is None:
                    qh = out[key] = QueueHistory(site, row["queue"], scfg.timezone, scfg.kind)
                day = qh.days.get(d)
                if day is None:
                    day = qh.days[d] = DayCounts()
                s = slot_of(row["start"], tz)
                day.offered[s] += row["offered"]
                day.handled[s] += row["handled"]
                if row["handled"]:
                    day.handle_s[s] += row["aht_s"] * row["handled"]
    return out
