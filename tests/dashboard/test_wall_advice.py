"""Staffing advice and the what-if on the wall, in a real headless Chromium, in zh-CN and English.

The busy day is published through ``RedisSink`` with the worker's advisor (no
history: the live advice). A tile shows "需 N · 在岗 M" / "need N · have M"
with the numbers the worker published; a supervisor opens the what-if, picks
a queue, adds agents and reads the answer beside the current course; a wall
token has no what-if at all. Screenshots at 1920x1080 and a phone's 390x844
go where FLOORWATCH_WALL_SCREENSHOT says (a directory), else the test's tmp.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager
import re
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis

from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor
from stream.runtime.advisor import Advisor
from stream.runtime.redis_keys import Keys
from stream.runtime.redis_sink import RedisSink
from tests.dashboard_helpers import day, redis_server  # noqa: F401 - fixtures
from tests.dashboard.test_wall import ARGS, CHROMIUM, text  # the browser's settings, one place
from tests.dashboard_helpers import SUP, WALL, ServerThread, publish

PREFIX = "fwadvice:"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]


@asynccontextmanager
async def advised_wall(redis_url: str, day: list, prefix: str):
    """Half the busy day folded and published with the worker's advisor (no history: the live advice), a
    dashboard serving it and a headless Chromium: ``(floor, redis, server, browser)``."""
    playwright = pytest.importorskip("playwright.async_api")
    cfg = load_config()
    floor = Floor(cfg)
    floor.apply_many(day[: int(len(day) * 0.5)])
    r = aioredis.from_url(redis_url)
    await publish(floor, RedisSink(r, prefix=prefix, partition=0, advisor=Advisor(cfg)))
    srv = ServerThread(redis_url, prefix).start()
    try:
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                yield floor, r, srv, browser
            finally:
                await browser.close()
    finally:
        srv.stop()
        await r.aclose()


async def open_page(browser, url: str, locale: str = "zh-CN", size=(1920, 1080)):
    """A new page at ``url`` and the list its script errors go to."""
    ctx = await browser.new_context(viewport={"width": size[0], "height": size[1]}, locale=locale)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    return page, errors


async def ask_whatif(page, option: str, plus: int, answer: str) -> str:
    """Open the what-if, pick ``option``, press + ``plus`` times (from +1), run; the answer's text once
    ``answer`` (a selector) shows."""
    await page.click("#whatif button[data-wi='open']")
    await page.select_option("#whatif select", option)
    for _ in range(plus):
        await page.click("#whatif button[data-wi='plus']")
    assert await text(page, "#whatif .whatif-extra") == f"+{plus + 1}"
    await page.click("#whatif .whatif-run")
    await page.wait_for_selector(answer, timeout=5000)
    return await text(page, "#whatif .whatif-answer")


async def rerun_in_english(page, says: str) -> str:
    """Switch the page to English, run the what-if again; its answer once it ``says`` so."""
    await page.click("#lang")
    await page.click("#whatif .whatif-run")
    await page.wait_for_function("(s) => (document.querySelector('#whatif .whatif-answer') || {}).textContent"
                                 " && document.querySelector('#whatif .whatif-answer').textContent.includes(s)",
                                 arg=says, timeout=5000)
    return await text(page, "#whatif .whatif-answer")


async def test_advice_and_whatif_in_a_browser(redis_server, day, tmp_path):
    shots = Path(os.environ.get("FLOORWATCH_WALL_SCREENSHOT") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    async with advised_wall(redis_server.url, day, PREFIX) as (floor, r, srv, browser):
        adv = orjson.loads(await r.get(Keys(PREFIX).advice("gd-hotline")))["queues"]["general"]
        page, errors = await open_page(browser, f"{srv.base}/?token={SUP}&site=gd-hotline")
        ctx = page.context
        line = "[data-queue='general'] .advice"
        await page.wait_for_selector(line, timeout=10_000)
        # zh: the worker's numbers, and that there is no history behind them.
        assert await text(page, line) == f"需 {adv['need_now']} · 在岗 {adv['have']} (无历史)"

        # The supervisor's what-if: queue, +3 agents, the answer beside the current course.
        ans = await ask_whatif(page, "gd-hotline/general", 2, "#whatif .wi-sl")
        assert re.fullmatch(r"若 \+3：服务水平 \d+% → \d+%，最长等待 \d+:\d\d → \d+:\d\d，放弃 \d+ → \d+", ans), ans
        await page.screenshot(path=str(shots / "wall-advice-1920x1080-zh.png"))

        # English: the same tile and the answer in English after a new run.
        ans = await rerun_in_english(page, "with +3")
        assert await text(page, line) == f"need {adv['need_now']} · have {adv['have']} (no history)"
        assert re.search(r"with \+3: SL \d+% → \d+%, longest wait \d+:\d\d → \d+:\d\d, abandons \d+ → \d+", ans), ans
        assert "last 15 min" in await text(page, "#whatif .whatif-basis")
        await page.screenshot(path=str(shots / "wall-advice-1920x1080-en.png"))

        # A phone, in a hall: the panel fits the screen.
        phone = await browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
        pp = await phone.new_page()
        await pp.goto(f"{srv.base}/?token={SUP}&site=hall-tianhe&lang=en")
        await pp.wait_for_selector("#whatif button[data-wi='open']", timeout=10_000)
        await pp.click("#whatif button[data-wi='open']")
        assert await text(pp, "#whatif .whatif-k span") == "Counters ±"  # a hall's what-if is about counters
        await pp.click("#whatif .whatif-run")
        await pp.wait_for_selector("#whatif .wi-sl", timeout=5000)
        box = await pp.locator("#whatif .whatif-form").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        await pp.screenshot(path=str(shots / "wall-advice-phone-en.png"))

        # The wall's TV: advice on the tiles, no what-if.
        tv = await ctx.new_page()
        await tv.goto(f"{srv.base}/?token={WALL}&site=gd-hotline&lang=en")
        await tv.wait_for_selector(line, timeout=10_000)
        assert await tv.locator("#whatif").count() == 0
        assert errors == []


async def test_hall_whatif_in_a_browser(redis_server, day, tmp_path):
    """A hall's supervisor asks for two more counters for the whole hall: the hall's answer and one row per
    ticket class, in zh-CN and English, the figures the API gives for the same state."""
    prefix = "fwhallwi:"
    async with advised_wall(redis_server.url, day, prefix) as (floor, r, srv, browser):
        classes = list(floor.snapshot("hall-tianhe")["queues"])
        page, errors = await open_page(browser, f"{srv.base}/?token={SUP}&site=hall-tianhe&lang=zh")
        await page.wait_for_selector("#whatif button[data-wi='open']", timeout=10_000)
        # The whole hall is the first choice on a hall's page.
        assert await page.eval_on_selector_all("#whatif button[data-wi='open']", "bs => bs.length") == 1
        ans = await ask_whatif(page, "hall-tianhe/*", 1, "#whatif .whatif-classes")
        assert await page.eval_on_selector("#whatif select option", "o => o.value") == "hall-tianhe/*"
        assert "全厅" in await text(page, "#whatif select option[value='hall-tianhe/*']")
        assert re.fullmatch(r"若 \+2 窗口：服务水平 (\d+%|—) → (\d+%|—)，最长等待 \d+:\d\d → \d+:\d\d，弃号 \d+ → \d+", ans), ans
        rows = await page.eval_on_selector_all("#whatif .whatif-classes tbody tr", "rs => rs.map(r => r.dataset.class)")
        assert rows == classes
        head = await page.eval_on_selector_all("#whatif .whatif-classes th", "hs => hs.map(h => h.textContent)")
        assert head == ["业务类别", "服务水平", "最长等待", "弃号"]
        # The figures are the API's for the same state (same seed, same draws).
        api = (await asyncio.to_thread(
            lambda: __import__("httpx").get(f"{srv.base}/api/whatif/hall", params={"site": "hall-tianhe", "counters": "2"},
                                            headers={"Authorization": f"Bearer {SUP}"}, timeout=10))).json()
        assert f"{api['now']['abandoned']:.0f} → {api['with']['abandoned']:.0f}" in ans
        await page.screenshot(path=str(Path(os.environ.get("FLOORWATCH_WALL_SCREENSHOT") or tmp_path) / "wall-hall-whatif-zh.png"))

        ans = await rerun_in_english(page, "with +2 counters")
        assert re.fullmatch(r"with \+2 counters: SL (\d+%|—) → (\d+%|—), longest wait \d+:\d\d → \d+:\d\d, walk-outs \d+ → \d+", ans), ans
        head = await page.eval_on_selector_all("#whatif .whatif-classes th", "hs => hs.map(h => h.textContent)")
        assert head == ["Class", "SL", "longest wait", "walk-outs"]
        # A single class is still there to ask about, with counters as its unit.
        await page.select_option("#whatif select", f"hall-tianhe/{classes[0]}")
        await page.click("#whatif .whatif-run")
        await page.wait_for_function("() => !document.querySelector('#whatif .whatif-classes')"
                                     " && (document.querySelector('#whatif .wi-sl') || null)", timeout=5000)
        assert errors == []
