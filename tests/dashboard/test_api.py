"""The dashboard's API and websocket against the real server (uvicorn on loopback) and a real Redis.

Redis is filled the way a worker fills it: half a busy day folded with
``Floor`` and written with ``RedisSink``. Covers the roles, the snapshot, the
report (equal to ``build_report`` of the same sums), alerts and acks,
/metrics, /healthz, the websocket's snapshot / patch / resync rules, and that
no caller number and no token ever comes out — in responses or in the logs.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
import websockets

from dashboard.wall import project
from stream.contracts import events as E
from stream.fold.delta import apply_patch
from stream.local.embedded import EmbeddedRedis
from stream.runtime.redis_keys import Keys
from stream.runtime.redis_sink import RedisSink
from stream.fold.report import build_report, merge_rejected
from tests.dashboard_helpers import day, redis_server  # noqa: F401 - fixtures
from tests.dashboard_helpers import (
    ADMIN,
    ALL_TOKENS,
    SUP,
    WALL,
    ServerProcess,
    ServerThread,
    alert,
    busy_day_file,
    populated,
    publish,
    read_events,
)

pytestmark = pytest.mark.integration

PREFIX = "fwapi:"
CALLER = "138****5678"
CALLER_HASH = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def world(redis_server, day):
    half = len(day) // 2
    floor, sink = asyncio.run(populated(redis_server.url, PREFIX, day, half))
    srv = ServerThread(redis_server.url, PREFIX).start()
    yield SimpleNamespace(url=redis_server.url, floor=floor, sink=sink, srv=srv, day=day, pos=half)
    srv.stop()


@pytest.fixture
async def live(world):
    """The module's floor and sink, with a Redis client on this test's loop."""
    world.sink.r = aioredis.from_url(world.url)
    yield world
    await world.sink.r.aclose()


def client(world) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=world.srv.base, timeout=10)


def bearer(tok: str) -> dict:
    return {"Authorization": f"Bearer {tok}"}


async def recv_json(ws, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


# -- roles -------------------------------------------------------------------------


async def test_roles(world):
    aid = alert(n=1)["id"]
    r = aioredis.from_url(world.url)
    await RedisSink(r, prefix=PREFIX).publish_alerts([alert(n=1)])
    async with client(world) as c:
        assert (await c.get("/api/snapshot")).status_code == 401
        assert (await c.get("/api/snapshot", params={"token": "nope"})).status_code == 401
        assert (await c.get("/api/snapshot", headers=bearer("nope"))).status_code == 401
        assert (await c.get("/api/report")).status_code == 401
        assert (await c.get("/api/alerts")).status_code == 401
        assert (await c.get("/metrics")).status_code == 401
        assert (await c.post(f"/api/alerts/{aid}/ack")).status_code == 401
        for tok in ALL_TOKENS:
            assert (await c.get("/api/snapshot", params={"token": tok})).status_code == 200
            assert (await c.get("/api/report", headers=bearer(tok))).status_code == 200
        # A wall may look but not acknowledge; a supervisor and an admin may.
        assert (await c.post(f"/api/alerts/{aid}/ack", headers=bearer(WALL))).status_code == 403
        assert (await c.post(f"/api/alerts/{aid}/ack", params={"token": WALL})).status_code == 403
        assert (await c.post(f"/api/alerts/{aid}/ack", headers=bearer(SUP))).status_code == 200
        assert (await c.post(f"/api/alerts/{aid}/ack", headers=bearer(ADMIN))).status_code == 200
        assert (await c.get("/metrics", headers=bearer(WALL))).status_code == 403
        assert (await c.get("/metrics", headers=bearer(SUP))).status_code == 403
        assert (await c.get("/metrics", headers=bearer(ADMIN))).status_code == 200
        # Open without a token: health for load balancers, the page shell, the API description.
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.get("/")).status_code == 200
        assert "/api/alerts" in (await c.get("/openapi.json")).json()["paths"]
    with pytest.raises(websockets.InvalidStatus) as exc:
        async with websockets.connect(world.srv.ws):
            pass
    assert exc.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(world.srv.ws + "?token=nope"):
            pass
    async with websockets.connect(world.srv.ws, additional_headers=bearer(WALL)) as ws:
        assert (await recv_json(ws))["t"] == "snapshot"
    await r.aclose()


# -- snapshot and report -------------------------------------------------------------


async def test_snapshot_is_the_wall_view_of_what_redis_holds(world):
    r = aioredis.from_url(world.url)
    k = Keys(PREFIX)
    async with client(world) as c:
        body = (await c.get("/api/snapshot", params={"token": WALL})).json()
        assert {"gd-hotline", "hall-tianhe", "hall-yuexiu"} <= set(body["sites"])
        one = (await c.get("/api/snapshot", params={"token": WALL, "site": "gd-hotline"})).json()
        assert list(one["sites"]) == ["gd-hotline"]
        assert (await c.get("/api/snapshot", params={"token": WALL, "site": "nowhere"})).status_code == 404
    stored = orjson.loads(await r.get(k.snap("gd-hotline")))
    got = one["sites"]["gd-hotline"]
    assert got["seq"] == stored["seq"] and got["epoch"] == stored["epoch"]
    assert got["view"] == orjson.loads(orjson.dumps(project(stored, world.srv.app.state.hub.config)))
    v = got["view"]
    q = v["queues"]["vip"]
    assert {"waiting", "longest_wait_s", "vip_waiting", "longest_vip_wait_s"} <= set(q)
    assert {"sl_pct", "abandon_pct", "asa_s"} <= set(q["day"]) and "sl_pct" in q["m15"]
    assert v["thresholds"]["general"]["sl_pct"] == {"warn": 80.0, "alarm": 70.0, "higher_is_worse": False}
    # Agents by their label (work numbers in this config), with state and since.
    assert all(set(a) == {"state", "reason", "since", "counter"} for a in v["agents"].values())
    assert body["sites"]["hall-tianhe"]["view"]["counters"]["configured"] == 12
    assert got["history"] and got["history"][-1][0] == v["clock"]
    await r.aclose()


async def test_report_equals_build_report_of_the_same_sums(world):
    floor = world.floor
    expected = build_report({s: floor.day_sums(s) for s in floor.sites}, merge_rejected([floor.rejected_summary()]))
    async with client(world) as c:
        got = (await c.get("/api/report", headers=bearer(WALL))).json()
    assert got == json.loads(json.dumps(expected))
    # ... which is what the replay report says for the same events.
    assert got == json.loads(json.dumps(floor.report()))
    assert got["total"]["offered"] > 0


# -- alerts and acks ---------------------------------------------------------------------


async def test_alerts_and_ack(world):
    r = aioredis.from_url(world.url)
    k = Keys(PREFIX)
    sink = RedisSink(r, prefix=PREFIX)
    a = alert(n=2, severity="critical")
    await sink.publish_alerts([a])
    ps = r.pubsub()
    await ps.subscribe(k.acks_ch)
    async with client(world) as c:
        listed = {x["id"]: x for x in (await c.get("/api/alerts", headers=bearer(WALL))).json()}
        assert listed[a["id"]]["acknowledged"] is False
        assert listed[a["id"]]["message"]["en"].startswith("VIP queue")
        res = await c.post(f"/api/alerts/{a['id']}/ack", headers=bearer(SUP))
        assert res.status_code == 200 and res.json()["acknowledged"] is True and res.json()["ack_by"] == "alice"
        listed = {x["id"]: x for x in (await c.get("/api/alerts", headers=bearer(WALL))).json()}
        got = listed[a["id"]]
        assert got["acknowledged"] and got["ack_by"] == "alice" and got["ack_at_ms"] > a["at_ms"]
        assert got["state"] == "raised"  # the worker's record is untouched
        assert (await c.post("/api/alerts/no-such-alert/ack", headers=bearer(SUP))).status_code == 404
    stored = orjson.loads(await r.hget(k.acks, a["id"]))
    assert stored["by"] == "alice"
    msg = None
    for _ in range(50):
        msg = await ps.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if msg:
            break
    assert msg and orjson.loads(msg["data"])["id"] == a["id"]
    await ps.aclose()
    await r.aclose()


async def test_alerts_reach_the_websocket_and_acks_mark_them(world):
    r = aioredis.from_url(world.url)
    sink = RedisSink(r, prefix=PREFIX)
    a = alert(n=3)
    async with websockets.connect(world.srv.ws + "?token=" + WALL) as ws:
        assert (await recv_json(ws))["t"] == "snapshot"
        await sink.publish_alerts([a])
        m = await recv_json(ws)
        while m["t"] != "alert":
            m = await recv_json(ws)
        assert m["alert"]["id"] == a["id"] and not m["alert"]["acknowledged"]
        async with client(world) as c:
            assert (await c.post(f"/api/alerts/{a['id']}/ack", headers=bearer(ADMIN))).status_code == 200
        m = await recv_json(ws)
        while m["t"] != "ack":
            m = await recv_json(ws)
        assert m["id"] == a["id"] and m["by"] == "admin"
        # A resolved alert leaves the wall's active list.
        await sink.publish_alerts([{**a, "state": "resolved"}])
    async with websockets.connect(world.srv.ws + "?token=" + WALL) as ws:
        snap = await recv_json(ws)
        assert a["id"] not in {x["id"] for x in snap["alerts"]}
    await r.aclose()


# -- the websocket: snapshot, patches, epochs, gaps ------------------------------------------


async def test_ws_snapshot_then_patches_then_resync_on_epoch_and_gap(live):
    k = Keys(PREFIX)
    async with websockets.connect(live.srv.ws + "?token=" + WALL) as ws:
        first = await recv_json(ws)
        assert first["t"] == "snapshot"
        views = {s: x["view"] for s, x in first["sites"].items()}
        seqs = {s: x["seq"] for s, x in first["sites"].items()}
        # The next events, folded and published as a worker does.
        live.floor.apply_many(live.day[live.pos:live.pos + 200])
        live.pos += 200
        await publish(live.floor, live.sink)
        got = {}
        while len(got) < 3:
            m = await recv_json(ws)
            if m["t"] != "patch":
                continue
            assert m["seq"] == seqs[m["site"]] + 1 and m["published_ms"] > 0
            views[m["site"]] = apply_patch(views[m["site"]], m["patch"])
            got[m["site"]] = m["seq"]
        async with httpx.AsyncClient(base_url=live.srv.base) as c:
            now = (await c.get("/api/snapshot", headers=bearer(WALL))).json()["sites"]
        for s in got:
            assert views[s] == now[s]["view"]  # patched copy == server's view

        # A gap in seq: the server re-reads the snapshot and sends the site whole.
        r = live.sink.r
        stored = orjson.loads(await r.get(k.snap("gd-hotline")))
        await r.publish(k.changes, orjson.dumps({"site": "gd-hotline", "epoch": stored["epoch"], "seq": stored["seq"] + 5,
                                                 "patch": [], "published_ms": 1}))
        m = await recv_json(ws)
        assert m["t"] == "site" and m["site"] == "gd-hotline" and m["seq"] == stored["seq"]

        # A new epoch (a rebuilt worker): the same.
        sink2 = RedisSink(r, prefix=PREFIX)
        await publish(live.floor, sink2, ["hall-tianhe"])
        m = await recv_json(ws)
        while m.get("site") != "hall-tianhe":
            m = await recv_json(ws)
        assert m["t"] == "site" and m["epoch"] == sink2.epoch

        # A client that asks for a resync gets the whole floor.
        await ws.send(json.dumps({"t": "resync"}))
        m = await recv_json(ws)
        assert m["t"] == "snapshot" and m["sites"]["hall-tianhe"]["epoch"] == sink2.epoch
    # The module's sink keeps publishing hall-tianhe under its own epoch again from here on.


# -- nothing private on the wall --------------------------------------------------------------


async def test_no_caller_number_reaches_the_wall(world):
    """Caller numbers (even masked or hashed) and anything else not whitelisted never leave."""
    r = aioredis.from_url(world.url)
    k = Keys(PREFIX)
    # A real fold of calls carrying callers ...
    from stream.contracts.floor_config import load_config
    from stream.fold.floor import Floor

    floor = Floor(load_config())
    t0 = 1_795_420_000_000
    floor.apply_many([
        E.AgentState(id="l1", ts=t0, site="leak-site", agent="90001", state="ready", queues=["q"]),
        E.CallOffered(id="l2", ts=t0 + 1000, site="leak-site", call="c1", queue="q", caller=CALLER),
        E.CallOffered(id="l3", ts=t0 + 2000, site="leak-site", call="c2", queue="q", caller=CALLER_HASH),
    ])
    sink = RedisSink(r, prefix=PREFIX)
    await publish(floor, sink, ["leak-site"])
    # The hub holds the site as published before the bad version below replaces it in Redis
    # (else it may read the bad one first, take the change below for a repeat and send nothing).
    async with client(world) as c:
        for _ in range(200):
            if (await c.get("/api/snapshot", params={"site": "leak-site"}, headers=bearer(WALL))).status_code == 200:
                break
            await asyncio.sleep(0.05)
    # ... and a future snapshot version that (wrongly) carries them in many places.
    bad = orjson.loads(await r.get(k.snap("leak-site")))
    bad["caller"] = CALLER
    bad["queues"]["q"]["caller"] = CALLER
    bad["queues"]["q"]["callers"] = [CALLER, CALLER_HASH]
    bad["agents"]["90001"]["caller"] = CALLER
    bad["agents"]["90001"]["reason"] = None
    bad["seq"] += 1
    bad["epoch"] = "other"
    await r.set(k.snap("leak-site"), orjson.dumps(bad))
    async with websockets.connect(world.srv.ws + "?token=" + WALL) as ws:
        await recv_json(ws)
        await r.publish(k.changes, orjson.dumps({"site": "leak-site", "epoch": "other", "seq": bad["seq"], "patch": [],
                                                 "published_ms": 1}))
        seen = [json.dumps(await recv_json(ws))]
        # and a patch that adds one
        await r.publish(k.changes, orjson.dumps({"site": "leak-site", "epoch": "other", "seq": bad["seq"] + 1,
                                                 "patch": [{"op": "add", "path": "/agents/90001/caller_number", "value": CALLER},
                                                           {"op": "replace", "path": "/queues/q/waiting", "value": 7}],
                                                 "published_ms": 1}))
        m = await recv_json(ws)
        seen.append(json.dumps(m))
        assert m["t"] == "patch"
    async with client(world) as c:
        for tok in ALL_TOKENS:
            seen.append((await c.get("/api/snapshot", headers=bearer(tok))).text)
        seen.append((await c.get("/api/snapshot", params={"token": WALL, "site": "leak-site"})).text)
        seen.append((await c.get("/api/alerts", headers=bearer(WALL))).text)
        seen.append((await c.get("/api/report", headers=bearer(WALL))).text)
    async with websockets.connect(world.srv.ws + "?token=" + WALL) as ws:
        seen.append(await ws.recv())
    assert any("leak-site" in s for s in seen)
    assert json.loads(seen[-1])["sites"]["leak-site"]["view"]["queues"]["q"]["waiting"] == 7
    for s in seen:
        assert CALLER not in s and CALLER_HASH not in s and "caller" not in s.lower()
        for tok in ALL_TOKENS:
            assert tok not in s
    await r.aclose()


# -- ops ---------------------------------------------------------------------------------------


async def test_metrics_and_healthz(world):
    async with client(world) as c:
        h = (await c.get("/healthz")).json()
        assert h["ok"] and h["redis"] and h["sites"] >= 3
        async with websockets.connect(world.srv.ws + "?token=" + WALL) as ws:
            await recv_json(ws)
            text = (await c.get("/metrics", headers=bearer(ADMIN))).text
            assert (await c.get("/healthz")).json()["clients"] >= 1
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, v = line.split(" ")
            values[name] = float(v)
    assert values["floorwatch_dashboard_clients"] >= 1
    for name in ("floorwatch_dashboard_messages_sent_total", "floorwatch_dashboard_messages_dropped_total",
                 "floorwatch_dashboard_pipeline_lag_seconds", "floorwatch_dashboard_redis_up"):
        assert name in values
    assert values["floorwatch_dashboard_messages_sent_total"] >= 1
    assert "# TYPE floorwatch_dashboard_messages_dropped_total counter" in text


def test_tokens_never_reach_the_logs(redis_server, world, tmp_path: Path):
    """``floorwatch dashboard`` run as a process; everything it prints is checked."""
    srv = ServerProcess(redis_server.url, PREFIX, tmp_path / "dash.log").wait_ready()
    try:
        with httpx.Client(base_url=srv.base, timeout=10) as c:
            for tok in ALL_TOKENS:
                assert c.get("/api/snapshot", params={"token": tok, "site": "gd-hotline"}).status_code == 200
                c.get("/api/alerts", headers=bearer(tok))
                c.get("/metrics", params={"token": tok})
            assert c.get("/api/report", params={"token": "bogus-secret-1234"}).status_code == 401
            assert c.get("/?token=" + WALL).status_code == 200

        async def ws_round():
            async with websockets.connect(srv.ws + "?token=" + WALL) as ws:
                await ws.recv()
            with pytest.raises(websockets.InvalidStatus):
                async with websockets.connect(srv.ws + "?token=bogus-secret-1234"):
                    pass

        asyncio.run(ws_round())
    finally:
        out = srv.stop()
    assert "token=***" in out and "WebSocket /ws?token=***" in out
    for secret in (*ALL_TOKENS, "bogus-secret-1234"):
        assert secret not in out


async def test_redis_restart_is_survived(day, tmp_path: Path):
    """Redis dies: the walls keep what they have, /healthz says so; it returns: they are brought up to date."""
    rs = EmbeddedRedis(persist_dir=tmp_path / "redis").start()
    floor, sink = await populated(rs.url, PREFIX, day, len(day) // 3)
    srv = ServerThread(rs.url, PREFIX).start()
    try:
        async with websockets.connect(srv.ws + "?token=" + WALL) as ws, client(SimpleNamespace(srv=srv)) as c:
            first = await recv_json(ws)
            assert first["t"] == "snapshot"
            rs.kill()
            deadline = asyncio.get_running_loop().time() + 10
            while (await c.get("/healthz")).status_code != 503:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.1)
            # Still serving the last known floor meanwhile.
            assert (await c.get("/api/snapshot", headers=bearer(WALL))).status_code == 200
            rs.start()
            # A rebuilt worker publishes again; the wall is sent the floor whole, then patches.
            await sink.r.aclose()
            floor.apply_many(day[len(day) // 3: len(day) // 3 + 100])
            sink.r = aioredis.from_url(rs.url)
            while (await c.get("/healthz")).status_code != 200:
                assert asyncio.get_running_loop().time() < deadline + 20
                await asyncio.sleep(0.1)
            await publish(floor, sink)
            kinds = set()
            while "snapshot" not in kinds or not kinds & {"patch", "site"}:
                kinds.add((await recv_json(ws, 10))["t"])
            now = (await c.get("/api/snapshot", headers=bearer(WALL))).json()["sites"]
            stored = orjson.loads(await sink.r.get(Keys(PREFIX).snap("gd-hotline")))
            assert now["gd-hotline"]["seq"] == stored["seq"]
    finally:
        srv.stop()
        await sink.r.aclose()
        rs.stop()


async def test_two_dashboard_processes_serve_the_same_floor(world):
    """Each process has its own subscriber: a change and an ack made through one reach the walls of both."""
    other = ServerThread(world.url, PREFIX).start()
    try:
        async with websockets.connect(world.srv.ws + "?token=" + WALL) as w1, \
                websockets.connect(other.ws + "?token=" + WALL) as w2:
            s1, s2 = await recv_json(w1), await recv_json(w2)
            real = ("gd-hotline", "hall-tianhe", "hall-yuexiu")  # (leak-site's patches were never stored)
            assert [s1["sites"][k]["seq"] for k in real] == [s2["sites"][k]["seq"] for k in real]
            r = aioredis.from_url(world.url)
            a = alert(n=20)
            await RedisSink(r, prefix=PREFIX).publish_alerts([a])
            async with httpx.AsyncClient(base_url=other.base) as c:
                assert (await c.post(f"/api/alerts/{a['id']}/ack", headers=bearer(SUP))).status_code == 200
            for ws in (w1, w2):
                m = await recv_json(ws)
                while m["t"] != "ack":
                    m = await recv_json(ws)
                assert m["id"] == a["id"] and m["by"] == "alice"
            await r.aclose()
    finally:
        other.stop()
