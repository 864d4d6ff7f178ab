"""The February log backfilled into history and queried by hour, against an independent computation.

The expected figures are computed here straight from the log's text, with
the mapping of ``../shared/docs/anonbank.md`` as stream/sources/anonbank.py
documents it (PHANTOM and IVR hang-ups dropped; offered at date + q_start, or
vru_exit when it never queued; T = 20 s; short abandon < 5 s; handle time
counted in the hour the handling ended), without the core, the fold or the
store. Hours are the log's local wall-clock hours.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from stream.cli.main import main
from stream.history.rollup import history
from stream.fold.stats import QueueStats
from stream.history.rows import queue_row
from stream.history.store import Batch, Store

FEB = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "anonbank" / "february.txt"
needs_feb = pytest.mark.skipif(not FEB.is_file(), reason="../shared/data/anonbank/february.txt is absent (a fresh clone has no ../shared)")


def _secs(hms: str) -> int:
    h, m, s = (int(x) for x in hms.split(":"))
    return h * 3600 + m * 60 + s


def independent_hours() -> dict[str, dict]:
    """Local hour ("1999-02-01T08") -> figures, from the raw log."""
    acc: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    with open(FEB, newline="", encoding="latin-1") as fh:
        rows = csv.DictReader(fh, delimiter="\t")
        for r in rows:
            r = {k.strip(): (v or "").strip() for k, v in r.items()}
            out = r["outcome"]
            if out == "PHANTOM" or (out == "HANG" and r["q_start"] == "0:00:00"):
                continue
            d = datetime.strptime("19" + r["date"], "%Y%m%d")
            queued = r["q_start"] != "0:00:00"
            offered = d + timedelta(seconds=_secs(r["q_start"] if queued else r["vru_exit"]))
            wait = int(r["q_time"]) if queued else 0
            h = acc[offered.strftime("%Y-%m-%dT%H")]
            h["offered"] += 1
            h["max_wait"] = max(h.get("max_wait", -1), wait)
            if out == "AGENT":
                h["answered"] += 1
                h["wait_sum"] += wait
                h["within"] += wait <= 20
                end = offered + timedelta(seconds=wait + int(r["ser_time"]))
                e = acc[end.strftime("%Y-%m-%dT%H")]
                e["handled"] += 1
                e["handle_sum"] += int(r["ser_time"])
            else:
                h["abandoned"] += 1
                h["short"] += wait < 5
    out = {}
    for k, h in acc.items():
        if not h["offered"]:
            continue  # an hour with only handling that ended in it
        base = h["offered"] - h["short"]
        out[k] = {
            "offered": h["offered"], "answered": h["answered"], "abandoned": h["abandoned"], "short_abandoned": h["short"],
            "asa_s": h["wait_sum"] / h["answered"] if h["answered"] else None,
            "aht_s": h["handle_sum"] / h["handled"] if h["handled"] else None,
            "sl_pct": 100.0 * h["within"] / base if base else None,
            "abandon_pct": 100.0 * (h["abandoned"] - h["short"]) / base if base else None,
            "max_wait_s": float(h["max_wait"]),
        }
    return out


def independent_agent_hours() -> dict[tuple[str, str], list[int]]:
    """(server, local hour the handling ended) -> [handled, handle s], from the raw log."""
    acc: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    with open(FEB, newline="", encoding="latin-1") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            r = {k.strip(): (v or "").strip() for k, v in r.items()}
            if r["outcome"] != "AGENT" or r["server"] == "NO_SERVER":
                continue
            d = datetime.strptime("19" + r["date"], "%Y%m%d")
            queued = r["q_start"] != "0:00:00"
            offered = d + timedelta(seconds=_secs(r["q_start"] if queued else r["vru_exit"]))
            end = offered + timedelta(seconds=(int(r["q_time"]) if queued else 0) + int(r["ser_time"]))
            a = acc[(r["server"], end.strftime("%Y-%m-%dT%H"))]
            a[0] += 1
            a[1] += int(r["ser_time"])
    return dict(acc)


def _close(a, b) -> bool:
    return a == b if a is None or b is None else abs(a - b) < 1e-9


@needs_feb
def test_february_by_hour_equals_an_independent_computation(db_url, capsys):
    assert main(["replay", str(FEB), "--format", "anonbank", "--report", "json", "--db", db_url]) == 0
    report = json.loads(capsys.readouterr().out)
    store = Store.open(db_url)
    got = history(store, "anonbank", "*", date(1999, 2, 1), date(1999, 2, 28), "1h")["rows"]
    want = independent_hours()
    by_hour = {r["start"][:13]: r for r in got if r["offered"]}
    assert set(by_hour) == set(want) and len(want) > 300
    for k, w in want.items():
        g = by_hour[k]
        assert g["start"].endswith("+02:00")  # Israel in February
        for f, v in w.items():
            assert _close(g[f], v), (k, f, g[f], v)
    # Days: the history's daily rows are the replay report's days, queue by queue -- except AHT
    # where a call's handling crossed midnight: intervals take handle time where it ended
    # (metrics.md), the day report where the call was offered. February has such calls.
    days = history(store, "anonbank", None, date(1999, 2, 1), date(1999, 2, 28), "1d")["rows"]
    rep = {d["date"]: d for d in report["days"]}
    aht_differs = 0
    for r in days:
        d = rep[r["start"][:10]]
        exp = d["total"] if r["queue"] == "*" else d["queues"][r["queue"]]
        assert {k: r[k] for k in exp if k != "aht_s"} == {k: v for k, v in exp.items() if k != "aht_s"}
        aht_differs += not _close(r["aht_s"], exp["aht_s"])
    assert 0 < aht_differs < len(days) // 4
    assert len({r["start"] for r in days}) == len(rep)
    # Hours and days come from the hourly rollup (queue_hours): the same as adding up the intervals.
    for step in ("1h", "1d"):
        assert history(store, "anonbank", None, date(1999, 2, 1), date(1999, 2, 28), step) == history(
            store, "anonbank", None, date(1999, 2, 1), date(1999, 2, 28), step, from_intervals=True)
    # Agents per 15-minute interval, added up by local hour: each server's handled calls and
    # handle time where the handling ended (talk only: the log has no wrap-up).
    agent_hours: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in store.all_rows("agent_queue_intervals"):
        assert r["talk_sum_ms"] == r["handle_sum_ms"] and r["wrap_sum_ms"] == 0
        hour = datetime.utcfromtimestamp((r["start_ms"] + r["utc_offset_min"] * 60_000) / 1000).strftime("%Y-%m-%dT%H")
        a = agent_hours[(r["agent"], hour)]
        a[0] += r["handled"]
        a[1] += r["handle_sum_ms"]
    want_agents = independent_agent_hours()
    assert len(want_agents) > 1000
    assert dict(agent_hours) == {k: [n, s * 1000] for k, (n, s) in want_agents.items()}
    # Writing the same log again changes nothing.
    before = {t: store.all_rows(t) for t in ("queue_intervals", "queue_hours", "agent_queue_intervals", "agent_state_intervals")}
    assert main(["replay", str(FEB), "--format", "anonbank", "--report", "json", "--db", db_url]) == 0
    assert {t: store.all_rows(t) for t in before} == before
    store.close()


def test_history_cli_errors_are_one_line(tmp_path, capsys):
    db = str(tmp_path / "h.db")
    Store.open(db).close()
    assert main(["history", "--db", db, "--site", "s", "--from", "2024-13-01", "--to", "2024-01-02", "--json"]) == 2
    assert capsys.readouterr().err.strip() == "floorwatch history: --from must be a date YYYY-MM-DD, not '2024-13-01'"
    assert main(["history", "--db", db, "--site", "s", "--from", "2024-01-03", "--to", "2024-01-02", "--json"]) == 2
    assert "before --from" in capsys.readouterr().err
    assert main(["history", "--db", "postgresql://x@127.0.0.1:1/d", "--site", "s", "--from", "2024-01-01",
                 "--to", "2024-01-02", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("floorwatch history: history database") and err.count("\n") == 1
    # A query makes no database: a mistyped SQLite path says so instead of answering with nothing.
    typo = str(tmp_path / "hist.db")
    assert main(["history", "--db", typo, "--site", "s", "--from", "2024-01-01", "--to", "2024-01-02", "--json"]) == 2
    assert capsys.readouterr().err.startswith(f"floorwatch history: no history database at {typo}")
    assert not Path(typo).exists()
    # Nor does a site the database does not hold answer with nothing: it names the ones it holds.
    assert main(["history", "--db", db, "--site", "s", "--from", "2024-01-01", "--to", "2024-01-02", "--json"]) == 2
    assert capsys.readouterr().err == "floorwatch history: no site 's' in the history database (it holds: none yet)\n"
    store = Store.open(db)
    store.upsert(Batch(queue=[queue_row("t", "q", 0, 0, QueueStats(), 1)]))
    store.close()
    assert main(["history", "--db", db, "--site", "s", "--from", "2024-01-01", "--to", "2024-01-02", "--json"]) == 2
    assert "(it holds: t)" in capsys.readouterr().err
    # A site held, on days without rows: an empty answer, not an error.
    assert main(["history", "--db", db, "--site", "t", "--from", "2024-01-01", "--to", "2024-01-02", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"rows": []}
