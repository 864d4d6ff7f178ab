"""Rollups by hand: a DST day, the site total, sums that add (not averages), SQLite."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from stream.fold.stats import QueueStats
from stream.history.rollup import history
from stream.history.rows import offset_min, queue_row
from stream.history.store import Batch, Store
from stream.fold.calendar import DayCalendar


def _stats(offered: int, answered_waits: list[int], t_ms: int = 20_000) -> QueueStats:
    st = QueueStats()
    st.offered = offered
    for w in answered_waits:
        st.add_answered(w, t_ms)
    return st


def test_a_dst_day_keeps_its_repeated_hour_apart_and_adds_up_to_one_day(tmp_path):
    cal = DayCalendar("America/New_York")
    s = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    # 2025-11-02: clocks go back at 02:00 EDT; every 15 minutes from local midnight to 03:00 EST.
    t0 = int(datetime(2025, 11, 2, 4, 0, tzinfo=timezone.utc).timestamp() * 1000)  # 00:00 EDT
    rows = [queue_row("ny", "q", t0 + k * 900_000, offset_min(cal, t0 + k * 900_000), _stats(1, [1000]), 1) for k in range(16)]
    s.upsert(Batch(queue=rows))
    hours = history(s, "ny", "q", date(2025, 11, 2), date(2025, 11, 2), "1h")["rows"]
    assert [(h["start"], h["offered"]) for h in hours] == [
        ("2025-11-02T00:00:00-04:00", 4), ("2025-11-02T01:00:00-04:00", 4),
        ("2025-11-02T01:00:00-05:00", 4), ("2025-11-02T02:00:00-05:00", 4)]
    day = history(s, "ny", None, date(2025, 11, 2), date(2025, 11, 2), "1d")["rows"]
    assert [(d["queue"], d["start"], d["offered"]) for d in day] == [
        ("q", "2025-11-02T00:00:00-04:00", 16), ("*", "2025-11-02T00:00:00-04:00", 16)]
    # The day before and after are not in it.
    assert history(s, "ny", None, date(2025, 11, 1), date(2025, 11, 1), "1d") == {"rows": []}


def test_totals_merge_sums_never_average_figures(tmp_path):
    cal = DayCalendar("Asia/Shanghai")
    s = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    t0 = int(datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)
    off = offset_min(cal, t0)
    # Queue a: 1 offered, answered in 10 s; queue b: 9 offered, all answered in 30 s (T = 20 s).
    s.upsert(Batch(queue=[queue_row("s", "a", t0, off, _stats(1, [10_000]), 1),
                          queue_row("s", "b", t0 + 900_000, off, _stats(9, [30_000] * 9), 1)]))
    rows = history(s, "s", None, date(2026, 11, 23), date(2026, 11, 23), "1h")["rows"]
    by_q = {r["queue"]: r for r in rows}
    assert by_q["a"]["sl_pct"] == 100.0 and by_q["b"]["sl_pct"] == 0.0
    # 1 of 10 within T: 10 %, not the average of 100 % and 0 %; ASA (10 + 9 x 30) / 10 = 28 s.
    assert by_q["*"]["sl_pct"] == 10.0 and by_q["*"]["asa_s"] == 28.0 and by_q["*"]["max_wait_s"] == 30.0
    assert rows[0]["start"] == "2026-11-23T09:00:00+08:00"
    # The total alone (added up by the database) is the same row.
    assert history(s, "s", "*", date(2026, 11, 23), date(2026, 11, 23), "1h")["rows"] == [by_q["*"]]
    quarter = history(s, "s", "*", date(2026, 11, 23), date(2026, 11, 23), "15m")["rows"]
    assert [(r["start"], r["offered"]) for r in quarter] == [("2026-11-23T09:00:00+08:00", 1), ("2026-11-23T09:15:00+08:00", 9)]


def test_rows_written_before_the_abandoned_waits_were_kept_still_make_reports(db_url):
    # A store upgraded from before migration 0003 holds rows whose abandoned waits are NULL (unknown); the
    # reports page asked for their day and got a 500 (int(None)). Their figures do not read that sum.
    cal = DayCalendar("Asia/Shanghai")
    s = Store.open(db_url)
    t0 = int(datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)
    off = offset_min(cal, t0)
    old = {**queue_row("s", "a", t0, off, _stats(4, [10_000, 30_000]), 1), "abandon_wait_sum_ms": None}
    new = queue_row("s", "a", t0 + 900_000, off, _stats(2, [5_000]), 1)
    s.upsert(Batch(queue=[old, new]))
    for step in ("15m", "1h", "1d"):
        rows = history(s, "s", None, date(2026, 11, 23), date(2026, 11, 23), step)["rows"]
        assert sum(r["offered"] for r in rows if r["queue"] == "*") == 6, step
        assert {r["queue"] for r in rows} == {"a", "*"}
    # The hour adds the old row's counts to the new one's.
    hour = history(s, "s", "*", date(2026, 11, 23), date(2026, 11, 23), "1h")["rows"]
    assert [(r["offered"], r["answered"]) for r in hour] == [(6, 3)]
    s.close()


from hypothesis import given, settings, strategies as st  # noqa: E402

_row = st.tuples(
    st.sampled_from(["a", "b", "c"]),             # queue
    st.integers(0, 95),                           # interval of the day
    st.lists(st.integers(0, 120_000), max_size=6),  # answered waits (ms)
    st.integers(0, 4),                            # abandoned on top
)


@settings(max_examples=25, deadline=None)
@given(st.lists(_row, min_size=1, max_size=30, unique_by=lambda r: (r[0], r[1])))
def test_any_rollup_is_the_merge_of_its_intervals(rows):
    import tempfile

    cal = DayCalendar("Asia/Shanghai")
    t0 = int(datetime(2026, 11, 23, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)
    with tempfile.TemporaryDirectory() as d:
        s = Store.open(f"sqlite:///{d}/h.db")
        stats = []
        batch = Batch()
        for q, k, waits, ab in rows:
            stt = _stats(len(waits) + ab, waits)
            for i in range(ab):
                stt.add_abandoned(3_000 * (1 + i), 5_000)  # the first one short (under 5 s)
            stats.append((q, k, stt))
            start = t0 + k * 900_000
            batch.queue.append(queue_row("s", q, start, offset_min(cal, start), stt, 1))
        s.upsert(batch)
        day = history(s, "s", None, date(2026, 11, 23), date(2026, 11, 23), "1d")["rows"]
        hours = history(s, "s", None, date(2026, 11, 23), date(2026, 11, 23), "1h")["rows"]
        s.close()
    want_total = QueueStats()
    for _, _, stt in stats:
        want_total.merge(stt)
    assert [r for r in day if r["queue"] == "*"][0] == {"site": "s", "queue": "*", "start": "2026-11-23T00:00:00+08:00",
                                                        **want_total.report()}
    for q in {q for q, _, _ in stats}:
        want = QueueStats()
        for qq, _, stt in stats:
            if qq == q:
                want.merge(stt)
        assert [r for r in day if r["queue"] == q][0]["offered"] == want.offered
        assert sum(r["offered"] for r in hours if r["queue"] == q) == want.offered
    # Each hour's total is the merge of that hour's intervals.
    for h in (r for r in hours if r["queue"] == "*"):
        hour = int(h["start"][11:13])
        m = QueueStats()
        for _, k, stt in stats:
            if k // 4 == hour:
                m.merge(stt)
        assert {k: v for k, v in h.items() if k not in ("site", "queue", "start")} == m.report()
