"""Agent sums per 15-minute interval (``Limits(agent_intervals=True)``): a hand-made day checked
by hand, and the property that they add up to the agent day totals, in both cores."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor, native_available
from stream.fold.site import Limits
from tests.fold.test_properties import CFG, T0, floors
from tests.helpers import Seq, at

CORES = [False, pytest.param(True, marks=pytest.mark.skipif(not native_available(), reason="the native core is not built here"))]
MIN = 60_000


def _floor(native: bool, evs, on: bool = True) -> Floor:
    f = Floor(FloorConfig.from_dict(CFG), limits=Limits(lateness_ms=60_000, agent_intervals=on), native=native)
    f.apply_many([e.__copy__() for e in evs])
    return f


@pytest.mark.parametrize("native", CORES)
def test_a_hand_made_hour_splits_at_interval_bounds(native):
    s = Seq("s1")
    s.state(at("08:05:00"), "a1", "ready", queues=["q"])
    s.offer(at("08:09:00"), "c1", queue="q")
    s.state(at("08:10:00"), "a1", "busy")
    s.answer(at("08:10:00"), "c1", "a1")
    s.end(at("08:14:00"), "c1", wrap_up=True)  # talk 4 min
    s.state(at("08:14:00"), "a1", "wrap_up")
    s.wrap_end(at("08:16:00"), "c1", "a1")  # wrap-up 2 min, ends in the 08:15 interval
    s.state(at("08:16:00"), "a1", "not_ready", reason="lunch")
    s.state(at("08:50:00"), "a1", "ready")
    s.state(at("09:00:00"), "a1", "logged_out")
    f = _floor(native, sorted(s.events, key=lambda e: e.ts))
    f.flush()
    sc = f.sites["s1"]
    states, handled = sc.agent_interval_totals(at("09:00:00"))
    assert states == {
        at("08:00:00"): {"a1": {"ready": 5 * MIN, "busy": 4 * MIN, "wrap_up": 1 * MIN}},
        at("08:15:00"): {"a1": {"wrap_up": 1 * MIN, "not_ready:lunch": 14 * MIN}},
        at("08:30:00"): {"a1": {"not_ready:lunch": 15 * MIN}},
        at("08:45:00"): {"a1": {"not_ready:lunch": 5 * MIN, "ready": 10 * MIN}},
    }
    # Handling counts where it ended (metrics.md: AHT): [handled, handle, talk, wrap-up] ms.
    assert handled == {at("08:15:00"): {("a1", "q"): [1, 6 * MIN, 4 * MIN, 2 * MIN]}}


@pytest.mark.parametrize("native", CORES)
def test_off_by_default_and_the_figures_unchanged(native):
    s = Seq("s1")
    s.state(at("08:05:00"), "a1", "ready", queues=["q"])
    s.offer(at("08:09:00"), "c1", queue="q")
    s.answer(at("08:10:00"), "c1", "a1")
    s.end(at("08:14:00"), "c1")
    evs = sorted(s.events, key=lambda e: e.ts)
    on, off = _floor(native, evs, True), _floor(native, evs, False)
    on.flush(), off.flush()
    assert off.sites["s1"].agent_interval_totals(at("09:00:00")) == ({}, {})
    assert on.report() == off.report()
    assert on.snapshot("s1") == off.snapshot("s1")


def _day_sums(sc, now: int) -> tuple[dict, dict]:
    """Per agent: ms per label over all days, and [handled, handle ms] over all days."""
    days, _, agent_days = sc.totals()
    labels: dict[str, dict[str, int]] = {}
    for d in days.keys() | agent_days.keys() | {sc.cal.date_of(now)}:
        for name, r in sc.agent_rows(now, d, agent_days).items():
            for k, v in (r.get("state_s") or {}).items():
                labels.setdefault(name, {})
                labels[name][k] = labels[name].get(k, 0) + round(v * 1000)
    handled: dict[str, list[int]] = {}
    for rows in agent_days.values():
        for a, (n, ms) in rows.items():
            h = handled.setdefault(a, [0, 0])
            h[0] += n
            h[1] += ms
    return labels, handled


def _interval_sums(sc, now: int) -> tuple[dict, dict]:
    states, handled = sc.agent_interval_totals(now)
    labels: dict[str, dict[str, int]] = {}
    for per in states.values():
        for a, ls in per.items():
            for k, v in ls.items():
                if v:
                    labels.setdefault(a, {})
                    labels[a][k] = labels[a].get(k, 0) + v
    out: dict[str, list[int]] = {}
    for rows in handled.values():
        for (a, _q), (n, ms, talk, wrap) in rows.items():
            assert talk + wrap == ms and talk >= 0 and wrap >= 0
            h = out.setdefault(a, [0, 0])
            h[0] += n
            h[1] += ms
    return labels, out


@pytest.mark.parametrize("native", CORES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(floors())
def test_intervals_add_up_to_the_agent_days(native, evs):
    """However a day falls into intervals, the agent's intervals add up to its day totals:
    ms per state and reason, handled and handle time (nothing trimmed: all kept)."""
    f = _floor(native, evs)
    for flush in (False, True):
        if flush:
            f.flush()
        for site, sc in f.sites.items():
            if sc.clock is None:
                continue
            now = sc.clock
            days_l, days_h = _day_sums(sc, now)
            ivals_l, ivals_h = _interval_sums(sc, now)
            assert ivals_l == {a: {k: v for k, v in ls.items() if v} for a, ls in days_l.items() if any(ls.values())}, site
            assert ivals_h == {a: h for a, h in days_h.items() if h[0]}, site
            # A window of intervals is the full answer cut to it (what the history sink reads).
            states, handled = sc.agent_interval_totals(now)
            # Bounds off the interval grid too: an interval is in when it starts in [lo, hi), whole.
            for lo, hi in ((T0 + 3_600_000, T0 + 2 * 3_600_000), (T0 - 900_000, T0 + 900_000), (now, now + 3_600_000),
                           (T0 + 1_234_567, now - 61_001), (now - 3_600_000 + 1, now - 1)):
                ws, wh = sc.agent_interval_totals(now, lo, hi)
                assert ws == {k: v for k, v in states.items() if lo <= k < hi}, (site, lo, hi)
                assert wh == {k: v for k, v in handled.items() if lo <= k < hi}, (site, lo, hi)
