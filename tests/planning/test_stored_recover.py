"""``staffing --plan --db --recover``: an intraday re-plan from the history store aims the rest of the day at
what the day still needs, from the day's service level so far as the store's interval rows show it.

Histories are written with the real CLI (``replay --db``) into real SQLite and PostgreSQL databases; the
plans from the store are compared with those from the log itself (``--replay --recover``, whose day so far
is the fold's ``Floor.day_sums``).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from stream.contracts.floor_config import load_config
from stream.history.store import Store
from stream.planning.actuals import read_log
from stream.planning.so_far import of_log, of_store
from stream.planning.stored import with_format_sites
from tests.history.conftest import db_url, pg_cluster  # noqa: F401 - real SQLite and PostgreSQL databases
from tests.planning.test_cli import make_log, run

AT = "2026-03-16T12:00+08:00"
REPLAN = ("--from", AT, "--days", "1", "--over", "day", "--lead", "60")


def _hours(capsys, *argv: str) -> tuple[float, list[dict], str]:
    rc, out, err = run(capsys, "staffing", "--plan", *argv, "--json")
    assert rc == 0, err
    rows = json.loads(out)["intervals"]
    return sum(r["agents"] for r in rows) / 4, rows, err


@pytest.mark.parametrize("answer_s, direction", [(60.0, "up"), (5.0, "down")])
def test_recover_from_the_store_is_the_replays(tmp_path, capsys, db_url, answer_s, direction):
    """A morning answered after a minute (0 % within 20 s) raises the rest of the day; one at ~90 % lets it run a
    little under; from the store exactly as from the log (same day so far, same plan)."""
    log = make_log(tmp_path / "calls.jsonl", answer_s=answer_s)
    assert run(capsys, "replay", str(log), "--format", "jsonl", "--db", db_url, "--report", "json")[0] == 0
    plain, _, _ = _hours(capsys, "--db", db_url, *REPLAN)
    recovered, rows, err = _hours(capsys, "--db", db_url, *REPLAN, "--recover")
    assert err == ""
    assert (recovered > plain) if direction == "up" else (0 < recovered < plain)
    assert rows[0]["start"] == "2026-03-16T13:00:00+08:00"  # the lead: a change decided at 12:00 acts from 13:00
    _, from_log, _ = _hours(capsys, "--replay", str(log), "--format", "jsonl", *REPLAN, "--recover")
    assert rows == from_log
    # The day so far itself: the store's intervals over by 12:00 against the fold of the log up to 12:00.
    at = datetime.fromisoformat(AT)
    store = Store.open(db_url)
    try:
        stored = of_store(store, with_format_sites(load_config()), at)
    finally:
        store.close()
    folded = of_log(read_log(log, "jsonl", load_config()), at)
    n, sl = stored["gd-hotline"]
    assert n == folded["gd-hotline"][0] > 100 and sl == pytest.approx(folded["gd-hotline"][1], abs=1e-9)
    assert (sl < 5) if direction == "up" else (85 < sl < 95)


def test_recover_on_a_day_the_store_has_not_reached_says_so(tmp_path, capsys):
    """No interval of the day in the store: the rest of the day aims at the target (the plan without
    --recover), with one line on stderr saying why."""
    log = make_log(tmp_path / "calls.jsonl", days=14)   # up to 15 March
    url = f"sqlite:///{tmp_path / 'h.db'}"
    assert run(capsys, "replay", str(log), "--format", "jsonl", "--db", url, "--report", "json")[0] == 0
    plain, rows, _ = _hours(capsys, "--db", url, *REPLAN)
    recovered, again, err = _hours(capsys, "--db", url, *REPLAN, "--recover")
    assert again == rows and recovered == plain > 0
    assert len(err.strip().splitlines()) == 1 and "--recover: no service level of the day" in err


@pytest.mark.parametrize("argv, msg", [
    (["--from", "2026-03-16", "--days", "1", "--recover"], "give --from a time"),
    (["--from", AT, "--days", "1", "--recover", "--lead", "10"], "--lead: minutes, a multiple of 15"),
    (["--from", AT, "--days", "1", "--recover", "--replay", "x.jsonl", "--format", "jsonl"], "not both"),
])
def test_db_recover_wrong_input_is_one_line(argv, msg, capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    assert run(capsys, "replay", str(make_log(tmp_path / "calls.jsonl", days=8)), "--format", "jsonl", "--db", url,
               "--report", "json")[0] == 0
    rc, out, err = run(capsys, "staffing", "--plan", "--db", url, *argv, "--json")
    assert rc == 2 and out == "" and msg in err and len(err.strip().splitlines()) == 1


def test_db_recover_without_a_database_is_one_line(capsys, tmp_path):
    rc, out, err = run(capsys, "staffing", "--plan", "--db", f"sqlite:///{tmp_path / 'none.db'}", "--from", AT,
                       "--days", "1", "--recover", "--json")
    assert rc == 2 and out == "" and "no history database at" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "none.db").exists()
