"""The history store: how fast it writes against what a worker seals, and how fast a month's report comes back.

    python -m bench history [--calls 150000] [--sites 50] [--queues 10] [--days 365] [--open-hours 14]

1. **Writes against sealing.** A busy day folded at full speed by one
   partition floor (as the worker folds, alerts off); its history rows (queue
   intervals, agent days and states) as the sink collects them; then those rows
   upserted into SQLite and PostgreSQL. Reports rows sealed per second of fold
   beside rows written per second, and the baseline a user would write first:
   one ``INSERT ... ON CONFLICT`` per row.
2. **A month's hourly report with a year loaded.** ``--sites`` × ``--queues``
   × ``--days`` of 15-minute rows (``--open-hours`` a day, random but
   consistent sums) bulk-loaded into both databases, then one site's month by
   hour (every queue and the total: ``stream.history.rollup.history``), median
   of 7, read from the hourly rollup (``queue_hours``, filled from the loaded
   intervals as the writer fills it) beside the same query over the 15-minute
   intervals (the query before the rollup) and the baseline of reading the
   month's raw rows and adding them up in Python. Target: under 100 ms.

PostgreSQL is a throwaway cluster of Debian's package (tests/pg_server.py);
without its binaries that column says why it is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from stream.history.rows import live_limits, site_batch
from stream.history.schema import QUEUE_SUMS, queue_intervals
from stream.history.store import Batch, Store

COLS = ["site", "queue", "start_ms", "utc_offset_min", "sl_variant", *[c for _, c in QUEUE_SUMS], "wait_hist", "as_of_ms"]


def fold_day(calls: int, seed: int) -> tuple[float, int, Batch]:
    from bench.bench_fold import messages
    from bench.bench_replay import ensure_day
    from stream.contracts.floor_config import load_config
    from stream.runtime.partition import PartitionFloor
    from stream.sources.jsonl import Rejected, read_jsonl

    evs = [e for e in read_jsonl(ensure_day(calls, seed)) if not isinstance(e, Rejected)]
    msgs = messages(evs)
    cfg = load_config()
    parts = {p: PartitionFloor(p, cfg, limits=live_limits(cfg)) for p in range(8)}  # as a worker writing history
    offsets = {p: 0 for p in parts}
    t0 = time.perf_counter()
    for p, v in msgs:
        parts[p].fold(offsets[p], v)
        offsets[p] += 1
    fold_s = time.perf_counter() - t0
    batch = Batch()
    for pf in parts.values():
        for site in pf.floor.sites:
            batch.extend(site_batch(pf.floor, site))
    # What the worker's history sink costs its loop for this floor: a first look (every row is new)
    # and the next one (nothing changed), done on the loop at once (as before) and as the worker
    # does it now (the core read in steps, the rows built in a thread), same run, alternately.
    from stream.history.sink import HistorySink
    from stream.history.writer import HistoryWriter

    stalls: dict[str, list[float]] = {"on the loop": [], "steps + thread": []}
    for _ in range(2):
        for how in stalls:
            stalls[how].append(loop_stall(parts, how == "on the loop"))
    sink = HistorySink(HistoryWriter("sqlite:///:memory:"))
    sink.collect(parts)
    t0 = time.perf_counter()
    sink.collect(parts)
    again = time.perf_counter() - t0
    print("   the sink's first look at this floor, the worker loop's longest stall (two runs each, alternated): "
          + "; ".join(f"{how} {', '.join(f'{v * 1000:.0f}' for v in vals)} ms" for how, vals in stalls.items())
          + f"; a look when nothing changed: {again * 1000:.2f} ms", file=sys.stderr)
    return fold_s, len(evs), batch


def loop_stall(parts: dict, on_loop: bool) -> float:
    """The longest the event loop went without running a 1 ms heartbeat while a fresh sink took
    its first look at ``parts`` and offered the rows to its writer: ``collect`` on the loop at once
    (as before), or ``collect_async`` (as the worker's tick does now)."""
    import asyncio

    from stream.history.sink import HistorySink
    from stream.history.writer import HistoryWriter

    async def run() -> float:
        longest = 0.0
        done = False

        async def beat() -> None:
            nonlocal longest
            last = time.perf_counter()
            while not done:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                longest = max(longest, now - last)
                last = now

        hb = asyncio.create_task(beat())
        await asyncio.sleep(0.01)
        sink = HistorySink(HistoryWriter("sqlite:///:memory:"))
        if on_loop:
            sink.writer.offer(sink.collect(parts))
        else:
            await sink.collect_async(parts, offer=True)
        await asyncio.sleep(0.01)
        done = True
        await hb
        return longest

    return asyncio.run(run())


def time_upsert(url: str, batch: Batch) -> float:
    s = Store.open(url)
    t0 = time.perf_counter()
    s.upsert(batch)
    dt = time.perf_counter() - t0
    s.close()
    return dt


def time_row_by_row(url: str, batch: Batch, limit: int = 3000) -> float:
    """Seconds per row, one upsert statement and commit per row (the first thing one writes)."""
    s = Store.open(url)
    rows = batch.queue[:limit]
    t0 = time.perf_counter()
    for r in rows:
        s.upsert(Batch(queue=[r]))
    dt = time.perf_counter() - t0
    s.close()
    return dt / len(rows)


def year_rows(sites: int, queues: int, days: int, open_hours: int, seed: int = 7):
    """Per site, its year of queue_intervals rows as tuples in key order (site, start, queue):
    UTC+8, ``open_hours`` from 07:00 local each day, random but consistent sums."""
    rng = np.random.default_rng(seed)
    first = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=8)))
    day0 = int(first.timestamp() * 1000) + 7 * 3_600_000
    per_day = open_hours * 4
    starts = (day0 + np.arange(days)[:, None] * 86_400_000 + np.arange(per_day)[None, :] * 900_000).ravel()
    queue_names = [f"q{j}" for j in range(queues)]
    for i in range(sites):
        st = np.repeat(starts, queues)
        n = st.size
        offered = rng.poisson(20, n)
        abandoned = rng.binomial(offered, 0.1)
        answered = offered - abandoned
        short = rng.binomial(abandoned, 0.2)
        within = rng.binomial(answered, 0.8)
        wait_sum = answered * rng.integers(5_000, 40_000, n)
        max_wait = np.where(offered > 0, rng.integers(20_000, 300_000, n), -1)
        handle_sum = answered * rng.integers(120_000, 300_000, n)
        as_of = st + 86_400_000
        site = f"site{i:02d}"
        cols = [st, offered, answered, abandoned, short, within, wait_sum, max_wait, handle_sum, as_of]
        rows = [
            (site, queue_names[k % queues], s_, 480, "standard", o, a, ab, sh, 0, w, ws, mw, a, hs, "{}", ao)
            for k, (s_, o, a, ab, sh, w, ws, mw, hs, ao) in enumerate(zip(*[c.tolist() for c in cols]))
        ]
        yield rows


def load_year(url: str, args) -> tuple[int, float]:
    """Bulk-load the year (COPY into PostgreSQL, one executemany per site into SQLite)."""
    store = Store.open(url)
    t0 = time.perf_counter()
    total = 0
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if store.dialect == "postgresql":
            for rows in year_rows(args.sites, args.queues, args.days, args.open_hours):
                with cur.copy(f"COPY queue_intervals ({','.join(COLS)}) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row(r)
                total += len(rows)
                raw.commit()
            cur.execute("ANALYZE queue_intervals")
        else:
            cur.execute("PRAGMA synchronous=OFF")  # a bench load, not the product's writes
            sql = f"INSERT INTO queue_intervals ({','.join(COLS)}) VALUES ({','.join('?' * len(COLS))})"
            for rows in year_rows(args.sites, args.queues, args.days, args.open_hours):
                cur.executemany(sql, rows)
                total += len(rows)
                raw.commit()
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    store.rebuild_hours()  # what upsert writes beside the intervals
    store.close()
    return total, time.perf_counter() - t0


def python_rollup(store: Store, site: str, first: date, last: date) -> int:
    """The baseline: read the month's raw rows, add them up per hour and queue in Python."""
    from stream.fold.report import stats_from_sums
    from stream.fold.stats import COUNTERS

    t = queue_intervals
    d0 = int(datetime(first.year, first.month, first.day, tzinfo=timezone.utc).timestamp() * 1000) - 14 * 3_600_000
    d1 = int(datetime(last.year, last.month, last.day, tzinfo=timezone.utc).timestamp() * 1000) + 38 * 3_600_000
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(t).where(t.c.site == site, t.c.start_ms >= d0, t.c.start_ms < d1)).mappings().all()
    col = dict(QUEUE_SUMS)
    acc: dict = {}
    for r in rows:
        key = ((r["start_ms"] + r["utc_offset_min"] * 60_000) // 3_600_000, r["queue"])
        st = stats_from_sums({**{a: r[col[a]] for a in COUNTERS}, "sl_variant": r["sl_variant"]})
        if key in acc:
            acc[key].merge(st)
        else:
            acc[key] = st
    return len([s.report() for s in acc.values()])


def time_month(url: str, site: str, days: int) -> tuple[float, float, int, float, float, float]:
    from stream.history.rollup import history

    store = Store.open(url)
    # The last 30 days loaded (June with a year).
    last = date(2025, 1, 1) + timedelta(days=min(days, 181) - 1)
    first = last - timedelta(days=29)
    ours, base, cpu, total_only, ivals = [], [], [], [], []
    n = 0
    history(store, site, None, first, last, "1h")  # warm: the first read of a cold database file
    assert history(store, site, None, first, last, "1h") == history(store, site, None, first, last, "1h", from_intervals=True)
    for _ in range(7):
        t0 = time.perf_counter()
        history(store, site, None, first, last, "1h", from_intervals=True)
        ivals.append(time.perf_counter() - t0)
        t0, c0 = time.perf_counter(), time.process_time()
        n = len(history(store, site, None, first, last, "1h")["rows"])
        ours.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        t0 = time.perf_counter()
        history(store, site, "*", first, last, "1h")
        total_only.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        python_rollup(store, site, first, last)
        base.append(time.perf_counter() - t0)
    store.close()
    return (statistics.median(ours), statistics.median(base), n, statistics.median(cpu), statistics.median(total_only),
            statistics.median(ivals))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench history")
    ap.add_argument("--calls", type=int, default=150_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sites", type=int, default=50)
    ap.add_argument("--queues", type=int, default=10)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--open-hours", type=int, default=14)
    ap.add_argument("--skip-year", action="store_true", help="only the writes (part 1)")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="fw-bench-history-"))
    dbs = {"sqlite": f"sqlite:///{tmp / 'a.db'}"}
    cluster = None
    try:
        from tests.pg_server import PgCluster

        cluster = PgCluster()
        dbs["postgresql"] = cluster.new_database("bench_a")
    except Exception as exc:  # noqa: BLE001 - a missing PostgreSQL is reported, not fatal
        print(f"PostgreSQL not measured: {exc}", file=sys.stderr)
    try:
        fold_s, events, batch = fold_day(args.calls, args.seed)
        rows = len(batch)
        sealed = rows / fold_s
        print(f"\n1. writes against sealing: a {args.calls:,}-call day, {events:,} events folded in {fold_s:.2f} s "
              f"by one partition floor per partition ({events / fold_s:,.0f} events/s)")
        print(f"   history rows of the day: {rows:,} ({len(batch.queue):,} queue intervals, {len(batch.agent):,} agent days, "
              f"{len(batch.agent_state):,} agent states, {len(batch.agent_queue_ival):,} agent x queue intervals, "
              f"{len(batch.agent_state_ival):,} agent state intervals)  ->  sealed at {sealed:,.0f} rows/s of fold")
        print(f"   {'database':<11} {'batched upsert rows/s':>22} {'x sealing':>10} {'row-by-row rows/s':>18} {'batched / row-by-row':>21}")
        for name, url in dbs.items():
            dt = time_upsert(url, batch)
            again = time_upsert(url, batch)  # the same rows again: all updates
            per_row = time_row_by_row(url, batch)
            w = rows / min(dt, again)
            print(f"   {name:<11} {w:>22,.0f} {w / sealed:>10.1f} {1 / per_row:>18,.0f} {w * per_row:>21.1f}")

        if args.skip_year:
            return 0
        n_rows = args.sites * args.queues * args.days * args.open_hours * 4
        print(f"\n2. a month's hourly report (one site, every queue and the total) with {args.days} days x {args.sites} sites "
              f"x {args.queues} queues loaded ({n_rows:,} interval rows)")
        print(f"   {'database':<11} {'load s':>8} {'ours ms':>9} {'our CPU ms':>11} {'rows out':>9} {'total only ms':>14} "
              f"{'from intervals ms':>18} {'python rollup ms':>17} {'intervals / ours':>17} {'baseline / ours':>16}  under 100 ms")
        for name in list(dbs):
            url = f"sqlite:///{tmp / 'year.db'}" if name == "sqlite" else cluster.new_database("bench_year")
            loaded, load_s = load_year(url, args)
            ours, base, out, cpu, tot, iv = time_month(url, f"site{min(7, args.sites - 1):02d}", args.days)
            print(f"   {name:<11} {load_s:>8.1f} {ours * 1000:>9.1f} {cpu * 1000:>11.1f} {out:>9} {tot * 1000:>14.1f} "
                  f"{iv * 1000:>18.1f} {base * 1000:>17.1f} {iv / ours:>17.1f} {base / ours:>16.1f}  {'yes' if ours < 0.1 else 'NO'}")
        print(f"   (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; 'our CPU ms' is this process's, "
              f"the database server's is not in it)")
    finally:
        if cluster is not None:
            cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)  # the year is a gigabyte or so
    return 0
