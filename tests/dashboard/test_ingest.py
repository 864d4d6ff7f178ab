"""HTTP ingest (dashboard/ingest.py) against the real stack: Tansu + Redis + a worker + the dashboard server.

Bad items come back with their index and reason (and are counted as the
floor's rejections), a 10 MB body is refused, the per-token rate limit
answers 429 with Retry-After, tokens of other roles are refused, and what was
accepted is exactly what the live report shows.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from dashboard.auth import parse_tokens
from dashboard.ingest import TokenBuckets, _scrub, parse_body
from stream.sources.jsonl import encode_lines
from tests.stack_helpers import HAVE_SERVERS

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "ticket_machine.py"
START = datetime.fromisoformat("2026-11-23T09:00:00+08:00")


def load_example():
    spec = importlib.util.spec_from_file_location("ticket_machine", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


TOKENS = "wall:wall-tok,ingest/kiosk:kiosk-tok,ingest/cti:cti-tok,admin:admin-tok"


def day_events() -> list:
    from simulators import mmc

    return list(mmc.generate(calls_per_hour=120, aht_s=120, agents=3, hours=1, seed=4))


BAD = [
    b'{"id":"b1","ts":1795395600000,"site":"mmc","kind":"call_teleported","call":"x"}',
    b'{"id":"b2","ts":1795395600000,"site":"mmc","kind":"call_offered","call":"x","queue":"q","caller":"13812345678"}',
    b"not json at all",
]


# -- units ------------------------------------------------------------------------


def test_parse_body_indexes_rejects_in_both_shapes() -> None:
    good = b"".join(encode_lines(day_events()[:3])).splitlines()
    nd = b"\n".join([good[0], BAD[0], b"", good[1], BAD[2]])
    evs, bad = parse_body(nd)
    assert len(evs) == 2 and [i for i, _, _ in bad] == [1, 4]
    arr = b"[" + b",".join([good[0], BAD[1], good[2]]) + b"]"
    evs, bad = parse_body(arr)
    assert len(evs) == 2 and [i for i, _, _ in bad] == [1]
    assert "caller" in bad[0][2] or "match pattern" in bad[0][2]
    with pytest.raises(ValueError, match="not a JSON array"):
        parse_body(b"[1, 2")


def test_rejected_items_are_dead_lettered_without_the_number() -> None:
    out = _scrub(BAD[1])
    assert b"13812345678" not in out and b"138****5678" in out


def test_buckets_refill_at_the_rate() -> None:
    t = [0.0]
    b = TokenBuckets(2.0, 4.0, clock=lambda: t[0])
    assert [b.take("k") for _ in range(4)] == [0.0] * 4
    assert b.take("k") == pytest.approx(0.5)
    assert b.take("other") == 0.0
    t[0] += 0.5
    assert b.take("k") == 0.0


def test_ingest_is_a_role_apart() -> None:
    t = parse_tokens(TOKENS)
    assert t["kiosk-tok"].allows("ingest") and not t["kiosk-tok"].allows("wall")
    assert not t["admin-tok"].allows("ingest") and not t["wall-tok"].allows("ingest")


# -- the real stack ---------------------------------------------------------------------


def wait_up(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("the dashboard did not come up")


@pytest.mark.integration
@pytest.mark.skipif(not HAVE_SERVERS, reason="needs the embedded Tansu and redis-server binaries")
def test_ingest_through_the_real_stack(tmp_path, monkeypatch) -> None:
    from stream.fold.floor import Floor
    from stream.local.up import Stack
    from stream.runtime.replay import replay_events
    from tests.runtime.test_pipeline import report_json

    monkeypatch.setenv("FLOORWATCH_TOKENS", TOKENS)
    monkeypatch.setenv("FLOORWATCH_INGEST_RATE", "2")  # bursts of 4
    events = day_events()
    lines = b"".join(encode_lines(events)).splitlines()
    half = len(lines) // 2
    # What the example ticket machine (docs/examples) will send, collected in process.
    machine = load_example()
    sent: list = []

    class Collect:
        def send(self, evs: list) -> dict:
            sent.extend(evs)
            return {"accepted": len(evs), "rejected": []}

    machine.demo(machine.TicketMachine("hall-tianhe", Collect()), START)
    from stream.contracts.events import decode_event

    from stream.contracts.floor_config import load_config

    expected = replay_events(events + [decode_event(json.dumps(e)) for e in sent], Floor(load_config())).report()
    assert "tianhe-general" in json.dumps(expected)

    with Stack(delivery=False, log_dir=str(tmp_path)) as st:
        base = st.dashboard_url
        wait_up(base)
        url = base + "api/events"
        kiosk = {"Authorization": "Bearer kiosk-tok"}
        assert httpx.post(url, content=lines[0]).status_code == 401
        assert httpx.post(url, content=lines[0], headers={"Authorization": "Bearer wall-tok"}).status_code == 403
        assert httpx.get(base + "api/report", headers=kiosk).status_code == 403

        # NDJSON with three bad items among the first half.
        body = b"\n".join([*lines[:10], BAD[0], *lines[10:20], BAD[1], BAD[2], *lines[20:half]])
        r = httpx.post(url, content=body, headers={**kiosk, "Content-Type": "application/x-ndjson"}, timeout=30)
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["accepted"] == half
        assert [x["index"] for x in got["rejected"]] == [10, 21, 22]
        assert all(x["reason"] for x in got["rejected"])
        # The second half as a JSON array.
        r = httpx.post(url, content=b"[" + b",".join(lines[half:]) + b"]", headers=kiosk, timeout=30)
        assert r.status_code == 200 and r.json() == {"accepted": len(lines) - half, "rejected": []}
        # Only bad items: nothing stored.
        assert httpx.post(url, content=BAD[0], headers=kiosk).status_code == 422

        # 10 MB: refused before it is read whole.
        big = b"[" + b",".join([lines[0]] * (10_000_000 // len(lines[0]))) + b"]"
        assert len(big) > 10_000_000
        assert httpx.post(url, content=big, headers={"Authorization": "Bearer cti-tok"}, timeout=30).status_code == 413

        # The rate limit is per token: cti spent one request above; eight at once exceed its burst of four.
        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=30) as c:
                return list(await asyncio.gather(*(c.post(url, content=b"[]", headers={"Authorization": "Bearer cti-tok"})
                                                   for _ in range(8))))

        answers = asyncio.run(burst())
        codes = sorted(r.status_code for r in answers)
        assert codes.count(200) in (3, 4) and codes.count(429) == 8 - codes.count(200), codes
        assert all(int(r.headers["Retry-After"]) >= 1 for r in answers if r.status_code == 429)
        # kiosk's own bucket is not touched by cti's.
        assert httpx.post(url, content=b"[]", headers=kiosk).status_code == 200

        # The example ticket machine, as a hall would run it (it waits out the 429s).
        out = subprocess.run([sys.executable, str(EXAMPLE), "--site", "hall-tianhe", "--demo", "--start",
                              START.isoformat()], env={**os.environ, "FLOORWATCH_URL": base, "FLOORWATCH_TOKEN": "kiosk-tok"},
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and out.stdout.strip() == f"sent {len(sent)} events", out

        deadline = time.monotonic() + 60
        while True:
            live = report_json(st.redis_url)
            rejected = live.pop("rejected")
            if (live == {k: v for k, v in expected.items() if k != "rejected"} and rejected["count"] == 4) \
                    or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert live == {k: v for k, v in expected.items() if k != "rejected"}
        assert rejected["count"] == 4  # three in the NDJSON, one all-bad request
        assert all(k.startswith("ingest: ") for k in rejected["reasons"]), rejected
        assert "13812345678" not in json.dumps(rejected)


async def test_without_kafka_or_json_the_answers_say_why(monkeypatch) -> None:
    from dashboard.app import create_app

    monkeypatch.delenv("FLOORWATCH_KAFKA", raising=False)
    app = create_app("redis://127.0.0.1:1/0", tokens=parse_tokens("ingest:ing"))
    auth = {"Authorization": "Bearer ing"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fw") as c:
        r = await c.post("/api/events", content=b"[1, 2", headers=auth)
        assert r.status_code == 400 and "not a JSON array" in r.json()["detail"]
        r = await c.post("/api/events", content=b"[]", headers=auth)
        assert r.status_code == 503 and "--kafka" in r.json()["detail"]
