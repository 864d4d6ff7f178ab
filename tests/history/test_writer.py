"""The history writer's bounded retry queue, against a database that is not there and then is."""

from __future__ import annotations

from stream.history.store import Batch, Store
from stream.history.writer import HistoryWriter


def _row(start: int, offered: int, as_of: int = 1) -> dict:
    return {"site": "s", "queue": "q", "start_ms": start, "utc_offset_min": 0, "sl_variant": "standard",
            "offered": offered, "answered": 0, "abandoned": 0, "short_abandoned": 0, "transferred": 0, "within_t": 0,
            "wait_sum_ms": 0, "max_wait_ms": -1, "handled": 0, "handle_sum_ms": 0, "wait_hist": "{}", "as_of_ms": as_of}


def test_rows_wait_while_the_database_is_away_and_are_written_when_it_returns(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")  # a file where the database's directory should be: every open fails
    w = HistoryWriter(f"sqlite:///{blocker}/h.db", max_rows=3)
    w.offer(Batch(queue=[_row(0, 1), _row(900_000, 1)]))
    w.offer(Batch(queue=[_row(0, 2, as_of=2)]))  # a newer row of the same key replaces the waiting one
    assert w.queued == 2
    assert w.flush() == 0 and w.stats.write_errors == 1 and not w.stats.db_up and w.queued == 2
    # Over the bound: the row offered longest ago goes, counted (900_000: key 0 was offered again since).
    w.offer(Batch(queue=[_row(1_800_000, 1), _row(2_700_000, 1)]))
    assert w.queued == 3 and w.stats.rows_dropped == 1
    # The database comes back (here: the writer is pointed at a reachable one).
    w.db_url = f"sqlite:///{tmp_path / 'h.db'}"
    assert w.flush() == 3 and w.stats.db_up and w.queued == 0 and w.stats.rows_written == 3
    rows = Store.open(w.db_url).all_rows("queue_intervals")
    assert [(r["start_ms"], r["offered"]) for r in rows] == [(0, 2), (1_800_000, 1), (2_700_000, 1)]
    assert w.flush() == 0  # nothing left
