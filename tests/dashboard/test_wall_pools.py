"""A site's pools on the wall, in a real headless Chromium, zh-CN and English, 1920x1080 and a phone's 390x844.

gd-hotline with general, broadband and billing declared one pool ("front"):
half the busy day is folded and published through ``RedisSink`` with the
worker's advisor (no history: the live advice). The wall shows the pool on
one line above the tiles, named with its queues, the pool's need against its
agents (the worker's figures: the distinct agents whose primary skill is a
member); each member's tile names its pool instead of a need of its own;
the VIP and English queues, in no pool, keep theirs. Screenshots go where
FLOORWATCH_WALL_SCREENSHOT says (a directory), else the test's tmp.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis
import yaml

from stream.contracts.floor_config import DEFAULT_CONFIG, load_config
from stream.fold.floor import Floor
from stream.runtime.advisor import Advisor
from stream.runtime.redis_keys import Keys
from stream.runtime.redis_sink import RedisSink
from tests.dashboard_helpers import day, redis_server  # noqa: F401 - fixtures
from tests.dashboard.test_wall import ARGS, CHROMIUM, text
from tests.dashboard_helpers import SUP, WALL, ServerThread, publish

PREFIX = "fwpools:"
POOL = ["general", "broadband", "billing"]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]


def pooled_config(tmp_path: Path):
    data = yaml.safe_load(Path(DEFAULT_CONFIG).read_text(encoding="utf-8"))
    data["sites"]["gd-hotline"]["pools"] = {"front": POOL}
    p = tmp_path / "floor.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(p)


async def test_a_pool_on_the_wall(redis_server, day, tmp_path):
    playwright = pytest.importorskip("playwright.async_api")
    shots = Path(os.environ.get("FLOORWATCH_WALL_SCREENSHOT") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    cfg = pooled_config(tmp_path)
    floor = Floor(cfg)
    floor.apply_many(day[: int(len(day) * 0.5)])
    r = aioredis.from_url(redis_server.url)
    await publish(floor, RedisSink(r, prefix=PREFIX, partition=0, advisor=Advisor(cfg)))
    adv = orjson.loads(await r.get(Keys(PREFIX).advice("gd-hotline")))["queues"]
    pool = adv["general"]
    assert pool["pool"] == "front" and pool["queues"] == POOL and adv["vip"].get("pool") is None
    # The pool's agents: each logged-in agent whose primary skill is a member, once.
    snap = floor.snapshot("gd-hotline")
    primary = [a for a in snap["agents"].values() if a["state"] != "logged_out" and (a.get("queues") or [None])[0] in POOL]
    assert pool["have"] == len(primary) > 0
    srv = ServerThread(redis_server.url, PREFIX).start()
    try:
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                ctx = await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
                page = await ctx.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                await page.goto(f"{srv.base}/?token={WALL}&site=gd-hotline")
                line = ".pools .pool[data-pool='front']"
                await page.wait_for_selector(line, timeout=10_000)
                assert await page.locator(".pools .pool").count() == 1  # one line for the pool, not one per member
                assert await text(page, f"{line} .pool-name") == "坐席组 front 综合咨询、宽带故障报修、话费账单与充值"
                fig = await text(page, f"{line} .pool-fig")
                assert fig == f"需 {pool['need_now']} 在岗 {pool['have']} 空闲 {pool['ready']}", fig
                for q in POOL:
                    assert await text(page, f"[data-queue='{q}'] .advice") == "属坐席组 front"
                vip = adv["vip"]
                assert (await text(page, "[data-queue='vip'] .advice")).startswith(f"需 {vip['need_now']} · 在岗 {vip['have']}")
                # Readable across the room: the need is big, and the line is inside the screen above the tiles.
                size = await page.eval_on_selector(f"{line} .pool-need b", "b => parseFloat(getComputedStyle(b).fontSize)")
                assert size >= 36, size
                box, tiles = await page.locator(line).bounding_box(), await page.locator("#tiles").bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= 1920 and box["y"] + box["height"] <= tiles["y"]
                await page.screenshot(path=str(shots / "wall-pool-1920x1080-zh.png"))

                await page.click("#lang")
                await page.wait_for_function("() => document.documentElement.lang === 'en'")
                assert await text(page, f"{line} .pool-name") == \
                    "Pool front General enquiries · Broadband faults · Billing and top-up"
                assert await text(page, f"{line} .pool-fig") == f"need {pool['need_now']} have {pool['have']} ready {pool['ready']}"
                assert await text(page, "[data-queue='billing'] .advice") == "in pool front"
                await page.screenshot(path=str(shots / "wall-pool-1920x1080-en.png"))

                # The pool short: the worker's next record says have 4 under the need; the line turns red
                # and says by how many.
                rec = orjson.loads(await r.get(Keys(PREFIX).advice("gd-hotline")))
                for q in POOL:
                    rec["queues"][q]["have"] = rec["queues"][q]["need_now"] - 4
                await r.set(Keys(PREFIX).advice("gd-hotline"), orjson.dumps(rec))
                await r.publish(Keys(PREFIX).advice_ch, orjson.dumps(rec))
                await page.wait_for_selector(f"{line}.pool-short", timeout=10_000)
                assert await text(page, f"{line} .pool-gap") == "short 4"
                await page.screenshot(path=str(shots / "wall-pool-short-1920x1080-en.png"))
                await page.click("#lang")
                await page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
                assert await text(page, f"{line} .pool-gap") == "缺 4"

                for lang in ("zh", "en"):
                    phone = await browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
                    pp = await phone.new_page()
                    pp.on("pageerror", lambda e: errors.append(str(e)))
                    await pp.goto(f"{srv.base}/?token={SUP}&site=gd-hotline&lang={lang}")
                    await pp.wait_for_selector(line, timeout=10_000)
                    pbox = await pp.locator(line).bounding_box()
                    assert pbox["x"] >= 0 and pbox["x"] + pbox["width"] <= 390
                    assert await pp.evaluate("document.documentElement.scrollWidth") <= 390
                    await pp.screenshot(path=str(shots / f"wall-pool-390x844-{lang}.png"))
                    await phone.close()
                assert errors == []
            finally:
                await browser.close()
    finally:
        srv.stop()
        await r.aclose()
