"""Rosters: reading one, coverage against a plan, and the MILP suggestion on cases solved by hand."""

from __future__ import annotations

import pytest

from stream.planning.roster import ShiftRules, coverage, read_roster, suggest


def need(per_hour: dict[int, int], day: str = "2026-03-02", site: str = "s", queue: str = "q") -> list[dict]:
    """Plan rows for 00:00-24:00 with ``agents`` per whole hour (missing hours: 0)."""
    return [
        {"site": site, "queue": queue, "start": f"{day}T{h:02d}:{m:02d}:00+08:00", "agents": per_hour.get(h, 0)}
        for h in range(24)
        for m in (0, 15, 30, 45)
    ]


def test_suggest_hand_case_four_hour_shifts() -> None:
    """1 agent 08-16 and a second 10-12, 4-hour shifts on the hour: need-hours 10, so at
    least three 4-hour shifts (12 paid hours), and three suffice (08-12, 12-16 and one over 10-12)."""
    rules = ShiftRules(lengths_h=[4], start_every_min=60, earliest="00:00", latest_end="24:00")
    out = suggest(need({**{h: 1 for h in range(8, 16)}, 10: 2, 11: 2}), rules)
    assert out["paid_hours"] == 12.0
    assert out["needed_hours"] == 10.0
    assert sum(s["count"] for s in out["shifts"]) == 3
    assert all(r["short"] == 0 for r in out["intervals"])


def test_suggest_hand_case_with_breaks() -> None:
    """2 agents 08:00-17:00 (18 agent-hours) with 9-hour shifts (8.5 paid: an unpaid 30-minute break
    starting 3-5 h in, on the half hour) or 4-hour ones, starting on the hour. By hand:
    * only 4-hour shifts: two must start at 08 and two at 13 (the day's ends), and 12-13 needs two
      more: 6 shifts, 24 h;
    * two 9-hour shifts (17 h) leave their breaks short: at least one more 4-hour shift, 21 h;
    * one 9-hour shift (8.5 h) leaves 9.5 h of need: at least three 4-hour shifts, 20.5 h, and
      08-12, 12-16, 13-17 with the break at 13:00 cover every interval. The optimum is 20.5 h."""
    rules = ShiftRules(lengths_h=[9, 4], start_every_min=60, earliest="08:00", latest_end="17:00",
                       break_over_h=6, break_min=30, break_from_h=3, break_to_h=5)
    out = suggest(need({h: 2 for h in range(8, 17)}), rules)
    assert out["paid_hours"] == 20.5
    assert sorted((x["start"][11:16], x["count"]) for x in out["shifts"]) == [("08:00", 1), ("08:00", 1), ("12:00", 1), ("13:00", 1)]
    assert all(r["short"] == 0 for r in out["intervals"])


def test_suggest_respects_max_heads_or_says_why() -> None:
    rules = ShiftRules(lengths_h=[4], start_every_min=60, earliest="00:00", latest_end="24:00", max_heads=1)
    with pytest.raises(ValueError, match="no roster of the allowed shifts covers s/q"):
        suggest(need({h: 1 for h in range(8, 16)}), rules)


def test_read_csv_roster_and_coverage(tmp_path) -> None:
    p = tmp_path / "roster.csv"
    p.write_text(
        "person,site,queues,start,end,breaks\n"
        "ann,s,q;vip,2026-03-02T08:00+08:00,2026-03-02T16:00+08:00,12:00-12:30\n"
        "bob,s,q,2026-03-02T10:00+08:00,2026-03-02T14:00+08:00,\n",
        encoding="utf-8",
    )
    shifts = read_roster(p)
    assert [s.person for s in shifts] == ["ann", "bob"]
    rows = {r["start"][11:16]: r for r in coverage(shifts, need({h: 2 for h in range(8, 16)}))}
    assert rows["09:00"]["scheduled"] == 1 and rows["09:00"]["short"] == 1
    assert rows["11:00"]["scheduled"] == 2 and rows["11:00"]["short"] == 0
    assert rows["12:15"]["scheduled"] == 1  # ann on her break
    assert rows["20:00"] == {**rows["20:00"], "needed": 0, "scheduled": 0, "over": 0}


def test_read_yaml_roster(tmp_path) -> None:
    p = tmp_path / "roster.yaml"
    p.write_text(
        "shifts:\n"
        "  - {person: 王芳, queues: [q], start: '2026-03-02T22:00+08:00', end: '2026-03-03T06:00+08:00', breaks: ['02:00-02:30']}\n",
        encoding="utf-8",
    )
    (s,) = read_roster(p)
    assert s.person == "王芳" and s.end.hour == 6 and s.breaks[0][0].day == 3


@pytest.mark.parametrize(
    "text,msg",
    [
        ("person,queues,start\nann,q,2026-03-02T08:00+08:00\n", "missing column"),
        ("person,queues,start,end\nann,q,08:00,16:00\n", "row 2: start: not a time with offset"),
        ("person,queues,start,end\nann,,2026-03-02T08:00+08:00,2026-03-02T16:00+08:00\n", "row 2: missing queues"),
    ],
)
def test_bad_rosters_name_the_row_and_field(tmp_path, text, msg) -> None:
    p = tmp_path / "r.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=msg):
        read_roster(p)


# Pools: a site's queues answered by the same people, staffed as one group (stream/planning/pools.py).

def _pooled(**pools: list[str]):
    from stream.contracts.floor_config import FloorConfig

    return FloorConfig.from_dict({"sites": {"s": {"timezone": "Asia/Shanghai", "queues": {"a": {}, "b": {}, "c": {}},
                                                  "pools": dict(pools)}}})


def test_coverage_per_pool_counts_a_person_once(tmp_path) -> None:
    """a and b each need one agent 08-12 (the pool two); ann takes a and b, bob names the pool, cat takes c.
    Per pool: 2 needed; 08-10 only ann (short 1, where per queue she filled both queues), 10-12 ann and bob."""
    cfg = _pooled(floor=["a", "b"])
    plan = need({h: 1 for h in range(8, 12)}, queue="a") + need({h: 1 for h in range(8, 12)}, queue="b")
    p = tmp_path / "roster.csv"
    p.write_text("person,site,queues,start,end,breaks\n"
                 "ann,s,a;b,2026-03-02T08:00+08:00,2026-03-02T12:00+08:00,\n"
                 "bob,s,floor,2026-03-02T10:00+08:00,2026-03-02T12:00+08:00,\n"
                 "cat,s,c,2026-03-02T08:00+08:00,2026-03-02T12:00+08:00,\n", encoding="utf-8")
    from stream.planning.roster import Units

    shifts = read_roster(p, Units(cfg, plan))
    rows = coverage(shifts, plan, cfg)
    assert len(rows) == 96 and {r["queue"] for r in rows} == {"floor"}
    at = {r["start"][11:16]: r for r in rows}
    assert at["09:00"] == {"site": "s", "queue": "floor", "start": "2026-03-02T09:00:00+08:00", "needed": 2,
                           "scheduled": 1, "short": 1, "over": 0, "pool_queues": ["a", "b"]}
    assert (at["11:00"]["needed"], at["11:00"]["scheduled"], at["11:00"]["short"]) == (2, 2, 0)
    assert (at["13:00"]["needed"], at["13:00"]["scheduled"]) == (0, 0)
    # The pool from a pooled plan's rows alone (their "pool" key), without the config: the same rows.
    assert coverage(shifts, [{**r, "pool": "floor"} for r in plan]) == rows
    # Two rows of one person at once: still one person of the pool.
    twice = shifts + [shifts[0]]
    assert {r["start"]: r["scheduled"] for r in coverage(twice, plan, cfg)} == {r["start"]: r["scheduled"] for r in rows}


def test_coverage_without_pools_is_as_before() -> None:
    """No pools: per plan row, the shifts on that queue at the interval's middle, the rows and keys unchanged."""
    import random
    from datetime import datetime, timedelta

    from stream.planning.roster import Shift

    rnd = random.Random(7)
    t0 = datetime.fromisoformat("2026-03-02T00:00:00+08:00")
    for cfg in (None, _pooled()):
        for _ in range(20):
            plan = [r for q in ("a", "b", "c") for r in need({h: rnd.randint(0, 3) for h in range(24)}, queue=q)]
            shifts = []
            for i in range(rnd.randint(0, 8)):
                start = t0 + timedelta(minutes=15 * rnd.randint(0, 80))
                shifts.append(Shift(f"p{i}", rnd.choice(["s", ""]), rnd.sample(["a", "b", "c"], rnd.randint(1, 3)),
                                    start, start + timedelta(hours=rnd.choice([4, 8]))))
            want = []
            for r in plan:
                mid = datetime.fromisoformat(r["start"]) + timedelta(minutes=7.5)
                have = sum(1 for s in shifts if (not s.site or s.site == r["site"]) and r["queue"] in s.queues and s.on(mid))
                want.append({"site": r["site"], "queue": r["queue"], "start": r["start"], "needed": r["agents"],
                             "scheduled": have, "short": max(0, r["agents"] - have), "over": max(0, have - r["agents"])})
            assert coverage(shifts, plan, cfg) == want
            # The same with a pool of a and b: one row per interval for the pool, beside c's.
            assert len(coverage(shifts, plan, _pooled(p=["a", "b"]))) == len(plan) * 2 // 3


def test_suggest_a_pool_hand_case() -> None:
    """a needs one agent 08-10 and b one 10-12; 4-hour shifts on the hour. Apart: a shift for each queue,
    8 paid hours; as one pool: one person 08-12 takes both queues, 4 paid hours, the shift listing a and b."""
    rules = ShiftRules(lengths_h=[4], start_every_min=60, earliest="00:00", latest_end="24:00")
    plan = need({8: 1, 9: 1}, queue="a") + need({10: 1, 11: 1}, queue="b")
    assert suggest(plan, rules)["paid_hours"] == 8.0  # queues apart
    for out in (suggest(plan, rules, _pooled(floor=["a", "b"])), suggest([{**r, "pool": "floor"} for r in plan], rules)):
        assert out["paid_hours"] == 4.0 and out["needed_hours"] == 4.0
        assert [(x["queue"], x["pool_queues"], x["start"][11:16], x["end"][11:16], x["count"]) for x in out["shifts"]] == [
            ("floor", ["a", "b"], "08:00", "12:00", 1)]
        assert len(out["intervals"]) == 96 and all(r["short"] == 0 and r["pool_queues"] == ["a", "b"] for r in out["intervals"])
    # A queue in no pool beside the pool: its own unit, no pool_queues.
    out = suggest(plan + need({9: 1}, queue="c"), rules, _pooled(floor=["a", "b"]))
    assert [(x["queue"], "pool_queues" in x) for x in out["shifts"]] == [("c", False), ("floor", True)]


def test_a_roster_name_neither_queue_nor_pool_is_named(tmp_path) -> None:
    from stream.planning.roster import Units

    cfg = _pooled(floor=["a", "b"])
    p = tmp_path / "roster.csv"
    p.write_text("person,site,queues,start,end\n"
                 "ann,s,floor,2026-03-02T08:00+08:00,2026-03-02T12:00+08:00\n"
                 "bob,s,a;flor,2026-03-02T08:00+08:00,2026-03-02T12:00+08:00\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"roster.csv: row 3: bob: 'flor' is neither a queue nor a pool of site s$"):
        read_roster(p, Units(cfg))
    y = tmp_path / "roster.yaml"
    y.write_text("- {person: 王芳, queues: [floor, x], start: '2026-03-02T08:00+08:00', end: '2026-03-02T12:00+08:00'}\n",
                 encoding="utf-8")
    with pytest.raises(ValueError, match=r"shift 1: 王芳: 'x' is neither a queue nor a pool of any site"):
        read_roster(y, Units(cfg))


def test_the_cli_rosters_and_suggests_per_pool(tmp_path, capsys) -> None:
    """``staffing --roster`` / ``--suggest`` with a floor config of pools; an unknown name: one line, exit 2."""
    import json

    from stream.cli.main import main

    floor = tmp_path / "floor.yaml"
    floor.write_text("sites:\n  s:\n    timezone: Asia/Shanghai\n    queues: {a: {}, b: {}, c: {}}\n"
                     "    pools: {floor: [a, b]}\n", encoding="utf-8")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"intervals": [{**r, "offered": 1.0, "aht_s": 100.0} for r in
                                              need({8: 1, 9: 1}, queue="a") + need({10: 1, 11: 1}, queue="b")]}))
    roster = tmp_path / "roster.csv"
    roster.write_text("person,site,queues,start,end\nann,s,floor,2026-03-02T08:00+08:00,2026-03-02T12:00+08:00\n",
                      encoding="utf-8")
    assert main(["staffing", "--roster", str(roster), "--plan", str(plan), "--config", str(floor), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["intervals"]
    assert {(r["queue"], tuple(r["pool_queues"])) for r in rows} == {("floor", ("a", "b"))}
    assert all(r["short"] == 0 and r["scheduled"] == (1 if "08:00" <= r["start"][11:16] < "12:00" else 0) for r in rows)
    assert main(["staffing", "--suggest", "--plan", str(plan), "--config", str(floor), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["paid_hours"] == 4.0 and [x["pool_queues"] for x in out["shifts"]] == [["a", "b"]]
    roster.write_text("person,site,queues,start,end\nann,s,floor,2026-03-02T08:00+08:00,2026-03-02T12:00+08:00\n"
                      "bob,s,flor,2026-03-02T08:00+08:00,2026-03-02T12:00+08:00\n", encoding="utf-8")
    assert main(["staffing", "--roster", str(roster), "--plan", str(plan), "--config", str(floor), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith(f"{roster}: row 3: bob: 'flor' is neither a queue nor a pool of site s\n"), err


def test_a_pools_scheduled_is_between_its_busiest_queue_and_their_sum() -> None:
    """Any roster: per interval, the pool's people are at least those of its busiest queue (apart) and at most
    their sum (a person of two queues once); its need is its queues' needs summed."""
    from datetime import datetime, timedelta

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from stream.planning.roster import Shift

    t0 = datetime.fromisoformat("2026-03-02T00:00:00+08:00")
    shift = st.builds(lambda who, qs, s, h: Shift(who, "s", qs, t0 + timedelta(minutes=15 * s), t0 + timedelta(minutes=15 * (s + h))),
                      st.sampled_from(["ann", "bob", "cat", "dan"]), st.lists(st.sampled_from(["a", "b", "c", "floor"]), min_size=1, max_size=3),
                      st.integers(0, 90), st.integers(1, 40))

    @settings(max_examples=60, deadline=None)
    @given(st.lists(shift, max_size=8), st.lists(st.integers(0, 3), min_size=24, max_size=24))
    def prop(shifts, per_hour):
        plan = [r for q in ("a", "b", "c") for r in need(dict(enumerate(per_hour)), queue=q)]
        cfg = _pooled(floor=["a", "b"])
        pooled = {r["start"]: r for r in coverage(shifts, plan, cfg) if r["queue"] == "floor"}
        # Apart: each queue's people, a pool name standing for its queues (as the pool resolves it).
        spelled = [Shift(s.person, s.site, sorted({x for q in s.queues for x in (["a", "b"] if q == "floor" else [q])}), s.start, s.end)
                   for s in shifts]
        apart = {}
        for r in coverage(spelled, plan):
            apart.setdefault(r["start"], {})[r["queue"]] = r
        assert len(pooled) == 96
        for start, r in pooled.items():
            a, b = apart[start]["a"], apart[start]["b"]
            assert r["needed"] == a["needed"] + b["needed"]
            people = {s.person for s in spelled if s.on(datetime.fromisoformat(start) + timedelta(minutes=7.5)) and {"a", "b"} & set(s.queues)}
            assert max(a["scheduled"], b["scheduled"]) <= len(people) == r["scheduled"] <= a["scheduled"] + b["scheduled"]

    prop()
