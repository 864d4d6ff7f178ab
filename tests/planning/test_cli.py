"""``floorwatch forecast`` and ``floorwatch staffing --plan/--check/--roster/--suggest``: the JSON the
issue specifies, learning only from the past, and one-line errors with exit 2."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from stream.cli.main import main
from stream.contracts.events import CallAbandoned, CallAnswered, CallEnded, CallOffered
from stream.sources.jsonl import write_jsonl

FEB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "anonbank" / "february.txt"
TZ = timezone(timedelta(hours=8))  # gd-hotline is Asia/Shanghai in config/floor.yaml
DAY0 = datetime(2026, 3, 2, tzinfo=TZ)


def make_log(path: Path, days: int = 21, seed: int = 1, surge_day: int | None = None, day_spread: float = 0.0,
             answer_s: float = 5.0) -> Path:
    """A gd-hotline 'general' queue: Poisson calls 09:00-18:00, 3-minute handling, a few abandons
    (``day_spread``: each day's rate × exp(N(0, day_spread)), a level no forecast foresees; ``answer_s``: every
    answered call's wait)."""
    rng = np.random.default_rng(seed)
    level = np.exp(np.random.default_rng(seed + 1).normal(0.0, day_spread, days)) if day_spread else np.ones(days)
    evs = []
    n = 0
    for d in range(days):
        base = DAY0 + timedelta(days=d)
        rate = (60 if base.weekday() < 5 else 20) * level[d]  # per hour
        t = 9 * 3600.0
        while True:
            t += rng.exponential(3600 / (rate * (3 if d == surge_day and 10 * 3600 <= t < 11 * 3600 else 1)))
            if t >= 18 * 3600:
                break
            n += 1
            at = base + timedelta(seconds=t)
            cid = f"c{n}"
            evs.append(CallOffered(id=f"{cid}o", ts=at, site="gd-hotline", call=cid, queue="general"))
            if rng.random() < 0.1:
                evs.append(CallAbandoned(id=f"{cid}x", ts=at + timedelta(seconds=30), site="gd-hotline", call=cid))
            else:
                evs.append(CallAnswered(id=f"{cid}a", ts=at + timedelta(seconds=answer_s), site="gd-hotline", call=cid, agent="a1"))
                evs.append(CallEnded(id=f"{cid}e", ts=at + timedelta(seconds=answer_s + 180), site="gd-hotline", call=cid))
    evs.sort(key=lambda e: e.ts)
    write_jsonl(evs, str(path))
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_forecast_json_is_the_issues(tmp_path, capsys):
    log = make_log(tmp_path / "log.jsonl")
    rc, out, err = run(capsys, "forecast", "--replay", str(log), "--format", "jsonl", "--from", "2026-03-23", "--days", "2", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert set(doc) == {"intervals"}
    rows = [r for r in doc["intervals"] if r["site"] == "gd-hotline"]
    assert len(rows) == 2 * 96
    assert all(set(r) == {"site", "queue", "start", "offered", "aht_s"} for r in rows)
    assert rows[0]["start"] == "2026-03-23T00:00:00+08:00" and rows[36]["start"] == "2026-03-23T09:00:00+08:00"
    monday = sum(r["offered"] for r in rows[:96])
    assert 9 * 60 * 0.8 < monday < 9 * 60 * 1.2
    assert rows[40]["aht_s"] == pytest.approx(180, abs=10)


def test_forecast_learns_only_from_before_the_date(tmp_path, capsys):
    """Two logs that differ only after --from give the same forecast."""
    a = make_log(tmp_path / "a.jsonl", days=21, seed=1)
    b_events = [line for line in a.read_text().splitlines() if json.loads(line)["ts"] < "2026-03-16"]
    extra = make_log(tmp_path / "x.jsonl", days=21, seed=99).read_text().splitlines()
    b = tmp_path / "b.jsonl"
    b.write_text("\n".join(b_events + [x for x in extra if json.loads(x)["ts"] >= "2026-03-16"]) + "\n")
    args = ("forecast", "--format", "jsonl", "--from", "2026-03-16", "--days", "3", "--json")
    ra = run(capsys, *args[:1], "--replay", str(a), *args[1:])
    rb = run(capsys, *args[:1], "--replay", str(b), *args[1:])
    assert ra[0] == rb[0] == 0
    assert ra[1] == rb[1]


def test_forecast_from_a_time_reshapes_the_rest_of_today(tmp_path, capsys):
    log = make_log(tmp_path / "surge.jsonl", days=22, surge_day=21)  # 2026-03-23 10:00-11:00 at three times the rate
    args = ("--format", "jsonl", "--days", "1", "--json")
    _, plain, _ = run(capsys, "forecast", "--replay", str(log), "--from", "2026-03-23", *args)
    _, later, _ = run(capsys, "forecast", "--replay", str(log), "--from", "2026-03-23T11:00:00+08:00", *args)
    before = {r["start"]: r["offered"] for r in json.loads(plain)["intervals"]}
    after = {r["start"]: r["offered"] for r in json.loads(later)["intervals"]}
    assert min(after) == "2026-03-23T11:00:00+08:00"  # the rest of today only
    noon = [f"2026-03-23T{h}:00+08:00" for h in ("11:00", "11:30", "12:00", "12:30")]
    assert all(after[k] > 1.3 * before[k] for k in noon)
    assert after["2026-03-23T17:00:00+08:00"] < 1.3 * before["2026-03-23T17:00:00+08:00"]


def test_plan_check_roster_and_suggest(tmp_path, capsys):
    log = make_log(tmp_path / "log.jsonl")
    rc, out, err = run(capsys, "staffing", "--plan", "--replay", str(log), "--format", "jsonl", "--from", "2026-03-16",
                       "--days", "7", "--json")
    assert rc == 0, err
    plan = json.loads(out)
    rows = plan["intervals"]
    assert all(set(r) == {"site", "queue", "start", "offered", "aht_s", "agents"} for r in rows)
    assert max(r["agents"] for r in rows) >= 3 and rows[0]["agents"] == 0
    pf = tmp_path / "plan.json"
    pf.write_text(out)
    rc, out, err = run(capsys, "staffing", "--check", "--replay", str(log), "--format", "jsonl", "--plan", str(pf), "--json")
    assert rc == 0, err
    days = json.loads(out)["days"]
    assert [d["date"] for d in days] == [f"2026-03-{16 + i}" for i in range(7)]
    q = days[0]["queues"]["general"]
    assert set(q) == {"sl_pct", "target_pct", "asa_s", "abandon_pct", "sl_pct_range", "agent_hours"}
    assert json.loads(out)["runs"] == 10 and q["sl_pct_range"][0] <= q["sl_pct"] <= q["sl_pct_range"][1]
    assert q["target_pct"] == 80 and q["agent_hours"] > 0 and q["sl_pct"] > 50
    roster = tmp_path / "roster.csv"
    roster.write_text("person,site,queues,start,end,breaks\n"
                      "ann,gd-hotline,general,2026-03-16T09:00+08:00,2026-03-16T18:00+08:00,12:00-13:00\n")
    rc, out, err = run(capsys, "staffing", "--roster", str(roster), "--plan", str(pf), "--json")
    assert rc == 0, err
    cov = {r["start"]: r for r in json.loads(out)["intervals"] if r["start"].startswith("2026-03-16")}
    assert cov["2026-03-16T10:00:00+08:00"]["scheduled"] == 1 and cov["2026-03-16T12:15:00+08:00"]["scheduled"] == 0
    rc, out, err = run(capsys, "staffing", "--suggest", "--plan", str(pf), "--json")
    assert rc == 0, err
    sug = json.loads(out)
    assert sug["paid_hours"] >= sug["needed_hours"] > 0
    assert all(r["short"] == 0 for r in sug["intervals"])


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["forecast", "--replay", "nope.jsonl", "--format", "jsonl", "--from", "2026-03-16", "--json"], "no such file"),
        (["forecast", "--replay", "x", "--format", "jsonl", "--from", "16/03/2026", "--json"], "a date (YYYY-MM-DD)"),
        (["forecast", "--replay", "x", "--format", "jsonl", "--from", "2026-03-16", "--days", "0"], "a whole number from 1 to 62"),
        (["staffing", "--plan", "--replay", "x", "--format", "jsonl", "--json"], "--from is required"),
        (["staffing", "--check", "--replay", "x", "--format", "jsonl", "--json"], "--check needs --plan"),
        (["staffing", "--check", "--plan", "missing.json", "--replay", "x", "--format", "jsonl"], "no such file"),
        (["staffing", "--suggest", "--json"], "--suggest needs --plan"),
        (["staffing", "--check", "--runs", "0", "--plan", "p.json", "--replay", "x", "--format", "jsonl"],
         "--runs: a whole number of runs >= 1, got '0'"),
        (["staffing", "--calls", "10"], "required"),
        (["staffing", "--plan", "--check"], "give only one of --plan, --check, --roster, --suggest, not --plan and --check"),
        (["staffing", "--suggest", "--roster", "r.csv"], "not --roster and --suggest"),
    ],
)
def test_errors_are_one_line_and_exit_2(argv, msg, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own checks
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2
    assert msg in err and len(err.strip().splitlines()) == 1, err


def test_a_log_of_which_no_row_is_accepted_is_an_error_naming_the_format(capsys, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("this is not a call log\nnor is this\n")
    rc = main(["forecast", "--replay", str(bad), "--format", "jsonl", "--from", "2026-03-16", "--json"])
    err = capsys.readouterr().err
    assert rc == 2 and "none of the" in err and "--format jsonl" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.skipif(not FEB.is_file(), reason="../shared/data/anonbank/february.txt is absent (a fresh clone has no ../shared)")
def test_february_forecast_and_plan(tmp_path, capsys):
    rc, out, err = run(capsys, "staffing", "--plan", "--replay", str(FEB), "--format", "anonbank", "--from", "1999-02-22",
                       "--days", "1", "--json")
    assert rc == 0, err
    rows = json.loads(out)["intervals"]
    assert {r["queue"] for r in rows} == {"PS", "PE", "IN", "NE", "NW", "TT"}
    ps = [r for r in rows if r["queue"] == "PS"]
    assert ps[0]["start"] == "1999-02-22T00:00:00+02:00"
    assert 700 < sum(r["offered"] for r in ps) < 1200  # a Monday of the regular queue
    assert max(r["agents"] for r in ps) >= 5  # 60-odd calls of 3 minutes in a peak quarter hour


def test_plan_over_the_day_and_with_a_margin(tmp_path, capsys):
    log = make_log(tmp_path / "log.jsonl")
    base = ("staffing", "--plan", "--replay", str(log), "--format", "jsonl", "--from", "2026-03-16", "--days", "2", "--json")

    def hours(*extra: str) -> float:
        rc, out, err = run(capsys, *base, *extra)
        assert rc == 0, err
        return sum(r["agents"] for r in json.loads(out)["intervals"]) / 4

    per_interval, day = hours(), hours("--over", "day")
    assert day < per_interval
    assert hours("--over", "day", "--margin", "8") > day


def test_planning_against_the_forecasts_error_adds_agents(tmp_path, capsys):
    """``--uncertain``: the target met in expectation over the forecast's error as its past days show it."""
    def hours(log: Path, *extra: str) -> float:
        rc, out, err = run(capsys, "staffing", "--plan", "--replay", str(log), "--format", "jsonl", "--from", "2026-03-16",
                           "--days", "1", "--over", "day", "--json", *extra)
        assert rc == 0, err
        return sum(r["agents"] for r in json.loads(out)["intervals"]) / 4

    # Days that differ only by Poisson chance: the forecast's errors are that chance, Erlang already has it.
    steady = make_log(tmp_path / "steady.jsonl")
    assert hours(steady, "--uncertain") == hours(steady)
    # Days whose level strays by ~20 %: more agents, against the under-forecast days.
    wavy = make_log(tmp_path / "wavy.jsonl", day_spread=0.2)
    assert hours(wavy, "--uncertain") > hours(wavy) > 0


def test_a_replan_with_a_lead_time_leaves_the_next_hour_alone(tmp_path, capsys):
    log = make_log(tmp_path / "log.jsonl")
    base = ("staffing", "--plan", "--replay", str(log), "--format", "jsonl", "--from", "2026-03-16T10:00+08:00",
            "--days", "1", "--json")

    def rows(*extra: str) -> dict:
        rc, out, err = run(capsys, *base, *extra)
        assert rc == 0, err
        return {r["start"]: r["agents"] for r in json.loads(out)["intervals"]}

    now, later = rows(), rows("--lead", "60")
    assert "2026-03-16T10:00:00+08:00" in now and min(later) == "2026-03-16T11:00:00+08:00"
    assert all(now[k] == v for k, v in later.items())      # per interval: the same need, only from when it can act


def test_a_replan_makes_up_a_morning_below_target_and_spends_one_above(tmp_path, capsys):
    """``--recover``: the rest of the day aimed at what the day still needs after its service level so far."""
    def hours(log: Path, *extra: str) -> float:
        rc, out, err = run(capsys, "staffing", "--plan", "--replay", str(log), "--format", "jsonl",
                           "--from", "2026-03-16T12:00+08:00", "--days", "1", "--over", "day", "--json", *extra)
        assert rc == 0, err
        return sum(r["agents"] for r in json.loads(out)["intervals"]) / 4

    slow = make_log(tmp_path / "slow.jsonl", answer_s=60.0)     # every call answered after a minute: 0 % within 20 s
    assert hours(slow, "--recover") > hours(slow) > 0
    quick = make_log(tmp_path / "quick.jsonl")                  # ~90 % within 20 s: the afternoon may run a little under
    assert 0 < hours(quick, "--recover") < hours(quick)


def test_wrong_input_to_the_planning_commands(tmp_path, capsys):
    log = make_log(tmp_path / "log.jsonl", days=5)
    plan_args = ("staffing", "--plan", "--replay", str(log), "--format", "jsonl", "--days", "1", "--json")
    bad_plan = tmp_path / "bad.json"
    bad_plan.write_text(json.dumps({"intervals": [{"site": "gd-hotline", "queue": "general",
                                                   "start": "2026-03-02T09:00:00+08:00", "agents": "x"}]}))
    naive = tmp_path / "naive.json"
    naive.write_text(json.dumps({"intervals": [{"site": "gd-hotline", "queue": "general", "start": "2026-03-02T09:00:00",
                                                "agents": 2}]}))
    shifts = tmp_path / "shifts.yaml"
    shifts.write_text("- a list\n- not rules\n")
    wrong_type = tmp_path / "types.yaml"
    wrong_type.write_text("lengths_h: eight\n")
    cases = [
        (("forecast", "--replay", str(log), "--format", "jsonl", "--from", "2026-01-01", "--json"), "nothing before it"),
        ((*plan_args, "--from", "2026-01-01"), "nothing before it"),
        ((*plan_args, "--from", "2026-03-06", "--margin", "-200"), "--margin"),
        ((*plan_args, "--from", "2026-03-06", "--lead", "60"), "give --from a time"),
        ((*plan_args, "--from", "2026-03-06T10:00+08:00", "--lead", "10"), "--lead: minutes, a multiple of 15"),
        ((*plan_args, "--from", "2026-03-06", "--recover"), "give --from a time"),
        (("staffing", "--plan", "--db", "sqlite:///nope.db", "--days", "1", "--from", "2026-03-06T10:00+08:00", "--recover"),
         "no history database at"),
        (("staffing", "--suggest", "--plan", str(bad_plan), "--json"), "interval 0: agents must be a number"),
        (("staffing", "--roster", str(shifts), "--plan", str(naive), "--json"), "with its UTC offset"),
        (("staffing", "--check", "--replay", str(log), "--format", "jsonl", "--plan", str(bad_plan)), "agents must be"),
        (("staffing", "--suggest", "--plan", str(naive).replace("naive", "nope"), "--shifts", str(shifts)), "no such file"),
    ]
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"intervals": [{"site": "gd-hotline", "queue": "general", "start": "2026-03-02T09:00:00+08:00",
                                               "agents": 2}]}))
    cases += [
        (("staffing", "--suggest", "--plan", str(good), "--shifts", str(shifts)), "is not a mapping of shift rules"),
        (("staffing", "--suggest", "--plan", str(good), "--shifts", str(wrong_type)), "a rule has the wrong type"),
    ]
    for argv, msg in cases:
        try:
            rc = main(list(argv))
        except SystemExit as exc:
            rc = exc.code
        err = capsys.readouterr().err
        assert rc == 2 and msg in err and len(err.strip().splitlines()) == 1, (argv, err)


def _two_queue_log(path: Path, days: int = 10) -> Path:
    """Site 'pooled' (UTC): queues a (40 calls an hour) and b (20), 09:00-17:00, 3-minute handling."""
    rng = np.random.default_rng(5)
    evs = []
    n = 0
    for d in range(days):
        base = datetime(2026, 3, 2, tzinfo=timezone.utc) + timedelta(days=d)
        for q, rate in (("a", 40.0), ("b", 20.0)):
            t = 9 * 3600.0
            while (t := t + rng.exponential(3600 / rate)) < 17 * 3600:
                n += 1
                at, cid = base + timedelta(seconds=t), f"c{n}"
                evs += [CallOffered(id=f"{cid}o", ts=at, site="pooled", call=cid, queue=q),
                        CallAnswered(id=f"{cid}a", ts=at + timedelta(seconds=5), site="pooled", call=cid, agent="x"),
                        CallEnded(id=f"{cid}e", ts=at + timedelta(seconds=185), site="pooled", call=cid)]
    evs.sort(key=lambda e: e.ts)
    write_jsonl(evs, str(path))
    return path


def test_plan_and_check_a_pool_from_the_command_line(tmp_path):
    """``staffing --plan`` and ``--check`` on a config that pools two queues: rows per queue carrying the pool,
    one pool's rows per interval summing to fewer agents than the queues planned apart, checked as one group."""
    import subprocess
    import sys

    log = _two_queue_log(tmp_path / "log.jsonl")
    exe = Path(sys.executable).with_name("floorwatch")

    def cli(config: str, *argv: str) -> dict:
        cfg = tmp_path / "floor.yaml"
        cfg.write_text(config)
        got = subprocess.run([str(exe), "staffing", *argv, "--replay", str(log), "--format", "jsonl", "--config", str(cfg),
                              "--json"], capture_output=True, text=True, timeout=300)
        assert got.returncode == 0, got.stderr
        return json.loads(got.stdout)

    pooled = "sites:\n  pooled:\n    queues: {a: {}, b: {}}\n    pools:\n      phones: [a, b]\n"
    apart = "sites:\n  pooled:\n    queues: {a: {}, b: {}}\n"
    plan_args = ("--plan", "--from", "2026-03-11", "--days", "1")
    rows = cli(pooled, *plan_args)["intervals"]
    alone = cli(apart, *plan_args)["intervals"]
    assert {r["pool"] for r in rows} == {"phones"} and all("pool" not in r for r in alone)
    assert {r["queue"] for r in rows} == {"a", "b"}
    assert sum(r["agents"] for r in rows) < sum(r["agents"] for r in alone)
    busy = [r for r in rows if r["start"] == "2026-03-11T12:00:00+00:00"]
    assert len(busy) == 2 and busy[0]["agents"] >= busy[1]["agents"] > 0   # a: twice b's calls
    pf = tmp_path / "plan.json"
    pf.write_text(json.dumps({"intervals": rows}))
    day = cli(pooled, "--check", "--plan", str(pf))["days"][0]
    assert set(day["queues"]) == {"a", "b"}
    assert day["total"]["agent_hours"] == pytest.approx(sum(r["agents"] for r in rows) / 4, abs=0.01)
    # The same agents split apart answer fewer calls within T than the pool does.
    assert cli(apart, "--check", "--plan", str(pf))["days"][0]["total"]["sl_pct"] < day["total"]["sl_pct"]
