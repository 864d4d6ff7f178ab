"""The ``/staffing`` board's re-plan during the day (``stream.planning.board``): it acts after the lead time,
marks the intervals it could not reach, and aims the rest of the day at what the day still needs after its
service level so far (``so_far``: the live floor's figure on the page), bounded as ``intraday.Cadence`` says.

The history is a log of three weeks of Poisson calls (``tests.planning.test_cli.make_log``); the board is
re-planned at 12:00 on a day it has.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from stream.contracts.floor_config import load_config
from stream.planning.actuals import read_log
from stream.planning.board import Board
from stream.planning.intraday import Cadence
from stream.planning.so_far import of_log
from tests.planning.test_cli import make_log

DAY = date(2026, 3, 16)
NOW = datetime.fromisoformat("2026-03-16T12:00+08:00")
ACTS = "2026-03-16T13:00:00+08:00"


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return read_log(make_log(tmp_path_factory.mktemp("board") / "calls.jsonl"), "jsonl", load_config())


def _board(log, so_far=None, cadence=None) -> dict:
    return Board(log, cadence=cadence).board("gd-hotline", "general", DAY, 1, now=NOW, so_far=so_far)


def _after(b: dict) -> int:
    return sum(r["agents"] for r in b["intervals"] if r["start"] >= ACTS)


def test_a_morning_below_target_raises_the_rest_one_above_lowers_it(log):
    low = _board(log, lambda: (200.0, 60.0, "live"))
    even = _board(log, lambda: (200.0, 80.0, "live"))
    high = _board(log, lambda: (200.0, 95.0, "live"))
    assert low["recovery"]["margin_pts"] > 0 == even["recovery"]["margin_pts"] > high["recovery"]["margin_pts"]
    assert _after(low) > _after(even) > _after(high) > 0
    # The intervals before the re-plan acts are the day-ahead plan whatever the morning was.
    for b in (low, high):
        kept = [r for r in b["intervals"] if r["replan"] == "kept"]
        assert kept and all(r["start"] < ACTS and r["agents"] == r["day_ahead_agents"] for r in kept)
        assert all(r["start"] >= ACTS for r in b["intervals"] if r["replan"] == "replanned")
    assert low["effective_from"] == ACTS and low["replanned_at"] == "2026-03-16T12:00:00+08:00"
    rec = low["recovery"]
    assert rec["source"] == "live" and rec["offered"] == 200 and rec["sl_pct"] == 60.0
    assert rec["aim_pct"] == pytest.approx(rec["target_pct"] + rec["margin_pts"])


def test_the_recovery_is_bounded_by_the_cadence(log):
    lost = _board(log, lambda: (10_000.0, 0.0, "live"))["recovery"]
    assert lost["margin_pts"] == lost["up_to_pts"] == 10.0 and lost["aim_pct"] == 90.0
    tight = _board(log, lambda: (10_000.0, 0.0, "live"), Cadence(recover_up=3.0))["recovery"]
    assert tight["margin_pts"] == tight["up_to_pts"] == 3.0
    spent = _board(log, lambda: (10_000.0, 100.0, "live"), Cadence(recover_down=2.0))["recovery"]
    assert spent["margin_pts"] == -2.0 == -spent["down_to_pts"]


def test_without_figures_the_rest_aims_at_the_target(log):
    none = _board(log, lambda: None)
    assert none["recovery"]["sl_pct"] is None and none["recovery"]["source"] is None and none["recovery"]["margin_pts"] == 0.0
    assert _after(none) == _after(_board(log, lambda: (200.0, 80.0, "live")))


def test_by_default_the_logs_own_day_so_far(log):
    rec = _board(log)["recovery"]
    n, sl = of_log(log, NOW)["gd-hotline"]
    assert rec["source"] == "log" and rec["offered"] == n > 100 and rec["sl_pct"] == round(sl, 1)


def test_the_sites_own_lead_time_says_when_a_re_plan_acts(log):
    """A floor that moves agents within half an hour (``replan_lead_min: 30``) sees the re-plan act at 12:30:
    the half hour the default hour keeps is re-planned too."""
    import msgspec

    from stream.planning.actuals import Log

    cfg = log.config
    site = msgspec.structs.replace(cfg.site("gd-hotline"), replan_lead_min=30)
    quick = Log(log.events, msgspec.structs.replace(cfg, sites={**cfg.sites, "gd-hotline": site}))
    low = lambda: (200.0, 60.0, "live")  # noqa: E731 - a morning below target, so the re-plan adds agents
    b, hour = _board(quick, low), _board(log, low)
    assert b["effective_from"] == "2026-03-16T12:30:00+08:00" and hour["effective_from"] == ACTS
    half = [r for r in b["intervals"] if "2026-03-16T12:30" <= r["start"] < ACTS]
    assert len(half) == 2 and all(r["replan"] == "replanned" for r in half)
    assert sum(r["agents"] for r in half) > sum(r["agents"] for r in hour["intervals"] if r["start"] in {h["start"] for h in half})
    # An explicit cadence still wins over the site's.
    assert _board(quick, low, Cadence(lead_min=60))["effective_from"] == ACTS
