"""The floor ahead on the wall: staffing advice on the tiles and the supervisor's what-if.

* Staffing advice: the workers publish each site's advice
  (``stream.runtime.advisor``, Redis ``advice:{site}`` and ``advice:ch``);
  :func:`advice_view` is what of it a wall may see (whitelisted, as
  ``dashboard.wall.project`` does the snapshot), put on each queue of the
  site's view as ``advice``: ``{"need_now", "have", "ready", "basis",
  "next": [{"start", "need"}]}`` (no ``advice`` key where there is none);
  a queue staffed in a pool also ``"pool"`` and ``"queues"`` (the advice is
  the pool's: docs/planning.md, "Pools on the wall").
* ``GET /api/whatif?site=S&queue=Q&agents=K`` (supervisor, admin): the next
  hour of queue Q with K agents more (negative: fewer) from now, beside the
  course with the agents there are, simulated forward from the live state
  (``stream.planning.live``). The state comes from the site's snapshot the
  dashboard already holds (no caller number is in it): contacts waiting and
  the longest wait (VIPs apart), the agents whose primary skill is the queue
  by state and since when (agents of other queues who may help are left
  out: the answer leans pessimistic); the
  arrivals from the advice's forecast (or, with no history, the last 15
  minutes' arrivals held for the hour, said in ``basis``).
* A queue staffed in a pool (``SiteConfig.pools``, ``stream.planning.pools``),
  or ``pool=P`` in place of ``queue``: the what-if is the pool's
  (:func:`pool_whatif`): the same agents answer all its queues, so all its
  members' contacts waiting and arriving run together against the agents whose
  primary skill is any member (K more or fewer of them), each contact on its
  own queue with its queue's patience and threshold, a free agent taking the
  first to come (priority first) as ``stream.planning.whatif`` serves a pool.
  The answer names the ``pool`` and its ``queues``; ``now`` and ``with`` are
  the pool's figures with ``queues`` per member. Fewer agents than the pool has
  on duty: 400. A site without pools answers exactly as before.
* ``GET /api/whatif/hall?site=H&counters=K`` (supervisor, admin): the next
  hour of hall H with K counters more (negative: fewer) open from now
  (``stream.planning.hall_ahead``): every class's tickets waiting, each
  agent on duty at a counter with the queues it serves in its order, each
  class's arrivals as above and its walk-out patience from the day's
  figures; ``now`` and ``with`` give the hall's figures and ``queues`` per
  class. A site that is not a hall: 400.

The contacts waiting now come one by one (offered time and priority) in the
workers' advice record (``Site.queue_now``, both cores; no caller in it:
``state.waits`` is ``"each"``). From a worker that does not publish them,
the snapshot's number waiting and longest wait are used instead: the
others' waits evenly spread between the longest and now, where Poisson
arrivals put them on average given the oldest (``"spread"``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from fastapi import APIRouter, Depends, HTTPException, Request

from stream.fold.calendar import INTERVAL_MS
from stream.planning import pools
from stream.planning.advice import patience_from_day
from stream.planning.hall_ahead import HallClass, LiveHall, hall_ahead
from stream.planning.live import LiveQueue, ahead

MAX_EXTRA = 50


def _num(v: Any) -> Optional[float]:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def advice_view(rec: Any) -> dict[str, dict]:
    """queue -> what the wall shows of its advice (whitelisted fields only)."""
    queues = rec.get("queues") if isinstance(rec, dict) and isinstance(rec.get("queues"), dict) else {}
    out: dict[str, dict] = {}
    for q, a in queues.items():
        if not isinstance(a, dict):
            continue
        need = _num(a.get("need_now"))
        nxt = a.get("next") if isinstance(a.get("next"), list) else []
        out[str(q)[:64]] = {
            "need_now": None if need is None else int(need),
            "have": None if _num(a.get("have")) is None else int(a["have"]),
            "ready": None if _num(a.get("ready")) is None else int(a["ready"]),
            "basis": a.get("basis") if a.get("basis") in ("forecast", "live") else None,
            "next": [{"start": str(r.get("start"))[:25], "need": None if _num(r.get("need")) is None else int(r["need"])}
                     for r in nxt[:4] if isinstance(r, dict)],
        }
        if isinstance(a.get("pool"), str) and isinstance(a.get("queues"), list):
            out[str(q)[:64]].update(pool=a["pool"][:64], queues=[str(m)[:64] for m in a["queues"][:32]])
    return out


def apply_advice(view: dict, advice: Optional[dict]) -> dict:
    """``view`` (a site's wall view) with each queue's ``advice`` where there is one (no key where not:
    a worker without an advisor leaves the view exactly ``dashboard.wall.project``'s)."""
    adv = advice or {}
    for q, qd in view.get("queues", {}).items():
        if q in adv:
            qd["advice"] = adv[q]
    return view


def live_queue(raw: dict, queue: str, legs: Optional[list] = None) -> LiveQueue:
    """One queue's live state from a site's snapshot and, where the worker published them, the
    contacts waiting one by one (``legs``: ``[offered ms, priority]``; see the module docstring)."""
    clock = int(raw.get("clock") or 0)
    qd = raw["queues"][queue]
    waiting: list[tuple[int, int]] = []
    if legs is not None:
        waiting = [(int(o), int(p)) for o, p in legs if isinstance(o, (int, float)) and o <= clock]
    else:
        n, vip = int(qd.get("waiting") or 0), int(qd.get("vip_waiting") or 0)
        for count, longest, prio in ((vip, qd.get("longest_vip_wait_s"), 1), (n - vip, qd.get("longest_wait_s"), 0)):
            w = (_num(longest) or 0.0) * 1000.0
            for i in range(max(0, count)):
                waiting.append((int(clock - w * (count - i) / count), prio))
    busy, ready = [], 0
    for r in (raw.get("agents") or {}).values():
        # The queue's own agents: those whose primary skill it is (as the staffing advice counts them).
        if not isinstance(r, dict) or (r.get("queues") or [None])[0] != queue:
            continue
        if r.get("state") in ("busy", "wrap_up"):
            busy.append(int(r.get("since") or clock))
        elif r.get("state") == "ready":
            ready += 1
    return LiveQueue(now_ms=clock, waiting=waiting, busy_since=busy, ready=ready)


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def forecast_of(adv: Optional[dict], qd: dict, clock: int) -> tuple[str, list[tuple[int, float, float]]]:
    """(basis, the hour's arrivals per interval) from the queue's advice record."""
    if adv and isinstance(adv.get("member"), dict):
        # A pooled queue's advice is its pool's; its own arrivals are the member's.
        adv = {**adv["member"], "basis": adv.get("basis")}
    if adv and adv.get("basis") == "forecast" and adv.get("aht_s"):
        start = clock - clock % INTERVAL_MS
        rows = [(start, float(adv.get("offered_now") or 0.0), float(adv["aht_s"]))]
        rows += [(_ms(r["start"]), float(r.get("offered") or 0.0), float(r.get("aht_s") or adv["aht_s"])) for r in adv.get("next") or []]
        return "forecast", rows
    m15 = ((qd.get("sliding") or {}).get("15m") or {})
    aht = _num(m15.get("aht_s")) or _num((qd.get("day") or {}).get("aht_s"))
    if aht is None:
        raise HTTPException(409, "no handle time known for this queue yet (nobody handled); nothing to simulate")
    start = clock - clock % INTERVAL_MS
    rate = float(m15.get("offered") or 0)
    return "live", [(start + i * INTERVAL_MS, rate, aht) for i in range(5)]


# The refusal's first words: the wall knows this case by them and says it in the reader's language.
AGENTS_UNKNOWN = "agents on duty unknown"


def _need_agents_known(advice_rec: Optional[dict], queues: list[str], site: str) -> None:
    """409 where the worker's advice says who is on duty is unknown (``have`` None: a feed with no agent states,
    as the Anonymous Bank's log): simulated with nobody, every caller would abandon, which is not the floor."""
    recs = (advice_rec or {}).get("queues") or {}
    if any(isinstance(recs.get(q), dict) and "have" in recs[q] and recs[q]["have"] is None for q in queues):
        raise HTTPException(409, f"{AGENTS_UNKNOWN} at site {site!r}: its feed reports no agent states, and a "
                                 "what-if needs the agents on the phones; nothing to simulate")


def pool_at(config, site: str, queue: str) -> Optional[str]:
    """The pool ``queue`` is staffed in at ``site`` (None: alone, or no config)."""
    if config is None or site not in config.sites or not config.site(site).pools:
        return None
    return pools.pool_of(config, site, queue)


def whatif(raw: dict, advice_rec: Optional[dict], config, site: str, queue: str, extra: int) -> dict:
    """The answer of ``GET /api/whatif`` for one site's snapshot and advice record (pure); a queue of a
    pool answers with its pool's (:func:`pool_whatif`)."""
    queues = raw.get("queues") or {}
    if queue not in queues:
        raise HTTPException(404, f"no queue {queue!r} at site {site!r}")
    pool = pool_at(config, site, queue)
    if pool is not None:
        return pool_whatif(raw, advice_rec, config, site, pool, extra, asked=queue)
    qd = queues[queue]
    clock = int(raw.get("clock") or 0)
    adv = ((advice_rec or {}).get("queues") or {}).get(queue)
    _need_agents_known(advice_rec, [queue], site)
    basis, fc = forecast_of(adv, qd, clock)
    hall = raw.get("kind") == "hall"
    qc = config.queue(site, queue) if config is not None else None
    sl_t = _num(qd.get("sl_t_s")) or (qc.sl_t_s if qc else 20)
    short = (qc.short_abandon_s if qc else 0) or 0
    patience = None if hall else patience_from_day(qd.get("day") or {})
    legs = adv.get("waiting") if adv and isinstance(adv.get("waiting"), list) else None
    lq = live_queue(raw, queue, legs)
    kw = dict(sl_t_s=sl_t, patience_s=patience, short_abandon_s=short, sl_variant=qd.get("sl_variant") or "standard")
    both = ahead(lq, fc, extra=extra, courses=[0], **kw)  # the two courses on the same draws, drawn once
    now, withk = both[0], both[extra]
    return {"site": site, "queue": queue, "agents": extra, "basis": basis, "clock": clock,
            "state": {"waiting": len(lq.waiting), "ready": lq.ready, "busy": len(lq.busy_since),
                      "longest_wait_s": _num(qd.get("longest_wait_s")), "waits": "each" if legs is not None else "spread"},
            "patience_s": patience, "horizon_min": 60, "now": now, "with": withk}


def _forecasts(raw: dict, advice_rec: Optional[dict], queues: list[str]) -> dict[str, tuple[str, list]]:
    """:func:`forecast_of` for each of ``queues`` that has a handle time (the others are left out)."""
    clock = int(raw.get("clock") or 0)
    recs = (advice_rec or {}).get("queues") or {}
    got: dict[str, tuple[str, list]] = {}
    for q in queues:
        try:
            got[q] = forecast_of(recs.get(q), raw["queues"][q], clock)
        except HTTPException:
            continue  # no handle time yet: the caller stands the others' in for this queue
    return got


def _waiting(raw: dict, advice_rec: Optional[dict], queues: list[str]) -> tuple[list[tuple[int, str, int]], bool]:
    """The contacts (tickets) waiting in ``queues``, ``(offered ms, queue, priority)``, and whether each came one
    by one from the worker (else some were spread below their queue's longest wait)."""
    adv = (advice_rec or {}).get("queues") or {}
    waiting: list[tuple[int, str, int]] = []
    each = True
    for q in queues:
        legs = (adv.get(q) or {}).get("waiting")
        legs = legs if isinstance(legs, list) else None
        each = each and legs is not None
        waiting += [(o, q, p) for o, p in live_queue(raw, q, legs).waiting]
    return waiting, each


def _pool_state(raw: dict, advice_rec: Optional[dict], queues: list[str]) -> tuple[LiveHall, str]:
    """A pool's contacts waiting in its queues (one by one where the worker published them) and its agents:
    each whose primary skill is a member (as the pool's advice counts them), ready or on a contact, taking
    every member (its own first: a busy agent frees up at its own queue's handle time)."""
    clock = int(raw.get("clock") or 0)
    waiting, each = _waiting(raw, advice_rec, queues)
    agents: list[tuple[list[str], Optional[int]]] = []
    for r in (raw.get("agents") or {}).values():
        first = (r.get("queues") or [None])[0] if isinstance(r, dict) else None
        if first not in queues or r.get("state") not in ("ready", "busy", "wrap_up"):
            continue
        agents.append(([first] + [q for q in queues if q != first], None if r["state"] == "ready" else int(r.get("since") or clock)))
    return LiveHall(now_ms=clock, waiting=waiting, counters=agents), "each" if each else "spread"


def pool_whatif(raw: dict, advice_rec: Optional[dict], config, site: str, pool: str, extra: int, *,
                asked: Optional[str] = None, runs: int = 12) -> dict:
    """The answer of ``GET /api/whatif`` for a pool (``asked``: the member queue asked for, if one): its
    members' next hour together with ``extra`` agents more (negative: fewer) from now (pure; see the
    module docstring)."""
    if config is None or pool not in config.site(site).pools:
        raise HTTPException(404, f"no pool {pool!r} at site {site!r}")
    live = [q for q in pools.members(config, site, pool) if q in (raw.get("queues") or {})]
    if not live:
        raise HTTPException(409, f"no queue of pool {pool!r} on the floor yet; nothing to simulate")
    _need_agents_known(advice_rec, live, site)
    clock = int(raw.get("clock") or 0)
    got = _forecasts(raw, advice_rec, live)  # a queue with no handle time yet: the pool's stands in (below)
    if not got:
        raise HTTPException(409, f"no handle time known in pool {pool!r} yet (nobody handled); nothing to simulate")
    # A member nobody has handled yet: the pool's handle time (offered-weighted, as one Erlang A sees the pool).
    pool_aht = pools.combine([(rows[0][1], rows[0][2], None, 0.0) for _, rows in got.values()])[1] \
        or sum(rows[0][2] for _, rows in got.values()) / len(got)
    h, waits = _pool_state(raw, advice_rec, live)
    if extra < 0 and -extra > len(h.counters):
        raise HTTPException(400, f"agents: {extra} is more than the {len(h.counters)} agents on duty in pool {pool!r}")
    classes: dict[str, HallClass] = {}
    for q in live:
        qd = raw["queues"][q]
        qc = config.queue(site, q)
        sq = config.site(site).queues.get(q)
        if q in got:
            rows = got[q][1]
        else:
            m15 = (qd.get("sliding") or {}).get("15m") or {}
            rows = [(clock - clock % INTERVAL_MS + i * INTERVAL_MS, float(m15.get("offered") or 0), pool_aht) for i in range(5)]
        classes[q] = HallClass(arrivals=list(rows), aht_s=rows[0][2], sl_t_s=_num(qd.get("sl_t_s")) or qc.sl_t_s,
                               patience_s=patience_from_day(qd.get("day") or {}), vip=bool(sq and sq.vip),
                               short_abandon_s=qc.short_abandon_s or 0, sl_variant=qd.get("sl_variant") or "standard")
    res = hall_ahead(h, classes, extra=0, courses=[extra], runs=runs, first_come=True)
    basis = "forecast" if len(got) == len(live) and all(b == "forecast" for b, _ in got.values()) else "live"
    longest = [_num(raw["queues"][q].get("longest_wait_s")) for q in live]
    return {"site": site, "queue": asked, "pool": pool, "queues": live, "agents": extra, "basis": basis, "clock": clock,
            "state": {"waiting": len(h.waiting), "ready": sum(1 for _, s in h.counters if s is None),
                      "busy": sum(1 for _, s in h.counters if s is not None),
                      "longest_wait_s": max((x for x in longest if x is not None), default=None), "waits": waits},
            "patience_s": {q: c.patience_s for q, c in classes.items()}, "horizon_min": 60,
            "now": res[0], "with": res[extra]}


def _hall_state(raw: dict, advice_rec: Optional[dict], queues: list[str]) -> tuple[LiveHall, str]:
    """The hall's tickets waiting (one by one where the worker published them) and its open counters:
    each agent logged in and not on a break is one, with the queues it serves in its order."""
    clock = int(raw.get("clock") or 0)
    waiting, each = _waiting(raw, advice_rec, queues)
    counters: list[tuple[list[str], Optional[int]]] = []
    for r in (raw.get("agents") or {}).values():
        if not isinstance(r, dict) or r.get("state") not in ("ready", "busy", "wrap_up"):
            continue
        qs = [q for q in (r.get("queues") or []) if q in queues]
        if qs:
            counters.append((qs, None if r["state"] == "ready" else int(r.get("since") or clock)))
    return LiveHall(now_ms=clock, waiting=waiting, counters=counters), "each" if each else "spread"


def hall_whatif(raw: dict, advice_rec: Optional[dict], config, site: str, extra: int) -> dict:
    """The answer of ``GET /api/whatif/hall`` for one hall's snapshot and advice record (pure)."""
    if raw.get("kind") != "hall":
        raise HTTPException(400, f"site {site!r} is not a hall (counters are a hall's; for a queue's agents: /api/whatif)")
    queues = [q for q in (raw.get("queues") or {})]
    clock = int(raw.get("clock") or 0)
    got = _forecasts(raw, advice_rec, queues)  # a class with no handle time yet: the hall's others' stands in (below)
    if not got:
        raise HTTPException(409, "no handle time known at this hall yet (nobody served); nothing to simulate")
    mean_aht = sum(rows[0][2] for _, rows in got.values()) / len(got)
    classes: dict[str, HallClass] = {}
    for q in queues:
        qd = raw["queues"][q]
        qc = config.queue(site, q) if config is not None else None
        if q in got:
            rows = got[q][1]
        else:
            m15 = (qd.get("sliding") or {}).get("15m") or {}
            rows = [(clock - clock % INTERVAL_MS + i * INTERVAL_MS, float(m15.get("offered") or 0), mean_aht) for i in range(5)]
        sc = config.site(site) if config is not None else None
        classes[q] = HallClass(arrivals=list(rows), aht_s=rows[0][2],  # each interval's tickets and AHT
                               sl_t_s=_num(qd.get("sl_t_s")) or (qc.sl_t_s if qc else 600),
                               patience_s=patience_from_day(qd.get("day") or {}),
                               vip=bool(sc and q in sc.queues and sc.queues[q].vip),
                               short_abandon_s=(qc.short_abandon_s if qc else 0) or 0,
                               sl_variant=qd.get("sl_variant") or "standard")
    h, waits = _hall_state(raw, advice_rec, queues)
    res = hall_ahead(h, classes, extra=0, courses=[extra])
    basis = "forecast" if all(b == "forecast" for b, _ in got.values()) and len(got) == len(queues) else "live"
    return {"site": site, "counters": extra, "basis": basis, "clock": clock,
            "state": {"waiting": len(h.waiting), "open": len(h.counters), "ready": sum(1 for _, s in h.counters if s is None),
                      "serving": sum(1 for _, s in h.counters if s is not None), "waits": waits},
            "patience_s": {q: c.patience_s for q, c in classes.items()}, "horizon_min": 60,
            "now": res[0], "with": res[extra]}


def _extra(name: str, value: str) -> int:
    """A what-if's count (agents or counters) from its query parameter; a one-line 400 if it is not one."""
    try:
        extra = int(value)
    except ValueError:
        raise HTTPException(400, f"{name}: an integer from -{MAX_EXTRA} to {MAX_EXTRA}, got {value[:20]!r}") from None
    if not -MAX_EXTRA <= extra <= MAX_EXTRA:
        raise HTTPException(400, f"{name}: an integer from -{MAX_EXTRA} to {MAX_EXTRA}, got {extra}")
    return extra


def ahead_router() -> APIRouter:
    from dashboard.app import get_hub
    from dashboard.auth import require

    router = APIRouter()
    supervisor = Depends(require("supervisor"))

    def site_of(request: Request, site: str):
        hub = get_hub(request)
        st = hub.sites.get(site)
        if st is None:
            raise HTTPException(404, f"no site {site[:64]!r} on this floor")
        return hub, st

    @router.get("/api/whatif", tags=["floor"])
    def api_whatif(request: Request, site: str, queue: Optional[str] = None, pool: Optional[str] = None,
                   agents: str = "0", *, who=supervisor) -> dict:
        """The next hour of a queue (or of a pool: its queues together) with ``agents`` more (or fewer) from
        now, beside its course as staffed."""
        if (queue is None) == (pool is None):
            raise HTTPException(400, "give one of queue=Q or pool=P")
        extra = _extra("agents", agents)
        hub, st = site_of(request, site)
        if pool is not None:
            return pool_whatif(st.raw, hub.advice.get(site), hub.config, site, pool[:64], extra)
        return whatif(st.raw, hub.advice.get(site), hub.config, site, queue, extra)

    @router.get("/api/whatif/hall", tags=["floor"])
    def api_whatif_hall(request: Request, site: str, counters: str = "0", *, who=supervisor) -> dict:
        """The next hour of a hall with ``counters`` more (or fewer) open from now, beside its course as staffed."""
        extra = _extra("counters", counters)
        hub, st = site_of(request, site)
        return hall_whatif(st.raw, hub.advice.get(site), hub.config, site, extra)

    return router


__all__ = ["advice_view", "apply_advice", "live_queue", "forecast_of", "whatif", "pool_whatif", "hall_whatif", "ahead_router"]
