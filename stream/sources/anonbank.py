"""The Anonymous Bank call log (Technion SEE lab, Feb 1999) as floorwatch events.

The log has one tab-separated row per call that reached the bank's phone
system (see ``../shared/docs/anonbank.md``). Each call that asked for an agent
becomes ``call_offered`` followed by ``call_answered`` + ``call_ended`` (AGENT)
or ``call_abandoned`` (HANG from the queue):

>>> from stream.sources.anonbank import read_anonbank, site_config
>>> log = read_anonbank("../shared/data/anonbank/february.txt")   # doctest: +SKIP
>>> log.rows, log.rejected, log.stats["offered"], type(log.events[0]).__name__  # doctest: +SKIP
(33344, {}, 31125, 'CallOffered')
>>> site_config().timezone          # config/anonbank.yaml
'Asia/Jerusalem'

The mapping:

* PHANTOM rows are ghost records, not calls: dropped (counted in
  ``stats["phantom"]``, not in ``rejected``).
* A HANG row whose ``q_start`` is ``0:00:00`` hung up in the IVR and was never
  offered: dropped (``stats["ivr_hang"]``).
* Every other row is offered to queue ``type`` at ``date`` + ``q_start`` if it
  queued, else ``date`` + ``vru_exit``, read as local time in Asia/Jerusalem.
  It is literally that date and time of day, even when the time is earlier than
  ``vru_entry`` (a call that entered the IVR just before midnight and queued
  just after lands at the start of its ``date``). "Queued" means ``q_start`` is
  not ``0:00:00`` -- the same test that tells an IVR hang-up -- so a row with
  ``q_start`` ``0:00:00`` but ``q_time`` > 0 (one in February: a queue entered
  exactly at midnight) counts as never queued, wait 0.
* The wait is ``q_time`` (0 when it never queued). AGENT: answered at
  offered + wait by ``server`` (None for ``NO_SERVER``), ended (no wrap-up) at
  answered + ``ser_time``. HANG from the queue: abandoned at offered + wait;
  its ``ser_*`` fields (sometimes non-zero in the log) are ignored.
* ``priority`` is the log's 0/1/2 and ``vip`` is ``priority == 2``. The
  ``customer_id`` is personal data and never leaves this module.

``call_id`` is NOT unique within the month, despite anonbank.md: each IVR line
(``vru+line``) numbers its calls, and February repeats 6,000+ numbers across
lines. The call is therefore identified by both: ``ab-AA0101-34536``, event ids
``ab:AA0101:34536:o`` / ``:a`` / ``:x`` / ``:e``. A repeated (line, call_id)
pair in one file is rejected as ``"duplicate call"`` rather than silently
dropped downstream as a repeated event id.

Broken rows are counted in ``rejected`` by a short reason and skipped; only the
fields the mapping reads are checked (``vru_entry``/``vru_time``/``ser_start``
/``ser_exit`` are not, so the log's negative ``vru_time`` rows are fine).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date as Date
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Union
from zoneinfo import ZoneInfo

from stream.contracts.floor_config import DEFAULT_CONFIG, ConfigError, FloorConfig, SiteConfig, load_config
from stream.contracts.events import CallAbandoned, CallAnswered, CallEnded, CallOffered, Event

__all__ = ["SITE", "TIMEZONE", "HEADER", "CONFIG", "AnonbankLog", "read_anonbank", "site_config", "add_site"]

SITE = "anonbank"
# The log's clock: its dates and times of day are local time in Israel.
TIMEZONE = "Asia/Jerusalem"
# The bank as a floorwatch site (its calendar, queue names): a floor config file of one site.
CONFIG = DEFAULT_CONFIG.with_name("anonbank.yaml")

HEADER = (
    "vru+line", "call_id", "customer_id", "priority", "type", "date",
    "vru_entry", "vru_exit", "vru_time", "q_start", "q_exit", "q_time",
    "outcome", "ser_start", "ser_exit", "ser_time", "server",
)  # fmt: skip
_NFIELDS = len(HEADER)

_NOT_QUEUED = "0:00:00"
_TOKEN = re.compile(r"[A-Za-z0-9_]{1,64}")
_TIME = re.compile(r"(\d{1,2}):([0-5]\d):([0-5]\d)")
_INT = re.compile(r"-?\d{1,9}")
_TZ = ZoneInfo(TIMEZONE)
# Stage of an event within its call: the sort tie-break that keeps a call's
# own events causal when they share a millisecond (wait 0, ser_time 0).
_OFFERED, _OUTCOME, _ENDED = 0, 1, 2


@dataclass
class AnonbankLog:
    """One log file read: events sorted by (ts, stage, row), and what was left out.

    ``rows`` counts data rows (not the header or blank lines); ``rejected`` maps
    a reason to the number of broken rows; ``stats`` counts ``phantom`` and
    ``ivr_hang`` rows (dropped, not broken) and the ``offered``/``answered``/
    ``abandoned`` calls produced.
    """

    events: list[Event] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    stats: dict[str, int] = field(default_factory=dict)
    # The broken rows themselves, (line number, raw row, reason), for dead-letter topics.
    dead: list[tuple[int, bytes, str]] = field(default_factory=list)


class _Broken(Exception):
    """A row cannot be read; the message is the short reason."""


@lru_cache(maxsize=512)
def _date(text: str) -> Date:
    # YYMMDD from a 1999 log: every year is 19YY.
    if len(text) != 6 or not text.isdigit():
        raise _Broken("bad date")
    try:
        return Date(1900 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        raise _Broken("bad date") from None


@lru_cache(maxsize=8192)
def _seconds_of_day(text: str, name: str) -> int:
    m = _TIME.fullmatch(text)
    if m is None or int(m[1]) > 23:
        raise _Broken(f"bad {name}")
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])


def _count(text: str, name: str) -> int:
    if text.isdigit() and len(text) < 10:
        return int(text)
    if _INT.fullmatch(text) is None:
        raise _Broken(f"bad {name}")
    n = int(text)
    if n < 0:
        raise _Broken(f"negative {name}")
    return n


def _wall_ms(day: Date, sod: int) -> int:
    h, rem = divmod(sod, 3600)
    dt = datetime(day.year, day.month, day.day, h, rem // 60, rem % 60, tzinfo=_TZ)
    return int(dt.timestamp()) * 1000


@lru_cache(maxsize=512)
def _day_base(day: Date) -> Union[int, None]:
    """Epoch ms of the day's local midnight when the UTC offset holds all day, else None."""
    first, last = _wall_ms(day, 0), _wall_ms(day, 86_399)
    return first if last - first == 86_399_000 else None


def _local_ms(day: Date, sod: int) -> int:
    """Local wall time in Asia/Jerusalem as epoch ms (zoneinfo; fold=0 at DST edges)."""
    base = _day_base(day)
    # On a day without a DST change, a time of day is a plain offset from midnight.
    return base + sod * 1000 if base is not None else _wall_ms(day, sod)


def read_anonbank(path: Union[str, Path]) -> AnonbankLog:
    """Read one month's log into sorted floorwatch events; broken rows are counted, not fatal."""
    raw = Path(path).read_bytes()
    # CRLF in the published files; tolerate LF and a BOM all the same.
    lines = raw.decode("utf-8", errors="replace").lstrip("\ufeff").split("\n")
    log = AnonbankLog()
    rejected = log.rejected
    stats = {"phantom": 0, "ivr_hang": 0, "offered": 0, "answered": 0, "abandoned": 0}
    # Sort key (ts, stage, row) packed into one int (ints compare far faster than
    # tuples); the row breaks ties between calls, deterministically.
    keyed: list[tuple[int, Event]] = []
    stride = len(lines)
    seen: set[tuple[str, str]] = set()
    for idx, line in enumerate(lines):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        f = line.split("\t")
        if idx == 0 and f[0] == HEADER[0]:
            continue
        log.rows += 1
        try:
            if len(f) != _NFIELDS:
                raise _Broken("bad field count")
            outcome = f[12]
            if outcome == "PHANTOM":
                stats["phantom"] += 1
                continue
            if outcome != "AGENT" and outcome != "HANG":
                raise _Broken("bad outcome")
            line_id, call_no, server = f[0], f[1], f[16]
            if _TOKEN.fullmatch(line_id) is None:
                raise _Broken("bad vru+line")
            if not (call_no.isdigit() or _TOKEN.fullmatch(call_no)):
                raise _Broken("bad call_id")
            if _TOKEN.fullmatch(f[4]) is None:
                raise _Broken("bad type")
            if f[3] not in ("0", "1", "2"):
                raise _Broken("bad priority")
            if not server or len(server) > 64 or server != server.strip():
                raise _Broken("bad server")
            day = _date(f[5])
            q_start = f[9]
            queued = q_start != _NOT_QUEUED
            start = _seconds_of_day(q_start, "q_start") if queued else _seconds_of_day(f[7], "vru_exit")
            q_time = _count(f[11], "q_time")
            ser_time = _count(f[15], "ser_time")
            key = (line_id, call_no)
            if key in seen:
                raise _Broken("duplicate call")
            seen.add(key)
        except _Broken as exc:
            reason = str(exc)
            rejected[reason] = rejected.get(reason, 0) + 1
            log.dead.append((idx + 1, line.encode("utf-8", "replace"), reason))
            continue
        if outcome == "HANG" and not queued:
            stats["ivr_hang"] += 1
            continue

        call = f"ab-{line_id}-{call_no}"
        eid = f"ab:{line_id}:{call_no}:"
        priority = int(f[3])
        offered = _local_ms(day, start)
        done = offered + (q_time * 1000 if queued else 0)
        stats["offered"] += 1
        keyed.append(((offered * 3 + _OFFERED) * stride + idx, CallOffered(
            id=eid + "o", ts=offered, site=SITE, call=call, queue=f[4], priority=priority, vip=priority == 2)))
        if outcome == "AGENT":
            stats["answered"] += 1
            agent = None if server == "NO_SERVER" else server
            ended = done + ser_time * 1000
            keyed.append(((done * 3 + _OUTCOME) * stride + idx, CallAnswered(
                id=eid + "a", ts=done, site=SITE, call=call, agent=agent)))
            keyed.append(((ended * 3 + _ENDED) * stride + idx, CallEnded(
                id=eid + "e", ts=ended, site=SITE, call=call)))
        else:
            stats["abandoned"] += 1
            keyed.append(((done * 3 + _OUTCOME) * stride + idx, CallAbandoned(
                id=eid + "x", ts=done, site=SITE, call=call)))

    # The key is unique per event, so the sort never compares events.
    keyed.sort(key=lambda k: k[0])
    log.events = [k[1] for k in keyed]
    log.stats = stats
    return log


def site_config() -> SiteConfig:
    """The Anonymous Bank as a floorwatch site (``config/anonbank.yaml``): a hotline in Asia/Jerusalem."""
    site = load_config(CONFIG).sites.get(SITE)
    if site is None or site.timezone != TIMEZONE:
        # The site's days must be the log's days, or calls land on the wrong date.
        raise ConfigError(f"{CONFIG}: needs site {SITE!r} with timezone {TIMEZONE} (the log's clock)")
    return site


def add_site(cfg: FloorConfig) -> None:
    """Give ``cfg`` the bank's site unless it has one: a replay of the log brings its own site."""
    if SITE not in cfg.sites:
        cfg.sites[SITE] = site_config()
