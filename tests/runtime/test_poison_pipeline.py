"""Poison input and a wrong clock through the real pipeline (issue 19, items 1-3): Tansu + Redis + a Faust worker.

A batch with an item nested 1,000 deep, one stamped in year 9999 and an
agent_state dated 2099 (a device with a wrong clock) among good events: the
worker keeps folding, the bad items are counted in the live report with their
reasons (their dead letters: test_pipeline's malformed-message test), and the 2099 event is judged against its Kafka message's timestamp
(the worker hands it to the fold), so the site's clock is not moved and the
call after it counts.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from stream.local.up import Stack
from tests.runtime.test_pipeline import HAVE_SERVERS, report_json

pytestmark = pytest.mark.skipif(not HAVE_SERVERS, reason="needs the embedded Tansu and redis-server binaries")

T0 = 1_700_000_000_000  # 2023-11-14: in the past of every message's timestamp
NESTED = '{"id":' + "[" * 1000 + "]" * 1000 + ',"ts":1700000000000,"site":"gd-hotline","kind":"call_abandoned","call":"x"}'


def _ev(**kw) -> str:
    return json.dumps({"site": "gd-hotline", **kw})


def test_poison_items_and_a_wrong_clock_through_the_worker(tmp_path) -> None:
    from aiokafka import AIOKafkaProducer

    first = "[" + ",".join([
        _ev(id="o1", ts=T0, kind="call_offered", call="c1", queue="general"),
        NESTED,
        _ev(id="far", ts="9999-12-31T00:00:00Z", kind="call_abandoned", call="c1"),
        _ev(id="a1", ts=T0 + 10_000, kind="call_answered", call="c1", agent="a7"),
    ]) + "]"
    wrong_clock = "[" + _ev(id="s2099", ts=4_070_908_800_000, kind="agent_state", agent="a9", state="ready") + "]"
    after = "[" + ",".join([
        _ev(id="e1", ts=T0 + 120_000, kind="call_ended", call="c1"),
        _ev(id="o2", ts=T0 + 130_000, kind="call_offered", call="c2", queue="general"),
    ]) + "]"

    async def produce(bootstrap: str) -> None:
        p = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await p.start()
        try:
            for value in (first, wrong_clock, after):
                await p.send_and_wait("floorwatch.events", key=b"gd-hotline", value=value.encode())
        finally:
            await p.stop()

    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path)) as st:
        asyncio.run(produce(st.kafka_url.split("://", 1)[1]))
        deadline = time.monotonic() + 60
        rep: dict = {}
        while time.monotonic() < deadline:
            rep = report_json(st.redis_url)
            if rep["total"]["offered"] == 2 and rep["rejected"]["count"] >= 3:
                break
            time.sleep(1)
    # The call after the wrong clock counts: the site's clock did not jump to 2099.
    assert rep["total"]["offered"] == 2 and rep["total"]["answered"] == 1, rep
    reasons = rep["rejected"]["reasons"]
    assert reasons.get("ahead: more than max_ahead_s past its message's time") == 1, reasons
    assert reasons.get("not JSON: nested deeper than 8 levels") == 1, reasons
    assert sum(n for r, n in reasons.items() if r.startswith("ts out of range")) == 1, reasons
    assert rep["rejected"]["count"] == 3, reasons
