"""Staffing advice (stream.planning.advice, stream.runtime.advisor) against Erlang C/A computed directly."""

from __future__ import annotations

import numpy as np
import pytest

from stream.contracts import events as E
from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor
from stream.planning import erlang_a, staffing
from stream.planning.advice import MIN_HANDLED, DayLoad, patience_from_day, queue_advice
from stream.runtime.advisor import Advisor

NINE = 36 * 900_000  # 09:00 UTC on 1970-01-01


def cfg(target=80.0, t=20, kind="hotline") -> FloorConfig:
    return FloorConfig.from_dict({"sites": {"s": {"timezone": "UTC", "kind": kind,
                                                  "queues": {"q": {"sl_target_pct": target, "sl_t_s": t}}}}})


def live(logged_in=10, ready=2, offered=0, handled=0, aht=None) -> dict:
    return {"agents": {"logged_in": logged_in, "ready": ready},
            "sliding": {"15m": {"offered": offered, "handled": handled, "aht_s": aht}}}


@pytest.mark.parametrize("calls,aht,t,target", [(50.0, 180.0, 20, 80.0), (120.0, 300.0, 30, 90.0), (7.0, 240.0, 20, 80.0)])
def test_need_is_erlang_c_of_the_forecast(calls, aht, t, target):
    c = cfg(target, t)
    day = DayLoad(np.full(96, calls), np.full(96, aht))
    a = queue_advice(c, "s", "q", day, None, NINE + 1, live())
    want = staffing.required_agents(staffing.traffic(calls, 15, aht), aht, t, target / 100)
    assert a["need_now"] == want
    assert [n["need"] for n in a["next"]] == [want] * 4
    assert [n["start"] for n in a["next"]] == ["1970-01-01T09:15:00+00:00", "1970-01-01T09:30:00+00:00",
                                               "1970-01-01T09:45:00+00:00", "1970-01-01T10:00:00+00:00"]
    assert (a["have"], a["ready"], a["basis"]) == (10, 2, "forecast")


def test_need_with_patience_is_erlang_a():
    c = cfg()
    day = DayLoad(np.full(96, 80.0), np.full(96, 200.0))
    a = queue_advice(c, "s", "q", day, None, NINE, live(), patience_s=90.0)
    want = erlang_a.required_agents(calls=80.0, interval_min=15, aht_s=200.0, patience_s=90.0, target_s=20, sl_goal=0.8)
    c_need = staffing.required_agents(staffing.traffic(80.0, 15, 200.0), 200.0, 20, 0.8)
    assert a["need_now"] == want < c_need  # impatient callers: fewer agents than Erlang C says


def test_the_next_intervals_follow_the_forecast_shape():
    offered = np.zeros(96)
    offered[36:40] = [20, 40, 80, 160]
    a = queue_advice(cfg(), "s", "q", DayLoad(offered, np.full(96, 180.0)), None, NINE, live(), ahead=3)
    needs = [a["need_now"]] + [n["need"] for n in a["next"]]
    assert needs == [staffing.required_agents(staffing.traffic(x, 15, 180.0), 180.0, 20, 0.8) for x in (20, 40, 80, 160)]
    assert needs == sorted(needs) and needs[0] < needs[-1]


def test_a_busy_morning_raises_the_need_ahead():
    day = DayLoad(np.full(96, 40.0), np.full(96, 180.0))
    calm = queue_advice(cfg(), "s", "q", day, np.full(96, 40.0), NINE + 3 * 3_600_000, live())
    actual = np.full(96, 40.0)
    actual[40:48] = 120.0  # 10:00-12:00 three times the forecast
    busy = queue_advice(cfg(), "s", "q", day, actual, NINE + 3 * 3_600_000, live())
    assert busy["offered_now"] > calm["offered_now"] == 40.0
    assert busy["need_now"] > calm["need_now"]


def test_live_handle_time_is_shrunk_toward_the_forecast():
    day = DayLoad(np.full(96, 40.0), np.full(96, 180.0))
    a = queue_advice(cfg(), "s", "q", day, None, NINE, live(handled=MIN_HANDLED, aht=360.0))
    assert a["aht_s"] == 270.0  # as many handled as the forecast's weight: halfway
    b = queue_advice(cfg(), "s", "q", day, None, NINE, live(handled=990, aht=360.0))
    assert b["aht_s"] == pytest.approx(358.2)
    assert b["need_now"] > a["need_now"]


def test_without_history_the_need_is_the_last_15_minutes_and_nothing_ahead():
    a = queue_advice(cfg(), "s", "q", None, None, NINE, live(offered=60, handled=50, aht=200.0))
    assert a["basis"] == "live" and a["next"] == []
    assert a["need_now"] == staffing.required_agents(staffing.traffic(60, 15, 200.0), 200.0, 20, 0.8)
    # Nobody handled yet: no handle time, no number (never a made-up one).
    assert queue_advice(cfg(), "s", "q", None, None, NINE, live(offered=60))["need_now"] is None


def test_hall_counters_use_erlang_c_against_the_wait_target():
    c = cfg(target=80.0, t=600, kind="hall")
    a = queue_advice(c, "s", "q", DayLoad(np.full(96, 30.0), np.full(96, 480.0)), None, NINE, live(), patience_s=60.0)
    assert a["need_now"] == staffing.required_agents(staffing.traffic(30, 15, 480.0), 480.0, 600, 0.8)


def test_the_day_ends_at_local_midnight():
    a = queue_advice(cfg(), "s", "q", DayLoad(np.full(96, 10.0), np.full(96, 180.0)), None, 95 * 900_000, live())
    assert a["next"] == []  # 23:45: tomorrow is another day's forecast


def test_patience_from_day():
    assert patience_from_day({"answered": 90, "abandoned": 30, "asa_s": 60.0}) == 240.0
    assert patience_from_day({"answered": 90, "abandoned": 0, "asa_s": 60.0}) is None
    assert patience_from_day({}) is None


def test_advisor_without_history_reads_the_fold():
    """The worker's advisor on a real fold: calls of the last 15 minutes and its agents, no database."""
    c = cfg()
    f = Floor(c)
    evs = [E.AgentState(id=f"st{i}", ts=NINE - 3_600_000, site="s", agent=f"a{i}", state="ready", queues=["q"]) for i in range(3)]
    for i in range(40):
        t = NINE + i * 20_000
        evs += [E.CallOffered(id=f"o{i}", ts=t, site="s", call=f"c{i}", queue="q"),
                E.CallAnswered(id=f"an{i}", ts=t + 1000, site="s", call=f"c{i}", agent=f"a{i % 3}"),
                E.CallEnded(id=f"e{i}", ts=t + 1000 + 120_000, site="s", call=f"c{i}")]
    evs.sort(key=lambda e: e.ts)
    f.apply_many(evs)
    snap = f.snapshot("s")
    adv = Advisor(c).site_advice(f, "s", snap)["q"]
    m15 = snap["queues"]["q"]["sliding"]["15m"]
    assert adv["basis"] == "live" and adv["have"] == 3
    assert adv["need_now"] == staffing.required_agents(staffing.traffic(m15["offered"], 15, m15["aht_s"]), m15["aht_s"], 20, 0.8)


def stored(c: FloorConfig, evs: list, tmp_path) -> str:
    """The events folded with the history's limits and backfilled into a real SQLite store: its URL."""
    from stream.history.cli import backfill
    from stream.history.rows import backfill_limits

    f = Floor(c, limits=backfill_limits(c))
    f.apply_many(sorted(evs, key=lambda e: e.ts))
    f.flush()
    url = f"sqlite:///{tmp_path / 'history.db'}"
    assert backfill(f, url) > 0
    return url


def test_advisor_forecasts_from_the_history_store(tmp_path):
    """Two weeks of a flat day in a real SQLite history store: the day's advice is the forecast's, Erlang C."""
    c = cfg()
    day0 = 20 * 86_400_000  # 1970-01-21, a Wednesday
    evs = []
    for d in range(14):  # 20 calls of 3 minutes each quarter hour, 09:00-12:00
        for i in range(12 * 20):
            t = day0 + d * 86_400_000 + NINE + i * 45_000
            cid = f"d{d}c{i}"
            evs += [E.CallOffered(id=f"o{cid}", ts=t, site="s", call=cid, queue="q"),
                    E.CallAnswered(id=f"a{cid}", ts=t + 1000, site="s", call=cid),
                    E.CallEnded(id=f"e{cid}", ts=t + 181_000, site="s", call=cid)]
    url = stored(c, evs, tmp_path)
    advisor = Advisor(c, url)
    loads = advisor.day_loads("s", "1970-02-04")  # the day after the last learnt
    assert set(loads) == {"q"}
    assert loads["q"].offered[37] == pytest.approx(20.0, rel=0.1) and loads["q"].offered[60] == pytest.approx(0.0, abs=0.5)
    assert loads["q"].aht_s[37] == pytest.approx(180.0, rel=0.01)
    # 09:20 of that day: nothing folded today yet (the forecast stands as it is), one agent logged in.
    today = Floor(c)
    now = day0 + 14 * 86_400_000 + NINE + 20 * 60_000
    today.apply(E.AgentState(id="st", ts=now, site="s", agent="a1", state="ready", queues=["q"]))
    snap = today.snapshot("s")
    adv = advisor.site_advice(today, "s", snap)["q"]
    assert adv["basis"] == "forecast" and adv["have"] == 1 and len(adv["next"]) == 4
    want = staffing.required_agents(staffing.traffic(adv["offered_now"], 15, adv["aht_s"]), adv["aht_s"], 20, 0.8)
    assert adv["need_now"] == want >= 2
    # The store is read once per site and day.
    assert advisor.day_loads("s", "1970-02-04") is loads



def test_the_live_need_uses_the_patience_the_store_knows(tmp_path):
    """A queue whose callers hang up: the wall's need is Erlang A with the patience the store's past
    days give (what /staffing plans with), not Erlang C's, which staffs as if nobody ever hung up."""
    from datetime import date

    from stream.planning.plan import agents_needed
    from stream.planning.stored import history_from_store, patience_from_history

    c = cfg()
    day0 = 20 * 86_400_000
    evs = []
    for d in range(14):  # 30 calls each quarter hour, 09:00-12:00; every fifth hangs up after 60 s
        for i in range(12 * 30):
            t = day0 + d * 86_400_000 + NINE + i * 30_000
            cid = f"d{d}c{i}"
            evs.append(E.CallOffered(id=f"o{cid}", ts=t, site="s", call=cid, queue="q"))
            if i % 5 == 0:
                evs.append(E.CallAbandoned(id=f"x{cid}", ts=t + 60_000, site="s", call=cid))
            else:
                evs += [E.CallAnswered(id=f"a{cid}", ts=t + 40_000, site="s", call=cid),
                        E.CallEnded(id=f"e{cid}", ts=t + 340_000, site="s", call=cid)]
    url = stored(c, evs, tmp_path)
    from stream.history.store import Store

    pat = patience_from_history(history_from_store(Store.open(url, must_exist=True), c), date(1970, 2, 4))[("s", "q")]
    assert pat is not None and pat > 0
    advisor = Advisor(c, url)
    today = Floor(c)
    now = day0 + 14 * 86_400_000 + NINE + 20 * 60_000
    today.apply(E.AgentState(id="st", ts=now, site="s", agent="a1", state="ready", queues=["q"]))
    adv = advisor.site_advice(today, "s", today.snapshot("s"))["q"]
    assert adv["basis"] == "forecast"
    assert adv["need_now"] == agents_needed(c, "s", "q", adv["offered_now"], adv["aht_s"], pat)
    erlang_c = agents_needed(c, "s", "q", adv["offered_now"], adv["aht_s"], None)
    assert adv["need_now"] < erlang_c  # patient-less Erlang C would ask for more
    # A patience given to the advisor wins over the store's.
    mine = Advisor(c, url, patience={("s", "q"): 10_000.0}).site_advice(today, "s", today.snapshot("s"))["q"]
    assert mine["need_now"] == agents_needed(c, "s", "q", mine["offered_now"], mine["aht_s"], 10_000.0)

def test_a_hall_class_counts_the_counters_the_other_classes_do_not_need():
    """A hall's general tickets with no counter of their own: the VIP desks serve them when no VIP
    waits, so "need 1 · have 0" beside two idle counters (and an understaffed page) would be false;
    once the VIP class needs its desks, they are not counted twice."""
    c = FloorConfig.from_dict({"sites": {"h": {"timezone": "UTC", "kind": "hall", "counters": ["C1", "C2"], "queues": {
        "vip": {"sl_target_pct": 80.0, "sl_t_s": 600}, "gen": {"sl_target_pct": 80.0, "sl_t_s": 600}}}}})

    def floor_with(vip_tickets: int) -> Floor:
        f = Floor(c)
        evs = [E.AgentState(id=f"st{i}", ts=NINE - 3_600_000, site="h", agent=f"a{i}", state="ready", queues=["vip", "gen"])
               for i in range(2)]
        t = NINE - 600_000
        for q, n in (("gen", 6), ("vip", vip_tickets)):
            for i in range(n):
                k, t = f"{q}{i}", t + 12_000  # all within the last 15 minutes
                evs += [E.TicketIssued(id=f"i{k}", ts=t, site="h", ticket=k, queue=q),
                        E.TicketCalled(id=f"c{k}", ts=t + 1000, site="h", ticket=k, counter="C1", agent="a0"),
                        E.TicketCompleted(id=f"d{k}", ts=t + 21_000, site="h", ticket=k)]
        evs.sort(key=lambda e: e.ts)
        f.apply_many(evs)
        return f

    f = floor_with(0)
    snap = f.snapshot("h")
    adv = Advisor(c).site_advice(f, "h", snap)
    assert f.site("h").primary_counts(snap["clock"])[0] == {"vip": {"logged_in": 2, "ready": 2}}  # both desks are VIP's
    assert adv["gen"]["need_now"] >= 1 and adv["gen"]["have"] == 2 and adv["gen"]["ready"] == 2
    assert adv["vip"]["have"] == 2
    # VIP tickets too: each class has the desks the other does not need, no desk counted for both.
    f = floor_with(40)
    snap = f.snapshot("h")
    adv = Advisor(c).site_advice(f, "h", snap)
    need_vip, need_gen = adv["vip"]["need_now"], adv["gen"]["need_now"]
    assert need_vip >= 1 and need_gen >= 1, (need_vip, need_gen)
    assert adv["gen"]["have"] < 2  # the desks VIP needs are not counted for general tickets
    assert adv["gen"]["have"] == max(0, min(2, 2 - need_vip))
    assert adv["vip"]["have"] == 2  # its own desks
