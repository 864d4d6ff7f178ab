"""The staffing page's figures for one queue and a run of days: forecast against actual,
needed against scheduled, and the suggested roster.

A queue of a pool (a site's ``pools``, ``stream.planning.pools``) is staffed
with the pool's other queues: its board's need, schedule and shifts are the
pool's (all its queues planned, their agents summed per interval; the shifts
list the pool's queues), its forecast against actual stays the queue's own,
with the pool's total beside it (``pool_offered``, ``pool_actual_offered``)
and ``pool`` naming the pool and its queues.

``Board`` holds a log (read once) and answers ``board(site, queue, start,
days)``: per 15-minute interval the forecast (learnt from the days before
``start`` only) and the plan's agents, beside the actual offered and AHT the
core folded for that interval where the log has the day, and the scheduled
agents — of a given roster when there is one, else of the suggested roster
(the MILP's). Rows are what the page draws and the CSV/XLSX exports hold.

>>> from stream.contracts.events import CallOffered, CallAnswered, CallEnded
>>> from stream.contracts.floor_config import FloorConfig
>>> from stream.planning.actuals import Log
>>> cfg = FloorConfig.from_dict({"sites": {"s": {"timezone": "UTC"}}})
>>> evs = []
>>> for d in range(15):                       # one 3-minute call at 09:00 every day
...     t = 1_767_225_600_000 + d * 86_400_000 + 9 * 3_600_000          # 2026-01-01 09:00 UTC
...     evs += [CallOffered(id=f"o{d}", ts=t, site="s", call=f"c{d}", queue="q"),
...             CallAnswered(id=f"a{d}", ts=t, site="s", call=f"c{d}"),
...             CallEnded(id=f"e{d}", ts=t + 180_000, site="s", call=f"c{d}")]
>>> b = Board(Log(evs, cfg)).board("s", "q", date(2026, 1, 15), 1)
>>> row = b["intervals"][36]
>>> row["start"], row["actual_offered"], row["actual_aht_s"], row["agents"], row["scheduled"] >= row["agents"]
('2026-01-15T09:00:00+00:00', 1, 180.0, 1, True)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Callable, Optional

from stream.contracts.floor_config import zone
from stream.planning.actuals import Log, QueueHistory, cutoff_for, day_starts, fold_history
from stream.planning.calls import contacts, patience
from stream.planning.holidays import Holidays
from stream.planning.intraday import Cadence, actionable, apply_replan, site_margins
from stream.planning.outlook import forecast_histories
from stream.planning import pools
from stream.planning.plan import plan, target_pct
from stream.planning.roster import Shift, ShiftRules, coverage, suggest
from stream.planning.so_far import of_log
from stream.planning.stored import patience_from_history

__all__ = ["Board", "SoFar"]


def _summed(rows, key: str) -> dict[str, Optional[float]]:
    """``key`` of the rows summed per interval start (a pool's queues' rows: the pool's; None where all are)."""
    out: dict[str, Optional[float]] = {}
    for r in rows:
        v, k = r.get(key), r["start"]
        out[k] = v if k not in out else (out[k] if v is None else (out[k] or 0) + v)
    return out

# A site's day up to a re-plan: (contacts offered, service level %, where the figures come from).
SoFar = tuple[float, Optional[float], str]


class Board:
    """A log's queues, ready to be forecast, planned and rostered for any days."""

    def __init__(self, log: Log, holidays: Optional[Holidays] = None, rules: Optional[ShiftRules] = None,
                 roster: Optional[list[Shift]] = None, history: Optional[dict[tuple[str, str], QueueHistory]] = None,
                 cadence: Optional[Cadence] = None) -> None:
        """``history`` instead of folding ``log`` (e.g. from the history store; the log then has no events
        and only gives the config): patience then from the history's waits (``patience_from_history``).
        ``cadence``: how soon a re-plan acts (its ``lead_min``); by default each site's own ``replan_lead_min``
        (an hour unless its config says otherwise)."""
        self.log = log
        self.holidays = holidays if holidays is not None else Holidays()
        self.rules = rules if rules is not None else ShiftRules()
        self.roster = roster
        self.cadence = cadence
        self.history = history if history is not None else fold_history(log.events, log.config)
        self._contacts = contacts(log.events)

    def queues(self) -> list[dict]:
        """Every site × queue with the local dates the log has for it; ``pool`` and ``pool_queues``: the pool it is
        staffed in (None: alone)."""
        out = []
        cfg = self.log.config
        for (site, queue), qh in sorted(self.history.items()):
            unit = pools.unit(cfg, site, queue)
            pooled = unit in cfg.site(site).pools
            name = self.log.config.site(site).queues.get(queue)
            label = name.name if name is not None and name.name is not None else None
            out.append({"site": site, "queue": queue, "kind": qh.kind,
                        "name": {"en": label.en if label else queue, "zh": (label.zh or label.en) if label else queue},
                        "first": min(qh.days), "last": max(qh.days),
                        "offered": int(sum(d.offered.sum() for d in qh.days.values())),
                        "pool": unit if pooled else None, "pool_queues": pools.members(cfg, site, unit) if pooled else None})
        return out

    def board(self, site: str, queue: str, start: date, days: int, *, shrinkage: float = 0.0,
              now: Optional[datetime] = None, so_far: Optional[Callable[[], Optional[SoFar]]] = None) -> dict:
        """The page's figures; ``now`` (with offset) inside the days shown and after some of that day's
        intervals: the rest of that day re-forecast from its actuals so far (``reforecast`` per row) and
        re-planned from it, acting from ``now`` + the cadence's lead time (``effective_from``; rows
        ``replan`` "kept" before it, "replanned" from it, ``day_ahead_agents`` the plan before the re-plan), as
        ``staffing --plan --from`` a time ``--lead`` does. The re-plan aims the rest of the day at what the
        day still needs (``--recover``, ``intraday.site_margins``): ``so_far()`` gives the site's day up to
        ``now`` as ``(offered, service level %, source)`` (None: no figure; by default the log's own, folded),
        and ``recovery`` says what it was and the points aimed above or below target."""
        qh = self.history.get((site, queue))
        if qh is None:
            raise KeyError(f"no queue {site}/{queue} in the log")
        if not 1 <= days <= 31:
            raise ValueError(f"days must be 1..31, got {days}")
        cut = cutoff_for(start, qh.timezone)
        cfg = self.log.config
        # A queue of a pool is staffed with the pool's other queues (stream/planning/pools.py): its need and
        # schedule are the pool's, planned from all of them; its forecast against actual stays its own.
        unit = pools.unit(cfg, site, queue)
        pooled = unit in cfg.site(site).pools
        mates = [q for q in pools.members(cfg, site, unit) if (site, q) in self.history] if pooled else [queue]
        # The forecaster learns only whole days before ``start`` (forecast_histories); patience likewise.
        # The site's queues together: the queue's shape borrows from the site's (forecast_site).
        site_hist = {k: v for k, v in self.history.items() if k[0] == site}
        # With the forecast's error spread, learnt from the site's past days: the plan meets the target in
        # expectation over the arrival rate (docs/planning.md, "Staffing against the forecast's error").
        outlooks = self._mine(forecast_histories(site_hist, start, days, self.holidays, spread=True), mates)
        outlook = outlooks[queue]
        fc = [r for q in mates for r in outlooks[q].rows]
        pat = self._patience(site, mates, cut, start)
        rows = plan(fc, cfg, patience=pat, shrinkage=shrinkage, over="day",
                    spread={(site, q): outlooks[q].spread for q in mates})
        refc: dict[str, float] = {}
        day_ahead: dict[str, Optional[int]] = {}
        recovery = None
        effective = None
        if now is not None and self._inside(now, start, days, qh):
            laters = forecast_histories(site_hist, now, 1, self.holidays, spread=True)
            later = self._mine(laters, mates)
            cadence = self.cadence or Cadence(lead_min=cfg.site(site).replan_lead_min)
            effective = now + timedelta(minutes=cadence.lead_min)
            pat_now = pat
            if self._contacts:  # the patience the day's morning shows too, as `staffing --plan --from` that time
                pat_now = self._patience(site, mates, cutoff_for(now, qh.timezone), start)
            got = (so_far or (lambda: self.so_far_of_log(site, now)))()
            # The site's queues' reforecast weighs the site's target, as `staffing --plan --recover` does.
            site_rows = [r for o in laters for r in o.rows]
            margin = (site_margins(site_rows, cfg, {site: got[:2]}, effective, cadence).get(site, 0.0)
                      if got is not None else 0.0)
            redo = plan(actionable([r for q in mates for r in later[q].rows], effective), cfg, patience=pat_now,
                        shrinkage=shrinkage, over="day", spread={(site, q): later[q].spread for q in mates},
                        site_margin={site: margin})
            refc = {r["start"]: r["offered"] for r in later[queue].rows}
            day_ahead = _summed(rows, "agents")
            # A change decided now acts only after the lead time (``intraday.Cadence``): until then the plan stands.
            rows = apply_replan(rows, redo, now, cadence)
            target = target_pct(cfg, site, queue)
            recovery = {"offered": int(got[0]) if got else 0, "sl_pct": round(got[1], 1) if got and got[1] is not None else None,
                        "source": got[2] if got else None, "target_pct": target, "margin_pts": margin,
                        "aim_pct": round(min(99.9, target + margin), 2),
                        "up_to_pts": cadence.recover_up, "down_to_pts": cadence.recover_down}
        # The need of the unit (the pool, or the queue): its queues' rows summed per interval.
        need = _summed(rows, "agents")
        if self.roster is not None:
            sched = {r["start"]: r["scheduled"] for r in coverage(self.roster, rows, cfg) if r["queue"] == unit}
            shifts, paid, source = [], None, "roster"
        else:
            sug = suggest(rows, self.rules, cfg)
            sched = {r["start"]: r["scheduled"] for r in sug["intervals"]}
            shifts, paid, source = sug["shifts"], sug["paid_hours"], "suggested"
        tz = qh.timezone
        z = zone(tz)
        actual = self._actuals(qh, start, days, z)
        pool_fc = _summed(rows, "offered") if pooled else {}
        pool_actual: dict[str, int] = {}
        for q in mates if pooled else []:
            for k, (n, _) in self._actuals(self.history[(site, q)], start, days, z).items():
                pool_actual[k] = pool_actual.get(k, 0) + n
        out = []
        replan_day = now.astimezone(zone(tz)).date().isoformat() if refc else None
        for r in (r for r in rows if r["queue"] == queue):
            a = actual.get(r["start"])
            replan = None
            if refc and r["start"][:10] == replan_day:
                replan = "replanned" if datetime.fromisoformat(r["start"]) >= effective else "kept"
            row = {"start": r["start"], "offered": r["offered"], "reforecast": refc.get(r["start"]),
                   "aht_s": r["aht_s"], "agents": need.get(r["start"]),
                   "scheduled": sched.get(r["start"], 0),
                   "actual_offered": a[0] if a else None, "actual_aht_s": a[1] if a else None,
                   "replan": replan, "day_ahead_agents": day_ahead.get(r["start"]) if replan else None}
            if pooled:  # the pool's own forecast and actual, for its total line and the exports
                row["pool_offered"] = round(pool_fc.get(r["start"], 0.0), 2)
                row["pool_actual_offered"] = pool_actual.get(r["start"])
            out.append(row)
        needed = sum((n or 0) for n in need.values()) / 4
        replanned = effective_from = None
        if refc:
            replanned = datetime.fromtimestamp(cutoff_for(now, tz) / 1000, tz=zone(tz)).isoformat(timespec="seconds")
            effective_from = effective.astimezone(zone(tz)).isoformat(timespec="seconds")
        first = start.date() if isinstance(start, datetime) else start
        return {"site": site, "queue": queue, "kind": qh.kind, "timezone": tz, "from": str(start), "days": days,
                # The whole days before ``from`` the forecast learnt from (0: a new queue, nothing to forecast yet).
                "history_days": sum(1 for d in qh.days if d < first.isoformat()),
                "target_pct": target_pct(self.log.config, site, queue), "patience_s": pat.get((site, queue)),
                "forecast_error": None if outlook.spread is None else {
                    "scale": round(outlook.spread.scale, 4), "dof": outlook.spread.dof, "days": outlook.spread.days},
                "intervals": out, "shifts": shifts, "roster": source,
                "needed_hours": round(needed, 2), "paid_hours": paid, "replanned_at": replanned,
                "effective_from": effective_from, "recovery": recovery,
                # Where the queue is staffed with others: the pool's name and queues (needed, scheduled and the
                # shifts are the pool's). None: staffed alone.
                "pool": {"name": unit, "queues": pools.members(cfg, site, unit)} if pooled else None}

    def _mine(self, outlooks, queues: list[str]) -> dict:
        """The outlooks of ``queues`` (of one site), by queue."""
        return {o.history.queue: o for o in outlooks if o.history.queue in queues}

    def _patience(self, site: str, queues: list[str], cut: int, start) -> dict:
        """Each queue's callers' mean patience before ``cut``: the log's contacts, else the history's waits
        (rows before the store kept abandoned waits: Erlang C)."""
        if self._contacts:
            return patience([c for c in self._contacts if c.offered_ms < cut and c.site == site and c.queue in queues])
        day0 = start.date() if isinstance(start, datetime) else start
        return patience_from_history({(site, q): self.history[(site, q)] for q in queues}, day0)

    @staticmethod
    def _actuals(qh: QueueHistory, start, days: int, z) -> dict[str, tuple[int, Optional[float]]]:
        """Per interval start of the days shown that the history has: offered and AHT as the core folded them."""
        actual: dict[str, tuple[int, Optional[float]]] = {}
        for i in range(days):
            d = start + timedelta(days=i) if not isinstance(start, datetime) else start.date() + timedelta(days=i)
            day = qh.days.get(d.isoformat())
            if day is None:
                continue
            for s, slot in day_starts(d, z):
                key = datetime.fromtimestamp(s / 1000, tz=z).isoformat(timespec="seconds")
                h = day.handled[slot]
                actual[key] = (int(day.offered[slot]), round(float(day.handle_s[slot] / h), 1) if h else None)
        return actual

    def so_far_of_log(self, site: str, now: datetime) -> Optional[SoFar]:
        """The site's day up to ``now`` folded from the log (None: a board over the store, without events)."""
        if not self.log.events:
            return None
        n, sl = of_log(self.log, now).get(site, (0.0, None))
        return (n, sl, "log") if sl is not None else None

    @staticmethod
    def _inside(now: datetime, start: date, days: int, qh: QueueHistory) -> bool:
        """Whether ``now`` falls on one of the days shown, with some of that day's intervals complete."""
        z = zone(qh.timezone)
        local = now.astimezone(z)
        first = start.date() if isinstance(start, datetime) else start
        # Only a day the history has: a day without actuals yet would read as a day without calls.
        return (first <= local.date() < first + timedelta(days=days) and local.date().isoformat() in qh.days
                and local.hour * 4 + local.minute // 15 > 0)
