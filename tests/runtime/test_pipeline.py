"""The whole pipeline on real servers: Tansu (Kafka protocol) + Redis + Faust workers.

source → floorwatch.events → worker (core) → Redis → ``report --redis``: the
report must equal the in-process replay of the same log, with one worker,
two workers sharing the partitions, a worker killed with SIGKILL and
restarted, and a Redis restart; broken input lands in the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stream.local import embedded
from stream.local.up import Stack

ROOT = Path(__file__).resolve().parents[2]
FEBRUARY = ROOT.parent / "shared" / "data" / "anonbank" / "february.txt"
# Workers folding February need the bank's site (its calendar): the floor plus config/anonbank.yaml.
WITH_ANONBANK = [str(ROOT / "config" / "floor.yaml"), str(ROOT / "config" / "anonbank.yaml")]

try:
    embedded.find_tansu()
    embedded.find_redis_server()
    HAVE_SERVERS = True
except embedded.BinaryNotFound as exc:  # pragma: no cover - depends on the machine
    HAVE_SERVERS = False
    WHY = str(exc)

pytestmark = pytest.mark.skipif(not HAVE_SERVERS, reason="needs the embedded Tansu and redis-server binaries")
needs_february = pytest.mark.skipif(
    not FEBRUARY.is_file(), reason=f"the Anonymous Bank log is not at {FEBRUARY} (see ../shared/README.md)"
)


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stream.cli.main", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=True
    )


def report_json(redis_url: str) -> dict:
    return json.loads(cli("report", "--redis", redis_url, "--json").stdout)


def wait_report(redis_url: str, expected: dict, timeout: float = 120) -> dict:
    """Poll the live report until it equals ``expected`` (or time runs out)."""
    deadline = time.monotonic() + timeout
    got: dict = {}
    while time.monotonic() < deadline:
        try:
            got = report_json(redis_url)
        except subprocess.CalledProcessError:
            got = {}
        if got == expected:
            return got
        time.sleep(1.5)
    return got


@pytest.fixture(scope="module")
def february_expected() -> dict:
    if not FEBRUARY.is_file():
        pytest.skip(f"the Anonymous Bank log is not at {FEBRUARY}")
    return json.loads(cli("replay", str(FEBRUARY), "--format", "anonbank", "--report", "json").stdout)


def write_halves(tmp_path: Path) -> tuple[Path, Path]:
    """February as two JSON-lines files (first and second half of its events).

    The first file's event count is ``first_half_events(first)``.
    """
    from stream.sources import anonbank
    from stream.sources.jsonl import write_jsonl

    evs = anonbank.read_anonbank(FEBRUARY).events
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl(evs[: len(evs) // 2], a)
    write_jsonl(evs[len(evs) // 2 :], b)
    return a, b


def lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def wait_folding(redis_url: str, workers: int = 1, timeout: float = 60, events: int = 1) -> dict:
    """Wait until ``workers`` workers report folded events, ``events`` in all (heartbeats every 2 s)."""
    deadline = time.monotonic() + timeout
    info: dict = {}
    while time.monotonic() < deadline:
        info = workers_info(redis_url)
        busy = [v for v in info.values() if v["partitions"] and v["events"] > 0 and v["last_fold_ms"]]
        if len(busy) >= workers and sum(v["events"] for v in busy) >= events:
            return info
        time.sleep(0.3)
    raise AssertionError(f"fewer than {workers} workers folding after {timeout} s: {info}")


def workers_info(redis_url: str) -> dict:
    import redis

    r = redis.Redis.from_url(redis_url)
    try:
        return {k.decode(): json.loads(v) for k, v in r.hgetall("fw:workers").items()}
    finally:
        r.close()


@needs_february
def test_february_through_the_pipeline_equals_in_process_replay(tmp_path, february_expected):
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path), config=WITH_ANONBANK) as st:
        cli("replay", str(FEBRUARY), "--format", "anonbank", "--kafka", st.kafka_url)
        got = wait_report(st.redis_url, february_expected)
    assert got == february_expected


def test_two_workers_split_the_partitions_and_agree(tmp_path):
    # A busy day of three sites: their keys spread over the partitions.
    day = ("simulate", "--scenario", "busy-day", "--calls", "20000", "--seed", "3")
    expected = json.loads(cli(*day, "--report", "json").stdout)
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path), workers=2) as st:
        cli(*day, "--kafka", st.kafka_url)
        got = wait_report(st.redis_url, expected)
        assert got == expected
        # Both workers own partitions (heartbeats every 2 s name them).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            info = workers_info(st.redis_url)
            owned = [set(v["partitions"]) for v in info.values() if v["partitions"]]
            if len(owned) == 2:
                break
            time.sleep(1)
        assert len(owned) == 2, info
        assert not (owned[0] & owned[1])
        # A heartbeat that counts events also says how long folding them took (bench pipeline reads it).
        folded = [v for v in info.values() if v["events"] > 0]
        assert folded, info
        for v in folded:
            assert v["fold_busy_ms"] > 0, v
            assert {"fold_window_cpu_ms", "publish_busy_ms"} <= v.keys(), v


@needs_february
def test_sigkill_mid_replay_then_restart_gives_identical_report(tmp_path, february_expected):
    first, second = write_halves(tmp_path)
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path), config=WITH_ANONBANK) as st:
        cli("replay", str(first), "--format", "jsonl", "--kafka", st.kafka_url)
        # Wait until the worker is folding, then kill it with no chance to commit or clean up.
        wait_folding(st.redis_url)
        victim = st.workers[0]
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(10)
        # The rest of the day arrives while no worker runs.
        cli("replay", str(second), "--format", "jsonl", "--kafka", st.kafka_url)
        st.add_worker()
        got = wait_report(st.redis_url, february_expected)
    assert got == february_expected


@needs_february
def test_redis_restart_is_survived(tmp_path, february_expected):
    first, second = write_halves(tmp_path)
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path), config=WITH_ANONBANK) as st:
        cli("replay", str(first), "--format", "jsonl", "--kafka", st.kafka_url)
        time.sleep(3)
        st.redis.kill()  # SIGKILL, no persistence: Redis comes back empty
        cli("replay", str(second), "--format", "jsonl", "--kafka", st.kafka_url)
        time.sleep(1)
        st.redis.start()  # same port
        got = wait_report(st.redis_url, february_expected)
    assert got == february_expected


def test_malformed_messages_are_dead_lettered_and_the_rest_flows(tmp_path):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    good = [
        {"id": "o1", "ts": 1_700_000_000_000, "site": "gd-hotline", "kind": "call_offered", "call": "c1", "queue": "general"},
        {"id": "a1", "ts": 1_700_000_010_000, "site": "gd-hotline", "kind": "call_answered", "call": "c1", "agent": "a7"},
    ]
    broken_in_batch = {"id": "x", "ts": "yesterday", "site": "gd-hotline", "kind": "call_offered"}

    async def produce(bootstrap: str) -> None:
        p = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await p.start()
        try:
            await p.send_and_wait("floorwatch.events", key=b"gd-hotline", value=json.dumps([good[0], broken_in_batch]).encode())
            await p.send_and_wait("floorwatch.events", key=b"gd-hotline", value=b"{not json")
            await p.send_and_wait("floorwatch.events", key=b"gd-hotline", value=json.dumps(good[1]).encode())
        finally:
            await p.stop()

    async def dead_letters(bootstrap: str, n: int) -> list:
        c = AIOKafkaConsumer("floorwatch.rejected", bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
        await c.start()
        out = []
        try:
            deadline = time.monotonic() + 60
            while len(out) < n and time.monotonic() < deadline:
                batch = await c.getmany(timeout_ms=1000)
                for msgs in batch.values():
                    out.extend(msgs)
        finally:
            await c.stop()
        return out

    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path)) as st:
        bootstrap = st.kafka_url.split("://", 1)[1]
        asyncio.run(produce(bootstrap))
        msgs = asyncio.run(dead_letters(bootstrap, 2))
        reasons = sorted(dict(m.headers)["reason"].decode() for m in msgs)
        assert len(msgs) == 2
        assert any(r.startswith("not JSON") for r in reasons), reasons
        assert any("ts" in r for r in reasons), reasons
        # Each dead letter is the broken input itself, byte for byte (the bad item, not its batch).
        assert {m.value for m in msgs} == {b"{not json", json.dumps(broken_in_batch).encode()}
        # The good events flowed around the broken ones.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rep = report_json(st.redis_url)
            if rep["total"]["answered"] == 1:
                break
            time.sleep(1)
        assert rep["total"]["offered"] == 1 and rep["total"]["answered"] == 1
        assert rep["rejected"]["count"] == 2


@needs_february
def test_broker_restart_is_survived(tmp_path, february_expected):
    # Tansu here keeps its log in memory: a restart loses the log, not the
    # figures already folded; the new log continues them.
    first, second = write_halves(tmp_path)
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path), config=WITH_ANONBANK) as st:
        cli("replay", str(first), "--format", "jsonl", "--kafka", st.kafka_url)
        # All of it folded (what the broker loses next is only what was folded already).
        wait_folding(st.redis_url, events=lines(first), timeout=180)
        time.sleep(3)  # let the worker commit
        st.kafka.kill()
        st.kafka.start()  # same port, empty
        st.create_topics()
        cli("replay", str(second), "--format", "jsonl", "--kafka", st.kafka_url)
        got = wait_report(st.redis_url, february_expected, timeout=180)
    assert got == february_expected


def test_a_dead_workers_partitions_move_to_the_survivor(tmp_path):
    # Two workers share a three-site day; one is killed mid-day and never comes
    # back: the survivor takes over its partitions (rebuilding them from the
    # log) and the report still equals the in-process one.
    from simulators import busy_day
    from stream.sources.jsonl import write_jsonl
    from stream.contracts.floor_config import load_config

    evs = list(busy_day.generate(load_config(), seed=5, calls=10_000))
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl(evs[: len(evs) // 2], first)
    write_jsonl(evs[len(evs) // 2 :], second)
    expected = json.loads(cli("simulate", "--scenario", "busy-day", "--calls", "10000", "--seed", "5", "--report", "json").stdout)
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path), workers=2) as st:
        cli("replay", str(first), "--format", "jsonl", "--kafka", st.kafka_url)
        wait_folding(st.redis_url, workers=2)
        victim = st.workers[1]
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(10)
        cli("replay", str(second), "--format", "jsonl", "--kafka", st.kafka_url)
        got = wait_report(st.redis_url, expected, timeout=180)
    assert got == expected
