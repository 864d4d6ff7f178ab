"""Planning from the history store with Erlang A: patience from the stored waits, the same as a replay's.

The store keeps, per site × queue × 15 minutes, the answered and (since
migration 0003_abandoned_wait) the abandoned contacts' wait sums; mean
patience is total wait ÷ abandons (Brown et al. 2005). These tests write
histories with the real CLI (``replay --db``) into real SQLite and
PostgreSQL databases and plan from them with ``staffing --plan --db``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from stream.contracts.floor_config import load_config
from stream.history.store import Store
from stream.planning.actuals import cutoff_for, read_log
from stream.planning.calls import contacts, patience
from stream.planning.stored import history_from_store, patience_from_history
from tests.history.conftest import db_url, pg_cluster  # noqa: F401 - real SQLite and PostgreSQL databases
from tests.planning.test_cli import FEB, make_log, run


def _plan(capsys, *argv: str) -> list[dict]:
    rc, out, err = run(capsys, "staffing", "--plan", *argv, "--json")
    assert rc == 0, err
    return json.loads(out)["intervals"]


def test_plan_from_the_store_is_the_replays_plan(tmp_path, capsys, db_url):
    """The same log replayed into the store and read back plans exactly as the log itself does (Erlang A)."""
    log = make_log(tmp_path / "calls.jsonl")
    rc, _, err = run(capsys, "replay", str(log), "--format", "jsonl", "--db", db_url, "--report", "json")
    assert rc == 0, err
    args = ("--from", "2026-03-20", "--days", "2", "--over", "day")
    from_db = _plan(capsys, "--db", db_url, *args)
    from_log = _plan(capsys, "--replay", str(log), "--format", "jsonl", *args)
    assert from_db == from_log
    # Erlang A for real: impatient callers (30 s) need fewer agents than Erlang C plans.
    erlang_c = _plan(capsys, "--db", db_url, *args, "--erlang", "C")
    assert sum(r["agents"] for r in from_db) < sum(r["agents"] for r in erlang_c)


def _both_patiences(capsys, log: Path, fmt: str, url: str, before: date) -> tuple[dict, dict]:
    """The log replayed into the store (``replay --db``): patience from the store, and from the log's contacts."""
    assert run(capsys, "replay", str(log), "--format", fmt, "--db", url, "--report", "json")[0] == 0
    cfg = load_config()
    store = Store.open(url)
    hist = history_from_store(store, cfg)
    store.close()
    got = patience_from_history(hist, before)
    evs = read_log(log, fmt, cfg).events
    site = next(iter(hist))[0]
    cut = cutoff_for(before, cfg.site(site).timezone)
    return got, patience(contacts([e for e in evs if e.ts < cut]))


def test_store_patience_equals_the_contacts_patience(tmp_path, capsys):
    got, want = _both_patiences(capsys, make_log(tmp_path / "calls.jsonl"), "jsonl", f"sqlite:///{tmp_path / 'h.db'}",
                                date(2026, 3, 20))
    assert got[("gd-hotline", "general")] == pytest.approx(want[("gd-hotline", "general")], rel=1e-9)


def test_rows_written_before_the_store_kept_abandoned_waits_are_left_out(tmp_path, capsys):
    """A day whose rows have no abandoned wait (NULL: written before 0003) gives no patience:
    Erlang C for it, never a patience of a few seconds."""
    log = make_log(tmp_path / "calls.jsonl", days=8)
    url = f"sqlite:///{tmp_path / 'h.db'}"
    assert run(capsys, "replay", str(log), "--format", "jsonl", "--db", url, "--report", "json")[0] == 0
    store = Store.open(url)
    with store.engine.begin() as c:  # as a worker of before the migration left them
        c.execute(sa.text("update queue_intervals set abandon_wait_sum_ms = null"))
    hist = history_from_store(store, load_config())
    store.close()
    assert patience_from_history(hist, date(2026, 3, 10)) == {("gd-hotline", "general"): None}
    erlang_c = _plan(capsys, "--db", url, "--from", "2026-03-10", "--days", "1", "--erlang", "C")
    assert _plan(capsys, "--db", url, "--from", "2026-03-10", "--days", "1") == erlang_c


@pytest.mark.parametrize("argv, msg", [
    (["--db", "sqlite:///{tmp}/missing/h.db", "--from", "2026-03-20", "--days", "1"], "no history database at"),
    (["--db", "sqlite:///x.db", "--replay", "x.jsonl", "--format", "jsonl", "--from", "2026-03-20", "--days", "1"], "not both"),
    (["--db", "sqlite:///x.db", "--days", "1"], "--from is required"),
])
def test_db_errors_are_one_line(argv, msg, capsys, tmp_path):
    rc, out, err = run(capsys, "staffing", "--plan", *[a.replace("{tmp}", str(tmp_path)) for a in argv], "--json")
    assert rc == 2 and msg in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "missing").exists()  # planning never makes a database


@pytest.mark.skipif(not FEB.is_file(), reason="../shared/data/anonbank/february.txt is absent (a fresh clone has no ../shared)")
def test_february_from_the_store_plans_as_from_the_replay(tmp_path, capsys):
    """Per queue, the store's patience (interval sums) equals the replay's (its contacts), 22 February; and the
    re-plan at 10:00 from the store is the replay's (the bank's site, timezone and targets from its format)."""
    url = f"sqlite:///{tmp_path / 'feb.db'}"
    got, want = _both_patiences(capsys, FEB, "anonbank", url, date(1999, 2, 22))
    assert set(got) == set(want)
    for k, v in want.items():
        if v is None:
            assert got[k] is None
        else:
            assert got[k] == pytest.approx(v, rel=1e-9), k
    args = ("--from", "1999-02-22T10:00+02:00", "--days", "1", "--over", "day")
    from_db = _plan(capsys, "--db", url, *args)
    assert from_db == _plan(capsys, "--replay", str(FEB), "--format", "anonbank", *args)
    assert from_db[0]["start"] == "1999-02-22T10:00:00+02:00"


def test_the_migration_keeps_old_rows_with_unknown_abandoned_waits(db_url):
    """A database at 0002 with a row, upgraded: the row keeps NULL there (unknown, not 0) and gives no patience."""
    from alembic import command
    from alembic.config import Config

    from stream.history.store import MIGRATIONS

    old = Store.open(db_url, migrate=False)
    engine = old.engine
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    cols = "site, start_ms, queue, utc_offset_min, sl_variant, offered, answered, abandoned, short_abandoned, " \
           "transferred, within_t, wait_sum_ms, max_wait_ms, handled, handle_sum_ms, wait_hist, as_of_ms"
    with engine.begin() as conn:
        conn.execute(sa.text(f"insert into queue_intervals ({cols}) values "
                             "('gd-hotline', 1767574800000, 'general', 480, 'standard', 10, 8, 2, 0, 0, 6, 80000, "
                             "30000, 8, 1440000, '{}', 1)"))
    old.close()
    store = Store.open(db_url)  # upgrades to head
    rows = store.queue_rows("gd-hotline", None, 0, 2 * 10**12)
    assert len(rows) == 1 and rows[0]["abandon_wait_sum_ms"] is None and rows[0]["wait_sum_ms"] == 80000
    hist = history_from_store(store, load_config())
    store.close()
    assert patience_from_history(hist, date(2026, 1, 6)) == {("gd-hotline", "general"): None}
