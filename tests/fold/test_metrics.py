"""Every figure of metrics.md on small hand-made sequences, with the edges."""

from __future__ import annotations

import json
import zlib

import pytest

from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor
from stream.contracts.decode import decode_payload
from stream.fold.delta import apply_patch
from tests.helpers import Seq, at

T0 = at("10:00:00")


def run(seq: Seq, config: FloorConfig | None = None, flush: bool = True) -> Floor:
    """Fold the sequence in event-time order (stable: causal order at equal times)."""
    f = Floor(config)
    f.apply_many(sorted(seq.events, key=lambda e: e.ts))
    if flush:
        f.flush()
    return f


def day(f: Floor, queue: str = "q", site: str = "s1") -> dict:
    return f.snapshot(site)["queues"][queue]["day"]


# -- service level, abandons, ASA, AHT, max wait ------------------------------


def test_wait_of_exactly_t_is_within_service_level():
    s = Seq()
    s.offer(T0, "a"), s.answer(T0 + 20_000, "a")  # exactly T = 20 s
    s.offer(T0, "b"), s.answer(T0 + 20_001, "b")  # one millisecond over
    d = day(run(s))
    assert (d["answered"], d["answered_within_t"]) == (2, 1)
    assert d["sl_pct"] == 50.0


def test_short_abandons_leave_sl_and_abandon_rate():
    s = Seq()
    s.offer(T0, "short"), s.abandon(T0 + 4_999, "short")  # under 5 s: short
    s.offer(T0, "five"), s.abandon(T0 + 5_000, "five")  # exactly 5 s: a real abandon
    s.offer(T0, "ok"), s.answer(T0 + 10_000, "ok")
    s.offer(T0, "slow"), s.answer(T0 + 30_000, "slow")
    d = day(run(s))
    assert (d["offered"], d["abandoned"], d["short_abandoned"]) == (4, 2, 1)
    # SL = within T / (offered - short) = 1 / 3; abandon rate = (2 - 1) / (4 - 1)
    assert d["sl_pct"] == pytest.approx(100 / 3)
    assert d["abandon_pct"] == pytest.approx(100 / 3)
    assert d["max_wait_s"] == 30.0


def test_sl_variant_exclude_abandons():
    cfg = FloorConfig.from_dict({"sites": {"s1": {"queues": {"q": {"sl_variant": "exclude_abandons"}}}}})
    s = Seq()
    s.offer(T0, "a"), s.answer(T0 + 5_000, "a")
    s.offer(T0, "b"), s.answer(T0 + 50_000, "b")
    s.offer(T0, "c"), s.abandon(T0 + 60_000, "c")
    d = day(run(s, cfg))
    assert d["sl_pct"] == 50.0  # answered within T / answered


def test_asa_aht_and_max_wait():
    s = Seq()
    s.offer(T0, "a"), s.answer(T0 + 10_000, "a", "x")
    s.hold(T0 + 20_000, "a"), s.resume(T0 + 50_000, "a")
    s.end(T0 + 70_000, "a", wrap_up=True), s.wrap_end(T0 + 100_000, "a", "x")  # handle 90 s incl. hold+wrap
    s.offer(T0, "b"), s.answer(T0 + 30_000, "b", "y"), s.end(T0 + 60_000, "b")  # handle 30 s, no wrap
    s.offer(T0, "c"), s.abandon(T0 + 45_000, "c")  # the largest wait is an abandon
    d = day(run(s))
    assert d["asa_s"] == 20.0
    assert d["aht_s"] == 60.0
    assert d["max_wait_s"] == 45.0
    assert d["handled"] == 2


def test_aht_waits_for_wrap_up_to_end():
    s = Seq()
    s.offer(T0, "a"), s.answer(T0 + 1_000, "a", "x"), s.end(T0 + 61_000, "a", wrap_up=True)
    f = run(s, flush=False)
    assert day(f)["aht_s"] is None  # still in wrap-up: handling has not ended
    s2 = Seq()
    s2.events = list(s.events)
    s2.wrap_end(T0 + 91_000, "a", "x")
    assert day(run(s2))["aht_s"] == 90.0


def test_undefined_figures_are_null():
    s = Seq()
    s.offer(T0, "a")
    d = day(run(s, flush=False))
    assert d["asa_s"] is None and d["aht_s"] is None and d["max_wait_s"] is None
    assert d["sl_pct"] == 0.0  # one offered, none answered within T
    assert d["wait_p50_s"] is None


def test_wait_percentiles_nearest_rank():
    s = Seq()
    for i, w in enumerate([3, 8, 8, 15, 40, 41, 42, 50, 60, 300]):
        s.offer(T0, f"c{i}"), s.answer(T0 + w * 1000, f"c{i}")
    d = day(run(s))
    assert d["wait_p50_s"] == 40.0  # rank ceil(0.5*10)=5
    assert d["wait_p90_s"] == 60.0  # rank 9


# -- windows ----------------------------------------------------------------


def test_call_crossing_midnight_counts_on_its_offered_day():
    cfg = FloorConfig.from_dict({"sites": {"s1": {"timezone": "Asia/Shanghai"}}})
    s = Seq()
    t = at("23:59:50", tz="Asia/Shanghai")
    s.offer(t, "late"), s.answer(t + 20_000, "late", "x"), s.end(t + 620_000, "late")
    f = run(s, cfg)
    rep = f.report()
    assert [d["date"] for d in rep["days"]] == ["2026-11-23"]
    q = rep["days"][0]["queues"]["q"]
    assert (q["offered"], q["answered"], q["asa_s"], q["aht_s"], q["sl_pct"]) == (1, 1, 20.0, 600.0, 100.0)
    # The snapshot at 00:10 the next day shows a fresh day.
    snap = f.snapshot("s1")
    assert snap["date"] == "2026-11-24"
    assert snap["queues"]["q"]["day"]["offered"] == 0
    # Interval rows: the contact in 23:45, its handle time in the interval where it ended.
    rows = f.interval_rows("s1", "2026-11-23")
    assert [(r["start_local"][11:16], r["offered"], r["handled"]) for r in rows] == [("23:45", 1, 0)]
    rows2 = f.interval_rows("s1", "2026-11-24")
    assert [(r["start_local"][11:16], r["offered"], r["handled"], r["aht_s"]) for r in rows2] == [("00:00", 0, 1, 600.0)]


def test_intervals_sum_to_the_day():
    s = Seq()
    for i in range(12):
        t = T0 + i * 7 * 60_000  # every 7 minutes across several intervals
        s.offer(t, f"c{i}"), s.answer(t + (i * 5_000), f"c{i}"), s.end(t + 100_000, f"c{i}")
    f = run(s)
    rows = f.interval_rows("s1", "2026-11-23")
    assert sum(r["offered"] for r in rows) == day(f)["offered"] == 12
    assert sum(r["handled"] for r in rows) == 12
    assert [r["start_local"][11:16] for r in rows][:3] == ["10:00", "10:15", "10:30"]
    assert all(r["end"] - r["start"] == 15 * 60_000 for r in rows)


def test_sliding_windows_by_offered_time():
    s = Seq()
    now = T0 + 3 * 3_600_000
    for name, ago_min in (("h70", 70), ("m30", 30), ("m10", 10), ("m2", 2)):
        t = now - ago_min * 60_000
        s.offer(t, name), s.answer(t + 1_000, name), s.end(t + 61_000, name)
    s.offer(now, "now")  # advances the clock to now; still waiting
    f = run(s, flush=False)
    sl = f.snapshot("s1")["queues"]["q"]["sliding"]
    assert sl["5m"]["offered"] == 2 and sl["5m"]["answered"] == 1
    assert sl["15m"]["offered"] == 3
    assert sl["60m"]["offered"] == 4
    assert sl["5m"]["handled"] == 1  # m2's handling ended 59 s after its offer, inside the window


def test_day_to_date_resets_at_local_midnight_per_site():
    cfg = FloorConfig.from_dict({"sites": {"sh": {"timezone": "Asia/Shanghai"}, "ldn": {"timezone": "Europe/London"}}})
    a, b = Seq("sh"), Seq("ldn")
    t = at("16:30:00", tz="UTC")  # 00:30 in Shanghai (next day), 16:30 in London
    a.offer(t - 3_600_000, "x"), a.answer(t - 3_590_000, "x")
    a.offer(t, "y")
    b.offer(t - 3_600_000, "x"), b.answer(t - 3_590_000, "x")
    b.offer(t, "y")
    f = Floor(cfg)
    f.apply_many(a.events + b.events)
    assert f.snapshot("sh")["date"] == "2026-11-24"
    assert f.snapshot("sh")["queues"]["q"]["day"]["offered"] == 1
    assert f.snapshot("ldn")["date"] == "2026-11-23"
    assert f.snapshot("ldn")["queues"]["q"]["day"]["offered"] == 2


# -- order, duplicates, lateness ------------------------------------------------


def test_duplicates_change_nothing():
    s = Seq()
    s.offer(T0, "a"), s.answer(T0 + 8_000, "a"), s.end(T0 + 68_000, "a")
    once = run(s)
    twice = Floor()
    twice.apply_many(s.events + s.events + s.events[1:2])
    twice.flush()
    assert twice.report() == once.report()
    assert twice.sites["s1"].duplicates == 4


def test_out_of_order_within_lateness_gives_in_order_figures():
    s = Seq()
    s.offer(T0, "a"), s.answer(T0 + 8_000, "a", "x"), s.end(T0 + 68_000, "a", wrap_up=True)
    s.wrap_end(T0 + 70_000, "a", "x")
    s.offer(T0 + 1_000, "b"), s.abandon(T0 + 30_000, "b")
    s.state(T0 - 60_000, "x", "ready", queues=["q"]), s.state(T0 + 8_000, "x", "busy")
    s.state(T0 + 68_000, "x", "wrap_up"), s.state(T0 + 70_000, "x", "ready")
    in_order = sorted(s.events, key=lambda e: e.ts)
    # Each event delayed by up to 59 s (inside the 60 s bound): a thorough shuffle.
    shuffled = sorted(in_order, key=lambda e: e.ts + (zlib.crc32(e.id.encode()) % 59_000))
    assert shuffled != in_order
    a, b = Floor(), Floor()
    a.apply_many(in_order)
    b.apply_many(shuffled)
    assert b.report() == a.report()
    assert b.snapshot("s1")["agents"] == a.snapshot("s1")["agents"]
    assert b.snapshot("s1")["queues"] == a.snapshot("s1")["queues"]
    assert b.report()["rejected"]["count"] == 0


def test_late_event_is_rejected_counted_and_kept():
    s = Seq()
    s.offer(T0, "a")
    s.offer(T0 + 120_000, "b")  # the watermark moves to T0 + 60 s
    late = s.answer(T0 + 10_000, "a")  # 110 s late with a 60 s bound
    f = Floor()
    f.apply_many(s.events)  # in the order written: the answer arrives last
    d = day(f)
    assert d["answered"] == 0  # not applied
    assert f.snapshot("s1")["queues"]["q"]["waiting"] == 2
    rej = f.rejected_summary()
    assert rej["count"] == 1 and "late: older than the lateness bound" in rej["reasons"]
    assert [(ev, why) for ev, why in f.drain_dead()] == [(late, "late: older than the lateness bound")]


def test_lateness_bound_comes_from_config():
    cfg = FloorConfig.from_dict({"lateness_s": 300})
    s = Seq()
    s.offer(T0, "a"), s.offer(T0 + 120_000, "b"), s.answer(T0 + 10_000, "a")
    assert day(run(s, cfg))["answered"] == 1


def test_event_for_a_closed_contact_is_rejected():
    s = Seq()
    s.offer(T0, "a"), s.abandon(T0 + 10_000, "a")
    s.offer(T0 + 200_000, "b")  # seals a
    s.answer(T0 + 190_000, "a")  # within lateness, but a was closed long ago
    f = run(s)
    assert day(f)["answered"] == 0
    assert f.rejected_summary()["reasons"] == {"call_answered: contact already closed": 1}


def test_orphan_events_are_rejected_once_the_watermark_passes():
    s = Seq()
    s.answer(T0, "ghost")
    s.offer(T0 + 100_000, "b")
    f = run(s, flush=False)
    assert f.rejected_summary()["reasons"] == {"call_answered: no offered event for this contact (orphan)": 1}


# -- agents, counters --------------------------------------------------------


def test_agent_in_two_queues_counts_in_each_queue_and_once_in_the_site():
    s = Seq()
    s.state(T0, "x", "ready", queues=["q1", "q2"])
    s.state(T0, "y", "ready", queues=["q1"])
    s.state(T0 + 1000, "y", "not_ready", reason="break")
    s.offer(T0 + 2000, "c", queue="q2")
    f = run(s, flush=False)
    snap = f.snapshot("s1")
    assert snap["queues"]["q1"]["agents"]["ready"] == 1
    assert snap["queues"]["q1"]["agents"]["not_ready"] == 1
    assert snap["queues"]["q2"]["agents"]["ready"] == 1
    assert snap["total"]["agents"]["logged_in"] == 2  # x once, not twice
    assert snap["total"]["agents"]["not_ready_reasons"] == {"break": 1}


def test_time_in_state_and_occupancy():
    s = Seq()
    s.state(T0, "x", "ready", queues=["q"])
    s.state(T0 + 60_000, "x", "busy")
    s.state(T0 + 180_000, "x", "wrap_up")
    s.state(T0 + 210_000, "x", "not_ready", reason="break")
    s.state(T0 + 310_000, "x", "ready")
    s.state(T0 + 320_000, "x", "ready")  # same state again: time in state keeps counting
    s.offer(T0 + 400_000, "tick")
    f = run(s, flush=False)
    a = f.snapshot("s1")["agents"]["x"]
    assert a["state"] == "ready"
    assert a["time_in_state_s"] == 90.0
    # busy 120 + wrap 30 over busy + wrap + ready (60 + 90)
    assert a["occupancy_pct"] == pytest.approx(100 * 150 / 300)


def test_occupancy_survives_sealing_across_hours():
    s = Seq()
    s.state(T0, "x", "ready", queues=["q"])
    for h in range(4):
        s.state(T0 + h * 3_600_000 + 600_000, "x", "busy")
        s.state(T0 + h * 3_600_000 + 1_800_000, "x", "ready")
    s.offer(T0 + 4 * 3_600_000, "tick")
    f = run(s, flush=False)
    assert f.snapshot("s1")["agents"]["x"]["occupancy_pct"] == pytest.approx(100 * 4 * 1200 / (4 * 3600))


def test_agent_handled_and_aht():
    s = Seq()
    s.offer(T0, "a"), s.answer(T0 + 1000, "a", "x"), s.end(T0 + 101_000, "a")
    s.offer(T0, "b"), s.answer(T0 + 2000, "b", "x"), s.end(T0 + 302_000, "b")
    s.state(T0, "x", "ready", queues=["q"])
    a = run(s).snapshot("s1")["agents"]["x"]
    assert (a["handled"], a["aht_s"]) == (2, 200.0)


def test_counters_open_vs_tickets_waiting():
    cfg = FloorConfig.from_dict({"sites": {"s1": {"kind": "hall", "counters": ["C1", "C2", "C3"]}}})
    s = Seq()
    s.state(T0, "k1", "ready", counter="C1", queues=["h"])
    s.state(T0, "k2", "ready", counter="C2", queues=["h"])
    s.state(T0 + 60_000, "k2", "not_ready", reason="lunch")
    s.issue(T0 + 61_000, "t1"), s.issue(T0 + 62_000, "t2", vip=True)
    snap = run(s, cfg, flush=False).snapshot("s1")
    assert snap["counters"]["configured"] == 3 and snap["counters"]["open"] == 1
    assert snap["counters"]["by_counter"]["C2"] == {"agent_state": "not_ready", "open": False}
    assert snap["queues"]["h"]["waiting"] == 2 and snap["queues"]["h"]["vip_waiting"] == 1
    assert snap["queues"]["h"]["sl_t_s"] == 600  # hall default


# -- tickets -------------------------------------------------------------------


def test_vip_ticket_jumping_the_queue():
    cfg = FloorConfig.from_dict({"sites": {"s1": {"kind": "hall"}}})
    s = Seq()
    s.issue(T0, "A1"), s.issue(T0 + 60_000, "A2"), s.issue(T0 + 120_000, "V1", vip=True, priority=1)
    s.call_ticket(T0 + 180_000, "V1", "C1", "k1")  # the VIP goes first
    f = Floor(cfg)
    f.apply_many(s.events)
    snap = f.snapshot("s1")["queues"]["h"]
    assert snap["waiting"] == 2 and snap["vip_waiting"] == 0
    assert snap["longest_wait_s"] == 180.0  # A1 still waits, and longest
    s.complete(T0 + 400_000, "V1")
    s.call_ticket(T0 + 400_000, "A1", "C1", "k1"), s.complete(T0 + 700_000, "A1")
    s.call_ticket(T0 + 700_000, "A2", "C1", "k1"), s.complete(T0 + 800_000, "A2")
    f = run(s, cfg)
    d = day(f, "h")
    assert d["answered"] == 3 and d["asa_s"] == pytest.approx((60 + 400 + 640) / 3)
    assert d["max_wait_s"] == 640.0
    assert d["sl_pct"] == pytest.approx(200 / 3)  # A2 waited 640 s > T = 600 s


def test_ticket_no_show_is_an_abandon_and_tickets_have_no_short_abandons():
    cfg = FloorConfig.from_dict({"sites": {"s1": {"kind": "hall"}}})
    s = Seq()
    s.issue(T0, "A1"), s.call_ticket(T0 + 100_000, "A1"), s.no_show(T0 + 160_000, "A1")
    s.issue(T0, "A2"), s.leave(T0 + 2_000, "A2")  # left after 2 s: still a real abandon for tickets
    s.issue(T0, "A3"), s.call_ticket(T0 + 50_000, "A3"), s.complete(T0 + 350_000, "A3")
    d = day(run(s, cfg), "h")
    assert (d["answered"], d["abandoned"], d["short_abandoned"]) == (1, 2, 0)
    assert d["abandon_pct"] == pytest.approx(200 / 3)
    assert d["max_wait_s"] == 160.0
    assert d["aht_s"] == 300.0


def test_called_ticket_counts_as_answered_until_it_turns_out_a_no_show():
    cfg = FloorConfig.from_dict({"sites": {"s1": {"kind": "hall"}}})
    s = Seq()
    s.issue(T0, "A1"), s.call_ticket(T0 + 30_000, "A1")
    f = Floor(cfg)
    f.apply_many(s.events)
    assert day(f, "h")["answered"] == 1 and f.snapshot("s1")["queues"]["h"]["waiting"] == 0
    f.apply(s.no_show(T0 + 90_000, "A1"))
    assert day(f, "h")["answered"] == 0 and day(f, "h")["abandoned"] == 1


# -- transfers -----------------------------------------------------------------


def test_transfer_of_a_waiting_call_offers_it_to_the_new_queue():
    s = Seq()
    s.offer(T0, "a", queue="q1"), s.transfer(T0 + 30_000, "a", "q2")
    s.answer(T0 + 40_000, "a", "x"), s.end(T0 + 100_000, "a")
    f = run(s)
    q1, q2 = day(f, "q1"), day(f, "q2")
    assert (q1["offered"], q1["answered"], q1["transferred"]) == (1, 0, 1)
    assert (q2["offered"], q2["answered"], q2["asa_s"], q2["aht_s"]) == (1, 1, 10.0, 60.0)


def test_transfer_of_an_answered_call_ends_its_first_handling():
    s = Seq()
    s.offer(T0, "a", queue="q1"), s.answer(T0 + 5_000, "a", "x")
    s.transfer(T0 + 65_000, "a", "q2"), s.answer(T0 + 75_000, "a", "y"), s.end(T0 + 175_000, "a")
    f = run(s)
    assert (day(f, "q1")["aht_s"], day(f, "q2")["asa_s"], day(f, "q2")["aht_s"]) == (60.0, 10.0, 100.0)
    agents = f.snapshot("s1")["agents"]
    assert agents["x"]["handled"] == 1 and agents["y"]["handled"] == 1


# -- rollups, snapshots, deltas ------------------------------------------------


def test_site_rollup_merges_counts_never_averages_figures():
    s = Seq()
    s.offer(T0, "a", queue="q1"), s.answer(T0 + 1_000, "a")  # q1: SL 100 %
    for i in range(3):
        s.offer(T0, f"b{i}", queue="q2"), s.answer(T0 + 60_000, f"b{i}")  # q2: SL 0 %
    snap = run(s).snapshot("s1")
    assert snap["total"]["day"]["sl_pct"] == 25.0  # 1 of 4, not (100 + 0) / 2
    assert snap["total"]["day"]["asa_s"] == pytest.approx((1 + 180) / 4)


def test_overview_rolls_up_sites_and_regions():
    cfg = FloorConfig.from_dict({"sites": {"a": {"region": "north"}, "b": {"region": "north"}, "c": {"region": "south"}}})
    f = Floor(cfg)
    for site, wait in (("a", 1_000), ("b", 60_000), ("c", 5_000)):
        s = Seq(site)
        s.offer(T0, "x"), s.answer(T0 + wait, "x"), s.offer(T0 + 100_000, "y")
        f.apply_many(s.events)
    ov = f.overview()
    assert ov["regions"]["north"]["day"]["answered"] == 2
    assert ov["regions"]["north"]["day"]["sl_pct"] == 25.0  # a:1/2, b:0/2 merged
    assert ov["total"]["waiting"] == 3 and ov["total"]["day"]["offered"] == 6


def test_report_tells_apart_queues_of_the_same_name_in_two_sites():
    f = Floor()
    for site in ("a", "b"):
        s = Seq(site)
        s.offer(T0, "x", queue="general"), s.answer(T0 + 1000, "x")
        f.apply_many(s.events)
    f.flush()
    assert sorted(f.report()["days"][0]["queues"]) == ["a/general", "b/general"]


def test_snapshot_is_versioned_plain_json_and_deltas_rebuild_it():
    s = Seq()
    s.state(T0, "x", "ready", queues=["q"])
    s.offer(T0 + 1000, "a")
    f = Floor()
    f.apply_many(s.events)
    first, patch0 = f.changes("s1")
    assert first["schema"] == "floorwatch.snapshot" and first["version"] == 1
    assert json.loads(json.dumps(first)) == first  # plain JSON, nothing else
    f.apply(s.answer(T0 + 9_000, "a", "x"))
    f.apply(s.state(T0 + 9_000, "x", "busy"))
    second, patch = f.changes("s1")
    paths = {op["path"] for op in patch}
    assert "/queues/q/waiting" in paths and "/agents/x/state" in paths
    assert all(not p.startswith("/queues/q/sl_t_s") for p in paths)  # unchanged parts are not sent
    assert apply_patch(first, patch) == second
    assert apply_patch({}, patch0) == first


# -- bad input -------------------------------------------------------------------


def test_broken_events_become_rejections_and_the_rest_flows():
    good = b'{"id":"1","ts":1000,"site":"s1","kind":"call_offered","call":"c","queue":"q"}'
    bad_kind = b'{"id":"2","ts":1000,"site":"s1","kind":"call_teleported","call":"c"}'
    bad_caller = b'{"id":"3","ts":1000,"site":"s1","kind":"call_offered","call":"d","queue":"q","caller":"13812345678"}'
    not_json = b'{"id":"4",'
    evs, bad = decode_payload(b"[" + b",".join([good, bad_kind, bad_caller]) + b"]")
    assert [e.id for e in evs] == ["1"] and len(bad) == 2
    assert "caller" in bad[1][1] and bad[1][0] == bad_caller
    evs2, bad2 = decode_payload(not_json)
    assert evs2 == [] and bad2[0][1].startswith("not JSON")


def test_rfc3339_and_epoch_ms_are_the_same_instant():
    a, _ = decode_payload(b'{"id":"1","ts":"2026-11-23T10:00:00+08:00","site":"s","kind":"call_abandoned","call":"c"}')
    b, _ = decode_payload(b'{"id":"2","ts":1795399200000,"site":"s","kind":"call_abandoned","call":"c"}')
    assert a[0].ts == b[0].ts == 1795399200000
    bad, why = decode_payload(b'{"id":"3","ts":"2026-11-23T10:00:00","site":"s","kind":"call_abandoned","call":"c"}')
    assert bad == [] and "ts" in why[0][1]  # an RFC 3339 time needs its offset


def test_queue_of_a_late_offer_stays_on_the_wall_after_midnight():
    # The transfer arrives before the offer it follows (within the lateness
    # bound): the replay opens both legs, and both queues were seen that day.
    s = Seq()
    t = at("23:50:00")
    transfer = s.transfer(t + 5_000, "a", "q2")
    offer = s.offer(t, "a", queue="q1")
    s.answer(t + 9_000, "a"), s.end(t + 60_000, "a")
    s.offer(at("00:10:00", day="2026-11-24"), "b", queue="q3")
    f = Floor()
    f.apply_many([transfer, offer] + s.events[2:])
    snap = f.snapshot("s1")
    assert snap["date"] == "2026-11-24"
    assert {"q1", "q2", "q3"} <= set(snap["queues"])
    assert snap["queues"]["q1"]["day"]["offered"] == 0


def test_counters_name_every_additive_field_of_queue_stats():
    # Reports and rollups sum COUNTERS; a field added to QueueStats but not there would be lost.
    from stream.fold.stats import COUNTERS, QueueStats

    s = QueueStats()
    ints = {k for k in dir(s) if not k.startswith("_") and isinstance(getattr(s, k), int) and not callable(getattr(s, k))}
    assert ints - {"total"} == set(COUNTERS)


def test_time_in_state_starts_at_the_last_change_of_state_or_reason():
    # A repeated state (same reason) continues the run; a new reason starts one.
    from stream.fold.agent import AgentTimeline
    from stream.fold.calendar import DayCalendar
    from stream.contracts.events import AgentState

    a = AgentTimeline("a1")
    seq = [("ready", None), ("busy", None), ("busy", None), ("not_ready", "lunch"), ("not_ready", "break"), ("not_ready", "break")]
    for i, (st, reason) in enumerate(seq):
        a.add(AgentState(id=str(i), ts=i * 10_000, site="s", agent="a1", state=st, reason=reason))
        expected_since = {0: 0, 1: 10_000, 2: 10_000, 3: 30_000, 4: 40_000, 5: 40_000}[i]
        assert a.state_since() == expected_since
    assert a.state_now(70_000)["time_in_state_s"] == 30.0
    # Sealed transitions keep the run's start: the same answer after sealing all but the last.
    a.seal(60_000, DayCalendar("UTC"))
    assert len(a.trans) == 1 and a.state_since() == 40_000


def test_one_days_totals_of_an_agent_equal_that_day_of_all_days():
    # Three days worked, sealed in part: any one date's totals (what the wall reads)
    # are that date of every day's totals, a date not worked included.
    from stream.fold.agent import AgentTimeline
    from stream.fold.calendar import DayCalendar
    from stream.contracts.events import AgentState

    cal = DayCalendar("Asia/Shanghai")
    day = 24 * 3_600_000
    a = AgentTimeline("a1")
    t0 = 1_795_392_000_000  # 2026-11-23 00:00 in Shanghai
    seq = [(0, "ready", None), (day - 600_000, "busy", None), (day + 900_000, "not_ready", "lunch"),
           (2 * day + 60_000, "ready", None), (2 * day + 7_200_000, "logged_out", None)]
    for i, (t, st, reason) in enumerate(seq):
        a.add(AgentState(id=str(i), ts=t0 + t, site="s", agent="a1", state=st, reason=reason))
    a.seal(t0 + day + 1_000_000, cal)
    now = t0 + 2 * day + 3_600_000
    every = a.day_totals(now, cal)
    assert len(every) == 3
    for date in [*every, "2026-11-30"]:
        assert a.day_total(now, cal, date) == every.get(date, {}), date


@pytest.mark.parametrize("native", [False, True])
def test_sliding_windows_equal_a_direct_count_over_a_busy_day(native):
    # Each window counted straight from its definition (offered in (now - N min, now];
    # AHT by handling end), at instants across a simulated day, percentiles included.
    # The legs to count are read off the reference core's contacts; the core checked
    # (reference or native) folds the same events beside it.
    from simulators import busy_day
    from stream.contracts.floor_config import load_config
    from stream.fold.floor import native_available
    from stream.fold.stats import QueueStats

    if native and not native_available():
        pytest.skip("the native core is not built here")
    cfg = load_config(None)
    evs = list(busy_day.generate(cfg, seed=5, calls=3000))
    f = Floor(cfg, native=False)
    checked_floor = Floor(cfg, native=native)
    site = "gd-hotline"
    sc = f.site(site)
    step = len(evs) // 12
    checked = 0
    for k in range(1, 12):
        f.apply_many(evs[(k - 1) * step : k * step])
        checked_floor.apply_many(evs[(k - 1) * step : k * step])
        now = sc.clock
        got = checked_floor.site(site).sliding(now)
        for m in (5, 15, 60):
            start = now - m * 60_000
            want: dict[str, QueueStats] = {}
            for c in list(sc.calls.values()) + list(sc.tickets.values()):
                for leg in c.legs:
                    t_ms, short_ms, variant = sc.qparams(leg.queue)
                    in_off = start < leg.offered <= now
                    he = leg.handle_end
                    in_he = leg.answered is not None and he is not None and start < he <= now
                    if not (in_off or in_he):
                        continue
                    st = want.setdefault(leg.queue, QueueStats(variant))
                    if in_off:
                        st.offered += 1
                        if leg.answered is not None and leg.answered <= now:
                            st.add_answered(leg.answered - leg.offered, t_ms)
                        elif leg.abandoned is not None and leg.abandoned <= now:
                            st.add_abandoned(leg.abandoned - leg.offered, short_ms)
                        elif leg.transferred is not None and leg.transferred <= now:
                            st.transferred += 1
                    if in_he:
                        st.add_handled(he - leg.answered)
            assert {q: s.figures() for q, s in got[f"{m}m"].items()} == {q: s.figures() for q, s in want.items()}, (k, m)
            checked += sum(s.offered for s in want.values())
    assert checked > 1000


def test_agent_state_reason_only_with_not_ready_and_ids_are_bounded():
    ok = b'{"id":"1","ts":1000,"site":"s1","kind":"agent_state","agent":"a","state":"not_ready","reason":"lunch"}'
    reason_when_ready = b'{"id":"2","ts":1000,"site":"s1","kind":"agent_state","agent":"a","state":"ready","reason":"lunch"}'
    empty_id = b'{"id":"","ts":1000,"site":"s1","kind":"call_abandoned","call":"c"}'
    long_id = b'{"id":"' + b"x" * 129 + b'","ts":1000,"site":"s1","kind":"call_abandoned","call":"c"}'
    evs, bad = decode_payload(b"[" + b",".join([ok, reason_when_ready, empty_id, long_id]) + b"]")
    assert [e.id for e in evs] == ["1"]
    assert [raw for raw, _ in bad] == [reason_when_ready, empty_id, long_id]
    assert "not_ready" in bad[0][1] and "$.id" in bad[1][1] and "$.id" in bad[2][1]


def test_an_iterator_of_events_folds_like_a_list(monkeypatch):
    # Floor.apply_many folds an iterator in bounded lists (7 events here), each site's run in place.
    from stream.fold import floor as core

    monkeypatch.setattr(core, "_CHUNK", 7)
    s, h = Seq(site="s1"), Seq(site="h1")
    for i in range(40):
        s.offer(at("09:00:00") + i * 1_000, f"c{i}"), h.offer(at("09:00:00") + i * 1_000 + 500, f"t{i}")
        s.answer(at("09:00:00") + i * 1_000 + 400, f"c{i}")
    mixed = sorted(s.events + h.events, key=lambda e: e.ts)
    a, b = Floor(), Floor()
    a.apply_many(mixed)
    b.apply_many(iter(mixed))
    assert a.report() == b.report() and a.report()["total"]["offered"] == 80
    assert a.snapshot("s1") == b.snapshot("s1") and a.snapshot("h1") == b.snapshot("h1")
