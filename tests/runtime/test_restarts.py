"""Restarts and poison the runtime must survive (issue 19, items 4, 5 and 6), on real servers.

* Redis restarted empty after an outage longer than the heartbeat: an idle floor is
  published again whole (sites, reports, alerts), and delivery makes its group again;
* a broker restarted without its log: ``floorwatch.events`` comes back with the
  configured partition count (never auto-created with the broker's default), and the
  report still equals the in-process one;
* a dead letter over the producer's limit is cut, with its reason and the source
  offset, and the fold goes on; rejections of messages with no valid event reach
  ``fw:rejected``.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
import redis as redis_sync

from stream.local.up import Stack
from stream.runtime.topics import EVENTS_TOPIC, partition_counts
from stream.runtime.worker import MAX_DEAD_LETTER_BYTES
from tests.runtime.test_pipeline import HAVE_SERVERS, cli, lines, report_json, wait_folding, wait_report

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not HAVE_SERVERS, reason="needs the embedded Tansu and redis-server binaries")]

DAY = ("simulate", "--scenario", "busy-day", "--calls", "4000", "--seed", "11")


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> tuple[Path, Path, dict, list[dict]]:
    """A three-site day as two JSON-lines halves, its in-process report and alerts."""
    from stream.sources.jsonl import read_jsonl, write_jsonl

    d = tmp_path_factory.mktemp("day")
    whole = d / "day.jsonl"
    cli(*DAY, "--out", str(whole))
    evs = list(read_jsonl(whole))
    a, b = d / "a.jsonl", d / "b.jsonl"
    write_jsonl(evs[: len(evs) // 2], a)
    write_jsonl(evs[len(evs) // 2 :], b)
    report = json.loads(cli("replay", str(whole), "--format", "jsonl", "--report", "json").stdout)
    out = cli("alerts", "--replay", str(whole), "--format", "jsonl", "--json", "--all").stdout
    alerts = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    return a, b, report, alerts


def wait_for(pred, timeout: float, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(step)


def _groups(r: redis_sync.Redis, key: str) -> list[str]:
    try:
        return [g["name"].decode() if isinstance(g["name"], bytes) else g["name"] for g in r.xinfo_groups(key)]
    except redis_sync.ResponseError:
        return []


def test_redis_restarted_empty_after_a_long_outage_is_healed(tmp_path, day):
    a, b, expected, alerts = day
    with Stack(dashboard=False, delivery=True, log_dir=str(tmp_path)) as st:
        cli("replay", str(a), "--format", "jsonl", "--kafka", st.kafka_url)
        cli("replay", str(b), "--format", "jsonl", "--kafka", st.kafka_url)
        assert wait_report(st.redis_url, expected) == expected
        r = redis_sync.Redis.from_url(st.redis_url)
        sites = wait_for(lambda: set(r.hkeys("fw:sites")), 10)
        want_alerts = {a["id"] for a in alerts}
        assert wait_for(lambda: set(k.decode() for k in r.hkeys("fw:alerts")) == want_alerts, 20), "alerts not published"
        assert wait_for(lambda: "delivery" in _groups(r, "fw:alerts:log"), 20)
        # Away for longer than the workers' 2 s heartbeat, back empty; no event comes after.
        st.redis.kill()
        time.sleep(6)
        st.redis.start()
        r = redis_sync.Redis.from_url(st.redis_url)
        # The idle floor is published again: every site, the report, every alert.
        assert wait_report(st.redis_url, expected, timeout=30) == expected
        assert set(r.hkeys("fw:sites")) == sites
        assert wait_for(lambda: set(k.decode() for k in r.hkeys("fw:alerts")) == want_alerts, 20)
        # Delivery made its consumer group again (it read NOGROUP every second before).
        assert wait_for(lambda: "delivery" in _groups(r, "fw:alerts:log"), 20), (tmp_path / "delivery.log").read_text()


def test_a_broker_restarted_without_its_log_gets_the_configured_partitions(tmp_path, day):
    a, b, expected, _ = day
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path)) as st:
        cli("replay", str(a), "--format", "jsonl", "--kafka", st.kafka_url)
        wait_folding(st.redis_url, events=lines(a), timeout=120)
        time.sleep(3)
        st.kafka.kill()
        st.kafka.start()  # same port, empty: nobody here creates the topics
        cli("replay", str(b), "--format", "jsonl", "--kafka", st.kafka_url)
        counts = asyncio.run(partition_counts(st.kafka_url, [EVENTS_TOPIC]))
        assert counts == {EVENTS_TOPIC: st.partitions}
        got = wait_report(st.redis_url, expected, timeout=120)
    assert got == expected


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path_factory.mktemp("stack"))) as st:
        yield st


async def _produce(bootstrap: str, values: list[tuple[bytes, dict]]) -> None:
    from aiokafka import AIOKafkaProducer

    p = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 << 20)
    await p.start()
    try:
        for value, headers in values:
            await p.send_and_wait(EVENTS_TOPIC, key=b"gd-hotline", value=value, headers=list(headers.items()) or None)
    finally:
        await p.stop()


async def _dead_letters(bootstrap: str, n: int, timeout: float = 60) -> list:
    from aiokafka import AIOKafkaConsumer

    c = AIOKafkaConsumer("floorwatch.rejected", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                         group_id=None, max_partition_fetch_bytes=8 << 20)
    await c.start()
    out: list = []
    try:
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            for msgs in (await c.getmany(timeout_ms=1000)).values():
                out.extend(msgs)
    finally:
        await c.stop()
    return out


def test_rejections_of_messages_without_a_valid_event_reach_the_report(stack):
    bootstrap = stack.kafka_url.split("://", 1)[1]
    asyncio.run(_produce(bootstrap, [(b"{not json", {}), (b"row,of,a,log", {"floorwatch-rejected": b"row: bad date"})]))
    got = wait_for(lambda: report_json(stack.redis_url)["rejected"]["count"] == 2, 30)
    rep = report_json(stack.redis_url)
    assert got, rep["rejected"]
    assert rep["rejected"]["reasons"].get("row: bad date") == 1


def test_an_oversized_dead_letter_is_cut_with_its_source_and_the_fold_goes_on(stack):
    bootstrap = stack.kafka_url.split("://", 1)[1]
    before = report_json(stack.redis_url)
    huge = b'{"id": "' + b"x" * (3 << 20)  # 3 MiB, not JSON: over the producer's 1 MB limit
    good = {"id": "big-1", "ts": 1_700_000_000_000, "site": "gd-hotline", "kind": "call_offered", "call": "c1", "queue": "general"}
    asyncio.run(_produce(bootstrap, [(huge, {}), (json.dumps(good).encode(), {})]))
    # The event after the poison is folded: the agent did not die on the dead letter.
    assert wait_for(lambda: report_json(stack.redis_url)["total"]["offered"] == before["total"]["offered"] + 1, 60)
    assert report_json(stack.redis_url)["rejected"]["count"] == before["rejected"]["count"] + 1
    letters = asyncio.run(_dead_letters(bootstrap, before["rejected"]["count"] + 1))
    cut = [m for m in letters if dict(m.headers).get("truncated")]
    assert len(cut) == 1, [dict(m.headers) for m in letters]
    h = dict(cut[0].headers)
    assert int(h["truncated"]) == len(huge)
    assert cut[0].value == huge[:MAX_DEAD_LETTER_BYTES]
    assert h["reason"].decode().startswith("not JSON") or h["reason"], h
    topic, _, where = h["source"].decode().partition("/")
    part, _, offset = where.partition("@")
    assert topic == EVENTS_TOPIC and part.isdigit() and offset.isdigit()
