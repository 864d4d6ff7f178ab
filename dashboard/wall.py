"""What the wall is allowed to see: a whitelist projection of a site's snapshot.

The worker's snapshot carries more than a wall needs (health counters, per
agent queues and occupancy, and whatever a future version adds). The page gets
only the fields listed here, so a field that should never reach a screen on
the floor — a caller number above all — cannot leak by being added upstream:
it is simply not copied. Agents are keyed by the label the core gives them
(display name or work number, as the site's config says), not by their id.

Also here: the thresholds the page colours with (from the floor config), the
not-ready reasons' names, a per-site ring of the last hour's points for the
sparklines, and an alert as the wall shows it (:func:`wall_alert`), its
message re-worded with the figure's live value (:func:`live_alert`).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable, Optional

from stream.alerts.messages import message
from stream.alerts.rules import RULE_CODES, rule_value
from stream.contracts.figures import WINDOWS, wall_keys
from stream.contracts.floor_config import FloorConfig

_ALERT_FIELDS = ("id", "key", "dedup_key", "rule", "kind", "site", "queue", "agent", "severity", "state", "value",
                 "threshold", "target", "since_ms", "raised_ms", "at_ms", "message")
_QUEUE_RULES = ("longest_wait", "vip_wait", "service_level", "abandon_rate", "no_agent_ready")
_AGENT_RULES = ("agent_not_ready", "agent_wrap_up")
_TARGET_OF = {"service_level": "sl_target_pct", "longest_wait": "sl_t_s", "vip_wait": "sl_t_s"}

# The figures of a window the wall shows (metrics.md names): counts, and the tiles' (stream/contracts/figures.py).
_FIGURES = ("offered", "answered", "abandoned", *wall_keys())
_QUEUE_NOW = ("waiting", "longest_wait_s", "vip_waiting", "longest_vip_wait_s", "sl_t_s", "sl_target_pct")
_AGENT_STATES = ("ready", "busy", "wrap_up", "not_ready", "logged_in")
_STATES = {"ready", "busy", "wrap_up", "not_ready", "logged_out"}

HISTORY_STEP_MS = 10_000  # one sparkline point per 10 s of event time
HISTORY_SPAN_MS = 3_600_000  # the last hour


def _num(v: Any) -> Optional[float]:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _str(v: Any, limit: int = 64) -> Optional[str]:
    return v[:limit] if isinstance(v, str) else None


def _labels(v: Any, fallback: str) -> dict[str, str]:
    v = v if isinstance(v, dict) else {}
    en = _str(v.get("en")) or fallback
    return {"en": en, "zh": _str(v.get("zh")) or _str(v.get("zh-CN")) or en}


def _figures(w: Any) -> dict[str, Optional[float]]:
    w = w if isinstance(w, dict) else {}
    return {k: _num(w.get(k)) for k in _FIGURES}


def _agent_counts(a: Any) -> dict[str, Any]:
    a = a if isinstance(a, dict) else {}
    reasons = a.get("not_ready_reasons") if isinstance(a.get("not_ready_reasons"), dict) else {}
    out: dict[str, Any] = {k: int(_num(a.get(k)) or 0) for k in _AGENT_STATES}
    out["not_ready_reasons"] = {str(r)[:32]: int(_num(n) or 0) for r, n in reasons.items()}
    return out


def _queue(q: Any, name: str) -> dict[str, Any]:
    q = q if isinstance(q, dict) else {}
    sliding = q.get("sliding") if isinstance(q.get("sliding"), dict) else {}
    out: dict[str, Any] = {"name": _labels(q.get("name"), name)}
    out.update({k: _num(q.get(k)) for k in _QUEUE_NOW})
    out["agents"] = _agent_counts(q.get("agents"))
    for window, key in WINDOWS.items():  # "day", "m15"
        out[key] = _figures(q.get("day") if window == "day" else sliding.get(window))
    return out


def _ewt(e: Any) -> Optional[dict[str, Optional[float]]]:
    """A queue's predicted wait (stream/predict/live.py), numbers only; None when not published."""
    if not isinstance(e, dict):
        return None
    return {k: _num(e.get(k)) for k in ("wait_s", "low_s", "high_s", "ahead")}


def _with_ewt(view: dict[str, Any], ewt: Any) -> None:
    """Each queue's predicted wait, and the site's longest (the all-sites view's figure)."""
    ewt = ewt if isinstance(ewt, dict) else {}
    best: Optional[dict[str, Optional[float]]] = None
    for q, qv in view["queues"].items():
        e = qv["ewt"] = _ewt(ewt.get(q))
        if e is not None and e["wait_s"] is not None and (best is None or e["wait_s"] > (best["wait_s"] or 0)):
            best = e
    view["total"]["ewt"] = best


def thresholds_for(config: Optional[FloorConfig], site: str) -> dict[str, dict[str, dict[str, Any]]]:
    """queue -> figure -> {warn, alarm, higher_is_worse} from the floor config."""
    if config is None or site not in config.sites:
        return {}
    return {
        q: {f: {"warn": t.warn, "alarm": t.alarm, "higher_is_worse": t.higher_is_worse} for f, t in qc.thresholds.items()}
        for q, qc in config.sites[site].queues.items()
        if qc.thresholds
    }


def project(snap: dict, config: Optional[FloorConfig] = None) -> dict[str, Any]:
    """The wall's view of one site's snapshot: only whitelisted fields, nothing else."""
    site = str(snap.get("site", ""))
    queues = snap.get("queues") if isinstance(snap.get("queues"), dict) else {}
    agents = snap.get("agents") if isinstance(snap.get("agents"), dict) else {}
    rows: dict[str, dict[str, Any]] = {}
    for aid, r in agents.items():
        if not isinstance(r, dict) or r.get("state") not in _STATES or r.get("state") == "logged_out":
            continue
        label = _str(r.get("label")) or str(aid)[:64]
        rows[label] = {
            "state": r["state"],
            "reason": _str(r.get("reason"), 32),
            # Only ``since``: the page derives time in state from the site's clock, so an
            # update does not carry a changed number for every agent on the floor.
            "since": _num(r.get("since")),
            "counter": _str(r.get("counter"), 16),
        }
    total = snap.get("total") if isinstance(snap.get("total"), dict) else {}
    view: dict[str, Any] = {
        "site": site,
        "name": _labels(snap.get("name"), site),
        "kind": "hall" if snap.get("kind") == "hall" else "hotline",
        "region": _str(snap.get("region")),
        "clock": _num(snap.get("clock")),
        "clock_local": _str(snap.get("clock_local"), 40),
        "date": _str(snap.get("date"), 10),
        "queues": {str(q)[:64]: _queue(v, str(q)) for q, v in queues.items()},
        "total": _queue({**total, "name": snap.get("name")}, site),
        "agents": dict(sorted(rows.items())),
        "thresholds": thresholds_for(config, site),
    }
    _with_ewt(view, snap.get("ewt"))
    counters = snap.get("counters")
    if isinstance(counters, dict):
        by = counters.get("by_counter") if isinstance(counters.get("by_counter"), dict) else {}
        view["counters"] = {
            "configured": int(_num(counters.get("configured")) or 0),
            "open": int(_num(counters.get("open")) or 0),
            "by_counter": {str(c)[:16]: {"open": bool(r.get("open"))} for c, r in by.items() if isinstance(r, dict)},
        }
    return view


def history_point(view: dict[str, Any]) -> Optional[list]:
    """``[clock, {queue: [waiting, sl_pct_15m]}]`` for the sparklines, or None without a clock."""
    clock = view.get("clock")
    if not clock:
        return None
    return [clock, {q: [v.get("waiting"), v["m15"].get("sl_pct")] for q, v in view["queues"].items()}]


class History:
    """The last hour of one site's points, one per ``HISTORY_STEP_MS`` of event time.

    Event time, not wall time: a replay at 60x fills an hour in a minute and
    the sparkline still shows one hour of the floor.
    """

    def __init__(self, step_ms: int = HISTORY_STEP_MS, span_ms: int = HISTORY_SPAN_MS) -> None:
        self.step_ms = step_ms
        self.span_ms = span_ms
        self.points: deque[list] = deque(maxlen=span_ms // step_ms + 2)

    def add(self, view: dict[str, Any]) -> None:
        p = history_point(view)
        if p is None:
            return
        if self.points and p[0] < self.points[-1][0]:
            # The clock went back (a rebuilt worker, a new replay): start over.
            self.points.clear()
        if self.points and p[0] // self.step_ms == self.points[-1][0] // self.step_ms:
            # Same step: the latest figures of the step stand for it (the page does the same).
            self.points[-1] = p
            return
        self.points.append(p)
        while self.points and p[0] - self.points[0][0] > self.span_ms:
            self.points.popleft()

    def as_list(self) -> list[list]:
        return list(self.points)


def apply_in_place(doc: dict, ops: Iterable[dict]) -> dict:
    """Apply ``stream.fold.delta.diff`` output to ``doc`` without copying it (we own ``doc``).

    ``stream.fold.delta.apply_patch`` deep-copies the whole snapshot on every patch;
    the dashboard applies every patch of every site, so it edits in place.
    Returns the (possibly replaced) document.
    """
    for op in ops:
        path = op["path"]
        if path == "":
            doc = op["value"]
            continue
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        parent: Any = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        if isinstance(parent, list):
            idx = len(parent) if last == "-" else int(last)
            if op["op"] == "remove":
                del parent[idx]
            elif op["op"] == "add":
                parent.insert(idx, op["value"])
            else:
                parent[idx] = op["value"]
        elif op["op"] == "remove":
            parent.pop(last, None)
        else:
            parent[last] = op["value"]
    return doc


def wall_alert(rec: dict, ack: Optional[dict]) -> dict:
    """An alert as the wall and the API show it: known fields only, plus its (first) acknowledgement."""
    out = {k: rec.get(k) for k in _ALERT_FIELDS}
    msg = rec.get("message") if isinstance(rec.get("message"), dict) else {}
    out["message"] = {k: str(v)[:300] for k, v in msg.items() if k in ("zh-CN", "en")}
    if isinstance(rec.get("queues"), list):  # a pool's alert (``queue`` names the pool): its queues
        out["queues"] = [str(q)[:64] for q in rec["queues"][:32]]
    out["acknowledged"] = ack is not None
    out["ack_by"] = ack.get("by") if ack else None
    out["ack_at_ms"] = ack.get("at_ms") if ack else None
    out["ack_floor_ms"] = ack.get("floor_ms") if ack else None
    return out


def live_alert(rec: dict, snap: dict) -> Optional[dict]:
    """``rec`` (an AlertChange) re-worded with its figure's value in ``snap`` now; None when it cannot be.

    The worker words a message when it raises (and at each repeat); the tile
    next to it shows the figure live. The wall's text must not contradict the
    tile, so while an alert is up its value, its "for N min" and the queue's
    target are taken from the same snapshot the tile is drawn from.
    """
    rule, q = rec.get("rule"), rec.get("queue")
    if rec.get("state") == "resolved" or rec.get("kind") == "anomaly" or not isinstance(q, str):
        return None
    queues = snap.get("queues") if isinstance(snap.get("queues"), dict) else {}
    qd = queues.get(q)
    clock = snap.get("clock")
    if not isinstance(qd, dict) or not isinstance(clock, (int, float)):
        return None
    agent = reason = None
    try:
        if rule in _QUEUE_RULES:
            value = rule_value(RULE_CODES[rule], snap, qd, 1)
        elif rule in _AGENT_RULES:
            row = (snap.get("agents") or {}).get(rec.get("agent"))
            if not isinstance(row, dict) or row.get("since") is None:
                return None
            value, agent, reason = (clock - row["since"]) / 1000.0, row.get("label") or rec.get("agent"), row.get("reason")
        else:
            return None
    except (KeyError, TypeError):
        return None
    if value is None:
        return None
    tk = _TARGET_OF.get(rule)
    target = qd.get(tk) if tk else rec.get("target")
    since = rec.get("since_ms") if isinstance(rec.get("since_ms"), int) else clock
    name = qd.get("name") if isinstance(qd.get("name"), dict) else {"en": q}
    msg = message(rule, "raised", name, value, rec.get("threshold"), int(clock - since), hall=snap.get("kind") == "hall",
                  agent=agent, reason=reason, target=target)
    if rec.get("state") == "acknowledged":
        msg = {"zh-CN": "已确认：" + msg["zh-CN"], "en": "Acknowledged: " + msg["en"]}
    return {**rec, "value": value, "target": target, "message": msg}


def reason_names(config: Optional[FloorConfig]) -> dict[str, dict[str, str]]:
    """Not-ready reason code -> {en, zh} from the floor config (the wall names them in its language)."""
    reasons = getattr(config, "not_ready_reasons", None) or {}
    return {str(k): {"en": v.en, "zh": v.zh or v.en} for k, v in reasons.items()}
