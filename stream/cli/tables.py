"""Terminal rendering (rich) of reports and live snapshots, for people.

The JSON forms are the contract; these tables show the same numbers.
"""

from __future__ import annotations

from typing import Optional

from rich.console import Group
from rich.table import Table
from rich.text import Text

_COLS = (
    ("offered", "offered"),
    ("answered", "answered"),
    ("abandoned", "aband."),
    ("short_abandoned", "short"),
    ("asa_s", "ASA s"),
    ("aht_s", "AHT s"),
    ("sl_pct", "SL %"),
    ("abandon_pct", "aband. %"),
    ("max_wait_s", "max wait s"),
)


def fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.1f}"
    return f"{v:,}"


def report_tables(report: dict) -> Group:
    parts = []
    for day in report["days"]:
        t = Table(title=day["date"], title_justify="left", show_edge=False)
        t.add_column("queue")
        for _, head in _COLS:
            t.add_column(head, justify="right")
        for q, m in day["queues"].items():
            t.add_row(q, *(fmt(m[k]) for k, _ in _COLS))
        t.add_row(Text("total", style="bold"), *(Text(fmt(day["total"][k]), style="bold") for k, _ in _COLS))
        parts.append(t)
    g = Table(title="all days", title_justify="left", show_edge=False)
    g.add_column("")
    for _, head in _COLS:
        g.add_column(head, justify="right")
    g.add_row("total", *(fmt(report["total"][k]) for k, _ in _COLS))
    parts.append(g)
    rej = report["rejected"]
    lines = [f"rejected: {rej['count']:,}"] + [f"  {n:>8,}  {r}" for r, n in rej["reasons"].items()]
    parts.append(Text("\n".join(lines)))
    return Group(*parts)


def snapshot_table(snap: dict, lang: str = "en") -> Table:
    """One site's live figures: a row per queue and the site total."""
    title = f"{snap['name'].get(lang) or snap['site']}  {snap['clock_local']}"
    t = Table(title=title, title_justify="left")
    for head in ("queue", "waiting", "longest", "VIP", "SL today", "SL 15m", "aband. %", "ASA", "AHT", "ready", "busy", "wrap", "not ready"):
        t.add_column(head, justify="left" if head == "queue" else "right")

    def row(name: str, q: dict, style: Optional[str] = None) -> None:
        a = q["agents"]
        t.add_row(
            name,
            fmt(q["waiting"]),
            _mmss(q["longest_wait_s"]),
            fmt(q["vip_waiting"]),
            fmt(q["day"]["sl_pct"]),
            fmt(q["sliding"]["15m"]["sl_pct"]),
            fmt(q["day"]["abandon_pct"]),
            fmt(q["day"]["asa_s"]),
            fmt(q["day"]["aht_s"]),
            fmt(a["ready"]),
            fmt(a["busy"]),
            fmt(a["wrap_up"]),
            fmt(a["not_ready"]),
            style=style,
        )

    for qid, q in snap["queues"].items():
        row(q["name"].get(lang) or qid, q)
    row("total" if lang == "en" else "合计", snap["total"], style="bold")
    return t


def _mmss(s: Optional[float]) -> str:
    if s is None:
        return "—"
    s = int(s)
    return f"{s // 60}:{s % 60:02d}"
