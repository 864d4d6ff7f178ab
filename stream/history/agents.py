"""Agent performance from history: per-agent days added up over a period (pure).

Handled and handle time add up; so do the milliseconds in each state, from
which occupancy comes as metrics.md defines it (busy + wrap-up over busy +
wrap-up + ready); not-ready time is split by reason. A team's row (the site's
agents together, or any group) adds its agents' sums the same way.
"""

from __future__ import annotations

from typing import Iterable, Optional

from stream.fold.agent import occupancy_pct


def agent_performance(days: Iterable[dict], states: Iterable[dict], team: Optional[str] = None) -> list[dict]:
    """Rows ``{"agent", "label", "handled", "aht_s", "occupancy_pct", "state_s", "not_ready_s"}``,
    by agent, plus a last ``agent: "*"`` row for all of them (labelled ``team``)."""
    acc: dict[str, dict] = {}
    for d in days:
        a = acc.setdefault(d["agent"], {"label": d["label"], "handled": 0, "handle_ms": 0, "ms": {}})
        a["handled"] += int(d["handled"])
        a["handle_ms"] += int(d["handle_sum_ms"])
        a["label"] = d["label"]
    for s in states:
        a = acc.setdefault(s["agent"], {"label": s["agent"], "handled": 0, "handle_ms": 0, "ms": {}})
        a["ms"][s["state"]] = a["ms"].get(s["state"], 0) + int(s["ms"])
    total = {"label": team or "*", "handled": 0, "handle_ms": 0, "ms": {}}
    out = []
    for name in sorted(acc):
        a = acc[name]
        out.append(_row(name, a))
        total["handled"] += a["handled"]
        total["handle_ms"] += a["handle_ms"]
        for k, v in a["ms"].items():
            total["ms"][k] = total["ms"].get(k, 0) + v
    if out:
        out.append(_row("*", total))
    return out


def _row(name: str, a: dict) -> dict:
    ms = a["ms"]
    return {
        "agent": name,
        "label": a["label"],
        "handled": a["handled"],
        "aht_s": a["handle_ms"] / a["handled"] / 1000.0 if a["handled"] else None,
        "occupancy_pct": occupancy_pct(ms),
        "state_s": {k: v / 1000.0 for k, v in sorted(ms.items()) if not k.startswith("not_ready")},
        "not_ready_s": {(k.split(":", 1)[1] if ":" in k else "-"): v / 1000.0 for k, v in sorted(ms.items()) if k.startswith("not_ready")},
    }


def agent_days_of(days: Iterable[dict], states: Iterable[dict], agent: str) -> list[dict]:
    """One agent's rows per local date (its drill-down), the same figures as ``agent_performance``."""
    by_date: dict[str, tuple[list, list]] = {}
    for d in days:
        if d["agent"] == agent:
            by_date.setdefault(d["date"], ([], []))[0].append(d)
    for s in states:
        if s["agent"] == agent:
            by_date.setdefault(s["date"], ([], []))[1].append(s)
    out = []
    for date in sorted(by_date):
        rows = agent_performance(*by_date[date])
        out.append({"date": date, **rows[0]})
    return out
