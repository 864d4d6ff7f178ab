"""Staffing advice, live: agents a queue needs now and in the next four 15-minute intervals.

A pure function of what is known at one instant (no I/O, no clock):
the queue's forecast for the local day (``stream.planning.forecast``, learnt
from the history store's earlier days), the day's actual offered contacts per
completed interval so far (the fold's interval rows), the live handle time
and the agents logged in and ready now (the fold's snapshot). The day's
forecast is reshaped by the actuals (``reforecast``: a busy morning moves
the next hours), the handle time is the last 15 minutes' shrunk toward the
forecast's by ``MIN_HANDLED`` contacts (a few calls move it little, a busy
queue's own figure wins), and each interval's need comes from
the staffing plan of issue 15 (``stream.planning.plan``: Erlang A with the
queue's patience where one is given, Erlang C otherwise; halls' counters
against their wait target) for the queue's service-level target.

A pool (queues answered by the same people, ``stream.planning.pools``) is
advised as one group by :func:`pool_advice`: each member's load as above,
summed per interval into one Erlang A (``pools.combine``), against the
members' agents summed.

Without a forecast (no history yet), the need *now* is the plan for the
arrivals of the last 15 minutes at the live handle time (``basis: "live"``)
and the next intervals are left out (``next: []``): the wall says there is no
history rather than showing a made-up outlook.

>>> import numpy as np
>>> from stream.contracts.floor_config import FloorConfig
>>> cfg = FloorConfig.from_dict({"sites": {"s": {"timezone": "UTC", "queues": {"q": {"sl_target_pct": 80}}}}})
>>> day = DayLoad(np.full(96, 50.0), np.full(96, 180.0))          # 50 calls each 15 min, AHT 3 min
>>> live = {"agents": {"logged_in": 12, "ready": 1}, "sliding": {"15m": {"offered": 0, "handled": 0, "aht_s": None}}}
>>> a = queue_advice(cfg, "s", "q", day, np.full(96, 50.0), 36 * 900_000 + 60_000, live)
>>> a["need_now"], a["have"], a["ready"], a["basis"], [n["need"] for n in a["next"]]
(14, 12, 1, 'forecast', [14, 14, 14, 14])
>>> queue_advice(cfg, "s", "q", None, None, 36 * 900_000, {**live, "sliding": {"15m": {"offered": 50, "handled": 40,
...              "aht_s": 180.0}}})["need_now"]                    # no history: the last 15 minutes' arrivals
14
"""

from __future__ import annotations

from collections import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional

import numpy as np

from stream.contracts.floor_config import FloorConfig, zone
from stream.fold.calendar import INTERVAL_MS
from stream.planning import pools
from stream.planning.forecast import SLOTS, reforecast
from stream.planning.plan import agents_needed, target_pct

__all__ = ["DayLoad", "queue_advice", "pool_advice", "patience_from_day", "AHEAD", "MIN_HANDLED"]

AHEAD = 4  # intervals after the current one
MIN_HANDLED = 10  # the forecast AHT's weight, in handled contacts, against the last 15 minutes'


@dataclass
class DayLoad:
    """One queue's forecast of one local day: offered contacts and AHT (s; NaN unknown) per 15-minute slot."""

    offered: np.ndarray
    aht_s: np.ndarray


def _slot(ms: int, tz) -> int:
    t = datetime.fromtimestamp(ms / 1000, tz=tz)
    return t.hour * 4 + t.minute // 15


def _iso(ms: int, tz) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=tz).isoformat(timespec="seconds")


def _num(v: Any) -> Optional[float]:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _counts(live: Mapping[str, Any]) -> tuple[Optional[int], Optional[int]]:
    """(logged in, ready) of ``live``'s agents: None where the floor does not say who is logged in
    (no agent states at all), else a count (0 included)."""
    agents = live.get("agents") if isinstance(live.get("agents"), abc.Mapping) else {}
    have, ready = _num(agents.get("logged_in")), _num(agents.get("ready"))
    return (None if have is None and "logged_in" in agents else int(have or 0),
            None if ready is None and "ready" in agents else int(ready or 0))


def _load(config: FloorConfig, site: str, day: Optional[DayLoad], actual: Optional[np.ndarray], now_ms: int,
          live: Mapping[str, Any], ahead: int) -> tuple[str, list[dict]]:
    """(basis, ``[{"start", "offered", "aht_s"}]``): one queue's load now and in the ``ahead`` intervals
    after (see the module docstring); with no forecast, the last 15 minutes' as now's, nothing after."""
    # collections.abc's Mapping: typing's makes each isinstance several times slower (asked each minute).
    sliding = live.get("sliding") if isinstance(live.get("sliding"), abc.Mapping) else {}
    q15 = sliding.get("15m") if isinstance(sliding.get("15m"), abc.Mapping) else {}
    handled = _num(q15.get("handled")) or 0.0
    live_aht = _num(q15.get("aht_s")) if handled > 0 else None
    if day is None:
        # No start: nothing shows a live row's (no outlook), and the worker asks this for every queue each second.
        return "live", [{"start": None, "offered": _num(q15.get("offered")),
                         "aht_s": round(live_aht, 1) if live_aht is not None else None}]

    def aht_of(fc_aht: float) -> Optional[float]:
        # The last 15 minutes' handle time, shrunk toward the forecast's by MIN_HANDLED contacts.
        if np.isnan(fc_aht):
            return round(live_aht, 1) if live_aht is not None else None
        if live_aht is None:
            return round(float(fc_aht), 1)
        return round((handled * live_aht + MIN_HANDLED * float(fc_aht)) / (handled + MIN_HANDLED), 1)

    start = now_ms - now_ms % INTERVAL_MS  # every real UTC offset is a whole quarter hour
    tz = zone(config.site(site).timezone)
    slot = _slot(start, tz)
    fc = day.offered if actual is None else reforecast(day.offered, np.asarray(actual, dtype=float), slot)
    rows = []
    for i in range(ahead + 1):
        at = start + i * INTERVAL_MS
        s = _slot(at, tz)
        if s < slot:  # past the local day's end: the next day is another forecast
            break
        rows.append({"start": _iso(at, tz), "offered": round(float(fc[s]), 2), "aht_s": aht_of(day.aht_s[s])})
    return "forecast", rows


def _needer(memo: Optional[dict]):
    def need(config: FloorConfig, site: str, queue: str, offered: Optional[float], aht: Optional[float],
             patience_s: Optional[float], margin_pct: float = 0.0, target: Optional[float] = None) -> Optional[int]:
        # agents_needed keeps its solves in memo (by rounded load); a long-lived worker's memo is bounded.
        if offered is None:
            return None
        if memo is not None and len(memo) > 50_000:
            memo.clear()
        return agents_needed(config, site, queue, float(offered), aht, patience_s or None, margin_pct=margin_pct,
                             cache=memo, target=target)
    return need


def queue_advice(
    config: FloorConfig,
    site: str,
    queue: str,
    day: Optional[DayLoad],
    actual: Optional[np.ndarray],
    now_ms: int,
    live: Mapping[str, Any],
    *,
    patience_s: Optional[float] = None,
    ahead: int = AHEAD,
    memo: Optional[dict] = None,
) -> dict:
    """The queue's advice at ``now_ms`` (see the module docstring).

    ``day``: the local day's forecast (None: no history); ``actual``: offered
    per slot of the day so far (the slots before the current one are read);
    ``live``: the queue's agents (``{"logged_in", "ready"}``, its own: the worker counts
    each agent on its primary queue) and snapshot windows (``sliding``); ``ahead``: how many
    intervals after the current one; ``memo``: a dict kept between calls (same load, same
    need: the plan is not solved again).
    Returns ``{"need_now", "have", "ready", "basis", "aht_s", "offered_now", "next": [{"start", "offered", "aht_s", "need"}]}``.
    """
    have, ready = _counts(live)
    out: dict = {"have": have, "ready": ready, "patience_s": patience_s}
    need = _needer(memo)
    basis, rows = _load(config, site, day, actual, now_ms, live, ahead)
    if basis == "live":
        offered, aht = rows[0]["offered"], rows[0]["aht_s"]
        out.update(basis="live", aht_s=aht, offered_now=offered, next=[],
                   need_now=need(config, site, queue, offered, aht, patience_s) if aht is not None else None)
        return out
    for r in rows:
        r["need"] = need(config, site, queue, r["offered"], r["aht_s"], patience_s)
    out.update(basis="forecast", aht_s=rows[0]["aht_s"], offered_now=rows[0]["offered"], need_now=rows[0]["need"],
               next=rows[1:])
    return out


def pool_advice(
    config: FloorConfig,
    site: str,
    pool: str,
    days: Mapping[str, Optional[DayLoad]],
    actuals: Mapping[str, Optional[np.ndarray]],
    now_ms: int,
    lives: Mapping[str, Mapping[str, Any]],
    *,
    patience: Optional[Mapping[str, Optional[float]]] = None,
    ahead: int = AHEAD,
    memo: Optional[dict] = None,
) -> dict:
    """A pool's advice at ``now_ms``: its queues staffed as one group (``stream.planning.pools``).

    Each member's load comes as :func:`queue_advice` reads it (its own forecast reshaped by its own
    day so far, its own live handle time); per interval the members' loads are one Erlang A
    (``pools.combine``: offered summed, handle time, patience and target weighted by offered; the
    members share T and short-abandon). ``have``/``ready``: the members' agents summed (each
    counted on its primary skill only, so once in the pool); unknown if any member's is. The pool is
    on the forecast only when every member is (else ``basis: "live"``, the last 15 minutes', nothing
    ahead). ``days``/``actuals``/``lives``/``patience``: per member queue, as :func:`queue_advice`
    takes them one by one. Returns :func:`queue_advice`'s fields for the pool, with ``pool``, ``queues``
    and ``members``: per member its own ``offered_now``, ``aht_s`` and ``next`` loads (no need: a
    member's agents are the pool's).
    """
    queues = pools.members(config, site, pool)
    pats = patience or {}
    loads = {q: _load(config, site, days.get(q), actuals.get(q), now_ms, lives.get(q) or {}, ahead) for q in queues}
    if any(basis == "live" for basis, _ in loads.values()):
        basis = "live"
        loads = {q: _load(config, site, None, None, now_ms, lives.get(q) or {}, 0) for q in queues}
    else:
        basis = "forecast"
    n = min(len(rows) for _, rows in loads.values())
    need = _needer(memo)
    first = queues[0]
    rows = []
    for i in range(n):
        offered, aht, pat, target = pools.combine(
            [(loads[q][1][i]["offered"] or 0.0, loads[q][1][i]["aht_s"], pats.get(q), target_pct(config, site, q)) for q in queues])
        known = all(loads[q][1][i]["offered"] is not None for q in queues)
        if aht is not None:
            aht = round(aht, 1)
        rows.append({"start": loads[first][1][i]["start"], "offered": round(offered, 2) if known else None, "aht_s": aht,
                     # the pool's target (agents_needed takes a pool's terms from its members) to 0.01
                     # points: the mix moves it by float noise, which would defeat the memo
                     "need": need(config, site, pool, offered if known else None, aht, pat, target=round(target, 2))
                     if aht is not None or offered == 0 else None,
                     "patience_s": None if pat is None else round(pat, 1)})
    counts = [_counts(lives.get(q) or {}) for q in queues]
    have = None if any(h is None for h, _ in counts) else sum(h for h, _ in counts)
    ready = None if any(r is None for _, r in counts) else sum(r for _, r in counts)
    now = rows[0] if rows else {"offered": None, "aht_s": None, "need": None, "patience_s": None}
    return {
        "pool": pool, "queues": queues, "have": have, "ready": ready, "patience_s": now["patience_s"],
        "basis": basis, "aht_s": now["aht_s"], "offered_now": now["offered"], "need_now": now["need"],
        "next": [{k: r[k] for k in ("start", "offered", "aht_s", "need")} for r in rows[1:]] if basis == "forecast" else [],
        "members": {q: {"offered_now": loads[q][1][0]["offered"], "aht_s": loads[q][1][0]["aht_s"],
                        "next": loads[q][1][1:n] if basis == "forecast" else []} for q in queues},
    }


def patience_from_day(day: Mapping[str, Any], min_abandoned: int = 20) -> Optional[float]:
    """An estimate of a queue's mean patience (s) from its day figures, or None where abandons are few.

    With exponential patience, mean patience = waiting time of all callers ÷
    abandons (Brown et al. 2005, ``stream.planning.calls.patience``). The live
    figures keep the answered callers' waits (``answered × asa_s``) but not
    the abandoned ones'; those are taken at the answered callers' mean wait,
    an approximation (abandoned callers wait about as long on average in an
    M/M/n+M queue near its target). Under ``min_abandoned`` abandons the
    queue's callers hardly hang up: None (Erlang C).

    >>> patience_from_day({"answered": 900, "abandoned": 100, "asa_s": 30.0})
    300.0
    >>> patience_from_day({"answered": 900, "abandoned": 5, "asa_s": 30.0}) is None
    True
    """
    ans, ab, asa = _num(day.get("answered")), _num(day.get("abandoned")), _num(day.get("asa_s"))
    if not ab or ab < min_abandoned or asa is None or ans is None or asa <= 0:
        return None
    return round((ans + ab) * asa / ab, 1)

