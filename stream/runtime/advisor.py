"""The worker's staffing advice: each queue's need now and ahead, from the history store's forecast.

The shell around ``stream.planning.advice``: once per site and local day it
reads the last eight weeks of interval rows from the history database
(``stream.planning.stored``) and forecasts the day (``stream.planning.outlook``,
learnt from the days before it only); then, for a site's snapshot, it gives
each queue's advice from that forecast, the fold's interval rows of the day
so far (``Floor.interval_rows``) and the snapshot's live figures, against the agents logged in and ready whose
primary skill is the queue (the fold's ``primary_counts``); in a hall, a ticket class also has the
counters the other classes do not need now (``_pool_counters``). No
database, or no earlier day in it: the advice says so (``basis: "live"``,
need now from the last 15 minutes, nothing ahead).

Where the site declares pools (``SiteConfig.pools``: queues answered by the
same people), a pool's queues are advised together (``advice.pool_advice``:
one Erlang A over the members' loads, against the agents whose primary skill
is any member) and each member's advice is its pool's, with ``pool``,
``queues`` and its own load under ``member``.

The same advice feeds the ``understaffed`` alert rule (``annotate``: the
alert snapshot's queues get ``advice``), so the wall and the alert read one
figure. Event time only, so a replay raises the same alerts given the same
history.

Plans from the store use Erlang A with each queue's patience estimated from
the store's days before today (``stream.planning.stored.patience_from_history``,
as ``/staffing`` and ``staffing --plan --db`` do, so the wall's need is the
planner's), Erlang C where no abandon is known; a ``patience`` given per queue
wins.
"""

from __future__ import annotations

import logging
import time
from datetime import date as Date, datetime
from typing import Mapping, Optional

import numpy as np

from stream.contracts.floor_config import FloorConfig, zone
from stream.planning import pools
from stream.planning.advice import AHEAD, DayLoad, pool_advice, queue_advice
from stream.planning.forecast import SLOTS, reforecast

log = logging.getLogger("floorwatch.advice")

RETRY_S = 300.0  # a history database that failed is asked again after this long


class Advisor:
    """Staffing advice for the sites of one worker (see the module docstring)."""

    def __init__(self, config: FloorConfig, history_db: Optional[str] = None, *, store=None,
                 holidays=None, patience: Optional[Mapping[tuple[str, str], float]] = None) -> None:
        self.config = config
        self.history_db = history_db
        self._store = store
        self.holidays = holidays
        self.patience = dict(patience or {})
        # site × queue -> patience (s) from the store's days before the day forecast (None: Erlang C).
        self._stored_patience: dict[tuple[str, str], Optional[float]] = {}
        self._days: dict[tuple[str, str], dict[str, DayLoad]] = {}
        self._failed_at: dict[tuple[str, str], float] = {}
        # The store's rows, read once per local date for every site (date -> site × queue -> history).
        self._hist: tuple[Optional[Date], dict] = (None, {})
        # (site, queue, offered, AHT, patience) -> agents: the plan of a load seen before.
        self._memo: dict = {}
        # site -> (minute of its clock, the advice the alert path read then)
        self._annotated: dict[str, tuple] = {}
        # site -> ((date, interval start), queue -> the day's forecast reshaped by the day so far)
        self._actual: dict[str, tuple[tuple[str, int], dict[str, DayLoad]]] = {}

    # -- the forecast, once per site and local day ---------------------------------

    def _open(self):
        if self._store is None and self.history_db:
            from stream.history.store import Store

            self._store = Store.open(self.history_db)
        return self._store

    def day_loads(self, site: str, day: str) -> dict[str, DayLoad]:
        """queue -> the day's forecast; {} without history (no database, no earlier day, or it failed)."""
        key = (site, day)
        got = self._days.get(key)
        if got is not None:
            return got
        failed = self._failed_at.get(key)
        if failed is not None and time.monotonic() - failed < RETRY_S:
            return {}
        try:
            got = self._forecast(site, Date.fromisoformat(day))
        except Exception as exc:  # a database away must not stop the fold or the wall
            log.warning("staffing advice: no forecast for %s on %s (%s); retrying in %d s", site, day, exc, RETRY_S)
            self._failed_at[key] = time.monotonic()
            return {}
        # One day per site is kept.
        for k in [k for k in self._days if k[0] == site]:
            del self._days[k]
        self._days[key] = got
        return got

    def _forecast(self, site: str, day: Date) -> dict[str, DayLoad]:
        from stream.planning.outlook import forecast_histories
        from stream.planning.stored import history_from_store, patience_from_history

        store = self._open()
        if store is None:
            return {}
        if self._hist[0] != day:
            self._hist = (day, history_from_store(store, self.config))
        hist = {k: h for k, h in self._hist[1].items()
                if k[0] == site and any(Date.fromisoformat(d) < day for d in h.days)}
        if not hist:
            return {}
        self._stored_patience.update(patience_from_history(hist, day))
        tz = zone(self.config.site(site).timezone)
        out: dict[str, DayLoad] = {}
        for o in forecast_histories(hist, day, 1, self.holidays):
            off, aht = np.zeros(SLOTS), np.full(SLOTS, np.nan)
            for r in o.rows:
                t = datetime.fromisoformat(r["start"]).astimezone(tz)
                s = t.hour * 4 + t.minute // 15
                off[s] += r["offered"]
                if r["aht_s"] is not None:
                    aht[s] = r["aht_s"]
            out[o.history.queue] = DayLoad(off, aht)
        return out

    # -- the day so far -------------------------------------------------------------

    def _reshaped(self, floor, site: str, day: str, interval_start: int) -> dict[str, DayLoad]:
        """queue -> the day's forecast reshaped by the offered contacts of its completed intervals
        (``reforecast``; made again when the interval changes); {} without history."""
        got = self._actual.get(site)
        if got is not None and got[0] == (day, interval_start):
            return got[1]
        loads = self.day_loads(site, day)
        out: dict[str, DayLoad] = {}
        if loads:
            tz = zone(self.config.site(site).timezone)
            acc: dict[str, np.ndarray] = {}
            for row in floor.interval_rows(site, day):
                if row["start"] >= interval_start:
                    continue
                t = datetime.fromtimestamp(row["start"] / 1000, tz=tz)
                a = acc.setdefault(row["queue"], np.zeros(SLOTS))
                a[t.hour * 4 + t.minute // 15] += row["offered"]
            now = datetime.fromtimestamp(interval_start / 1000, tz=tz)
            slot = now.hour * 4 + now.minute // 15
            for q, dl in loads.items():
                out[q] = DayLoad(reforecast(dl.offered, acc.get(q, np.zeros(SLOTS)), slot), dl.aht_s)
        self._actual[site] = ((day, interval_start), out)
        return out

    # -- advice ---------------------------------------------------------------------

    def site_advice(self, floor, site: str, snap: dict, *, ahead: int = AHEAD, waiting: bool = False) -> dict[str, dict]:
        """queue -> its advice, for a site's snapshot (``Floor.snapshot`` or ``Floor.alert_snapshot``).

        ``waiting``: also each contact waiting now, ``[offered ms, priority]`` (the fold's
        ``queue_now``: no caller), for the dashboard's what-if to start from.
        """
        clock, day = snap.get("clock"), snap.get("date")
        if not isinstance(clock, int) or not isinstance(day, str) or not clock:
            return {}
        loads = self._reshaped(floor, site, day, clock - clock % 900_000)
        # An agent with several skills counts once, on its primary queue (as the agent alert rules
        # do): counted on each, the floor's agents would be staffed several times over against
        # needs that assume agents of their own.
        staff, known = floor.site(site).primary_counts(clock)
        queues = snap.get("queues") or {}
        lives = {}
        for q, qd in queues.items():
            lives[q] = {"agents": staff.get(q, {}), "sliding": qd.get("sliding")}
            if not known:
                # A floor that reports no agent states (a call log without them, e.g. the Anonymous
                # Bank's): who is there is unknown, not nobody.
                lives[q]["agents"] = {"logged_in": None, "ready": None}
        pooled = self.config.site(site).pools
        out = {}
        for q in queues:
            if pooled and pools.unit(self.config, site, q) != q:
                continue  # staffed with its pool, below
            try:
                out[q] = queue_advice(self.config, site, q, loads.get(q) if loads else None, None, clock, lives[q],
                                      patience_s=self._patience(site, q), ahead=ahead, memo=self._memo)
            except (ValueError, KeyError) as exc:
                log.warning("staffing advice for %s/%s: %s", site, q, exc)
        for name, members in pooled.items():
            if not any(q in queues for q in members):
                continue
            try:
                adv = pool_advice(
                    self.config, site, name, {q: loads.get(q) for q in members} if loads else {}, {}, clock,
                    {q: lives.get(q) or {"agents": staff.get(q, {}) if known else {"logged_in": None, "ready": None}}
                     for q in members},
                    patience={q: self._patience(site, q) for q in members}, ahead=ahead, memo=self._memo)
            except (ValueError, KeyError) as exc:
                log.warning("staffing advice for %s/pool %s: %s", site, name, exc)
                continue
            own = adv.pop("members")
            for q in members:
                if q in queues:
                    # Each member carries its pool's advice (one need, one have: the wall shows it once,
                    # the understaffed rule raises it once) and its own load beside it.
                    out[q] = {**adv, "member": own[q]}
        if known and self.config.site(site).kind == "hall" and not pooled:
            # A hall that declares pools says which classes share counters; one that does not is pooled
            # here by what each counter can serve.
            _pool_counters(out, snap, staff)
        if waiting:
            legs = floor.site(site).queue_now()
            for q, a in out.items():
                a["waiting"] = sorted(list(x) for x in legs[q]["waiting"]) if q in legs else []
        return out

    def _patience(self, site: str, queue: str) -> Optional[float]:
        given = self.patience.get((site, queue))
        return given if given is not None else self._stored_patience.get((site, queue))

    def annotate(self, floor, site: str, snap: dict) -> None:
        """Give each queue of an alert snapshot its ``advice`` (what the ``understaffed`` rule reads).

        Made once per minute of the site's clock and kept between (the rule holds for minutes;
        the alert path evaluates every 30 s): event time only, so a replay gives the same.
        """
        clock = snap.get("clock")
        minute = clock // 60_000 if isinstance(clock, int) else None
        got = self._annotated.get(site)
        if got is None or got[0] != minute:
            got = self._annotated[site] = (minute, self.site_advice(floor, site, snap, ahead=0))  # the need now only
        for q, qd in (snap.get("queues") or {}).items():
            qd["advice"] = got[1].get(q)


def _pool_counters(out: dict[str, dict], snap: Mapping, staff: Mapping[str, Mapping[str, int]]) -> None:
    """A hall's counters serve more than their own ticket class: a VIP desk calls general tickets
    when no VIP waits. Counted on its primary class only, a class with no counter of its own reads
    "need 1 · have 0" beside idle counters that would serve it (and the ``understaffed`` rule pages
    for it). Here a class has, besides its own counters, the hall's counters the other classes do not
    need now, as far as they can serve it (the snapshot's counts by skill): the pooled hall is short
    exactly when a class is.
    """
    total = sum(c.get("logged_in", 0) for c in staff.values())
    total_ready = sum(c.get("ready", 0) for c in staff.values())
    needs = {q: a.get("need_now") or 0 for q, a in out.items()}
    all_need = sum(needs.values())
    for q, a in out.items():
        if a.get("have") is None:
            continue
        able = ((snap.get("queues") or {}).get(q) or {}).get("agents") or {}
        spare = total - (all_need - needs[q])
        a["have"] = max(a["have"], min(int(able.get("logged_in", 0)), spare))
        a["ready"] = max(a["ready"] or 0, min(int(able.get("ready", 0)), total_ready, a["have"]))

