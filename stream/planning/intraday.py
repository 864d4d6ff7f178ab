"""Intraday re-planning as a floor runs it: a cadence of decisions, each taking effect a lead time later.

A floor manager re-plans the rest of the day from the reforecast
(``floorwatch staffing --plan --from <today>THH:MM``) every ``every_min``
minutes; a change decided at time t cannot move the agents of the intervals
before t + ``lead_min`` (calling someone in, moving them from back office or
sending them home takes that long), and a re-plan may move a queue's
interval by at most ``max_change`` agents from the plan in force (how many
a floor can call in or send home at once; None: no limit). Pure functions:
``decision_times`` says when, ``apply_replan`` merges a re-plan into the
plan in force.

>>> cur = [{"site": "s", "queue": "q", "start": f"2026-01-05T{h:02d}:00:00+00:00", "agents": 10} for h in (10, 11, 12)]
>>> new = [{"site": "s", "queue": "q", "start": f"2026-01-05T{h:02d}:00:00+00:00", "agents": 4} for h in (10, 11, 12)]
>>> at = datetime(2026, 1, 5, 10, tzinfo=timezone.utc)
>>> [r["agents"] for r in apply_replan(cur, new, at, Cadence(lead_min=60, max_change=3))]
[10, 7, 7]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Mapping, Optional
from zoneinfo import ZoneInfo

from stream.planning.pools import shares, workload

__all__ = ["Cadence", "decision_times", "actionable", "apply_replan", "recovery_margin", "site_margins"]


@dataclass(frozen=True)
class Cadence:
    """When re-plans are decided and how soon and how far they act (see the module docstring)."""

    every_min: int = 60
    lead_min: int = 60
    first: time = time(8, 0)
    last: time = time(21, 0)
    max_change: Optional[int] = None
    # How far a re-plan may aim the rest of the day above / below target to make the day's
    # (``recovery_margin``): 10 points either way. "Never below target" (0 down) did as well on February
    # but ran the simulated months hot (bench plan-sim; docs/planning.md).
    recover_up: float = 10.0
    recover_down: float = 10.0

    def __post_init__(self) -> None:
        if self.every_min <= 0 or self.every_min % 15:
            raise ValueError(f"re-plan cadence must be a positive multiple of 15 minutes, got {self.every_min}")
        if self.lead_min < 0 or self.lead_min % 15:
            raise ValueError(f"lead time must be a multiple of 15 minutes >= 0, got {self.lead_min}")
        if self.max_change is not None and self.max_change < 0:
            raise ValueError(f"max change must be >= 0 agents, got {self.max_change}")
        if self.recover_up < 0 or self.recover_down < 0:
            raise ValueError("recovery bounds must be >= 0 points")


def decision_times(day: date, tz: str, cadence: Cadence) -> list[datetime]:
    """The local instants of ``day`` at which the rest of it is re-planned: ``first`` to ``last`` every ``every_min``."""
    z = ZoneInfo(tz)
    t = datetime.combine(day, cadence.first, tzinfo=z)
    end = datetime.combine(day, cadence.last, tzinfo=z)
    out = []
    while t <= end:
        out.append(t)
        t += timedelta(minutes=cadence.every_min)
    return out


def actionable(rows: Iterable[Mapping], effective: Optional[datetime]) -> list[Mapping]:
    """The forecast rows a re-plan acting at ``effective`` can still staff (all of them when None): a re-plan
    balances its day over these only, the ones before are the plan in force."""
    if effective is None:
        return list(rows)
    return [r for r in rows if datetime.fromisoformat(str(r["start"])) >= effective]


def apply_replan(current: Iterable[Mapping], new: Iterable[Mapping], decided_at: datetime,
                 cadence: Cadence) -> list[dict]:
    """The plan in force after a re-plan decided at ``decided_at``: ``current`` with ``new``'s intervals from
    ``decided_at + lead_min`` on, each moved by at most ``max_change`` agents (an interval ``current``
    lacks takes ``new``'s agents as they are). A pool's rows (``"pool"``) move as one: the pool's agents by at
    most ``max_change``, split back across its rows by workload as the plan splits them."""
    if decided_at.tzinfo is None:
        raise ValueError("the re-plan's time needs its UTC offset")
    effective = decided_at + timedelta(minutes=cadence.lead_min)
    out = {(r["site"], r["queue"], datetime.fromisoformat(str(r["start"]))): dict(r) for r in current}
    groups: dict[tuple, list[tuple]] = {}
    for r in new:
        key = (r["site"], r["queue"], datetime.fromisoformat(str(r["start"])))
        if key[2] < effective:
            continue
        groups.setdefault((r["site"], r.get("pool") or r["queue"], key[2]), []).append((key, dict(r)))
    for members in groups.values():
        old = [out.get(key) for key, _ in members]
        rows = [row for _, row in members]
        limit = cadence.max_change
        if limit is not None and all(o is not None and o.get("agents") is not None for o in old) \
                and all(row.get("agents") is not None for row in rows):
            had = sum(o["agents"] for o in old)
            want = sum(row["agents"] for row in rows)
            got = min(had + limit, max(had - limit, want))
            if got != want:
                if len(rows) == 1:
                    rows[0]["agents"] = got
                else:
                    for row, a in zip(rows, shares(got, [workload(row) for row in rows])):
                        row["agents"] = a
        for (key, _), row in zip(members, rows):
            out[key] = row
    return [out[k] for k in sorted(out, key=lambda k: (k[0], k[1], k[2]))]


def recovery_margin(target_pct: float, offered_so_far: float, sl_so_far_pct: Optional[float], rest_offered: float,
                    limit: float = 10.0, down: Optional[float] = None) -> float:
    """The points above (or below) target the rest of the day must run at for the *day* to meet ``target_pct``.

    What a real-time analyst does with the day's service level so far: a
    morning below target is made up in the afternoon, one above it lets the
    afternoon run a little under. ``offered_so_far`` contacts were answered at
    ``sl_so_far_pct``; ``rest_offered`` are forecast for the rest. Bounded
    by ``limit`` points up (a floor cannot buy back a lost morning at any
    price) and ``down`` points down (``limit`` when None: nor should it let
    the afternoon run far below target).

    >>> recovery_margin(80, 300, 70.0, 700)        # 30 short on 300: 700 must answer 30 more, 4.3 points
    4.29
    >>> recovery_margin(80, 0, None, 700), recovery_margin(80, 300, 70.0, 0)
    (0.0, 0.0)
    """
    if sl_so_far_pct is None or offered_so_far <= 0 or rest_offered <= 0:
        return 0.0
    short = (target_pct - sl_so_far_pct) / 100.0 * offered_so_far
    return round(max(-(limit if down is None else down), min(limit, 100.0 * short / rest_offered)), 2)


def site_margins(rows: Iterable[Mapping], config, so_far: Mapping[str, tuple[float, Optional[float]]],
                 effective: Optional[datetime] = None, cadence: Cadence = Cadence()) -> dict[str, float]:
    """Each site's ``recovery_margin`` for a re-plan: ``rows`` the reforecast of the rest of the day (those
    from ``effective`` on count as the rest), ``so_far`` per site ``(offered, service level %)`` of the day up
    to the re-plan; the site's target is its queues' targets weighted by the rest's forecast contacts; the
    bounds are ``cadence``'s ``recover_up`` / ``recover_down``."""
    from stream.planning.plan import target_pct

    rest: dict[str, float] = {}
    aimed: dict[str, float] = {}
    for r in rows:
        if effective is not None and datetime.fromisoformat(str(r["start"])) < effective:
            continue
        c = float(r["offered"] or 0.0)
        rest[r["site"]] = rest.get(r["site"], 0.0) + c
        aimed[r["site"]] = aimed.get(r["site"], 0.0) + c * target_pct(config, r["site"], r["queue"])
    out = {}
    for site, (n, sl) in so_far.items():
        f = rest.get(site, 0.0)
        if f > 0:
            out[site] = recovery_margin(aimed[site] / f, n, sl, f, cadence.recover_up, cadence.recover_down)
    return out
