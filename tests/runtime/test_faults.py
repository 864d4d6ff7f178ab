"""The fault suite (issue 19): kill and restart each part during a replay; nothing lost, nothing doubled.

A three-site busy day is replayed through the pipeline (Tansu, Faust worker,
Redis with its append-only file, delivery) while the worker, Redis and
delivery are each killed with SIGKILL and restarted by ``Stack.supervise``
(what ``floorwatch up`` runs); then the broker is killed and restarted, and
the rest of the day follows. The live report must equal ``floorwatch replay
--report json`` of the same log, and the delivery log must hold exactly one
sent message per raise and resolve of ``floorwatch alerts --json --all``.

The broker is killed only once the worker has caught up: the embedded Tansu
keeps its log in memory (docs/embedded.md), so messages not yet folded would
be gone with it - a broker with storage does not have that window.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from stream.local.faults import delivered, expected_deliveries, inject, write_delivery_config
from stream.local.up import Stack
from tests.runtime.test_pipeline import HAVE_SERVERS, ROOT, cli, wait_report

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not HAVE_SERVERS, reason="needs the embedded Tansu and redis-server binaries")]

DAY = ("simulate", "--scenario", "busy-day", "--calls", "6000", "--seed", "19")
# Event-time speed of the replay: the day's ~15 h take about 40 s, long enough to kill three parts during it.
SPEED = "1400"


def test_every_part_killed_and_restarted_during_a_replay_changes_nothing(tmp_path):
    from stream.sources.jsonl import read_jsonl, write_jsonl

    whole, main, tail = tmp_path / "day.jsonl", tmp_path / "main.jsonl", tmp_path / "tail.jsonl"
    cli(*DAY, "--out", str(whole))
    evs = list(read_jsonl(whole))
    cut = len(evs) * 9 // 10
    write_jsonl(evs[:cut], main)
    write_jsonl(evs[cut:], tail)
    expected = json.loads(cli("replay", str(whole), "--format", "jsonl", "--report", "json").stdout)
    expected_main = json.loads(cli("replay", str(main), "--format", "jsonl", "--report", "json").stdout)
    alerts = [json.loads(ln) for ln in cli("alerts", "--replay", str(whole), "--format", "jsonl", "--json", "--all").stdout.splitlines() if ln.strip()]
    want = expected_deliveries(alerts)
    assert want, "the day raises no alert: nothing to compare"

    with Stack(dashboard=False, delivery=True, log_dir=str(tmp_path / "logs"), redis_persist_dir=str(tmp_path / "redis"),
               delivery_config=str(write_delivery_config(tmp_path))) as st:
        feed = subprocess.Popen([sys.executable, "-m", "stream.cli.main", "replay", str(main), "--format", "jsonl",
                                 "--kafka", st.kafka_url, "--speed", SPEED], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        try:
            for part, at_s, down_s in (("worker", 8, 0), ("redis", 16, 3), ("delivery", 24, 0)):
                time.sleep(max(0.0, t0 + at_s - time.monotonic()))
                assert feed.poll() is None, f"the replay ended before the {part} was killed: make it slower"
                inject(st, part, down_s)
            assert feed.wait(300) == 0, feed.stderr.read()
        finally:
            if feed.poll() is None:
                feed.kill()
        assert wait_report(st.redis_url, expected_main, timeout=120) == expected_main
        inject(st, "broker")
        cli("replay", str(tail), "--format", "jsonl", "--kafka", st.kafka_url)
        got = wait_report(st.redis_url, expected, timeout=120)
        assert got == expected
        deadline = time.monotonic() + 60
        while set(sent := delivered(st.redis_url)) != want and time.monotonic() < deadline:
            time.sleep(1)
        assert set(sent) == want, _why(st.redis_url, set(sent), want)
        assert {k: v for k, v in sent.items() if v != ["sent"]} == {}, "a message sent twice, or not sent"
        assert st.restarts == {"worker": 1, "redis": 1, "delivery": 1, "broker": 1}


def _why(redis_url: str, sent: set, want: set) -> str:
    """Where the missing messages' alerts got to (the alerts hash, the stream, delivery's pending)."""
    import redis

    r = redis.Redis.from_url(redis_url, decode_responses=True)
    missing = sorted(want - sent)[:6]
    log = {m[0]: [e[0] for e in r.xrange("fw:alerts:log") if m[0] in e[1]["change"]] for m in missing}
    return (f"missing {missing}, extra {sorted(sent - want)[:6]}; in fw:alerts: "
            f"{ {m[0]: r.hexists('fw:alerts', m[0]) for m in missing} }; stream ids: {log}; "
            f"pending: {r.xpending('fw:alerts:log', 'delivery')}; records: "
            f"{ {k: r.get(k) for m in missing for k in r.keys('fw:delivery:*' + m[0] + '*') if r.type(k) == 'string'} }; "
            f"consumers: {r.xinfo_consumers('fw:alerts:log', 'delivery')}; groups: {r.xinfo_groups('fw:alerts:log')}")
