"""The shown queue figures (stream/contracts/figures.py): one declaration the terminal and the wall both draw."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from dashboard.wall import project
from stream.cli.tables import snapshot_table
from stream.contracts.figures import QUEUE_FIGURES, WINDOWS, ShownFigure, wall_figures, wall_keys
from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor
from stream.fold.stats import QueueStats
from tests.helpers import Seq


def test_every_shown_figure_is_one_the_fold_computes():
    computed = set(QueueStats().figures())
    assert {f.key for f in QUEUE_FIGURES} <= computed
    for f in QUEUE_FIGURES:
        assert f.en and f.zh and f.head_en and f.head_zh, f.key


def test_a_figure_of_an_unknown_window_or_unit_is_refused():
    with pytest.raises(ValueError, match="window"):
        ShownFigure("asa_s", "90m", "s", "ASA", "平均应答", "ASA", "平均应答")
    with pytest.raises(ValueError, match="unit"):
        ShownFigure("asa_s", "day", "ms", "ASA", "平均应答", "ASA", "平均应答")


def _snapshot() -> dict:
    cfg = load_config("config/floor.yaml")
    site = next(s for s, sc in cfg.sites.items() if sc.kind != "hall")
    q = next(iter(cfg.sites[site].queues))
    floor, s = Floor(cfg), Seq(site)
    s.offer(1_700_000_000_000, "a", q), s.answer(1_700_000_012_000, "a")
    s.offer(1_700_000_001_000, "b", q), s.abandon(1_700_000_031_000, "b")
    floor.apply_many(s.events)
    return floor.snapshot(site)


def test_the_wall_sees_exactly_the_declared_figures_of_each_window():
    snap = _snapshot()
    view = project(snap)
    for qid, q in view["queues"].items():
        for window, key in WINDOWS.items():
            assert set(q[key]) == {"offered", "answered", "abandoned", *wall_keys()}
        for f in wall_figures():
            src = snap["queues"][qid]["day"] if f["window"] == "day" else snap["queues"][qid]["sliding"]["15m"]
            assert q[f["window"]][f["key"]] == src[f["key"]]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_terminal_has_a_column_per_declared_figure(lang):
    snap = _snapshot()
    out = io.StringIO()
    Console(file=out, width=400).print(snapshot_table(snap, lang))
    heads = [f.head_zh if lang == "zh" else f.head_en for f in QUEUE_FIGURES]
    header = next(line for line in out.getvalue().splitlines() if heads[0] in line)
    cells = [c.strip() for c in header.strip("┃ ").split("┃")]
    i = cells.index(heads[0])
    assert cells[i:i + len(heads)] == heads
