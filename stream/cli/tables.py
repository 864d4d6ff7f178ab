"""Terminal rendering (rich) of reports and live snapshots, for people, in English or Chinese.

The JSON forms are the contract; these tables show the same numbers. A number
is never cut: on a terminal the columns fit its width and a number too wide
folds onto a second line rather than ending in "…"; into a file or a pipe the
table is printed at its full width.
"""

from __future__ import annotations

from typing import Optional

import sys

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from stream.contracts.figures import QUEUE_FIGURES

_COLS = (
    ("offered", "offered", "呼入"),
    ("answered", "answered", "接通"),
    ("abandoned", "aband.", "放弃"),
    ("short_abandoned", "short", "短放弃"),
    ("asa_s", "ASA s", "平均应答秒"),
    ("aht_s", "AHT s", "平均处理秒"),
    ("sl_pct", "SL %", "服务水平%"),
    ("abandon_pct", "aband. %", "放弃率%"),
    ("max_wait_s", "max wait s", "最长等待秒"),
)
_WORDS = {
    "queue": ("queue", "队列"), "total": ("total", "合计"), "all days": ("all days", "全部日期"),
    "rejected": ("rejected", "拒收"), "waiting": ("waiting", "排队"), "longest": ("longest", "最长等待"),
    "VIP": ("VIP", "贵宾"),
    "ready": ("ready", "空闲"), "busy": ("busy", "通话"), "wrap": ("wrap", "话后"), "not ready": ("not ready", "示忙"),
}


def word(key: str, lang: str = "en") -> str:
    en, zh = _WORDS.get(key, (key, key))
    return zh if lang == "zh" else en


def console() -> Console:
    """Fits the terminal; full width (never cut) when stdout is a file or a pipe."""
    return Console() if sys.stdout.isatty() else Console(width=1000, soft_wrap=True)


def _num_col(t: Table, head: str) -> None:
    t.add_column(head, justify="right", overflow="fold", no_wrap=False)


def fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.1f}"
    return f"{v:,}"


def report_tables(report: dict, lang: str = "en") -> Group:
    zh = lang == "zh"
    parts = []
    for day in report["days"]:
        t = Table(title=day["date"], title_justify="left", show_edge=False)
        t.add_column(word("queue", lang), overflow="fold")
        for _, en, zhh in _COLS:
            _num_col(t, zhh if zh else en)
        for q, m in day["queues"].items():
            t.add_row(q, *(fmt(m[k]) for k, _, _ in _COLS))
        t.add_row(Text(word("total", lang), style="bold"), *(Text(fmt(day["total"][k]), style="bold") for k, _, _ in _COLS))
        parts.append(t)
    g = Table(title=word("all days", lang), title_justify="left", show_edge=False)
    g.add_column("")
    for _, en, zhh in _COLS:
        _num_col(g, zhh if zh else en)
    g.add_row(word("total", lang), *(fmt(report["total"][k]) for k, _, _ in _COLS))
    parts.append(g)
    rej = report["rejected"]
    lines = [f"{word('rejected', lang)}: {rej['count']:,}"] + [f"  {n:>8,}  {r}" for r, n in rej["reasons"].items()]
    parts.append(Text("\n".join(lines)))
    return Group(*parts)


def snapshot_table(snap: dict, lang: str = "en") -> Table:
    """One site's live figures: a row per queue and the site total."""
    title = f"{snap['name'].get(lang) or snap['site']}  {snap['clock_local']}"
    t = Table(title=title, title_justify="left")
    t.add_column(word("queue", lang), justify="left", overflow="fold")
    for head in ("waiting", "longest", "VIP"):
        _num_col(t, word(head, lang))
    for f in QUEUE_FIGURES:
        _num_col(t, f.head_zh if lang == "zh" else f.head_en)
    for head in ("ready", "busy", "wrap", "not ready"):
        _num_col(t, word(head, lang))

    def row(name: str, q: dict, style: Optional[str] = None) -> None:
        a = q["agents"]
        t.add_row(
            name,
            fmt(q["waiting"]),
            _mmss(q["longest_wait_s"]),
            fmt(q["vip_waiting"]),
            *(fmt((q["day"] if f.window == "day" else q["sliding"][f.window])[f.key]) for f in QUEUE_FIGURES),
            fmt(a["ready"]),
            fmt(a["busy"]),
            fmt(a["wrap_up"]),
            fmt(a["not_ready"]),
            style=style,
        )

    for qid, q in snap["queues"].items():
        row(q["name"].get(lang) or qid, q)
    row(word("total", lang), snap["total"], style="bold")
    return t


def _mmss(s: Optional[float]) -> str:
    if s is None:
        return "—"
    s = int(s)
    return f"{s // 60}:{s % 60:02d}"
