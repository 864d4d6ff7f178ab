"""Staffing advice on the wall's view and ``GET /api/whatif``, against a real Redis and server.

The busy day is folded and published through ``RedisSink`` with the worker's
advisor (``stream.runtime.advisor``; no history database, so the advice is
the live one), exactly as a worker publishes it.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import httpx
import orjson
import pytest
import redis.asyncio as aioredis

from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor
from stream.runtime.advisor import Advisor
from stream.runtime.redis_keys import Keys
from stream.runtime.redis_sink import RedisSink
from tests.dashboard_helpers import day, redis_server  # noqa: F401 - fixtures
from tests.dashboard_helpers import ADMIN, SUP, WALL, ServerThread, publish, wait_until

pytestmark = pytest.mark.integration

PREFIX = "fwwhatif:"


async def advised(redis_url: str, prefix: str, events: list) -> tuple[Floor, RedisSink]:
    cfg = load_config()
    floor = Floor(cfg)
    floor.apply_many(events)
    sink = RedisSink(aioredis.from_url(redis_url), prefix=prefix, partition=0, advisor=Advisor(cfg))
    await publish(floor, sink)
    return floor, sink


@pytest.fixture(scope="module")
def world(redis_server, day):
    n = int(len(day) * 0.5)
    floor, sink = asyncio.run(advised(redis_server.url, PREFIX, day[:n]))
    srv = ServerThread(redis_server.url, PREFIX).start()
    yield SimpleNamespace(url=redis_server.url, floor=floor, sink=sink, srv=srv)
    srv.stop()


def get(world, path: str, token=None, **params) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(world.srv.base + path, params=params, headers=headers, timeout=10)


def test_the_worker_publishes_advice_and_the_view_carries_it(world):
    rec = orjson.loads(asyncio.run(_get(world.url, Keys(PREFIX).advice("gd-hotline"))))
    assert rec["site"] == "gd-hotline" and set(rec["queues"]) >= {"general", "vip"}
    view = get(world, "/api/snapshot", WALL, site="gd-hotline").json()["sites"]["gd-hotline"]["view"]
    adv = view["queues"]["general"]["advice"]
    src = rec["queues"]["general"]
    assert adv == {"need_now": src["need_now"], "have": src["have"], "ready": src["ready"], "basis": "live", "next": []}
    assert adv["need_now"] >= 1 and adv["have"] >= 1
    # Whitelisted: what the wall does not draw (the forecast's offered, AHT) stays off it.
    assert "aht_s" not in adv and "offered_now" not in adv


async def _get(url: str, key: str) -> bytes:
    r = aioredis.from_url(url)
    try:
        return await r.get(key)
    finally:
        await r.aclose()


def test_whatif_roles(world):
    q = {"site": "gd-hotline", "queue": "general", "agents": "2"}
    assert get(world, "/api/whatif", None, **q).status_code == 401
    assert get(world, "/api/whatif", "nope", **q).status_code == 401
    r = get(world, "/api/whatif", WALL, **q)
    assert r.status_code == 403 and r.json() == {"detail": "the wall role may not do this"}
    assert get(world, "/api/whatif", SUP, **q).status_code == 200
    assert get(world, "/api/whatif", ADMIN, **q).status_code == 200


@pytest.mark.parametrize("params,status,detail", [
    ({"site": "gd-hotline", "queue": "nope"}, 404, "no queue 'nope' at site 'gd-hotline'"),
    ({"site": "atlantis", "queue": "general"}, 404, "no site 'atlantis' on this floor"),
    ({"site": "gd-hotline", "queue": "general", "agents": "two"}, 400, "agents: an integer from -50 to 50, got 'two'"),
    ({"site": "gd-hotline", "queue": "general", "agents": "99"}, 400, "agents: an integer from -50 to 50, got 99"),
])
def test_whatif_bad_input_is_a_one_line_error(world, params, status, detail):
    r = get(world, "/api/whatif", SUP, **params)
    assert r.status_code == status and r.json() == {"detail": detail}


def test_whatif_answers_within_a_second_from_the_live_state(world):
    t0 = time.monotonic()
    r = get(world, "/api/whatif", SUP, site="gd-hotline", queue="general", agents="3")
    took = time.monotonic() - t0
    assert r.status_code == 200 and took < 1.0, took
    a = r.json()
    snap = world.floor.snapshot("gd-hotline")
    assert a["agents"] == 3 and a["basis"] == "live" and a["clock"] == snap["clock"]
    # The contacts waiting come one by one from the worker (the fold's queue_now), as many as the snapshot says.
    assert a["state"]["waits"] == "each" and a["state"]["waiting"] == snap["queues"]["general"]["waiting"]
    now, more = a["now"], a["with"]
    assert more["sl_pct"] >= now["sl_pct"] and more["longest_wait_s"] <= now["longest_wait_s"]
    assert more["abandoned"] <= now["abandoned"] and more["offered"] == now["offered"]
    # No caller number, hashed or masked, in the answer.
    assert "sha256" not in r.text and "****" not in r.text


def test_new_advice_reaches_the_view(world):
    """A worker's next advice (here: a need of 99) is on the wall's view at once, without a new snapshot."""
    k = Keys(PREFIX)
    rec = {"site": "gd-hotline", "clock": 0, "queues": {"vip": {"need_now": 99, "have": 3, "ready": 1, "basis": "forecast",
                                                               "next": [{"start": "2026-11-23T14:00:00+08:00", "need": 98}]}}}

    async def send():
        r = aioredis.from_url(world.url)
        try:
            await r.publish(k.advice_ch, orjson.dumps(rec))
        finally:
            await r.aclose()

    asyncio.run(send())
    hub = world.srv.app.state.hub

    def shown():
        return hub.sites["gd-hotline"].view["queues"]["vip"].get("advice")

    assert asyncio.run(wait_until(lambda: (shown() or {}).get("need_now") == 99, 5.0))
    assert shown()["next"] == [{"start": "2026-11-23T14:00:00+08:00", "need": 98}]
    assert "advice" not in hub.sites["gd-hotline"].view["queues"]["general"]  # not in this record


def test_live_queue_from_the_snapshot_alone():
    """Without the worker's legs: the number waiting and the longest wait, the others spread below it."""
    from dashboard.ahead import live_queue

    raw = {"clock": 100_000, "queues": {"q": {"waiting": 4, "longest_wait_s": 60.0, "vip_waiting": 1, "longest_vip_wait_s": 20.0}},
           "agents": {"a": {"state": "busy", "since": 90_000, "queues": ["q", "r"]}, "b": {"state": "ready", "queues": ["q"]},
                      "c": {"state": "ready", "queues": ["r", "q"]}, "d": {"state": "not_ready", "queues": ["q"]}}}
    lq = live_queue(raw, "q")
    assert lq.waiting == [(80_000, 1), (40_000, 0), (60_000, 0), (80_000, 0)]
    assert lq.busy_since == [90_000] and lq.ready == 1  # c's primary skill is r
    exact = live_queue(raw, "q", [[70_000, 0], [99_000, 2], [200_000, 0]])
    assert exact.waiting == [(70_000, 0), (99_000, 2)]  # none offered after the snapshot's clock


def test_hall_whatif_roles_and_bad_input(world):
    q = {"site": "hall-tianhe", "counters": "2"}
    assert get(world, "/api/whatif/hall", None, **q).status_code == 401
    assert get(world, "/api/whatif/hall", WALL, **q).status_code == 403
    assert get(world, "/api/whatif/hall", ADMIN, **q).status_code == 200
    for params, status, detail in [
        ({"site": "gd-hotline"}, 400, "site 'gd-hotline' is not a hall (counters are a hall's; for a queue's agents: /api/whatif)"),
        ({"site": "atlantis"}, 404, "no site 'atlantis' on this floor"),
        ({"site": "hall-tianhe", "counters": "two"}, 400, "counters: an integer from -50 to 50, got 'two'"),
        ({"site": "hall-tianhe", "counters": "-51"}, 400, "counters: an integer from -50 to 50, got -51"),
    ]:
        r = get(world, "/api/whatif/hall", SUP, **params)
        assert r.status_code == status and r.json() == {"detail": detail}, params


def test_hall_whatif_from_the_live_state_within_a_second(world):
    t0 = time.monotonic()
    r = get(world, "/api/whatif/hall", SUP, site="hall-tianhe", counters="3")
    took = time.monotonic() - t0
    assert r.status_code == 200 and took < 1.0, took
    a = r.json()
    snap = world.floor.snapshot("hall-tianhe")
    on_duty = [x for x in snap["agents"].values() if x["state"] in ("ready", "busy", "wrap_up")]
    assert a["counters"] == 3 and a["clock"] == snap["clock"] and a["state"]["waits"] == "each"
    assert a["state"]["waiting"] == sum(q["waiting"] for q in snap["queues"].values())
    assert a["state"]["open"] == len(on_duty) and a["state"]["ready"] == sum(x["state"] == "ready" for x in on_duty)
    now, more = a["now"], a["with"]
    assert set(now["queues"]) == set(snap["queues"]) == set(more["queues"])
    assert more["offered"] == now["offered"] and more["longest_wait_s"] <= now["longest_wait_s"]
    assert more["abandoned"] <= now["abandoned"] and (now["sl_pct"] is None or more["sl_pct"] >= now["sl_pct"])
