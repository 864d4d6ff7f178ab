"""Intraday re-planning as a floor runs it: cadence, lead time, change limits, and the day's service level made up."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.planning.intraday import Cadence, actionable, apply_replan, decision_times, recovery_margin, site_margins


def _rows(agents: list[int], site: str = "s", queue: str = "q") -> list[dict]:
    t0 = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
    return [{"site": site, "queue": queue, "start": (t0 + timedelta(minutes=15 * i)).isoformat(), "offered": 20.0,
             "aht_s": 180.0, "agents": a} for i, a in enumerate(agents)]


def test_a_change_decided_at_ten_does_not_move_ten_to_eleven():
    cur = _rows([10] * 16)                                   # 09:00-13:00
    new = _rows([3] * 16)
    at = datetime(2026, 1, 5, 10, tzinfo=timezone.utc)
    got = {r["start"]: r["agents"] for r in apply_replan(cur, new, at, Cadence(lead_min=60))}
    for r in cur:
        t = datetime.fromisoformat(r["start"])
        assert got[r["start"]] == (10 if t < at + timedelta(hours=1) else 3), r["start"]


def test_no_lead_time_acts_at_once_and_other_queues_are_untouched():
    cur = _rows([10] * 8) + _rows([5] * 8, queue="other")
    new = _rows([12] * 8)
    at = datetime(2026, 1, 5, 10, tzinfo=timezone.utc)
    got = apply_replan(cur, new, at, Cadence(lead_min=0))
    q = [r["agents"] for r in got if r["queue"] == "q"]
    assert q == [10, 10, 10, 10, 12, 12, 12, 12]
    assert [r["agents"] for r in got if r["queue"] == "other"] == [5] * 8


@settings(max_examples=40, deadline=None)
@given(old=st.lists(st.integers(0, 30), min_size=12, max_size=12), new=st.lists(st.integers(0, 30), min_size=12, max_size=12),
       cap=st.integers(0, 5), lead=st.sampled_from([0, 15, 30, 60]))
def test_a_replan_moves_no_interval_by_more_than_the_cap_nor_before_the_lead(old, new, cap, lead):
    at = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
    got = apply_replan(_rows(old), _rows(new), at, Cadence(lead_min=lead, max_change=cap))
    for o, n, g in zip(_rows(old), _rows(new), got):
        t = datetime.fromisoformat(g["start"])
        if t < at + timedelta(minutes=lead):
            assert g["agents"] == o["agents"]
        else:
            assert abs(g["agents"] - o["agents"]) <= cap
            assert min(o["agents"], n["agents"]) <= g["agents"] <= max(o["agents"], n["agents"])


def test_decision_times_every_hour_in_local_time():
    c = Cadence(every_min=60, lead_min=60, first=time(8), last=time(21))
    ts = decision_times(date(1999, 2, 22), "Asia/Jerusalem", c)
    assert len(ts) == 14 and ts[0] == datetime(1999, 2, 22, 8, tzinfo=ZoneInfo("Asia/Jerusalem"))
    assert ts[-1].hour == 21 and all(b - a == timedelta(hours=1) for a, b in zip(ts, ts[1:]))
    assert len(decision_times(date(1999, 2, 22), "UTC", Cadence(every_min=30, first=time(9), last=time(10)))) == 3


@pytest.mark.parametrize("kw", [{"every_min": 0}, {"every_min": 20}, {"lead_min": -15}, {"lead_min": 10}, {"max_change": -1}])
def test_a_cadence_off_the_quarter_hour_grid_is_refused(kw):
    with pytest.raises(ValueError):
        Cadence(**kw)


def test_a_replan_time_needs_its_offset():
    with pytest.raises(ValueError, match="offset"):
        apply_replan(_rows([1]), _rows([2]), datetime(2026, 1, 5, 10), Cadence())


def test_recovery_makes_up_the_morning_and_is_bounded():
    # 300 calls at 70 % (210 within T): the day of 1000 needs 800, so the 700 left need 590: 84.3 %.
    assert 80 + recovery_margin(80, 300, 70.0, 700) == pytest.approx(590 / 7, abs=0.01)
    assert recovery_margin(80, 300, 90.0, 700) == pytest.approx(-30 / 7, abs=0.01)   # a good morning lets it off a little
    assert recovery_margin(80, 900, 40.0, 100) == 10.0 and recovery_margin(80, 900, 100.0, 100) == -10.0
    assert recovery_margin(80, 900, 40.0, 100, limit=5) == 5.0
    assert recovery_margin(80, 500, 80.0, 500) == 0.0


def test_site_margins_make_up_a_bad_morning_and_spend_a_good_one_per_site():
    from stream.contracts.floor_config import FloorConfig

    cfg = FloorConfig.from_dict({"sites": {"a": {"timezone": "UTC", "queues": {"q": {"sl_target_pct": 80}}},
                                           "b": {"timezone": "UTC", "queues": {"q": {"sl_target_pct": 90}}}}})
    rows = _rows([1] * 8, site="a") + _rows([1] * 8, site="b")           # 09:00-11:00, 20 calls an interval
    at = datetime(2026, 1, 5, 10, tzinfo=timezone.utc)
    got = site_margins(rows, cfg, {"a": (300.0, 70.0), "b": (300.0, 95.0)}, at)
    assert got["a"] == 10.0                                             # 80 calls left owe 30 within T: capped at +10
    assert got["b"] == -10.0                                            # 15 to spare on 80 calls: capped at -10
    assert site_margins(rows, cfg, {"b": (300.0, 95.0)}, at, Cadence(recover_down=0.0))["b"] == 0.0   # never below
    assert site_margins(rows, cfg, {"b": (40.0, 95.0)}, None)["b"] == pytest.approx(-100 * 0.05 * 40 / 160, abs=0.01)


def test_a_site_margin_plans_like_the_same_margin_for_the_whole_plan():
    from stream.contracts.floor_config import FloorConfig
    from stream.planning.plan import plan

    cfg = FloorConfig.from_dict({"sites": {"s": {"timezone": "UTC", "queues": {"q": {"sl_target_pct": 80}}}}})
    rows = [dict(r, offered=30.0 + 5 * i) for i, r in enumerate(_rows([0] * 8))]
    for over in ("interval", "day"):
        assert plan(rows, cfg, over=over, site_margin={"s": 6.0}) == plan(rows, cfg, over=over, margin_pct=6.0)
        assert plan(rows, cfg, over=over, site_margin={"other": 6.0}) == plan(rows, cfg, over=over)


def test_only_the_rows_from_the_lead_time_on_are_replanned():
    rows = _rows([0] * 8)
    at = datetime(2026, 1, 5, 10, tzinfo=timezone.utc)
    assert [r["start"][11:16] for r in actionable(rows, at)] == ["10:00", "10:15", "10:30", "10:45"]
    assert actionable(rows, None) == rows


def test_a_pools_rows_move_as_one_within_the_cap_split_by_workload():
    """A pool's agents may move by ``max_change`` as a whole (not each of its rows by it), then split as the plan
    splits them: 4 + 4 in force, 12 + 4 asked, 8 + 3 allowed with a cap of 3 (workloads 3 : 1)."""
    def pooled(a: int, b: int, work_a: float = 60.0) -> list[dict]:
        ra, rb = _rows([a], queue="a"), _rows([b], queue="b")
        ra[0].update(pool="p", offered=work_a)
        rb[0].update(pool="p", offered=20.0)
        return ra + rb

    at = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
    got = apply_replan(pooled(4, 4), pooled(12, 4), at, Cadence(lead_min=0, max_change=3))
    assert [r["agents"] for r in got] == [8, 3]
    # Apart, each row moves by the cap on its own: 4 + 3 and 4.
    alone = [{k: v for k, v in r.items() if k != "pool"} for r in pooled(12, 4)]
    got = apply_replan([{k: v for k, v in r.items() if k != "pool"} for r in pooled(4, 4)], alone, at,
                       Cadence(lead_min=0, max_change=3))
    assert [r["agents"] for r in got] == [7, 4]
