"""A pool's what-if and the all-sites overview with a pooled site: the API and a real headless Chromium.

gd-hotline with general, broadband and billing declared one pool ("front")
in the dashboard's and the worker's config: half the busy day is folded and
published through ``RedisSink`` with the worker's advisor, as in
``test_wall_pools``. ``GET /api/whatif`` on a member (or ``pool=front``)
answers with the pool's simulation; the wall's what-if, opened from the
pool's line, shows it (pool, queues, per queue and the pool's total) in
zh-CN and English; the overview of all sites shows the pool's staffing on
gd-hotline's tile. Screenshots (1920x1080 and 390x844, both languages) go
where FLOORWATCH_WALL_SCREENSHOT says (a directory), else the test's tmp.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import orjson
import pytest
import redis.asyncio as aioredis

from stream.fold.floor import Floor
from stream.runtime.advisor import Advisor
from stream.runtime.redis_keys import Keys
from stream.runtime.redis_sink import RedisSink
from tests.dashboard.test_wall import ARGS, CHROMIUM, text
from tests.dashboard.test_wall_pools import POOL, pooled_config
from tests.dashboard_helpers import day, redis_server  # noqa: F401 - fixtures
from tests.dashboard_helpers import ADMIN, SUP, WALL, ServerThread, publish

pytestmark = pytest.mark.integration

PREFIX = "fwpoolwi:"
ZH = "综合咨询、宽带故障报修、话费账单与充值"
EN = "General enquiries, Broadband faults, Billing and top-up"


async def _publish(url: str, cfg, events) -> tuple[Floor, dict]:
    floor = Floor(cfg)
    floor.apply_many(events)
    r = aioredis.from_url(url)
    try:
        await publish(floor, RedisSink(r, prefix=PREFIX, partition=0, advisor=Advisor(cfg)))
        adv = orjson.loads(await r.get(Keys(PREFIX).advice("gd-hotline")))["queues"]
    finally:
        await r.aclose()
    return floor, adv


@pytest.fixture(scope="module")
def world(redis_server, day, tmp_path_factory):
    cfg = pooled_config(tmp_path_factory.mktemp("cfg"))
    floor, adv = asyncio.run(_publish(redis_server.url, cfg, day[: int(len(day) * 0.5)]))
    srv = ServerThread(redis_server.url, PREFIX, config=cfg).start()
    yield SimpleNamespace(floor=floor, adv=adv, srv=srv, cfg=cfg, url=redis_server.url)
    srv.stop()


def get(world, token=None, **params) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(world.srv.base + "/api/whatif", params=params, headers=headers, timeout=10)


def test_pool_whatif_roles(world):
    for q in ({"site": "gd-hotline", "pool": "front", "agents": "2"}, {"site": "gd-hotline", "queue": "billing", "agents": "2"}):
        assert get(world, None, **q).status_code == 401
        r = get(world, WALL, **q)
        assert r.status_code == 403 and r.json() == {"detail": "the wall role may not do this"}
        assert get(world, SUP, **q).status_code == 200
        assert get(world, ADMIN, **q).status_code == 200


def test_a_member_queue_answers_with_its_pool_from_the_live_state(world):
    t0 = time.monotonic()
    r = get(world, SUP, site="gd-hotline", queue="billing", agents="3")
    took = time.monotonic() - t0
    assert r.status_code == 200 and took < 1.5, took
    a = r.json()
    assert a["pool"] == "front" and a["queues"] == POOL and a["queue"] == "billing" and a["agents"] == 3
    snap = world.floor.snapshot("gd-hotline")
    # The pool's agents: those whose primary skill is a member, ready or on a contact; its contacts: all members'.
    on = [x for x in snap["agents"].values() if (x.get("queues") or [None])[0] in POOL and x["state"] in ("ready", "busy", "wrap_up")]
    assert a["state"]["ready"] + a["state"]["busy"] == len(on) > 0
    assert a["state"]["waiting"] == sum(snap["queues"][q]["waiting"] for q in POOL) and a["state"]["waits"] == "each"
    now, more = a["now"], a["with"]
    assert set(now["queues"]) == set(POOL) == set(more["queues"])
    assert now["offered"] == pytest.approx(sum(x["offered"] for x in now["queues"].values()), abs=0.2)
    assert more["longest_wait_s"] <= now["longest_wait_s"] and more["abandoned"] <= now["abandoned"]
    # Asked by the pool's name: the same simulation.
    b = get(world, SUP, site="gd-hotline", pool="front", agents="3").json()
    assert b["queue"] is None and b["now"] == now and b["with"] == more
    # A queue in no pool on the same site: its own what-if, as before (no pool in the answer).
    v = get(world, SUP, site="gd-hotline", queue="vip", agents="3").json()
    assert "pool" not in v and "queues" not in v["now"]


@pytest.mark.parametrize("params,status,detail", [
    ({"site": "gd-hotline", "pool": "nope"}, 404, "no pool 'nope' at site 'gd-hotline'"),
    ({"site": "gd-hotline"}, 400, "give one of queue=Q or pool=P"),
    ({"site": "gd-hotline", "queue": "billing", "pool": "front"}, 400, "give one of queue=Q or pool=P"),
    ({"site": "gd-hotline", "pool": "front", "agents": "two"}, 400, "agents: an integer from -50 to 50, got 'two'"),
    ({"site": "gd-hotline", "queue": "general", "agents": "-51"}, 400, "agents: an integer from -50 to 50, got -51"),
])
def test_pool_whatif_bad_input_is_a_one_line_error(world, params, status, detail):
    r = get(world, SUP, **params)
    assert r.status_code == status and r.json() == {"detail": detail}


def test_fewer_agents_than_the_pool_has_is_refused(world):
    n = get(world, SUP, site="gd-hotline", pool="front", agents="0").json()["state"]
    on = n["ready"] + n["busy"]
    if on >= 50:
        pytest.skip(f"the pool has {on} agents on duty, more than the what-if's limit of 50 fewer")
    r = get(world, SUP, site="gd-hotline", pool="front", agents=str(-on - 1))
    assert r.status_code == 400 and r.json() == {"detail": f"agents: {-on - 1} is more than the {on} agents on duty in pool 'front'"}
    assert get(world, SUP, site="gd-hotline", pool="front", agents=str(-on)).status_code == 200


def pct(v) -> str:
    return "–" if v is None else f"{v:.0f}%"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")
async def test_the_pools_whatif_and_the_overview_in_a_browser(world, tmp_path):
    playwright = pytest.importorskip("playwright.async_api")
    shots = Path(os.environ.get("FLOORWATCH_WALL_SCREENSHOT") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    base = world.srv.base
    pool = world.adv["general"]
    want = httpx.get(base + "/api/whatif", params={"site": "gd-hotline", "pool": "front", "agents": "2"},
                     headers={"Authorization": f"Bearer {SUP}"}, timeout=10).json()
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        errors: list[str] = []
        try:
            for w, h in ((1920, 1080), (390, 844)):
                for lang in ("zh", "en"):
                    ctx = await browser.new_context(viewport={"width": w, "height": h}, locale="en-US")
                    page = await ctx.new_page()
                    page.on("pageerror", lambda e: errors.append(str(e)))
                    # The site's page: the pool line's what-if button opens the what-if on the pool.
                    await page.goto(f"{base}/?token={SUP}&site=gd-hotline&lang={lang}")
                    btn = ".pools .pool[data-pool='front'] button.pool-wi"
                    await page.wait_for_selector(btn, timeout=10_000)
                    assert await text(page, btn) == ("假设模拟" if lang == "zh" else "What-if")
                    await page.click(btn)
                    sel = await page.eval_on_selector("#whatif select", "s => s.value")
                    assert sel == "gd-hotline/pool=front"
                    # The member queues are not offered on their own: the pool is one choice.
                    opts = await page.eval_on_selector_all("#whatif option", "os => os.map(o => o.value)")
                    assert not any(o.endswith(("/general", "/broadband", "/billing")) for o in opts) and "gd-hotline/vip" in opts
                    await page.click("#whatif button[data-wi='plus']")  # +1 -> +2
                    await page.click("#whatif .whatif-run")
                    await page.wait_for_selector("#whatif .whatif-pool", timeout=15_000)
                    head = await text(page, "#whatif .whatif-pool")
                    if lang == "zh":
                        assert head.startswith(f"坐席组 front：{ZH}") and "按整组模拟" in head, head
                    else:
                        assert head.startswith(f"Pool front: {EN}") and "one group" in head, head
                    n, x = want["now"], want["with"]
                    assert await text(page, "#whatif .wi-sl") == f"{pct(n['sl_pct'])} → {pct(x['sl_pct'])}"
                    assert (await text(page, "#whatif .whatif-answer")).startswith("整组合计 · 若 +2" if lang == "zh" else "Pool total · with +2")
                    rows = await page.eval_on_selector_all("#whatif .whatif-classes tr[data-class]", "rs => rs.map(r => r.dataset.class)")
                    assert rows == POOL
                    cell = await text(page, "#whatif tr[data-class='billing'] td:nth-child(2)")
                    assert cell == f"{pct(n['queues']['billing']['sl_pct'])} → {pct(x['queues']['billing']['sl_pct'])}"
                    box = await page.locator("#whatif .whatif-form").bounding_box()
                    assert box["x"] >= 0 and box["x"] + box["width"] <= w and box["y"] >= 0, box
                    await page.screenshot(path=str(shots / f"wall-pool-whatif-{w}x{h}-{lang}.png"))

                    # The overview of all sites: gd-hotline staffed by its pool, in one row.
                    await page.goto(f"{base}/?token={SUP}&site=*&lang={lang}")
                    if w > 480:
                        row = ".sitetile[data-site-tile='gd-hotline'] .sitepool[data-pool='front']"
                        await page.wait_for_selector(row, timeout=10_000)
                        assert await page.locator(".sitetile .sitepool").count() == 1  # the other sites have no pool
                        need, have = pool["need_now"], pool["have"]
                        gap = "" if need == have else (f" 缺 {need - have}" if have < need else f" 富余 {have - need}") if lang == "zh" \
                            else (f" short {need - have}" if have < need else f" over {have - need}")
                        got = " ".join((await text(page, row)).split())
                        assert got == (f"坐席组 front 3个队列 需 {need} 在岗 {have}{gap}" if lang == "zh"
                                       else f"Pool front 3 queues need {need} have {have}{gap}"), got
                        rb, tb = await page.locator(row).bounding_box(), await page.locator(".sitetile[data-site-tile='gd-hotline']").bounding_box()
                        assert rb["x"] >= tb["x"] and rb["x"] + rb["width"] <= tb["x"] + tb["width"] + 1 and rb["y"] + rb["height"] <= h
                        size = await page.eval_on_selector(f"{row} .sp-fig b", "b => parseFloat(getComputedStyle(b).fontSize)")
                        assert size >= 30, size
                    else:
                        # The phone's all-sites list: the pool's line names its site.
                        line = ".pools[data-site='gd-hotline'] .pool[data-pool='front']"
                        await page.wait_for_selector(line, timeout=10_000)
                        assert await text(page, f"{line} .pool-site") == ("广东10086客服热线" if lang == "zh" else "Guangdong 10086 Hotline")
                        assert await page.evaluate("document.documentElement.scrollWidth") <= w
                    await page.screenshot(path=str(shots / f"wall-pool-overview-{w}x{h}-{lang}.png"))
                    await ctx.close()
            # The pool short: the worker's next record has 4 fewer than the need; the overview's row turns red.
            r = aioredis.from_url(world.url)
            try:
                rec = orjson.loads(await r.get(Keys(PREFIX).advice("gd-hotline")))
                for q in POOL:
                    rec["queues"][q]["have"] = rec["queues"][q]["need_now"] - 4
                await r.set(Keys(PREFIX).advice("gd-hotline"), orjson.dumps(rec))
                await r.publish(Keys(PREFIX).advice_ch, orjson.dumps(rec))
            finally:
                await r.aclose()
            ctx = await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
            page = await ctx.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"{base}/?token={WALL}&site=*")
            row = ".sitetile[data-site-tile='gd-hotline'] .sitepool[data-pool='front'].pool-short"
            await page.wait_for_selector(row, timeout=10_000)
            assert await text(page, f"{row} .pool-gap") == "缺 4"
            colour = await page.eval_on_selector(f"{row} .sp-have b", "b => getComputedStyle(b).color")
            assert colour == "rgb(255, 77, 79)", colour  # --alarm
            await page.screenshot(path=str(shots / "wall-pool-overview-short-1920x1080-zh.png"))
            await page.click("#lang")
            await page.wait_for_function("() => document.documentElement.lang === 'en'")
            assert await text(page, f"{row} .pool-gap") == "short 4"
            assert await page.locator("button.pool-wi").count() == 0  # the wall role has no what-if
            await ctx.close()
            assert errors == []
        finally:
            await browser.close()
