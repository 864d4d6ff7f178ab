"""The worker writes history live, exactly once in effect, on real servers (Tansu, Redis, SQLite/PostgreSQL).

The expected rows are those of the same events folded in process (a partition's
state is a pure function of its log): every interval the watermark has sealed,
every agent day; the alert changes are those ``floorwatch alerts --replay``
lists. A worker SIGKILLed mid-day and restarted, two workers sharing the
partitions, and a PostgreSQL stopped and restarted mid-day all end with
exactly those rows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stream.contracts.floor_config import load_config
from stream.fold.calendar import INTERVAL_MS
from stream.fold.floor import Floor
from stream.history.rows import site_batch
from stream.history.store import Store
from stream.local import embedded
from stream.local.up import Stack
from stream.sources.jsonl import Rejected, read_jsonl, write_jsonl

ROOT = Path(__file__).resolve().parents[2]

try:
    embedded.find_tansu()
    embedded.find_redis_server()
    HAVE_SERVERS = True
    WHY = ""
except embedded.BinaryNotFound as exc:  # pragma: no cover - depends on the machine
    HAVE_SERVERS = False
    WHY = str(exc)

pytestmark = [pytest.mark.integration, pytest.mark.slow,
              pytest.mark.skipif(not HAVE_SERVERS, reason=f"needs the embedded Tansu and redis-server binaries: {WHY}")]


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stream.cli.main", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=True)


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "as_of_ms"} for r in rows]


class Day:
    """A busy day in two halves and the rows and alerts the worker must end with."""

    def __init__(self, d: Path) -> None:
        full = d / "day.jsonl"
        cli("simulate", "--scenario", "busy-day", "--calls", "6000", "--seed", "5", "--out", str(full))
        evs = [e for e in read_jsonl(full) if not isinstance(e, Rejected)]
        self.full = full
        self.first, self.second = d / "a.jsonl", d / "b.jsonl"
        write_jsonl(evs[: len(evs) // 2], self.first)
        write_jsonl(evs[len(evs) // 2:], self.second)
        floor = Floor(load_config())
        floor.apply_many(evs)
        self.queue, self.agent, self.agent_state = [], [], []
        for site in sorted(floor.sites):
            sc = floor.sites[site]
            b = site_batch(floor, site, until_ms=sc.watermark - INTERVAL_MS + 1)
            self.queue += b.queue
            self.agent += b.agent
            self.agent_state += b.agent_state
        key = lambda r: (r["site"], r["start_ms"], r["queue"])  # noqa: E731
        self.queue = _strip(sorted(self.queue, key=key))
        out = cli("alerts", "--replay", str(full), "--format", "jsonl", "--json", "--all").stdout
        self.alert_keys = sorted((a["id"], a["change"], a["at_ms"]) for a in map(json.loads, filter(str.strip, out.splitlines())))


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Day:
    return Day(tmp_path_factory.mktemp("live"))


def wait_rows(db: str, day: Day, timeout: float = 180) -> Store:
    """Poll the database until its interval rows are the expected ones (or time runs out)."""
    deadline = time.monotonic() + timeout
    store = None
    got: list = []
    while time.monotonic() < deadline:
        try:
            store = store or Store.open(db)
            got = _strip(store.all_rows("queue_intervals"))
            if got == day.queue:
                return store
        except Exception:
            store = None
        time.sleep(1.0)
    assert got == day.queue, f"{len(got)} rows, expected {len(day.queue)}"
    return store  # pragma: no cover


def check_all(store: Store, day: Day) -> None:
    assert _strip(store.all_rows("queue_intervals")) == day.queue
    agents = _strip(store.all_rows("agent_days"))
    want = sorted(_strip(day.agent), key=lambda r: (r["site"], r["agent"], r["date"]))
    assert agents == want
    states = _strip(store.all_rows("agent_state_days"))
    assert states == sorted(_strip(day.agent_state), key=lambda r: (r["site"], r["agent"], r["date"], r["state"]))
    # Every alert change of the replay, once, and no other.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(store.all_rows("alert_changes")) < len(day.alert_keys):
        time.sleep(1)
    keys = sorted((r["alert_id"], r["change"], r["at_ms"]) for r in store.all_rows("alert_changes"))
    assert keys == day.alert_keys and keys


def test_sigkill_mid_day_and_restart_leave_the_same_rows(tmp_path, day):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path), history_db=db) as st:
        cli("replay", str(day.first), "--format", "jsonl", "--kafka", st.kafka_url)
        # Wait until history is being written, then kill the worker with no chance to clean up.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if Store.open(db).all_rows("queue_intervals"):
                    break
            except Exception:
                pass
            time.sleep(0.5)
        victim = st.workers[0]
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(10)
        cli("replay", str(day.second), "--format", "jsonl", "--kafka", st.kafka_url)
        st.add_worker()
        store = wait_rows(db, day)
        check_all(store, day)


def test_two_workers_write_the_same_rows(tmp_path, day):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path), history_db=db, workers=2) as st:
        cli("replay", str(day.full), "--format", "jsonl", "--kafka", st.kafka_url)
        store = wait_rows(db, day)
        check_all(store, day)


def test_postgresql_stopped_mid_day_loses_no_row(tmp_path, day, pg_cluster):
    import redis

    db = pg_cluster.new_database("live_outage")
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path), history_db=db) as st:
        cli("replay", str(day.first), "--format", "jsonl", "--kafka", st.kafka_url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                s = Store.open(db)
                n = len(s.all_rows("queue_intervals"))
                s.close()
                if n:
                    break
            except Exception:
                pass
            time.sleep(0.5)
        pg_cluster.stop()
        try:
            cli("replay", str(day.second), "--format", "jsonl", "--kafka", st.kafka_url)
            # The worker goes on; its rows wait, and the failures are counted.
            r = redis.Redis.from_url(st.redis_url)
            deadline = time.monotonic() + 60
            stats: dict = {}
            while time.monotonic() < deadline:
                stats = {k.decode(): json.loads(v) for k, v in r.hgetall("fw:history:writers").items()}
                if stats and all(v["write_errors"] > 0 and v["rows_queued"] > 0 for v in stats.values()):
                    break
                time.sleep(0.5)
            assert stats and all(v["write_errors"] > 0 and v["rows_queued"] > 0 and not v["db_up"] for v in stats.values()), stats
        finally:
            pg_cluster.start()
        store = wait_rows(db, day)
        check_all(store, day)
        stats = {k.decode(): json.loads(v) for k, v in r.hgetall("fw:history:writers").items()}
        assert all(v["db_up"] and v["rows_queued"] == 0 for v in stats.values()), stats
