"""/reports in a real headless Chromium, over a history database filled by ``floorwatch replay --db``.

Two busy days a week apart (so "today against last week" has both), the page
served by the real dashboard: a drill-down by a click on the chart and on
table rows (month → day → hour → queue with its agents), the language switch,
and an XLSX export opened with openpyxl whose totals match the API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from stream.contracts.floor_config import load_config
from tests.dashboard_helpers import ADMIN, ROOT, SUP, WALL, ServerThread, redis_server  # noqa: F401 - fixture

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
DAY, WEEK_BEFORE = "2026-11-23", "2026-11-16"

pytestmark = pytest.mark.integration


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "stream.cli.main", *args], cwd=ROOT, check=True, capture_output=True)


@pytest.fixture(scope="module")
def history_db(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("reports")
    db = f"sqlite:///{d / 'history.db'}"
    for i, day in enumerate((WEEK_BEFORE, DAY)):
        f = d / f"{day}.jsonl"
        _cli("simulate", "--scenario", "busy-day", "--calls", "2000", "--seed", str(i + 1), "--date", day, "--out", str(f))
        _cli("replay", str(f), "--format", "jsonl", "--report", "json", "--db", db)
    return db


def test_history_api_roles_and_shape(redis_server, history_db):
    srv = ServerThread(redis_server.url, "fwrep:", history_db=history_db, config=load_config()).start()
    try:
        q = {"site": "gd-hotline", "from": DAY, "to": DAY, "step": "1h", "queue": "*"}
        assert httpx.get(f"{srv.base}/api/history", params=q).status_code == 401
        assert httpx.get(f"{srv.base}/api/history", params=q, headers={"Authorization": f"Bearer {WALL}"}).status_code == 403
        r = httpx.get(f"{srv.base}/api/history", params=q, headers={"Authorization": f"Bearer {SUP}"})
        rows = r.json()["rows"]
        assert rows and set(rows[0]) == {"site", "queue", "start", "offered", "answered", "abandoned", "short_abandoned",
                                         "asa_s", "aht_s", "sl_pct", "abandon_pct", "max_wait_s"}
        assert rows[0]["start"].startswith(DAY) and rows[0]["start"].endswith("+08:00")
        # The same JSON as the CLI prints.
        out = subprocess.run([sys.executable, "-m", "stream.cli.main", "history", "--db", history_db, "--site", "gd-hotline",
                              "--queue", "*", "--from", DAY, "--to", DAY, "--step", "1h", "--json"],
                             cwd=ROOT, check=True, capture_output=True).stdout
        assert r.json() == json.loads(out)
        bad = httpx.get(f"{srv.base}/api/history", params={**q, "step": "5m"}, headers={"Authorization": f"Bearer {SUP}"})
        assert bad.status_code == 400 and "--step must be one of" in bad.json()["detail"]
        ag = httpx.get(f"{srv.base}/api/history/agents", params={"site": "gd-hotline", "from": DAY, "to": DAY},
                       headers={"Authorization": f"Bearer {SUP}"}).json()["rows"]
        total = ag[-1]
        assert total["agent"] == "*" and total["handled"] == sum(a["handled"] for a in ag[:-1]) > 0
        assert total["occupancy_pct"] is not None and any(a["not_ready_s"] for a in ag[:-1])
        assert total["aht_by_queue_s"] and all(a["team"] for a in ag[:-1])
        # By team: every agent in one team (unassigned for those config/teams.yaml does not list),
        # the teams adding up to the site.
        tm = httpx.get(f"{srv.base}/api/history/agents", params={"site": "gd-hotline", "from": DAY, "to": DAY, "by": "team"},
                       headers={"Authorization": f"Bearer {SUP}"}).json()
        assert {"unassigned", "general-a"} <= {r["team"] for r in tm["rows"]} and tm["teams"]["unassigned"]["zh"] == "未分组"
        assert sum(r["handled"] for r in tm["rows"][:-1]) == tm["rows"][-1]["handled"] == total["handled"]
        one = httpx.get(f"{srv.base}/api/history/agents", params={"site": "gd-hotline", "from": DAY, "to": DAY, "team": "general-a"},
                        headers={"Authorization": f"Bearer {SUP}"}).json()["rows"]
        assert one[-1]["handled"] == next(r for r in tm["rows"] if r["team"] == "general-a")["handled"]
        assert {r["agent"] for r in one[:-1]} <= {"10001", "10002", "10003", "10004", "10005", "10006", "10007", "10008"}
        bad = httpx.get(f"{srv.base}/api/history/agents", params={"site": "gd-hotline", "from": DAY, "to": DAY, "team": "nope"},
                        headers={"Authorization": f"Bearer {SUP}"})
        assert bad.status_code == 400 and "no team 'nope'" in bad.json()["detail"]
        # The workers' history counters (as the sink writes them to Redis) on /metrics.
        import redis

        r = redis.Redis.from_url(redis_server.url)
        r.hset("fwrep:history:writers", "host-1", json.dumps({"rows_written": 12, "rows_queued": 5, "rows_dropped": 0,
                                                             "write_errors": 2, "db_up": False}))
        m = httpx.get(f"{srv.base}/metrics", headers={"Authorization": f"Bearer {ADMIN}"}).text
        assert 'floorwatch_history_rows_queued{worker="host-1"} 5' in m
        assert 'floorwatch_history_write_errors_total{worker="host-1"} 2' in m
        assert 'floorwatch_history_db_up{worker="host-1"} 0' in m
    finally:
        srv.stop()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")
async def test_reports_page_in_a_browser(redis_server, history_db, tmp_path):
    playwright = pytest.importorskip("playwright.async_api")
    from openpyxl import load_workbook

    srv = ServerThread(redis_server.url, "fwrep:", history_db=history_db, config=load_config()).start()
    try:
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            ctx = await browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
            page = await ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"{srv.base}/reports?token={SUP}&lang=en&period=month&site=gd-hotline&date={DAY}")
            await page.wait_for_function("document.body.dataset.ready && document.body.dataset.ready.startsWith('month:')")
            assert await page.locator("#title").inner_text() == "Floor reports"
            charts = await page.evaluate("typeof echarts !== 'undefined'")
            assert await page.locator("#no-charts").is_hidden() == charts
            # The month: one row per day with history (the two busy days).
            assert await page.locator("#flow-table tr.drill").count() == 2

            # Drill-down by a click on the chart's bar of DAY (the second day), else on its row.
            if charts:
                x, y = await page.evaluate(
                    "(() => { const c = window.fwCharts['flow-chart']; const r = document.getElementById('flow-chart').getBoundingClientRect();"
                    " const [px, py] = c.convertToPixel({seriesIndex: 0}, [1, 5]); return [r.left + px - 8, r.top + py]; })()")
                await page.mouse.click(x, y)
            else:
                await page.locator("#flow-table tr.drill").nth(1).click()
            await page.wait_for_function(f"document.body.dataset.ready === 'day:{DAY}:::en'")
            hours = await page.locator("#flow-table tr.drill").count()
            assert hours >= 10
            if os.environ.get("FLOORWATCH_REPORTS_SCREENSHOT"):
                await page.screenshot(path=str(ROOT / "docs" / "reports.png"))
            # Today against the same weekday last week: both days' figures.
            assert await page.locator("#compare-section").is_visible()
            cmp_rows = await page.locator("#compare-table tr").all_inner_texts()
            assert any(r.split("\t")[1] != "—" and r.split("\t")[2] != "—" for r in cmp_rows[1:])

            # The XLSX of the day's hours: its totals are the API's.
            async with page.expect_download() as dl:
                await page.click("#flow-xlsx")
            path = tmp_path / "flow.xlsx"
            await (await dl.value).save_as(path)
            ws = load_workbook(path).active
            head = [c.value for c in ws[1]]
            xl = [dict(zip(head, [c.value for c in row])) for row in ws.iter_rows(min_row=2)]
            api = httpx.get(f"{srv.base}/api/history", params={"site": "gd-hotline", "from": DAY, "to": DAY, "step": "1h", "queue": "*"},
                            headers={"Authorization": f"Bearer {SUP}"}).json()["rows"]
            for k in ("offered", "answered", "abandoned"):
                assert sum(r[k] for r in xl) == sum(r[k] for r in api) > 0
            assert [r["start"] for r in xl] == [r["start"] for r in api]

            # Hour → queues of that hour → one queue (and the day's agents).
            await page.locator("#flow-table tr.drill").nth(3).click()
            await page.wait_for_function("document.body.dataset.ready.startsWith('hour:')")
            queues = await page.locator("#flow-table tr.drill").count()
            assert queues >= 2
            await page.locator("#flow-table tr.drill").first.click()
            await page.wait_for_function("document.body.dataset.ready.startsWith('queue:')")
            assert await page.locator("#flow-table tr.drill").count() == 1
            assert await page.locator("#agents-table tr").count() > 3

            # The language switch.
            await page.click("#lang")
            await page.wait_for_function("document.body.dataset.ready.endsWith(':zh')")
            assert await page.locator("#title").inner_text() == "楼面报表"
            assert await page.evaluate("document.documentElement.lang") == "zh-CN"
            assert "进线" in await page.locator("#flow-table").inner_text()
            # Teams of the hour (config/teams.yaml): a click on a team keeps its agents; their total is the team's.
            team_rows = await page.locator("#teams-table tr.drill").all_inner_texts()
            assert len(team_rows) >= 3 and "合计" in team_rows[-1]
            team_label, team_handled = team_rows[0].split("\t")[0], int(team_rows[0].split("\t")[1])
            await page.locator("#teams-table tr.drill").first.click()
            await page.wait_for_function("document.body.dataset.ready.includes(':team=')")
            members = await page.locator("#agents-table tr").all_inner_texts()
            assert all(r.split("\t")[1] == team_label for r in members[1:-1]) and len(members) > 2
            assert int(members[-1].split("\t")[2]) == team_handled
            # Queue → an agent: that agent's hours of the day (agent rows per 15-minute interval), in Chinese now.
            first_agent = page.locator("#agents-table tr.drill").first
            label = (await first_agent.locator("td").first.inner_text()).strip()
            await first_agent.click()
            await page.wait_for_function("document.body.dataset.ready.startsWith('agent:')")
            assert await page.locator("#flow-section").is_hidden() and await page.locator("#teams-section").is_hidden()
            hours = await page.locator("#agents-table tr").all_inner_texts()
            assert len(hours) > 3 and all(len(h.split("\t")[0]) == 5 and h.split("\t")[0][2] == ":" for h in hours[1:])
            assert label in await page.locator("#agents-title").inner_text()
            assert label in await page.locator("#crumbs").inner_text()
            api = httpx.get(f"{srv.base}/api/history/agents", headers={"Authorization": f"Bearer {SUP}"},
                            params={"site": "gd-hotline", "from": DAY, "to": DAY}).json()["rows"]
            mine = next(r for r in api if r["label"] == label)
            assert sum(int(h.split("\t")[1]) for h in hours[1:]) == mine["handled"] > 0
            # The month crumb → an agent of the month: that agent's days (both busy days).
            await page.locator("#crumbs a").first.click()
            await page.wait_for_function("document.body.dataset.ready.startsWith('month:')")
            await page.locator("#agents-table tr.drill").first.click()
            await page.wait_for_function("document.body.dataset.ready.startsWith('agent:')")
            days = await page.locator("#agents-table tr").all_inner_texts()
            assert [d.split("\t")[0] for d in days[1:]] == [WEEK_BEFORE, DAY]
            await page.screenshot(path=str(tmp_path / "reports.png"), full_page=True)
            assert errors == []
            await browser.close()
    finally:
        srv.stop()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")
async def test_a_failed_request_says_what_to_do_in_the_pages_language(redis_server, history_db):
    # A reply with no reason of its own (an intranet proxy's error page, a server error) showed a bare "500".
    # The server is real; the proxy in front of it is played by the browser's request routing.
    playwright = pytest.importorskip("playwright.async_api")
    srv = ServerThread(redis_server.url, "fwrep2:", history_db=history_db, config=load_config()).start()
    try:
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = await browser.new_page()
            await page.route("**/api/history?**", lambda route: route.fulfill(status=502, body="<html>Bad Gateway</html>",
                                                                             content_type="text/html"))
            for lang, words in (("en", "The server could not answer (502)"), ("zh", "服务器未能给出数据（502）")):
                await page.goto(f"{srv.base}/reports?token={SUP}&lang={lang}&period=day&site=gd-hotline&date={DAY}")
                await page.wait_for_function("document.body.dataset.ready === 'error'")
                shown = await page.locator("#error").inner_text()
                assert words in shown and shown != "502", shown
            # The API's own reason is shown as it is: a wrong token.
            await page.unroute("**/api/history?**")
            await page.goto(f"{srv.base}/reports?token=wrong&lang=en&period=day&site=gd-hotline&date={DAY}")
            await page.wait_for_function("document.body.dataset.ready === 'error'")
            assert await page.locator("#error").inner_text() == "a valid token is required"
            await browser.close()
    finally:
        srv.stop()
