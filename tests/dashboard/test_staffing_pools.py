"""/staffing for a site whose queues are staffed as pools, served by the real dashboard, in headless Chromium.

gd-hotline's general, billing and broadband queues are one pool ("phones"): the same agents answer
them. A queue of the pool shows the pool's agents needed and scheduled and the pool's suggested roster
(its shifts listing the three queues), labelled with the pool's name and queues in both languages;
its forecast against actual stays its own, with the pool's total beside it. The exports say the
same. A roster may name the pool.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import date, timedelta

import httpx
import pytest

from dashboard.auth import Principal
from stream.contracts.floor_config import load_config
from tests.dashboard.test_staffing_page import ARGS, CHROMIUM  # the browser of the staffing page's test
from tests.dashboard_helpers import ServerThread, busy_days_file, redis_server  # noqa: F401 - fixture

FIRST = date(2026, 11, 2)
LAST = FIRST + timedelta(days=7)
ANALYST = "ana-pool-7c2e"
POOL = ["general", "billing", "broadband"]

pytestmark = pytest.mark.integration


def pooled_config():
    cfg = load_config()
    cfg.sites["gd-hotline"].pools = {"phones": list(POOL)}
    return cfg


@pytest.fixture(scope="module")
def planning_log(tmp_path_factory):
    return busy_days_file(tmp_path_factory.mktemp("staffing-pools") / "days.jsonl", FIRST, 8, calls=600, seed=300)


def serve(redis_server, planning_log, monkeypatch, prefix, roster=None):
    monkeypatch.setenv("FLOORWATCH_PLANNING_LOG", str(planning_log))
    if roster:
        monkeypatch.setenv("FLOORWATCH_ROSTER", str(roster))
    else:
        monkeypatch.delenv("FLOORWATCH_ROSTER", raising=False)
    srv = ServerThread(redis_server.url, prefix, config=pooled_config())
    srv.app.state.tokens[ANALYST] = Principal(role="analyst", name="ana")
    return srv.start()


@pytest.fixture
def server(redis_server, planning_log, monkeypatch):
    srv = serve(redis_server, planning_log, monkeypatch, "fwpool:")
    yield srv
    srv.stop()


AUTH = {"Authorization": f"Bearer {ANALYST}"}


def board(srv, queue: str, **more) -> dict:
    q = {"site": "gd-hotline", "queue": queue, "from": LAST.isoformat(), "days": 1, **more}
    r = httpx.get(f"{srv.base}/api/staffing", params=q, headers=AUTH, timeout=180)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_pools_queues_share_its_need_roster_and_exports(server):
    qs = {q["queue"]: q for q in httpx.get(f"{server.base}/api/staffing/queues", headers=AUTH, timeout=180).json()["queues"]
          if q["site"] == "gd-hotline"}
    assert qs["billing"]["pool"] == "phones" and qs["billing"]["pool_queues"] == POOL and qs["vip"]["pool"] is None
    gen, bil, vip = board(server, "general"), board(server, "billing"), board(server, "vip")
    assert gen["pool"] == bil["pool"] == {"name": "phones", "queues": POOL} and vip["pool"] is None
    # One group of agents: the same need, schedule and shifts from any of its queues; each its own forecast.
    for key in ("agents", "scheduled", "pool_offered", "pool_actual_offered"):
        assert [r[key] for r in gen["intervals"]] == [r[key] for r in bil["intervals"]], key
    assert [r["offered"] for r in gen["intervals"]] != [r["offered"] for r in bil["intervals"]]
    assert gen["shifts"] == bil["shifts"] and all(s["queue"] == "phones" and s["pool_queues"] == POOL for s in gen["shifts"])
    assert all(r["scheduled"] >= r["agents"] for r in gen["intervals"]) and gen["needed_hours"] == bil["needed_hours"]
    # The pool's total: more than the queue's alone, about the three queues' actuals.
    assert sum(r["pool_offered"] for r in gen["intervals"]) > 1.2 * sum(r["offered"] for r in gen["intervals"])
    assert sum(r["pool_actual_offered"] for r in gen["intervals"]) > sum(r["actual_offered"] for r in gen["intervals"])
    assert "pool_offered" not in vip["intervals"][0] and not any("pool_queues" in s for s in vip["shifts"])
    # Exports: the CSV keeps the API's keys, with the pool's total columns; the XLSX's header names the pool and its
    # queues; the shifts list them.
    from openpyxl import load_workbook

    q = {"site": "gd-hotline", "queue": "general", "from": LAST.isoformat(), "days": 1}
    got = httpx.get(f"{server.base}/api/staffing/export", params={**q, "table": "intervals", "format": "csv"}, headers=AUTH, timeout=180)
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert "pool_offered" in rows[0] and "pool_actual_offered" in rows[0] and "pool-phones" in got.headers["content-disposition"]
    need = rows[0].index("agents")
    assert sum(int(r[need]) for r in rows[1:]) == sum(r["agents"] for r in gen["intervals"]) > 0
    xl = httpx.get(f"{server.base}/api/staffing/export", params={**q, "table": "intervals", "format": "xlsx"}, headers=AUTH, timeout=180)
    ws = load_workbook(io.BytesIO(xl.content)).active
    head = [c.value for c in ws[1]]
    assert "Needed, pool phones (general, billing, broadband) / 需要人数（坐席组 phones：general, billing, broadband）" in head
    assert "Pool forecast offered / 坐席组预测进线" in head
    sh = httpx.get(f"{server.base}/api/staffing/export", params={**q, "table": "shifts", "format": "xlsx"}, headers=AUTH, timeout=180)
    ws = load_workbook(io.BytesIO(sh.content)).active
    col = [c.value for c in ws[1]].index("Queues (one pool) / 队列（同一坐席组）")
    assert {r[col].value for r in ws.iter_rows(min_row=2)} == {"general; billing; broadband"}
    plain = httpx.get(f"{server.base}/api/staffing/export", params={**q, "queue": "vip", "table": "intervals", "format": "xlsx"},
                      headers=AUTH, timeout=180)
    head = [c.value for c in load_workbook(io.BytesIO(plain.content)).active[1]]
    assert "Needed / 需要人数" in head and not any("ool" in h for h in head)


def test_a_roster_naming_the_pool(redis_server, planning_log, monkeypatch, tmp_path):
    """ann takes general and billing, bob names the pool, cat the VIP line: at 10:00 the pool has two people
    (ann once), vip one."""
    roster = tmp_path / "roster.csv"
    roster.write_text("person,site,queues,start,end,breaks\n"
                      f"ann,gd-hotline,general;billing,{LAST}T09:00+08:00,{LAST}T17:00+08:00,\n"
                      f"bob,gd-hotline,phones,{LAST}T09:00+08:00,{LAST}T13:00+08:00,\n"
                      f"cat,gd-hotline,vip,{LAST}T09:00+08:00,{LAST}T17:00+08:00,\n", encoding="utf-8")
    srv = serve(redis_server, planning_log, monkeypatch, "fwpool2:", roster)
    try:
        at = {r["start"][11:16]: r for r in board(srv, "broadband")["intervals"]}
        assert at["10:00"]["scheduled"] == 2 and at["14:00"]["scheduled"] == 1 and at["20:00"]["scheduled"] == 0
        assert {r["start"][11:16]: r for r in board(srv, "vip")["intervals"]}["10:00"]["scheduled"] == 1
    finally:
        srv.stop()
    roster.write_text("person,site,queues,start,end\n"
                      f"dan,gd-hotline,fones,{LAST}T09:00+08:00,{LAST}T17:00+08:00\n", encoding="utf-8")
    srv = serve(redis_server, planning_log, monkeypatch, "fwpool3:", roster)
    try:
        r = httpx.get(f"{srv.base}/api/staffing/queues", headers=AUTH, timeout=180)
        assert r.status_code == 503 and r.json()["detail"].endswith(
            f"{roster}: row 2: dan: 'fones' is neither a queue nor a pool of site gd-hotline"), r.text
    finally:
        srv.stop()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")
@pytest.mark.parametrize("width,height", [(1920, 1080), (390, 844)])
async def test_the_page_says_the_pool_in_both_languages(server, tmp_path, width, height):
    playwright = pytest.importorskip("playwright.async_api")
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = await (await browser.new_context(viewport={"width": width, "height": height})).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{server.base}/staffing?token={ANALYST}&lang=en&queue=gd-hotline|billing&from={LAST}&days=1")
        await page.wait_for_function("document.body.dataset.ready === '1'", timeout=180_000)
        note = page.locator("#pool-note")
        assert await note.is_visible()
        assert (await note.inner_text()).startswith("general · billing · broadband are answered by the same agents and "
                                                     "staffed as one group, pool phones:")
        for chip in ("#need-pool", "#roster-pool"):
            assert await page.locator(chip).is_visible() and await page.locator(chip).inner_text() == "Pool phones · general · billing · broadband"
        assert await page.locator("#queue optgroup").evaluate_all("gs => gs.map(g => g.label)") == ["Pool phones: general · billing · broadband"]
        assert await page.locator("#queue optgroup option").count() == 3
        assert "Pool phones in total: forecast" in await page.locator("#fc-summary").inner_text()
        assert await page.locator("#fc-queue").inner_text() == "billing only"
        head = await page.locator("#sh-table tr").first.inner_text()
        assert "Queues" in head and "general · billing · broadband" in await page.locator("#sh-table tr").nth(1).inner_text()
        await page.locator("#int-details").evaluate("d => d.open = true")
        assert "Needed (pool)" in await page.locator("#int-table tr").first.inner_text()
        await page.wait_for_timeout(1500)  # the charts' drawing animation
        await page.screenshot(path=str(tmp_path / f"pool-en-{width}.png"), full_page=False)
        await page.screenshot(path=str(tmp_path / f"pool-en-{width}-full.png"), full_page=True)
        await page.click("#lang")
        assert (await note.inner_text()).startswith("general · billing · broadband 由同一批坐席接听，合并为一个坐席组 phones 排班")
        assert await page.locator("#need-pool").inner_text() == "坐席组 phones · general · billing · broadband"
        assert await page.locator("#fc-queue").inner_text() == "仅队列 billing"
        assert await page.locator("#queue optgroup").evaluate_all("gs => gs.map(g => g.label)") == ["坐席组 phones：general · billing · broadband"]
        assert "需要人数（坐席组）" in await page.locator("#int-table tr").first.inner_text()
        await page.wait_for_timeout(1500)
        # Nothing wider than the screen (the tables scroll inside their box), in the longer language too.
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        await page.screenshot(path=str(tmp_path / f"pool-zh-{width}.png"), full_page=False)
        await page.screenshot(path=str(tmp_path / f"pool-zh-{width}-full.png"), full_page=True)
        # A queue staffed alone: no pool note, no chips.
        await page.goto(f"{server.base}/staffing?token={ANALYST}&lang=en&queue=gd-hotline|vip&from={LAST}&days=1")
        await page.wait_for_function("document.body.dataset.ready === '1'", timeout=180_000)
        assert await note.is_hidden() and await page.locator("#need-pool").is_hidden() and await page.locator("#fc-queue").is_hidden()
        await browser.close()
        assert errors == []
