"""The floor ahead on the wall: staffing advice on the tiles and the supervisor's what-if.

* Staffing advice: the workers publish each site's advice
  (``stream.runtime.advisor``, Redis ``advice:{site}`` and ``advice:ch``);
  :func:`advice_view` is what of it a wall may see (whitelisted, as
  ``dashboard.wall.project`` does the snapshot), put on each queue of the
  site's view as ``advice``: ``{"need_now", "have", "ready", "basis",
  "next": [{"start", "need"}]}`` (no ``advice`` key where there is none).
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
from stream.planning.advice import patience_from_day
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


def whatif(raw: dict, advice_rec: Optional[dict], config, site: str, queue: str, extra: int) -> dict:
    """The answer of ``GET /api/whatif`` for one site's snapshot and advice record (pure)."""
    queues = raw.get("queues") or {}
    if queue not in queues:
        raise HTTPException(404, f"no queue {queue!r} at site {site!r}")
    qd = queues[queue]
    clock = int(raw.get("clock") or 0)
    adv = ((advice_rec or {}).get("queues") or {}).get(queue)
    basis, fc = forecast_of(adv, qd, clock)
    hall = raw.get("kind") == "hall"
    qc = config.queue(site, queue) if config is not None else None
    sl_t = _num(qd.get("sl_t_s")) or (qc.sl_t_s if qc else 20)
    short = (qc.short_abandon_s if qc else 0) or 0
    patience = None if hall else patience_from_day(qd.get("day") or {})
    legs = adv.get("waiting") if adv and isinstance(adv.get("waiting"), list) else None
    lq = live_queue(raw, queue, legs)
    kw = dict(sl_t_s=sl_t, patience_s=patience, short_abandon_s=short, sl_variant=qd.get("sl_variant") or "standard")
    now = ahead(lq, fc, extra=0, **kw)
    withk = ahead(lq, fc, extra=extra, **kw)
    return {"site": site, "queue": queue, "agents": extra, "basis": basis, "clock": clock,
            "state": {"waiting": len(lq.waiting), "ready": lq.ready, "busy": len(lq.busy_since),
                      "longest_wait_s": _num(qd.get("longest_wait_s")), "waits": "each" if legs is not None else "spread"},
            "patience_s": patience, "horizon_min": 60, "now": now, "with": withk}


def ahead_router() -> APIRouter:
    from dashboard.app import get_hub
    from dashboard.auth import require

    router = APIRouter()
    supervisor = Depends(require("supervisor"))

    @router.get("/api/whatif", tags=["floor"])
    def api_whatif(request: Request, site: str, queue: str, agents: str = "0", *, who=supervisor) -> dict:
        """The next hour of a queue with ``agents`` more (or fewer) from now, beside its course as staffed."""
        try:
            extra = int(agents)
        except ValueError:
            raise HTTPException(400, f"agents: an integer from -{MAX_EXTRA} to {MAX_EXTRA}, got {agents[:20]!r}") from None
        if not -MAX_EXTRA <= extra <= MAX_EXTRA:
            raise HTTPException(400, f"agents: an integer from -{MAX_EXTRA} to {MAX_EXTRA}, got {extra}")
        hub = get_hub(request)
        st = hub.sites.get(site)
        if st is None:
            raise HTTPException(404, f"no site {site[:64]!r} on this floor")
        return whatif(st.raw, hub.advice.get(site), hub.config, site, queue, extra)

    return router


__all__ = ["advice_view", "apply_advice", "live_queue", "forecast_of", "whatif", "ahead_router"]
