"""The queue figures people see live, declared once: the terminal view and the wall both draw them from here.

The fold computes a window's figures (``QueueStats.figures`` in
``stream/fold/stats.py``, the names of docs/metrics.md); this list says which
of them are shown, of which window, under what label in zh-CN and English, and
in what unit. The terminal's live table (``stream/cli/tables.py``) makes a
column of each, the wall (``dashboard/static/wall.js``, sent the list by
``dashboard/hub.py``) a figure on each queue tile, coloured by the floor
config's threshold of the same name; the wall's projection
(``dashboard/wall.py``) lets exactly these figures through. So a new queue
figure is shown everywhere by one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

# The windows a figure can be shown for: the snapshot's key of each, and the wall view's.
WINDOWS = {"day": "day", "15m": "m15"}
# How the wall writes a value: "pct" 87%, "s" 42s (m:ss from a minute on).
UNITS = ("pct", "s")


@dataclass(frozen=True)
class ShownFigure:
    """One figure of one window, as people see it."""

    key: str  # the figure's name in QueueStats.figures() (and the floor config's thresholds)
    window: str  # a key of WINDOWS
    unit: str  # one of UNITS
    en: str  # the wall's label
    zh: str
    head_en: str  # the terminal's column head (short: a table row per queue)
    head_zh: str
    wall: bool = True  # on the wall's queue tiles too (the terminal shows every figure)

    def __post_init__(self) -> None:
        if self.window not in WINDOWS or self.unit not in UNITS:
            raise ValueError(f"figure {self.key}: window must be one of {sorted(WINDOWS)}, unit one of {UNITS}")


QUEUE_FIGURES: tuple[ShownFigure, ...] = (
    ShownFigure("sl_pct", "day", "pct", "SL today", "服务水平·今日", "SL today", "今日服务水平"),
    ShownFigure("sl_pct", "15m", "pct", "SL 15 min", "服务水平·15分钟", "SL 15m", "15分钟服务水平"),
    ShownFigure("abandon_pct", "day", "pct", "Abandon today", "放弃率·今日", "aband. %", "放弃率%"),
    ShownFigure("asa_s", "day", "s", "ASA today", "平均应答·今日", "ASA", "平均应答"),
    ShownFigure("aht_s", "day", "s", "AHT today", "平均处理·今日", "AHT", "平均处理", wall=False),
)


def wall_figures() -> list[dict]:
    """The tiles' figures, as the wall page reads them: key, window (the view's name of it), unit, label."""
    return [
        {"key": f.key, "window": WINDOWS[f.window], "unit": f.unit, "label": {"en": f.en, "zh": f.zh}}
        for f in QUEUE_FIGURES
        if f.wall
    ]


def wall_keys() -> tuple[str, ...]:
    """The figure names the wall shows, once each, in order."""
    return tuple(dict.fromkeys(f.key for f in QUEUE_FIGURES if f.wall))
