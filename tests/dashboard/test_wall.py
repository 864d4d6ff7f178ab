"""The wall page in a real headless Chromium (Playwright), fed through RedisSink as the worker feeds it.

Checks what a floor manager would see: a tile that changes within 2 s of an
event being folded and published, an alert that flashes in and is marked
once a supervisor acknowledges it, the language switch, the stale badge when
updates stop. Saves a 1920x1080 screenshot on the way (where
FLOORWATCH_WALL_SCREENSHOT says; the docs' screenshots come from test_wall_floor.py).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import orjson
import pytest

from stream.contracts import events as E
from stream.contracts.figures import wall_figures
from stream.local.embedded import EmbeddedRedis
from stream.runtime.redis_keys import Keys
from tests.dashboard_helpers import day, redis_server  # noqa: F401 - fixtures
from tests.dashboard_helpers import ROOT, SUP, WALL, ServerThread, alert, busy_day_file, populated, publish, read_events

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
PREFIX = "fwwall:"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]


async def text(page, sel: str) -> str:
    return (await page.locator(sel).first.inner_text()).strip()


async def test_wall_in_a_browser(redis_server, day, tmp_path):
    playwright = pytest.importorskip("playwright.async_api")
    # The floor at about 14:00 of the busy day, with queues; the server hears the
    # last stretch change by change, so the sparklines start with some history.
    n0, n1 = int(len(day) * 0.45), int(len(day) * 0.55)
    floor, sink = await populated(redis_server.url, PREFIX, day, n0)
    srv = ServerThread(redis_server.url, PREFIX).start()
    try:
        for i in range(n0, n1, 25):
            floor.apply_many(day[i:min(i + 25, n1)])
            await publish(floor, sink)
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            ctx = await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
            page = await ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"{srv.base}/?token={WALL}")

            # Chinese by default for a zh-CN browser; the all-sites view first.
            await page.wait_for_selector("[data-site-tile='gd-hotline']", timeout=10_000)
            assert await page.evaluate("document.documentElement.lang") == "zh-CN"
            assert "排队" in await text(page, "[data-site-tile='gd-hotline']")
            assert await text(page, "#lang") == "EN"

            # The site switcher.
            await page.click("#sites button[data-site='gd-hotline']")
            tile = "[data-queue='general'] .waiting"
            await page.wait_for_selector(tile)
            assert await page.locator("[data-queue]").count() >= 5
            assert await page.locator("#grid .agent").count() > 0
            # A tile's figures are the declared ones (stream/contracts/figures.py), in order, each with its label.
            shown = await page.eval_on_selector_all(
                "[data-queue='general'] .fig", "els => els.map(e => [e.querySelector('.lbl').textContent, e.querySelector('b').dataset.fig])")
            assert shown == [[f["label"]["zh"], f"{f['window']}.{f['key']}"] for f in wall_figures()]

            # A call joins the general queue: folded, published, on the wall within 2 s.
            before = int(await text(page, tile))
            clock = floor.snapshot("gd-hotline")["clock"]
            floor.apply(E.CallOffered(id="wall-test-1", ts=clock + 1, site="gd-hotline", call="wall-test-call-1", queue="general"))
            t0 = time.monotonic()
            await publish(floor, sink, ["gd-hotline"])
            await page.wait_for_function(
                "([sel, n]) => document.querySelector(sel) && document.querySelector(sel).textContent.trim() === String(n)",
                arg=[tile, before + 1], timeout=2000,
            )
            assert time.monotonic() - t0 < 2.0
            # The page holds the latest seq the worker published for the site.
            stored = orjson.loads(await sink.r.get(Keys(PREFIX).snap("gd-hotline")))
            assert await page.evaluate("window.__fw.seq['gd-hotline']") == stored["seq"]

            # An alert flashes in; after a supervisor's ack every wall marks it.
            a = alert(n=10, severity="critical")
            await sink.publish_alerts([a])
            sel = f"#alertlist .alert[data-id='{a['id']}']"
            await page.wait_for_selector(sel + ".new", timeout=2000)
            assert "最长等待" in await text(page, sel)
            async with httpx.AsyncClient(base_url=srv.base) as c:
                res = await c.post(f"/api/alerts/{a['id']}/ack", headers={"Authorization": f"Bearer {SUP}"})
                assert res.status_code == 200
            await page.wait_for_selector(sel + ".acked", timeout=2000)
            assert "alice" in await text(page, sel)
            assert await page.locator(sel + ".new").count() == 0

            # Switch to English.
            await page.click("#lang")
            await page.wait_for_function("document.documentElement.lang === 'en'", timeout=2000)
            assert "waiting" in (await text(page, "[data-queue='general']")).lower()
            assert "longest wait" in await text(page, sel)
            assert await text(page, "#lang") == "中文"
            assert await page.locator("#conn.stale").count() == 0

            # A second, still-active warning for the screenshot's ticker.
            await sink.publish_alerts([{**alert(n=11), "queue": "general", "id": "gd-hotline/general/sl@1",
                                        "message": {"en": "General enquiries: SL 15 min 62% below 70%",
                                                    "zh-CN": "综合咨询：15分钟服务水平 62%，低于 70%"}}])
            await page.wait_for_selector("#alertlist .alert[data-id='gd-hotline/general/sl@1']", state="attached")
            await asyncio.sleep(0.3)
            # A normal run keeps its screenshot out of the tree.
            shot = Path(os.environ.get("FLOORWATCH_WALL_SCREENSHOT") or tmp_path / "wall.png")
            await page.screenshot(path=str(shot))
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

            # No update for 10 s: the badge says STALE in place of Live; the next update clears it.
            await page.wait_for_selector("#conn.stale", timeout=13_000)
            assert (await text(page, "#conn")).startswith("STALE")
            floor.apply(E.CallOffered(id="wall-test-2", ts=clock + 2, site="gd-hotline", call="wall-test-call-2", queue="general"))
            await publish(floor, sink, ["gd-hotline"])
            await page.wait_for_selector("#conn.up", timeout=3000)

            # The token is in the URL the TV opened, and nowhere on the page.
            assert WALL not in await page.content()

            # The dashboard restarts: the page says so, reconnects by itself and is live again.
            srv.stop()
            await page.wait_for_selector("#conn.down", timeout=5000)
            assert await text(page, "#conn") == "Reconnecting"
            srv = ServerThread(redis_server.url, PREFIX, port=srv.port).start()
            await page.wait_for_selector("#conn.up", timeout=10_000)
            # One more call, seen over the new connection.
            floor.apply(E.CallOffered(id="wall-test-3", ts=clock + 3, site="gd-hotline", call="wall-test-call-3", queue="general"))
            await publish(floor, sink, ["gd-hotline"])
            await page.wait_for_function(
                "([sel, n]) => document.querySelector(sel) && document.querySelector(sel).textContent.trim() === String(n)",
                arg=[tile, before + 3], timeout=3000,
            )
            # A browser that asks for English gets English.
            en = await (await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-US")).new_page()
            await en.goto(f"{srv.base}/?token={WALL}")
            await en.wait_for_selector("[data-site-tile='gd-hotline']", timeout=10_000)
            assert await en.evaluate("document.documentElement.lang") == "en"
            assert await text(en, "#lang") == "中文"
            assert errors == []
            await browser.close()
    finally:
        srv.stop()
        await sink.r.aclose()
