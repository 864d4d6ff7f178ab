"""The Anonymous Bank adapter (stream.sources.anonbank) and the February 1999 month.

The unit tests feed the adapter small hand-made logs (real header, CRLF). The
month tests compute the day/queue figures INDEPENDENTLY from the raw rows --
plain Python, no floorwatch module -- and compare them with (a) the adapter's
events folded by a naive pairing here and (b) ``stream.cli.main replay --report
json``, the real pipeline.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FEBRUARY = ROOT / ".." / "shared" / "data" / "anonbank" / "february.txt"

HEADER = (
    "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\t"
    "q_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver"
)
T_S = 20  # hotline service-level threshold
SHORT_S = 5  # an abandon with wait under this is short
FIGURES = (
    "offered", "answered", "abandoned", "short_abandoned",
    "asa_s", "aht_s", "sl_pct", "abandon_pct", "max_wait_s",
)  # fmt: skip
COUNTS = ("offered", "answered", "abandoned", "short_abandoned")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the independent computation ---------------------------------------------


def parse_rows(text: str) -> tuple[int, int, list[dict[str, Any]]]:
    """Raw log → (data rows, unparseable rows, calls offered to a queue).

    Written from anonbank.md and the mapping alone; shares no code with the adapter.
    """
    lines = [ln for ln in text.split("\r\n")[1:] if ln.strip()]
    broken = 0
    calls = []
    seen = set()
    for ln in lines:
        f = ln.split("\t")
        try:
            if len(f) != 17 or f[12] not in ("AGENT", "HANG", "PHANTOM"):
                raise ValueError
            if f[12] == "PHANTOM":
                continue
            day = datetime.strptime(f[5], "%y%m%d").date()
            if len(f[5]) != 6 or f[3] not in ("0", "1", "2") or not f[4] or not f[16]:
                raise ValueError
            queued = f[9] != "0:00:00"
            datetime.strptime(f[9] if queued else f[7], "%H:%M:%S")
            q_time, ser_time = int(f[11]), int(f[15])
            if q_time < 0 or ser_time < 0 or (f[0], f[1]) in seen:
                raise ValueError
            seen.add((f[0], f[1]))
        except ValueError:
            broken += 1
            continue
        if f[12] == "HANG" and not queued:
            continue  # hung up in the IVR: never offered
        calls.append(
            {
                "day": day.isoformat(),
                "queue": f[4],
                "answered": f[12] == "AGENT",
                "wait": q_time if queued else 0,
                "ser": ser_time,
            }
        )
    return len(lines), broken, calls


def figures(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """metrics.md over completed calls, T = 20 s, short abandon = wait < 5 s."""
    offered = len(calls)
    ans = [c for c in calls if c["answered"]]
    abd = [c for c in calls if not c["answered"]]
    short = sum(1 for c in abd if c["wait"] < SHORT_S)
    base = offered - short
    return {
        "offered": offered,
        "answered": len(ans),
        "abandoned": len(abd),
        "short_abandoned": short,
        "asa_s": sum(c["wait"] for c in ans) / len(ans) if ans else None,
        "aht_s": sum(c["ser"] for c in ans) / len(ans) if ans else None,
        "sl_pct": 100.0 * sum(1 for c in ans if c["wait"] <= T_S) / base if base else None,
        "abandon_pct": 100.0 * (len(abd) - short) / base if base else None,
        "max_wait_s": float(max(c["wait"] for c in calls)) if calls else None,
    }


def report(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Per day per queue, per day, and grand total, in the CLI's JSON shape (minus ``rejected``)."""
    days = []
    for d in sorted({c["day"] for c in calls}):
        of_day = [c for c in calls if c["day"] == d]
        queues = {q: figures([c for c in of_day if c["queue"] == q]) for q in sorted({c["queue"] for c in of_day})}
        days.append({"date": d, "queues": queues, "total": figures(of_day)})
    return {"days": days, "total": figures(calls)}


def assert_same_figures(got: dict[str, Any], want: dict[str, Any], where: str) -> None:
    assert set(got) == set(FIGURES), f"{where}: keys {sorted(got)}"
    for k in FIGURES:
        g, w = got[k], want[k]
        if k in COUNTS:
            assert type(g) is int and g == w, f"{where}.{k}: got {g!r}, want {w!r}"
        elif w is None:
            assert g is None, f"{where}.{k}: got {g!r}, want null"
        else:
            assert type(g) is float, f"{where}.{k}: got {g!r} ({type(g).__name__}), want a float"
            assert math.isclose(g, w, rel_tol=1e-6, abs_tol=1e-9), f"{where}.{k}: got {g!r}, want {w!r}"


def assert_same_report(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert [d["date"] for d in got["days"]] == [d["date"] for d in want["days"]]
    for gd, wd in zip(got["days"], want["days"]):
        assert sorted(gd["queues"]) == sorted(wd["queues"]), gd["date"]
        for q, wq in wd["queues"].items():
            assert_same_figures(gd["queues"][q], wq, f"{gd['date']}.{q}")
        assert_same_figures(gd["total"], wd["total"], f"{gd['date']}.total")
    assert_same_figures(got["total"], want["total"], "total")


# --- hand-made logs ----------------------------------------------------------


def row(**kw: str) -> str:
    """A valid AGENT row from the queue (AA0101/1001, PS, 990201); override any field."""
    f = {
        "line": "AA0101", "call_id": "1001", "customer_id": "23317894", "priority": "1", "type": "PS",
        "date": "990201", "vru_entry": "7:02:47", "vru_exit": "7:02:56", "vru_time": "9",
        "q_start": "7:02:56", "q_exit": "7:03:26", "q_time": "30", "outcome": "AGENT",
        "ser_start": "7:03:26", "ser_exit": "7:05:06", "ser_time": "100", "server": "DORIT",
    }  # fmt: skip
    f.update(kw)
    return "\t".join(f.values())


def write_log(tmp_path: Path, *rows: str, eol: str = "\r\n") -> Path:
    p = tmp_path / "log.txt"
    p.write_bytes(eol.join([HEADER, *rows, ""]).encode("ascii"))
    return p


def read(tmp_path: Path, *rows: str, **kw: str):
    from stream.sources.anonbank import read_anonbank

    return read_anonbank(write_log(tmp_path, *rows, **kw))


def kinds(log) -> list[tuple[str, str]]:
    return [(type(e).__struct_config__.tag, iso(e.ts)) for e in log.events]


def test_phantom_dropped_not_rejected(tmp_path: Path) -> None:
    log = read(tmp_path, row(outcome="PHANTOM", server="NO_SERVER"))
    assert log.events == [] and log.rejected == {} and log.rows == 1
    assert log.stats["phantom"] == 1


def test_hang_in_ivr_not_offered(tmp_path: Path) -> None:
    log = read(
        tmp_path,
        row(outcome="HANG", q_start="0:00:00", q_exit="0:00:00", q_time="0",
            ser_start="0:00:00", ser_exit="0:00:00", ser_time="0", server="NO_SERVER"),
    )  # fmt: skip
    assert log.events == [] and log.rejected == {}
    assert log.stats["ivr_hang"] == 1


def test_hang_from_queue_abandoned_after_q_time(tmp_path: Path) -> None:
    # ser_* filled in on a HANG row happens in the real log; it is ignored.
    log = read(
        tmp_path,
        row(outcome="HANG", q_time="26", ser_start="7:03:22", ser_exit="7:05:29", ser_time="127", server="NO_SERVER"),
    )
    assert kinds(log) == [("call_offered", "1999-02-01T05:02:56Z"), ("call_abandoned", "1999-02-01T05:03:22Z")]
    assert [e.id for e in log.events] == ["ab:AA0101:1001:o", "ab:AA0101:1001:x"]
    assert {e.call for e in log.events} == {"ab-AA0101-1001"}


def test_agent_from_queue(tmp_path: Path) -> None:
    log = read(tmp_path, row(priority="2"))
    assert kinds(log) == [
        ("call_offered", "1999-02-01T05:02:56Z"),
        ("call_answered", "1999-02-01T05:03:26Z"),
        ("call_ended", "1999-02-01T05:05:06Z"),
    ]
    offered, answered, ended = log.events
    assert (offered.site, offered.queue, offered.priority, offered.vip) == ("anonbank", "PS", 2, True)
    assert answered.agent == "DORIT"
    assert ended.wrap_up is False
    assert [e.id for e in log.events] == ["ab:AA0101:1001:o", "ab:AA0101:1001:a", "ab:AA0101:1001:e"]


@pytest.mark.parametrize("priority,vip", [("0", False), ("1", False), ("2", True)])
def test_priority_and_vip(tmp_path: Path, priority: str, vip: bool) -> None:
    offered = read(tmp_path, row(priority=priority)).events[0]
    assert (offered.priority, offered.vip) == (int(priority), vip)


def test_agent_without_queue_answered_at_vru_exit(tmp_path: Path) -> None:
    log = read(
        tmp_path,
        row(vru_exit="7:02:56", q_start="0:00:00", q_exit="0:00:00", q_time="0",
            ser_start="7:02:55", ser_exit="7:05:41", ser_time="166"),
    )  # fmt: skip
    assert kinds(log) == [
        ("call_offered", "1999-02-01T05:02:56Z"),
        ("call_answered", "1999-02-01T05:02:56Z"),
        ("call_ended", "1999-02-01T05:05:42Z"),
    ]


def test_same_instant_events_stay_causal(tmp_path: Path) -> None:
    # No queue and ser_time 0: offered, answered and ended share one ms; a
    # second call starting then must not split them out of order.
    log = read(
        tmp_path,
        row(call_id="2", q_start="0:00:00", q_time="0", ser_time="0", ser_start="0:00:00", server="NO_SERVER"),
        row(call_id="1", q_start="0:00:00", q_time="0", ser_time="0"),
    )
    per_call: dict[str, list[str]] = {}
    for e in log.events:
        per_call.setdefault(e.call, []).append(e.id[-1])
    assert per_call == {"ab-AA0101-2": ["o", "a", "e"], "ab-AA0101-1": ["o", "a", "e"]}
    assert [e.ts for e in log.events] == sorted(e.ts for e in log.events)


def test_no_server_agent_is_none(tmp_path: Path) -> None:
    log = read(tmp_path, row(server="NO_SERVER", ser_start="0:00:00", ser_time="5"))
    assert [e.agent for e in log.events if hasattr(e, "agent")] == [None]


def test_service_past_midnight(tmp_path: Path) -> None:
    # ser_exit < ser_start: the talk runs into the next day; the call stays on its date.
    log = read(
        tmp_path,
        row(date="990215", vru_entry="23:57:00", vru_exit="23:57:10", q_start="23:57:10", q_exit="23:58:00",
            q_time="50", ser_start="23:58:00", ser_exit="0:01:20", ser_time="200"),
    )  # fmt: skip
    assert kinds(log) == [
        ("call_offered", "1999-02-15T21:57:10Z"),
        ("call_answered", "1999-02-15T21:58:00Z"),
        ("call_ended", "1999-02-15T22:01:20Z"),  # 00:01:20 local on the 16th
    ]


def test_queue_entered_after_midnight_is_literal(tmp_path: Path) -> None:
    # vru_entry 23:59:56 on the 10th, q_start 0:00:02: literally 00:00:02 on the 10th.
    log = read(
        tmp_path,
        row(date="990210", vru_entry="23:59:56", vru_exit="23:59:56", q_start="0:00:02", q_exit="0:00:29", q_time="27"),
    )
    assert kinds(log)[0] == ("call_offered", "1999-02-09T22:00:02Z")


def test_q_start_zero_means_never_queued(tmp_path: Path) -> None:
    # The one February row with q_start 0:00:00 but q_time 27: by the log's
    # convention (q_start 0:00:00) it never queued: offered at vru_exit, wait 0.
    log = read(
        tmp_path,
        row(date="990215", vru_entry="23:59:54", vru_exit="23:59:54", vru_time="0", q_start="0:00:00",
            q_exit="0:00:27", q_time="27", ser_start="0:00:26", ser_exit="0:01:33", ser_time="67", server="AVNI"),
    )  # fmt: skip
    assert kinds(log)[:2] == [("call_offered", "1999-02-15T21:59:54Z"), ("call_answered", "1999-02-15T21:59:54Z")]


@pytest.mark.parametrize(
    "day,tod,utc",
    [
        ("990201", "7:02:56", "1999-02-01T05:02:56Z"),  # IST, UTC+2
        ("990801", "12:00:00", "1999-08-01T09:00:00Z"),  # IDT, UTC+3
        ("990402", "1:00:00", "1999-04-01T23:00:00Z"),  # DST starts 02:00 that day
        ("990402", "10:00:00", "1999-04-02T07:00:00Z"),
        ("990903", "10:00:00", "1999-09-03T08:00:00Z"),  # DST ended that night
    ],
)
def test_local_time_asia_jerusalem(tmp_path: Path, day: str, tod: str, utc: str) -> None:
    log = read(tmp_path, row(date=day, q_start=tod))
    assert iso(log.events[0].ts) == utc


def test_broken_rows_counted_good_rows_flow(tmp_path: Path) -> None:
    good = [row(call_id="1"), row(call_id="2", outcome="HANG", server="NO_SERVER")]
    bad = [
        row(call_id="10").rsplit("\t", 1)[0],  # 16 fields
        row(call_id="11") + "\textra",  # 18 fields
        row(call_id="12", outcome="7:03:26"),  # a time where the outcome should be
        row(call_id="13", outcome="TRANSFER"),
        row(call_id="14", date="990230"),  # not a date
        row(call_id="15", date="99O201"),
        row(call_id="16", q_time="abc"),
        row(call_id="17", q_time="-3"),
        row(call_id="18", ser_time="1.5"),
        row(call_id="19", ser_time="-1"),
        row(call_id="20", q_start="25:00:00"),
        row(call_id="21", priority="7"),
        row(call_id="1"),  # the same call (line, call_id) again
    ]
    log = read(tmp_path, good[0], *bad[:6], good[1], *bad[6:])
    assert log.rows == len(good) + len(bad)
    assert log.rejected == {
        "bad field count": 2,
        "bad outcome": 2,
        "bad date": 2,
        "bad q_time": 1,
        "negative q_time": 1,
        "bad ser_time": 1,
        "negative ser_time": 1,
        "bad q_start": 1,
        "bad priority": 1,
        "duplicate call": 1,
    }
    assert {e.call for e in log.events} == {"ab-AA0101-1", "ab-AA0101-2"}
    assert len(log.events) == 5


def test_same_call_id_on_two_lines_are_two_calls(tmp_path: Path) -> None:
    # call_id is unique per IVR line only: February repeats thousands across lines.
    log = read(tmp_path, row(line="AA0101"), row(line="AA0202"))
    assert log.rejected == {}
    assert {e.call for e in log.events} == {"ab-AA0101-1001", "ab-AA0202-1001"}


def test_lf_line_ends_and_blank_lines(tmp_path: Path) -> None:
    log = read(tmp_path, row(call_id="1"), "", row(call_id="2"), eol="\n")
    assert log.rows == 2 and log.rejected == {} and len(log.events) == 6


def test_events_valid_and_no_personal_data(tmp_path: Path) -> None:
    from stream.contracts.events import decode_event, encode_event

    log = read(tmp_path, row(call_id="1"), row(call_id="2", customer_id="55711915", outcome="HANG"))
    for e in log.events:
        raw = encode_event(e)
        assert b"23317894" not in raw and b"55711915" not in raw and b"customer" not in raw
        assert decode_event(raw) == e  # passes the schema's constraints
    assert all(getattr(e, "caller", None) is None for e in log.events)


def test_site_config() -> None:
    from stream.sources.anonbank import SITE, TIMEZONE, site_config
    from stream.contracts.floor_config import FloorConfig

    sc = site_config()
    assert (SITE, TIMEZONE) == ("anonbank", "Asia/Jerusalem")
    assert (sc.kind, sc.timezone) == ("hotline", "Asia/Jerusalem")
    q = FloorConfig(sites={SITE: sc}).queue(SITE, "PS")
    assert (q.sl_t_s, q.short_abandon_s) == (20, 5)
    assert set(sc.queues) == {"PS", "PE", "IN", "NE", "NW", "TT"}


# --- the February month -----------------------------------------------------


@pytest.fixture(scope="module")
def february() -> tuple[int, int, list[dict[str, Any]]]:
    if not FEBRUARY.is_file():
        pytest.skip(f"../shared/data/anonbank/february.txt not found: {FEBRUARY.resolve()} (no ../shared here)")
    return parse_rows(FEBRUARY.read_bytes().decode("ascii"))


def test_february_independent_figures_are_sane(february) -> None:
    rows, broken, calls = february
    rep = report(calls)
    t = rep["total"]
    print(f"\nrows {rows}, unparseable {broken}, " + ", ".join(f"{k} {t[k]:g}" for k in FIGURES))
    for d in rep["days"][:3]:
        print(d["date"], {k: d["total"][k] for k in ("offered", "answered", "abandoned", "sl_pct")})
    assert rows == 33_344  # shared/README.md
    assert 30_000 <= t["offered"] <= 40_000  # "30,000–40,000 asked for an agent"
    assert t["offered"] == t["answered"] + t["abandoned"]
    assert 0.75 <= t["answered"] / t["offered"] <= 0.90  # "about 80% served"
    assert 0.10 <= t["abandoned"] / t["offered"] <= 0.25  # "20% abandoned"
    assert 150 <= t["aht_s"] <= 220  # "mean service time 185 s"
    assert len(rep["days"]) == 28
    assert {q for d in rep["days"] for q in d["queues"]} == {"PS", "PE", "IN", "NE", "NW", "TT"}


def fold_events(events: list) -> list[dict[str, Any]]:
    """Pair the adapter's events per call, naively, into the rows' call shape."""
    tz_offset_ms = 2 * 3600 * 1000  # February in Israel: IST, UTC+2, all month
    by_call: dict[str, dict[str, Any]] = {}
    for e in events:
        tag = type(e).__struct_config__.tag
        c = by_call.setdefault(e.call, {})
        c[tag] = e
    calls = []
    for c in by_call.values():
        o = c["call_offered"]
        done = c.get("call_answered") or c["call_abandoned"]
        calls.append(
            {
                "day": datetime.fromtimestamp((o.ts + tz_offset_ms) / 1000, timezone.utc).date().isoformat(),
                "queue": o.queue,
                "answered": "call_answered" in c,
                "wait": (done.ts - o.ts) / 1000,
                "ser": (c["call_ended"].ts - done.ts) / 1000 if "call_ended" in c else None,
            }
        )
    return calls


def test_february_adapter_matches_independent(february) -> None:
    from stream.sources.anonbank import read_anonbank

    rows, broken, calls = february
    log = read_anonbank(FEBRUARY)
    assert log.rows == rows
    assert sum(log.rejected.values()) == broken
    assert Counter(e.id for e in log.events).most_common(1)[0][1] == 1, "event ids must be unique"
    assert all(a.ts <= b.ts for a, b in zip(log.events, log.events[1:]))
    got = report(fold_events(log.events))
    want = report(calls)
    assert_same_report(got, want)


def test_february_cli_replay_matches_independent(february) -> None:
    rows, broken, calls = february
    proc = subprocess.run(
        [sys.executable, "-m", "stream.cli.main", "replay", str(FEBRUARY), "--format", "anonbank", "--report", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"stream.cli.main replay failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    got = json.loads(proc.stdout)
    assert set(got) == {"rejected", "days", "total"}
    assert got["rejected"]["count"] == broken
    assert sum(got["rejected"]["reasons"].values()) == got["rejected"]["count"]
    want = report(calls)
    assert_same_report(got, want)
