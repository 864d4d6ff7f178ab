"""Rosters: who is scheduled per interval against the plan's need, and a suggested roster (an integer program).

**Reading a roster** (CSV or YAML), one shift per row: ``person``,
``queues`` (``;``-separated in CSV, the queues or counters the person
works), ``site``, ``start`` and ``end`` (ISO 8601 with offset; an end before
the start runs past midnight), ``breaks`` (``HH:MM-HH:MM`` pairs,
``;``-separated, local time of the shift's day). A person counts on an
interval of a queue they work when on shift and not on a break at the
interval's middle. ``coverage`` compares that with a plan: per interval
``needed``, ``scheduled``, ``short`` and ``over``.

**Pools** (a site's ``pools`` in config/floor.yaml, ``stream.planning.pools``):
queues answered by the same people are staffed as one group, a *unit* (the
pool; a queue in no pool is its own unit). Coverage and the suggestion are
per site × unit × interval: the need is the unit's plan rows' agents summed
(a pooled plan splits a pool's agents over its queues' rows), scheduled are
the people on shift whose queues include any queue of the unit, **each
person counted once per unit**. Before pools a person with two queues
counted fully on each, so a floor of multi-skilled agents looked staffed
twice over; within a pool that person is one of the pool's agents. A row of
a pool keeps ``queue`` (now the pool's name) and adds ``pool_queues``; a
queue in no pool gives the rows it always did. A roster's ``queues`` may name
a pool (``floor`` = all of the pool's queues); a name that is neither a
queue nor a pool of the site is refused with the person, the row and the
name.

**Suggesting a roster** (``suggest``): for each site × unit × local day,
choose how many people work each allowed shift pattern (start, length, break
placement; ``config/shifts.yaml``) so that every interval has at least the
plan's agents, with the fewest paid hours and between ``min_heads`` and
``max_heads`` people, solved exactly as a mixed-integer program by HiGHS
(``scipy.optimize.milp``).

A morning that needs one agent 09:00-13:00 and a second one 11:00-13:00,
with 2- or 4-hour shifts starting on the hour: one 4-hour and one 2-hour
shift, 6 paid hours.

>>> rows = [{"site": "s", "queue": "q", "start": f"2026-03-02T{9 + i // 4:02d}:{15 * (i % 4):02d}:00+08:00",
...          "agents": 2 if i >= 8 else 1} for i in range(16)]
>>> rules = ShiftRules(lengths_h=[2, 4], start_every_min=60, earliest="00:00", latest_end="24:00")
>>> out = suggest(rows, rules)
>>> out["paid_hours"], sorted((s["start"][11:16], s["end"][11:16], s["count"]) for s in out["shifts"])
(6.0, [('09:00', '13:00', 1), ('11:00', '13:00', 1)])
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterable, Mapping, Optional

import numpy as np

from stream.planning import pools

__all__ = ["Shift", "ShiftRules", "Units", "read_roster", "coverage", "suggest", "load_shift_rules", "DEFAULT_SHIFTS"]

DEFAULT_SHIFTS = Path(__file__).resolve().parents[2] / "config" / "shifts.yaml"
_SLOT = timedelta(minutes=15)


@dataclass
class Shift:
    person: str
    site: str
    queues: list[str]
    start: datetime
    end: datetime
    breaks: list[tuple[datetime, datetime]] = field(default_factory=list)

    def on(self, t: datetime) -> bool:
        return self.start <= t < self.end and not any(b0 <= t < b1 for b0, b1 in self.breaks)


def _dt(text: str, where: str) -> datetime:
    try:
        t = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise ValueError(f"{where}: not a time with offset (2026-03-02T08:00+08:00): {text!r}") from None
    if t.tzinfo is None:
        raise ValueError(f"{where}: needs a UTC offset: {text!r}")
    return t


def _hhmm(text: str, day: datetime, where: str) -> datetime:
    try:
        h, m = (int(x) for x in text.strip().split(":"))
        return day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=h, minutes=m)
    except ValueError:
        raise ValueError(f"{where}: not HH:MM: {text!r}") from None


def _shift(row: Mapping, where: str) -> Shift:
    for k in ("person", "start", "end"):
        if not row.get(k):
            raise ValueError(f"{where}: missing {k}")
    start = _dt(row["start"], f"{where}: start")
    end = _dt(row["end"], f"{where}: end")
    if end <= start:
        end += timedelta(days=1)
    queues = row.get("queues") or []
    if isinstance(queues, str):
        queues = [q.strip() for q in queues.split(";") if q.strip()]
    if not queues:
        raise ValueError(f"{where}: missing queues")
    breaks = []
    raw = row.get("breaks") or []
    if isinstance(raw, str):
        raw = [b for b in raw.split(";") if b.strip()]
    for b in raw:
        if isinstance(b, Mapping):
            b0, b1 = _dt(b["start"], f"{where}: break"), _dt(b["end"], f"{where}: break")
        else:
            a, sep, z = str(b).partition("-")
            if not sep:
                raise ValueError(f"{where}: a break is HH:MM-HH:MM, got {b!r}")
            b0, b1 = _hhmm(a, start, f"{where}: break"), _hhmm(z, start, f"{where}: break")
            if b0 < start:
                b0, b1 = b0 + timedelta(days=1), b1 + timedelta(days=1)
        breaks.append((b0, b1))
    return Shift(str(row["person"]), str(row.get("site") or ""), [str(q) for q in queues], start, end, breaks)


class Units:
    """The group each queue of a site is staffed in (``unit``), a group's queues (``members``), and the names a
    roster may use. The floor config's pools are read through ``stream.planning.pools``; a pooled plan's rows
    carry ``pool``, so pools the config does not declare (``--roster`` without ``--config``) are learnt from them."""

    def __init__(self, config=None, plan: Iterable[Mapping] = (), queues: Iterable[tuple[str, str]] = ()) -> None:
        self.config = config
        self.queues: dict[str, set[str]] = defaultdict(set)
        # site -> pool -> the queues the plan's rows add to it, beyond the config's (in row order).
        self.learnt: dict[str, dict[str, list[str]]] = defaultdict(dict)
        if config is not None:
            for site, sc in config.sites.items():
                self.queues[site].update(sc.queues)
        for site, queue in queues:
            self.queues[site].add(queue)
        for r in plan:
            site, queue = str(r["site"]), str(r["queue"])
            self.queues[site].add(queue)
            pool = r.get("pool")
            if pool and self.unit(site, queue) == queue and queue not in self._declared(site).get(pool, ()):
                self.learnt[site].setdefault(pool, []).append(queue)

    def _declared(self, site: str) -> Mapping[str, list[str]]:
        return self.config.site(site).pools if self.config is not None else {}

    def unit(self, site: str, queue: str) -> str:
        """``queue``'s pool, else the queue itself (``stream.planning.pools.unit``, with the plan's pools too)."""
        if self.config is not None and (pool := pools.pool_of(self.config, site, queue)) is not None:
            return pool
        return next((name for name, qs in self.learnt.get(site, {}).items() if queue in qs), queue)

    def members(self, site: str, unit: str) -> list[str]:
        """``unit``'s queues (``stream.planning.pools.members``, with the plan's pools too)."""
        more = self.learnt.get(site, {}).get(unit, [])
        if unit in self._declared(site):
            return pools.members(self.config, site, unit) + more
        return list(more or [unit])

    def is_pool(self, site: str, unit: str) -> bool:
        return unit in self._declared(site) or unit in self.learnt.get(site, {})

    def resolve(self, site: str, names: Iterable[str]) -> set[str]:
        """A roster's names at ``site``: a pool's name stands for its queues."""
        out: set[str] = set()
        for n in names:
            out.update(self.members(site, n))
        return out

    def check(self, shift: Shift, where: str) -> None:
        """A roster name that is neither a queue nor a pool of the shift's site (of any site: no site given)."""
        sites = [shift.site] if shift.site else sorted(self.queues)
        for n in shift.queues:
            if not any(n in self.queues.get(s, ()) or self.is_pool(s, n) for s in sites):
                at = f"site {shift.site}" if shift.site else "any site"
                raise ValueError(f"{where}: {shift.person}: {n!r} is neither a queue nor a pool of {at}")


def read_roster(path: str | Path, units: Optional[Units] = None) -> list[Shift]:
    """Shifts from a CSV or YAML roster; ``ValueError`` names the file, the row and the field. With ``units``,
    each queue name must be a queue or a pool of the shift's site."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"--roster: no such file: {p}")
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            doc = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"{p}: not YAML ({str(exc).splitlines()[0]})") from None
        rows = doc.get("shifts") if isinstance(doc, dict) else doc
        if not isinstance(rows, list):
            raise ValueError(f"{p}: expected a list of shifts (or a 'shifts' list)")
        wheres = [f"{p}: shift {i + 1}" for i in range(len(rows))]
        shifts = [_shift(r if isinstance(r, Mapping) else {}, w) for r, w in zip(rows, wheres)]
    else:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = {"person", "queues", "start", "end"} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"{p}: missing column(s) {', '.join(sorted(missing))}")
            wheres, shifts = [], []
            for i, r in enumerate(reader):
                wheres.append(f"{p}: row {i + 2}")
                shifts.append(_shift(r, wheres[-1]))
    if units is not None:
        for sh, w in zip(shifts, wheres):
            units.check(sh, w)
    return shifts


def coverage(shifts: list[Shift], plan: Iterable[Mapping], config=None) -> list[dict]:
    """Per site × unit (pool or queue) × plan interval: needed (the unit's rows' agents summed), scheduled
    (the people on shift for any of the unit's queues, each once), short and over."""
    plan = list(plan)
    units = Units(config, plan)
    need: dict[tuple[str, str, str], float] = {}
    for r in plan:
        key = (r["site"], units.unit(r["site"], r["queue"]), r["start"])
        need[key] = need.get(key, 0) + (r.get("agents") or 0)
    works: dict[tuple[str, str], list[Shift]] = {}
    out = []
    for (site, unit, start), n in need.items():
        if (site, unit) not in works:
            mine = set(units.members(site, unit))
            works[(site, unit)] = [s for s in shifts if (not s.site or s.site == site) and units.resolve(site, s.queues) & mine]
        mid = datetime.fromisoformat(str(start)) + _SLOT / 2
        have = len({s.person for s in works[(site, unit)] if s.on(mid)})
        row = {"site": site, "queue": unit, "start": start, "needed": n, "scheduled": have,
               "short": max(0, n - have), "over": max(0, have - n)}
        if units.is_pool(site, unit):
            row["pool_queues"] = units.members(site, unit)
        out.append(row)
    return out


@dataclass
class ShiftRules:
    """Allowed shift patterns: lengths, start grid and window, one break for long shifts, heads."""

    lengths_h: list[float] = field(default_factory=lambda: [4.0, 6.0, 8.0])
    start_every_min: int = 30
    earliest: str = "07:00"
    latest_end: str = "24:00"
    break_over_h: float = 6.0  # shifts longer than this get a break
    break_min: int = 30
    break_from_h: float = 3.0  # the break starts between these hours into the shift
    break_to_h: float = 5.0
    paid_break: bool = False
    min_heads: int = 0
    max_heads: Optional[int] = None

    def patterns(self) -> list[tuple[int, int, Optional[int], float]]:
        """(start slot, end slot, break start slot or None, paid hours), slots of 15 minutes from midnight."""
        def slot(hhmm: str) -> int:
            h, m = (int(x) for x in hhmm.split(":"))
            return h * 4 + m // 15

        lo, hi = slot(self.earliest), slot(self.latest_end)
        step = max(1, self.start_every_min // 15)
        bl = max(1, math.ceil(self.break_min / 15))
        out = []
        for length in self.lengths_h:
            n = int(round(length * 4))
            for s in range(lo, hi - n + 1, step):
                if length > self.break_over_h:
                    b_lo, b_hi = s + int(self.break_from_h * 4), s + int(self.break_to_h * 4)
                    for b in range(b_lo, min(b_hi, s + n - bl) + 1, 2):
                        out.append((s, s + n, b, length if self.paid_break else length - bl / 4))
                else:
                    out.append((s, s + n, None, float(length)))
        return out


def load_shift_rules(path: Optional[str | Path] = None) -> ShiftRules:
    """Shift rules from YAML (``config/shifts.yaml`` by default; the defaults above when it is absent)."""
    import yaml

    p = Path(path) if path else DEFAULT_SHIFTS
    if not p.is_file():
        if path:
            raise ValueError(f"--shifts: no such file: {p}")
        return ShiftRules()
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValueError(f"--shifts: {p} is not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"--shifts: {p} is not a mapping of shift rules (lengths_h, earliest, latest_end, ...)")
    known = set(ShiftRules.__dataclass_fields__)
    bad = set(doc) - known
    if bad:
        raise ValueError(f"{p}: unknown field(s) {', '.join(sorted(bad))} (known: {', '.join(sorted(known))})")
    rules = ShiftRules(**doc)
    try:
        pats = rules.patterns()
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"--shifts: {p}: a rule has the wrong type ({exc}); lengths_h is a list of hours, times HH:MM") from None
    if not pats:
        raise ValueError(f"--shifts: {p}: no shift of lengths_h fits between earliest and latest_end")
    return rules


def suggest(plan: Iterable[Mapping], rules: ShiftRules, config=None) -> dict:
    """The cheapest roster covering the plan, per site × unit (pool or queue) × local day (see the module
    docstring); a pool's shifts and intervals list its queues (``pool_queues``)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    plan = list(plan)
    units = Units(config, plan)
    groups: dict[tuple[str, str, date], dict[int, tuple[int, datetime]]] = defaultdict(dict)
    for r in plan:
        t = datetime.fromisoformat(str(r["start"]))
        slots = groups[(r["site"], units.unit(r["site"], r["queue"]), t.date())]
        slot = t.hour * 4 + t.minute // 15
        slots[slot] = (slots.get(slot, (0, t))[0] + int(r.get("agents") or 0), t)
    pats = rules.patterns()
    shifts_out, rows_out = [], []
    paid_total = need_total = 0.0
    for (site, queue, d), slots in sorted(groups.items()):
        need = np.zeros(96)
        for s, (n, _) in slots.items():
            need[s] = n
        tz = next(iter(slots.values()))[1].tzinfo
        midnight = datetime(d.year, d.month, d.day, tzinfo=tz)
        need_total += need.sum() / 4
        if need.sum() == 0:
            continue
        A = np.zeros((96, len(pats)))
        for j, (s0, s1, b, _) in enumerate(pats):
            A[s0:min(s1, 96), j] = 1
            if b is not None:
                A[b : b + math.ceil(rules.break_min / 15), j] = 0
        cost = np.array([p[3] for p in pats])
        rows = need > 0
        cons = [LinearConstraint(A[rows], lb=need[rows], ub=np.inf)]
        heads_hi = rules.max_heads if rules.max_heads is not None else np.inf
        cons.append(LinearConstraint(np.ones((1, len(pats))), lb=rules.min_heads, ub=heads_hi))
        res = milp(cost, constraints=cons, integrality=np.ones(len(pats)), bounds=Bounds(0, np.inf))
        if res.x is None:
            raise ValueError(f"no roster of the allowed shifts covers {site}/{queue} on {d} ({res.message})")
        x = np.round(res.x).astype(int)
        paid_total += float(cost @ x)
        for j in np.nonzero(x)[0]:
            s0, s1, b, paid = pats[j]
            sh = {"site": site, "queue": queue, "date": d.isoformat(),
                  "start": (midnight + s0 * _SLOT).isoformat(timespec="minutes"),
                  "end": (midnight + s1 * _SLOT).isoformat(timespec="minutes"),
                  "break_start": (midnight + b * _SLOT).isoformat(timespec="minutes") if b is not None else None,
                  "break_end": (midnight + (b + math.ceil(rules.break_min / 15)) * _SLOT).isoformat(timespec="minutes") if b is not None else None,
                  "count": int(x[j]), "paid_hours": paid}
            if units.is_pool(site, queue):
                sh["pool_queues"] = units.members(site, queue)
            shifts_out.append(sh)
        have = A @ x
        for s, (n, t) in sorted(slots.items()):
            row = {"site": site, "queue": queue, "start": t.isoformat(timespec="seconds"), "needed": n,
                   "scheduled": int(have[s]), "short": max(0, n - int(have[s])), "over": max(0, int(have[s]) - n)}
            if units.is_pool(site, queue):
                row["pool_queues"] = units.members(site, queue)
            rows_out.append(row)
    return {"shifts": shifts_out, "intervals": rows_out, "paid_hours": round(paid_total, 2), "needed_hours": round(need_total, 2)}
