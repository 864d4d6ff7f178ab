"""Predicted waits live: the worker's snapshot, ``GET /api/ewt`` (roles and shape) and the wall in Chromium.

Redis is filled as a worker fills it (``Floor`` + ``RedisSink``); the server is
the real one on loopback; the page runs in headless Chromium.
"""

from __future__ import annotations

import os

import httpx
import orjson
import pytest
import redis.asyncio as aioredis

from dashboard.auth import parse_tokens
from stream.contracts import events as E
from stream.predict.live import MAX_POSITIONS, site_ewt
from stream.runtime.redis_keys import Keys
from tests.dashboard_helpers import day, redis_server  # noqa: F401 - fixtures
from tests.dashboard_helpers import SUP, TOKENS_SPEC, WALL, ServerThread, populated, publish, wait_until

pytestmark = pytest.mark.integration

PREFIX = "fwewt:"
IVR, INGEST = "ivr-tok-3b1d", "ing-tok-c0a9"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
SITE = "gd-hotline"


async def _queue_with_most_waiting(floor) -> str:
    snap = floor.snapshot(SITE)
    return max(snap["queues"], key=lambda q: snap["queues"][q]["waiting"])


def _calls_join(floor, n: int, tag: str) -> None:
    """``n`` calls join the general queue at the site's clock (a queue to predict for)."""
    clock = floor.snapshot(SITE)["clock"]
    floor.apply_many([E.CallOffered(id=f"ewt-{tag}-{i}", ts=clock + 1 + i, site=SITE, call=f"ewt-{tag}-{i}", queue="general")
                      for i in range(n)])


@pytest.fixture
async def world(redis_server, day):
    floor, sink = await populated(redis_server.url, PREFIX, day, int(len(day) * 0.45))
    _calls_join(floor, 30, "queue")
    await publish(floor, sink)
    srv = ServerThread(redis_server.url, PREFIX)
    srv.app.state.tokens = parse_tokens(f"{TOKENS_SPEC},ivr/ivr-1:{IVR},ingest:{INGEST}")
    srv.start()
    yield floor, sink, srv
    srv.stop()
    await sink.r.aclose()


async def test_api_ewt_roles_and_shape(world, redis_server):
    floor, sink, srv = world
    q = await _queue_with_most_waiting(floor)
    r = aioredis.from_url(redis_server.url)
    stored = orjson.loads(await r.get(Keys(PREFIX).snap(SITE)))
    await r.aclose()
    # What the worker published is the predictor's answer for the floor at its clock.
    assert stored["ewt"] == site_ewt(floor.snapshot(SITE), floor.site(SITE).queue_now())
    assert stored["ewt"][q]["ahead"] == stored["queues"][q]["waiting"] > 0
    async with httpx.AsyncClient(base_url=srv.base, timeout=10) as c:
        params = {"site": SITE, "queue": q}
        assert (await c.get("/api/ewt", params=params)).status_code == 401
        assert (await c.get("/api/ewt", params={**params, "token": "nope"})).status_code == 401
        assert (await c.get("/api/ewt", params=params, headers={"Authorization": f"Bearer {INGEST}"})).status_code == 403
        for tok in (IVR, WALL, SUP):
            got = await c.get("/api/ewt", params=params, headers={"Authorization": f"Bearer {tok}"})
            assert got.status_code == 200
            body = got.json()
            assert set(body) == {"wait_s", "low_s", "high_s", "ahead"}
            assert body == {k: stored["ewt"][q][k] for k in body}
            assert body["low_s"] <= body["wait_s"] <= body["high_s"] and body["wait_s"] > 0
        # The IVR's token reads predicted waits and nothing else.
        assert (await c.get("/api/snapshot", headers={"Authorization": f"Bearer {IVR}"})).status_code == 403
        assert (await c.get("/api/alerts", headers={"Authorization": f"Bearer {IVR}"})).status_code == 403
        miss = {"Authorization": f"Bearer {IVR}"}
        assert (await c.get("/api/ewt", params={"site": "nowhere", "queue": q}, headers=miss)).status_code == 404
        assert (await c.get("/api/ewt", params={"site": SITE, "queue": "nowhere"}, headers=miss)).status_code == 404
        assert (await c.get("/api/ewt", params={"site": SITE}, headers=miss)).status_code == 422
        await _positions(c, q, stored["ewt"][q], miss)

        # Five more calls join the queue: the patch carries the new prediction to the dashboard.
        _calls_join(floor, 5, "more")
        await publish(floor, sink, [SITE])

        async def moved() -> bool:
            got = (await c.get("/api/ewt", params=params, headers=miss)).json()
            return got["ahead"] == stored["ewt"][q]["ahead"] + 5 and got["wait_s"] > stored["ewt"][q]["wait_s"]

        assert await _eventually(moved)


async def _positions(c: httpx.AsyncClient, q: str, published: dict, auth: dict) -> None:
    """Each waiting contact's wait by its position: what was published, in the order served, bounded."""
    waiting = published["ahead"]
    positions = published["positions"]
    assert len(positions) == min(waiting, MAX_POSITIONS) > 1
    # Further back, no shorter a wait; the last position's wait is the new arrival's (same class 0 here).
    assert all(a[0] <= b[0] for a, b in zip(positions, positions[1:]))
    for n in (1, 2, len(positions)):
        got = await c.get("/api/ewt", params={"site": SITE, "queue": q, "position": n}, headers=auth)
        assert got.status_code == 200
        w, lo, hi = positions[n - 1]
        assert got.json() == {"wait_s": w, "low_s": lo, "high_s": hi, "ahead": n - 1}
    # Beyond those waiting: one line, both languages.
    beyond = await c.get("/api/ewt", params={"site": SITE, "queue": q, "position": waiting + 1}, headers=auth)
    if waiting + 1 <= MAX_POSITIONS:
        assert beyond.status_code == 404
        detail = beyond.json()["detail"]
        assert "\n" not in detail and f"position {waiting + 1} is beyond the queue ({waiting} waiting)" in detail
        assert "超出队列" in detail
    # Outside the bound, and not a number: 422; no token: 401.
    for bad in (0, -1, MAX_POSITIONS + 1, "x"):
        got = await c.get("/api/ewt", params={"site": SITE, "queue": q, "position": bad}, headers=auth)
        assert got.status_code == 422, bad
    assert (await c.get("/api/ewt", params={"site": SITE, "queue": q, "position": 1})).status_code == 401


async def _eventually(pred, timeout: float = 5.0) -> bool:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await pred():
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")
async def test_wall_shows_predicted_waits(world):
    playwright = pytest.importorskip("playwright.async_api")
    floor, sink, srv = world
    q = await _queue_with_most_waiting(floor)
    ewt = site_ewt(floor.snapshot(SITE), floor.site(SITE).queue_now())
    hall = next(s for s, v in floor.config.sites.items() if v.kind == "hall" and s in floor.sites)
    hall_ewt = site_ewt(floor.snapshot(hall), floor.site(hall).queue_now())
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            for locale, label, next_ticket, minutes in (("en-US", "Predicted wait", "Next ticket", "min"),
                                                        ("zh-CN", "预计等待", "新取号预计等待", "分钟")):
                ctx = await browser.new_context(viewport={"width": 1920, "height": 1080}, locale=locale)
                page = await ctx.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                await page.goto(f"{srv.base}/?token={WALL}")
                # The all-sites view: each site's longest predicted wait.
                await page.wait_for_selector(f"[data-site-tile='{SITE}'] .ewt")
                site_line = (await page.locator(f"[data-site-tile='{SITE}'] .ewt").inner_text()).strip()
                assert site_line.startswith(label)
                hall_line = (await page.locator(f"[data-site-tile='{hall}'] .ewt").inner_text()).strip()
                longest = max(e["wait_s"] for e in hall_ewt.values())
                assert hall_line == f"{next_ticket} ≈ {round(longest / 60)} {minutes}"
                # The site's tiles: each queue's figure, mm:ss, with its band in the title.
                await page.click(f"#sites button[data-site='{SITE}']")
                sel = f"[data-queue='{q}'] .ewt"
                await page.wait_for_selector(sel)
                w = ewt[q]["wait_s"]
                assert (await page.locator(f"{sel} .ewt-wait").inner_text()).strip() == f"{int(w // 60)}:{int(w % 60):02d}"
                assert await page.locator(f"{sel} .ewt-wait").get_attribute("data-ewt") == str(w)
                assert str(ewt[q]["ahead"]) in (await page.locator(sel).get_attribute("title"))
                assert await page.locator(sel).is_visible()
                assert not errors, errors
                await ctx.close()
        finally:
            await browser.close()
