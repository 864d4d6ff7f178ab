"""The wall as floor managers use it, in headless Chromium against a running dashboard and Redis (issue 13).

At 1920x1080, 3840x2160, 1366x768 and 390x844, in zh-CN and English: a
supervisor acknowledges and silences from the page and the wall role sees no
control; a hall's page never shows another site's alert; every agent of a
300-agent site is reachable on screen; a bad token says so and stops
retrying; nothing overflows sideways; tile boxes stay put while figures
change; a new critical alert flashes and chimes; stale figures dim and the
badge says so; the end of a simulated day is announced; ``?sort=severity``;
the phone view puts alerts first.

``FLOORWATCH_WALL_SCREENSHOTS=docs`` saves one screenshot per size and
language into that folder (docs/wall-<w>x<h>-<lang>.png).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import orjson
import pytest
import redis.asyncio as aioredis

from stream.contracts import events as E
from stream.runtime.redis_keys import Keys
from tests.dashboard_helpers import day, redis_server  # noqa: F401 - fixtures
from tests.dashboard_helpers import ADMIN, SUP, WALL, ServerThread, populated, publish

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required"]
PREFIX = "fwfloor:"
SIZES = [(1920, 1080), (3840, 2160), (1366, 768), (390, 844)]
BIG = "gz-bigfloor"  # a made-up 300-agent hotline with long agent labels
BIG_AGENTS = 300

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]


def big_site_events(clock_ms: int) -> list:
    """300 agents logging in on one site, in every state, labels as long as real ones get."""
    out = []
    states = ["ready", "busy", "wrap_up", "not_ready"]
    for i in range(BIG_AGENTS):
        st = states[i % 4]
        out.append(E.AgentState(id=f"big-login-{i}", ts=clock_ms - 600_000 + i, site=BIG, agent=f"zhujiang-new-town-{i:03d}",
                                state="ready", queues=["general"]))
        if st != "ready":
            out.append(E.AgentState(id=f"big-st-{i}", ts=clock_ms - 300_000 + i, site=BIG, agent=f"zhujiang-new-town-{i:03d}",
                                    state=st, reason=("lunch" if i % 8 == 3 else "training") if st == "not_ready" else None))
    return sorted(out, key=lambda e: e.ts)  # in time order: the site's lateness bound applies


def alert_rec(site: str, queue: str, rule: str, severity: str, at_ms: int, n: int = 0) -> dict:
    aid = f"{site}/{queue}/{rule}@{at_ms + n}"
    # Levels in each rule's own unit, as config/alerts.yaml sets them (the screenshots show them).
    value, threshold, target, clear = {
        "service_level": (62.0, 80.0, 90, 85.0),
        "abandon_rate": (12.0, 10.0, None, 8.0),
    }.get(rule, (400.0, 300.0, 20, 180.0))
    return {
        "id": aid, "key": f"{site}/{queue}/{rule}", "dedup_key": aid + "#raised", "change": "raised", "state": "raised",
        "kind": "rule", "rule": rule, "site": site, "queue": queue, "agent": None, "severity": severity,
        "value": value, "threshold": threshold, "target": target, "clear": clear, "since_ms": at_ms - 120_000,
        "raised_ms": at_ms, "at_ms": at_ms,
        "message": {"en": f"{queue}: longest wait 6:40 (alerts above 5:00; target 0:20) for 2 min",
                    "zh-CN": f"{queue}：最长等待 6:40（告警线：超过 5:00；目标 0:20）已 2 分钟"},
    }


@pytest.fixture(scope="module")
def floor_world(redis_server, day):
    n0 = int(len(day) * 0.5)

    async def fill():
        floor, sink = await populated(redis_server.url, PREFIX, day, n0)
        clock = floor.snapshot("gd-hotline")["clock"]
        floor.apply_many(big_site_events(clock))
        await publish(floor, sink)
        await sink.r.aclose()
        return floor, sink, clock

    floor, sink, clock = asyncio.run(fill())
    srv = ServerThread(redis_server.url, PREFIX).start()
    yield floor, sink, srv, clock
    srv.stop()


@pytest.fixture
async def world(floor_world, redis_server):
    floor, sink, srv, clock = floor_world
    sink.r = aioredis.from_url(redis_server.url)
    yield floor, sink, srv, clock
    await sink.r.aclose()


@pytest.fixture
async def browser():
    pw = pytest.importorskip("playwright.async_api")
    async with pw.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        await b.close()


async def open_page(browser, srv, token: str, size=(1920, 1080), lang="zh", query=""):
    ctx = await browser.new_context(viewport={"width": size[0], "height": size[1]},
                                    locale="zh-CN" if lang == "zh" else "en-US")
    page = await ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    await page.goto(f"{srv.base}/?token={token}&lang={lang}{query}")
    return page


async def overflow_x(page) -> int:
    return await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


async def test_supervisor_acks_and_silences_from_the_page_wall_sees_no_control(world, browser):
    floor, sink, srv, clock = world
    a = alert_rec("gd-hotline", "general", "longest_wait", "major", clock, n=1)
    b = alert_rec("gd-hotline", "vip", "service_level", "minor", clock, n=2)
    c = alert_rec("gd-hotline", "broadband", "abandon_rate", "minor", clock, n=9)
    await sink.publish_alerts([a, b, c])
    for lang in ("zh", "en"):
        page = await open_page(browser, srv, SUP, lang=lang, query="&site=gd-hotline")
        card = f"#alertlist .alert[data-id='{a['id']}']"
        await page.wait_for_selector(card, timeout=10_000)
        if lang == "zh":
            # One click acknowledges; the card says who and when.
            await page.click(card + " button[data-ack]")
            await page.wait_for_selector(card + ".acked", timeout=3000)
            assert "alice" in await page.locator(card).inner_text()
            # When, on the floor's clock (the site's local time the wall shows).
            floor_hhmm = await page.evaluate("window.__fw && document.querySelector('#clock').textContent.slice(0, 5)")
            assert floor_hhmm in await page.locator(card + " .ackmark").inner_text()
            assert await page.locator(card + " button[data-ack]").count() == 0
            # Silence the other alert's rule for its queue: a duration, a reason.
            bcard = f"#alertlist .alert[data-id='{b['id']}']"
            await page.click(bcard + " button[data-sil]")
            await page.select_option(bcard + " form.silform select", "60")
            await page.fill(bcard + " form.silform input", "系统故障，已知")
            await page.click(bcard + " form.silform button[type=submit]")
            await page.wait_for_selector(bcard + ".silenced", timeout=3000)
            text = await page.locator(bcard).inner_text()
            assert "alice" in text and "系统故障，已知" in text and "已静音" in text
        else:
            assert "Acknowledged by alice" in await page.locator(card).inner_text()
            # In English too: silence another alert's rule for 15 min.
            ccard = f"#alertlist .alert[data-id='{c['id']}']"
            await page.wait_for_selector(ccard, state="attached")
            await page.eval_on_selector(ccard + " button[data-sil]", "b => b.click()")
            await page.select_option(ccard + " form.silform select", "15")
            await page.fill(ccard + " form.silform input", "agents in a briefing")
            await page.click(ccard + " form.silform button[type=submit]")
            await page.wait_for_selector(ccard + ".silenced", state="attached", timeout=3000)
            text = await page.eval_on_selector(ccard, "e => e.innerText")
            assert "Silenced by alice" in text and "agents in a briefing" in text
        assert page.errors == []
        await page.context.close()

    async with httpx.AsyncClient(base_url=srv.base) as c:
        # Acknowledging twice keeps the first record.
        res = await c.post(f"/api/alerts/{a['id']}/ack", headers={"Authorization": f"Bearer {ADMIN}"})
        assert res.status_code == 200 and res.json()["first"] is False and res.json()["ack_by"] == "alice"
        sil = (await c.get("/api/silences", headers={"Authorization": f"Bearer {WALL}"})).json()
        rec = next(s for s in sil if s["key"] == "gd-hotline/vip/service_level")
        assert rec["by"] == "alice" and rec["until_ms"] - rec["from_ms"] == 60 * 60_000
        # The audit log, for admins only: who, what, when.
        assert (await c.get("/api/audit", headers={"Authorization": f"Bearer {SUP}"})).status_code == 403
        log = (await c.get("/api/audit", headers={"Authorization": f"Bearer {ADMIN}"})).json()
        acts = [(e["action"], e["target"], e["by"]) for e in log]
        assert ("ack", a["id"], "alice") in acts and ("ack", a["id"], "admin") in acts
        assert ("silence", "gd-hotline/vip/service_level", "alice") in acts
        assert ("silence", "gd-hotline/broadband/abandon_rate", "alice") in acts
        assert all(isinstance(e["at_ms"], int) for e in log)
        # The wall role can do neither.
        assert (await c.post(f"/api/alerts/{b['id']}/ack", headers={"Authorization": f"Bearer {WALL}"})).status_code == 403
        body = {"site": "gd-hotline", "queue": "vip", "rule": "vip_wait", "minutes": 5, "reason": "x"}
        assert (await c.post("/api/silences", json=body, headers={"Authorization": f"Bearer {WALL}"})).status_code == 403

    page = await open_page(browser, srv, WALL, query="&site=gd-hotline")
    await page.wait_for_selector(f"#alertlist .alert[data-id='{b['id']}']", timeout=10_000)
    assert await page.locator("#alertlist button").count() == 0
    assert await page.locator("form.silform").count() == 0
    await page.context.close()


async def test_a_hall_page_shows_only_its_own_alerts(world, browser):
    floor, sink, srv, clock = world
    hot = alert_rec("gd-hotline", "general", "no_agent_ready", "critical", clock, n=3)
    hall = alert_rec("hall-tianhe", "general", "longest_wait", "major", clock, n=4)
    await sink.publish_alerts([hot, hall])
    page = await open_page(browser, srv, WALL, lang="en", query="&site=hall-tianhe")
    await page.wait_for_selector(f"#alertlist .alert[data-id='{hall['id']}']", timeout=10_000)
    sites_shown = await page.eval_on_selector_all("#alertlist .alert", "els => els.map(e => e.dataset.id.split('/')[0])")
    assert sites_shown and set(sites_shown) == {"hall-tianhe"}
    # The all-sites view shows both.
    await page.click("#sites button[data-site='*']")
    await page.wait_for_selector(f"#alertlist .alert[data-id='{hot['id']}']", timeout=3000)
    assert await page.locator(f"#alertlist .alert[data-id='{hall['id']}']").count() == 1
    await page.context.close()


@pytest.mark.parametrize("size", SIZES[:3], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_agent_of_a_300_agent_site_is_reachable(world, browser, size):
    floor, sink, srv, clock = world
    page = await open_page(browser, srv, WALL, size=size, lang="en", query=f"&site={BIG}&rotate_ms=600")
    await page.wait_for_function("document.querySelectorAll('#grid .agent').length > 0", timeout=10_000)
    seen: set[str] = set()
    for _ in range(40):
        # One look at the page: the grid's state, its cells and its pager as drawn together.
        info, labels, pager = await page.evaluate("""() => [window.__fw.grid,
            [...document.querySelectorAll('#grid .agent')].map(e => e.dataset.agent), document.querySelector('#gridpager').textContent]""")
        seen.update(labels)
        # Every cell is inside the grid's box (nothing hidden below the screen), and its label is not cut.
        cut = await page.evaluate("""() => [...document.querySelectorAll('#grid .agent')].filter(c => {
            const n = c.querySelector('.n'), box = document.querySelector('#grid .cells').getBoundingClientRect();
            const r = c.getBoundingClientRect();
            return n.scrollWidth > c.clientWidth || r.bottom > box.bottom + 1 || r.right > box.right + 1; }).length""")
        assert cut == 0
        if info["pages"] > 1:
            assert f"{info['page']}/{info['pages']}" in pager and f"+{info['total'] - info['shown']}" in pager
            assert len(labels) == info["shown"]
        if len(seen) >= BIG_AGENTS:
            break
        await page.wait_for_function(f"window.__fw.grid.page !== {info['page']} || window.__fw.grid.pages === 1", timeout=8000)
    assert len(seen) == BIG_AGENTS
    assert (await page.evaluate("window.__fw.grid"))["total"] == BIG_AGENTS
    await page.context.close()


async def test_a_bad_token_says_so_and_stops_retrying(world, browser):
    floor, sink, srv, clock = world
    for lang, words in (("zh", "令牌无效"), ("en", "token is not valid")):
        page = await open_page(browser, srv, "not-a-token", lang=lang)
        sockets = []
        page.on("websocket", lambda ws: sockets.append(ws))
        await page.wait_for_selector("#fatal:not([hidden])", timeout=5000)
        assert words in await page.inner_text("#fatal")
        await asyncio.sleep(3)
        assert sockets == []  # it never tried the websocket, and does not keep trying
        await page.context.close()
    # A missing token likewise.
    page = await open_page(browser, srv, "")
    await page.wait_for_selector("#fatal:not([hidden])", timeout=5000)
    await page.context.close()


async def test_sizes_languages_no_overflow_tiles_steady_and_screenshots(world, browser, tmp_path):
    floor, sink, srv, clock = world
    await sink.publish_alerts([alert_rec("gd-hotline", "vip", "vip_wait", "critical", clock, n=5)])
    out = Path(os.environ.get("FLOORWATCH_WALL_SCREENSHOTS") or tmp_path)
    step = 0
    for size in SIZES:
        for lang in ("zh", "en"):
            page = await open_page(browser, srv, SUP, size=size, lang=lang, query="&site=gd-hotline")
            await page.wait_for_selector("[data-queue='general'] .waiting", timeout=10_000)
            await asyncio.sleep(0.3)
            assert await overflow_x(page) <= 0, f"sideways overflow at {size} {lang}"
            # No name cut: a tile's title fits its box (shrunk or wrapped, never clipped).
            clipped = await page.evaluate("""() => [...document.querySelectorAll('.tile h2')]
                .filter(h => h.scrollWidth > h.clientWidth + 1 || h.scrollHeight > h.clientHeight + 1).map(h => h.textContent)""")
            assert clipped == []
            boxes = await page.evaluate("() => [...document.querySelectorAll('.tile')].map(t => {const r = t.getBoundingClientRect(); return [t.dataset.queue, r.x, r.y, r.width, r.height];})")
            # Figures change (a VIP call queues, then more): the tiles keep their boxes.
            for k in range(3):
                step += 1
                floor.apply(E.CallOffered(id=f"steady-{step}", ts=clock + step, site="gd-hotline", call=f"steady-call-{step}",
                                          queue="vip" if k % 2 == 0 else "general", vip=True))
                await publish(floor, sink, ["gd-hotline"])
            await page.wait_for_function(f"window.__fw.seq['gd-hotline'] >= {await current_seq(sink)}", timeout=3000)
            await asyncio.sleep(0.2)
            after = await page.evaluate("() => [...document.querySelectorAll('.tile')].map(t => {const r = t.getBoundingClientRect(); return [t.dataset.queue, r.x, r.y, r.width, r.height];})")
            if size[0] > 480:  # on the phone the list is the queues in trouble, which may change
                assert after == boxes, f"tiles moved at {size} {lang}"
            assert await overflow_x(page) <= 0
            await page.screenshot(path=str(out / f"wall-{size[0]}x{size[1]}-{lang}.png"))
            assert page.errors == []
            await page.context.close()


async def current_seq(sink) -> int:
    return orjson.loads(await sink.r.get(Keys(PREFIX).snap("gd-hotline")))["seq"]


async def test_new_critical_alert_flashes_and_chimes_and_stale_and_feed_end(world, browser):
    floor, sink, srv, clock = world
    page = await open_page(browser, srv, WALL, lang="en", query="&site=gd-hotline&stale_ms=3000")
    await page.wait_for_selector("[data-queue='general']", timeout=10_000)
    assert await page.inner_text("#sound") == "♪ Sound on"  # the kiosk flag lets it play
    a = alert_rec("gd-hotline", "general", "longest_wait", "critical", clock, n=6)
    await sink.publish_alerts([a])
    await page.wait_for_selector("#flash.on", timeout=3000)
    assert await page.evaluate("window.__fw.chimes") >= 1
    # The screen flashed for this alert: its card is in view, even with more alerts than fit on one page
    # (drawn a frame after the flash, at most).
    await page.wait_for_selector(f".alert[data-id='{a['id']}']", timeout=3000)
    sev = await page.eval_on_selector(f".alert[data-id='{a['id']}']", "e => getComputedStyle(e).borderColor")
    minor = alert_rec("gd-hotline", "vip", "abandon_rate", "minor", clock, n=7)
    await sink.publish_alerts([minor])
    await page.wait_for_selector(f".alert[data-id='{minor['id']}']")
    assert sev != await page.eval_on_selector(f".alert[data-id='{minor['id']}']", "e => getComputedStyle(e).borderColor")
    assert await page.evaluate("window.__fw.flashes") == 1  # a minor alert does not flash
    # Nothing for 3 s: the badge says STALE in place of Live and the figures dim.
    await page.wait_for_selector("#conn.stale", timeout=6000)
    assert (await page.inner_text("#conn")).startswith("STALE")
    assert await page.evaluate("document.querySelector('#main').classList.contains('stale')")
    # The simulated day ends: the wall says so.
    k = Keys(PREFIX)
    body = orjson.dumps({"state": "ended", "source": "simulation", "events": 1234, "at_ms": 1})
    await sink.r.set(k.feed, body)
    await sink.r.publish(k.feed_ch, body)
    await page.wait_for_selector("#banner:not([hidden])", timeout=3000)
    assert "Simulation ended" in await page.inner_text("#banner")
    # The figures are final now, not stale: the badge says so and they are not dimmed.
    await page.wait_for_selector("#conn.ended", timeout=3000)
    assert await page.inner_text("#conn") == "Final"
    assert not await page.evaluate("document.querySelector('#main').classList.contains('stale')")
    running = orjson.dumps({"state": "running", "source": "simulation", "at_ms": 2})
    await sink.r.set(k.feed, running)
    await sink.r.publish(k.feed_ch, running)
    await page.wait_for_selector("#banner", state="hidden", timeout=3000)
    await page.context.close()


async def test_sort_by_severity_layout_from_url_and_admin_config(world, browser):
    floor, sink, srv, clock = world
    page = await open_page(browser, srv, WALL, lang="en", query="&site=gd-hotline&sort=severity")
    await page.wait_for_selector("[data-queue]", timeout=10_000)
    rank = await page.eval_on_selector_all(".tile", "els => els.map(e => e.classList.contains('alarm') ? 2 : e.classList.contains('warn') ? 1 : 0)")
    assert rank == sorted(rank, reverse=True)
    await page.context.close()
    # An admin saves a layout; a wall opens it by name.
    async with httpx.AsyncClient(base_url=srv.base) as c:
        lay = {"sites": ["gd-hotline"], "queues": ["vip", "general"], "panels": ["tiles", "alerts"], "order": "config"}
        assert (await c.put("/api/walls/lobby", json=lay, headers={"Authorization": f"Bearer {SUP}"})).status_code == 403
        assert (await c.put("/api/walls/lobby", json=lay, headers={"Authorization": f"Bearer {ADMIN}"})).status_code == 200
    page = await open_page(browser, srv, WALL, lang="en", query="&wall=lobby&site=gd-hotline")
    await page.wait_for_function("document.querySelectorAll('.tile[data-queue]').length === 2", timeout=10_000)
    assert await page.eval_on_selector_all(".tile", "els => els.map(e => e.dataset.queue)") == ["vip", "general"]
    assert await page.locator("#grid").count() == 0
    assert await page.locator("#sites button").count() == 1
    await page.context.close()


async def test_phone_view_alerts_first_then_queues_in_trouble(world, browser):
    floor, sink, srv, clock = world
    a = alert_rec("gd-hotline", "vip", "longest_wait", "major", clock, n=8)
    await sink.publish_alerts([a])
    for lang in ("zh", "en"):
        page = await open_page(browser, srv, SUP, size=(390, 844), lang=lang, query="&site=gd-hotline")
        await page.wait_for_selector(f".alert[data-id='{a['id']}'] button[data-ack]", timeout=10_000)
        order = await page.evaluate("[...document.querySelector('#main').children].map(e => e.id || e.className)")
        assert order[0] == "alertpanel"
        assert await page.locator("#grid").count() == 0
        levels = await page.eval_on_selector_all("#tiles .tile", "els => els.map(e => e.className)")
        assert all("warn" in c or "alarm" in c for c in levels)
        # Thumb-sized buttons, and no sideways scrolling even with the silence form open.
        h = await page.eval_on_selector(f".alert[data-id='{a['id']}'] button[data-ack]", "b => b.getBoundingClientRect().height")
        assert h >= 40
        await page.click(f".alert[data-id='{a['id']}'] button[data-sil]")
        assert await overflow_x(page) <= 0
        await page.context.close()


async def test_phone_shows_every_alert_card_whole(world, browser):
    floor, sink, srv, clock = world
    await sink.publish_alerts([alert_rec("gd-hotline", "vip", "vip_wait", "critical", clock, n=20 + i) for i in range(3)])
    page = await open_page(browser, srv, WALL, size=(390, 844), lang="en", query="&site=gd-hotline")
    await page.wait_for_selector("#alertlist .alert", timeout=10_000)
    hidden = await page.evaluate("""() => [...document.querySelectorAll('#alertlist .alert')].filter(c => {
        const r = c.getBoundingClientRect(), box = document.querySelector('#alertlist').getBoundingClientRect();
        return c.hidden || r.bottom > box.bottom + 1 || r.height < 20; }).length""")
    assert hidden == 0
    assert await page.evaluate("document.querySelectorAll('#alertlist .alert').length") >= 3
    await page.context.close()


async def test_an_alerts_text_follows_the_live_figure(world, browser):
    floor, sink, srv, clock = world
    a = {**alert_rec("gd-hotline", "english", "longest_wait", "major", clock, n=40),
         "message": {"en": "old words", "zh-CN": "旧的话"}}
    await sink.publish_alerts([a])
    page = await open_page(browser, srv, WALL, lang="en", query="&site=gd-hotline")
    card = f"#alertlist .alert[data-id='{a['id']}']"
    await page.wait_for_selector(card, state="attached", timeout=10_000)
    text = await page.eval_on_selector(card, "e => e.textContent")
    assert "old words" not in text and "English service: longest wait" in text and "(alerts above 5:00; target" in text
    # A call waits in that queue and the floor's clock moves 95 s: the card says so, with the tile.
    now = floor.snapshot("gd-hotline")["clock"]
    floor.apply(E.CallOffered(id="live-1", ts=now + 1000, site="gd-hotline", call="live-call-1", queue="english"))
    floor.apply(E.CallOffered(id="live-2", ts=now + 96_000, site="gd-hotline", call="live-call-2", queue="general"))
    await publish(floor, sink, ["gd-hotline"])
    await page.wait_for_function(f"document.querySelector(\"{card}\").textContent.includes('longest wait 1:35')", timeout=5000)
    await page.context.close()
