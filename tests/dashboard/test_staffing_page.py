"""/staffing in a real headless Chromium, served by the real dashboard over two weeks of busy days.

The history is a JSON-lines log of 15 simulated busy days (``simulators.busy_day``)
named by ``FLOORWATCH_PLANNING_LOG``, or the same days in a history database; the page forecasts the last day from the
14 before it, shows it against what happened, the agents needed against the
suggested roster, exports XLSX, and switches language. The API refuses
callers without a token (401) and the wall role (403), and serves analysts.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta

import httpx
import pytest

from dashboard.auth import Principal
from stream.contracts.floor_config import load_config
from tests.dashboard_helpers import SUP, WALL, ServerThread, busy_days_file, redis_server  # noqa: F401 - fixture

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
FIRST = date(2026, 11, 2)
LAST = FIRST + timedelta(days=14)
ANALYST = "ana-tok-3b1d"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def planning_log(tmp_path_factory):
    return busy_days_file(tmp_path_factory.mktemp("staffing") / "days.jsonl", FIRST, 15, calls=1500, seed=100)


@pytest.fixture
def server(redis_server, planning_log, monkeypatch):
    monkeypatch.setenv("FLOORWATCH_PLANNING_LOG", str(planning_log))
    monkeypatch.delenv("FLOORWATCH_ROSTER", raising=False)
    srv = ServerThread(redis_server.url, "fwstaff:", config=load_config())
    srv.app.state.tokens[ANALYST] = Principal(role="analyst", name="ana")
    srv.start()
    yield srv
    srv.stop()


def test_staffing_api_roles_and_shape(server):
    q = {"site": "gd-hotline", "queue": "general", "from": LAST.isoformat(), "days": 1}
    assert httpx.get(f"{server.base}/api/staffing", params=q).status_code == 401
    assert httpx.get(f"{server.base}/api/staffing", params=q, headers={"Authorization": f"Bearer {WALL}"}).status_code == 403
    r = httpx.get(f"{server.base}/api/staffing", params=q, headers={"Authorization": f"Bearer {ANALYST}"}, timeout=120)
    assert r.status_code == 200
    b = r.json()
    rows = b["intervals"]
    assert len(rows) == 96 and rows[0]["start"] == f"{LAST}T00:00:00+08:00"
    assert set(rows[0]) == {"start", "offered", "reforecast", "aht_s", "agents", "scheduled", "actual_offered", "actual_aht_s",
                            "replan", "day_ahead_agents"}
    assert b["replanned_at"] is None and b["effective_from"] is None and b["recovery"] is None  # not re-planned: no `at` that day
    assert all(r["replan"] is None and r["day_ahead_agents"] is None for r in rows)
    # The forecast of a day the log has, beside what happened: the same order of volume.
    fc = sum(r["offered"] for r in rows)
    act = sum(r["actual_offered"] for r in rows)
    assert 0.7 * act < fc < 1.3 * act
    # The suggested roster covers every interval's need.
    assert b["roster"] == "suggested" and b["shifts"]
    assert all(r["scheduled"] >= r["agents"] for r in rows)
    assert b["paid_hours"] >= b["needed_hours"] > 0
    # Planned against the forecast's error, learnt from the past days of its kind (the 7 from the second week).
    err = b["forecast_error"]
    assert err is not None and err["days"] >= 3 and 0 <= err["scale"] < 0.5  # simulated days: little beyond chance
    bad = httpx.get(f"{server.base}/api/staffing", params={**q, "from": "yesterday"}, headers={"Authorization": f"Bearer {SUP}"})
    assert bad.status_code == 400 and "from:" in bad.json()["detail"]
    missing = httpx.get(f"{server.base}/api/staffing", params={**q, "queue": "nope"}, headers={"Authorization": f"Bearer {SUP}"})
    assert missing.status_code == 404
    # The days the forecast learnt from: the 14 before LAST; before FIRST, none (a new floor).
    assert b["history_days"] == 14
    first = httpx.get(f"{server.base}/api/staffing", params={**q, "from": FIRST.isoformat()},
                      headers={"Authorization": f"Bearer {ANALYST}"}, timeout=120).json()
    assert first["history_days"] == 0 and sum(r["offered"] for r in first["intervals"]) == 0


def test_today_re_forecast_and_re_planned_from_its_actuals(server, planning_log):
    """``at`` a time of a day the history has: the rest of that day re-forecast from its intervals so far
    (only those: the same reforecast whatever came later) and re-planned; before it, the day-ahead plan."""
    auth = {"Authorization": f"Bearer {ANALYST}"}
    q = {"site": "gd-hotline", "queue": "general", "from": LAST.isoformat(), "days": 1}
    day = httpx.get(f"{server.base}/api/staffing", params=q, headers=auth, timeout=120).json()
    at = f"{LAST}T11:00:00+08:00"
    now = httpx.get(f"{server.base}/api/staffing", params={**q, "at": at}, headers=auth, timeout=120).json()
    assert day["replanned_at"] is None and all(r["reforecast"] is None for r in day["intervals"])
    assert now["replanned_at"] == at
    before = [r for r in now["intervals"] if r["start"] < at]
    after = [r for r in now["intervals"] if r["start"] >= at]
    assert len(before) == 44 and all(r["reforecast"] is None for r in before)
    assert all(r["reforecast"] is not None for r in after)
    old = {r["start"]: r for r in day["intervals"]}
    # The morning as planned, and the next hour too: a change decided at 11:00 acts from 12:00 (the lead time).
    acts = f"{LAST}T12:00:00+08:00"
    assert now["effective_from"] == acts
    assert [r["agents"] for r in now["intervals"] if r["start"] < acts] == [old[r["start"]]["agents"] for r in now["intervals"] if r["start"] < acts]
    # Each interval of the day says which: kept (the plan in force) before 12:00, re-planned from then; beside the
    # day-ahead plan it replaced.
    assert {r["replan"] for r in now["intervals"] if r["start"] < acts} == {"kept"}
    assert {r["replan"] for r in now["intervals"] if r["start"] >= acts} == {"replanned"}
    assert all(r["day_ahead_agents"] == old[r["start"]]["agents"] for r in now["intervals"])
    # The morning ran below target (the simulated floor, 63.6 % to 11:00, folded from the planning log: no live
    # figures in Redis here): the rest of the day aims above it, by what the day still needs.
    rec = now["recovery"]
    assert rec["source"] == "log" and rec["offered"] > 300 and rec["sl_pct"] < rec["target_pct"] == 80.0
    assert 0 < rec["margin_pts"] <= rec["up_to_pts"] == 10.0 and rec["aim_pct"] == pytest.approx(80.0 + rec["margin_pts"])
    assert sum(r["agents"] for r in now["intervals"] if r["start"] >= acts) > sum(old[r["start"]]["agents"] for r in now["intervals"] if r["start"] >= acts)
    # From then on as `floorwatch staffing --plan --uncertain --over day --from` that time plans it with that lead,
    # recovering the day (`--recover`: the log's own day so far).
    import subprocess
    import sys

    from tests.dashboard_helpers import ROOT

    cli = subprocess.run([sys.executable, "-m", "stream.cli.main", "staffing", "--plan", "--uncertain", "--over", "day",
                          "--replay", str(planning_log), "--format", "jsonl", "--from", at, "--lead", "60", "--recover",
                          "--days", "1", "--json"],
                         cwd=ROOT, check=True, capture_output=True, text=True)
    mine = [r for r in json.loads(cli.stdout)["intervals"] if r["site"] == "gd-hotline" and r["queue"] == "general"]
    acting = [r for r in after if r["start"] >= acts]
    assert [r["start"] for r in mine] == [r["start"] for r in acting] and len(acting) == len(after) - 4
    assert [r["offered"] for r in mine] == [r["reforecast"] for r in acting]
    assert [r["agents"] for r in mine] == [r["agents"] for r in acting]
    other = httpx.get(f"{server.base}/api/staffing", params={**q, "at": f"{LAST + timedelta(days=3)}T11:00:00+08:00"},
                      headers=auth, timeout=120).json()
    assert other["replanned_at"] is None  # not a day shown
    bad = httpx.get(f"{server.base}/api/staffing", params={**q, "at": "11:00"}, headers=auth)
    assert bad.status_code == 400 and "at:" in bad.json()["detail"]


def test_the_live_floors_day_so_far_drives_the_re_plan(redis_server, planning_log, monkeypatch):
    """With a worker's live figures in Redis (the day folded up to 11:00 and published as a worker does), the
    re-plan's day so far is the live floor's: its interval rows over by the re-plan, equal to the log's own
    figure (the same events); an earlier ``at`` reads only the intervals over by then."""
    import asyncio

    from stream.planning.actuals import read_log
    from stream.planning.so_far import of_log
    from tests.dashboard_helpers import populated, read_events

    monkeypatch.setenv("FLOORWATCH_PLANNING_LOG", str(planning_log))
    monkeypatch.delenv("FLOORWATCH_ROSTER", raising=False)
    at = f"{LAST}T11:00:00+08:00"
    cut = datetime.fromisoformat(at)
    evs = read_events(planning_log)
    asyncio.run(populated(redis_server.url, "fwstaff5:", evs, upto=sum(1 for e in evs if e.ts < int(cut.timestamp() * 1000))))
    log = read_log(planning_log, "jsonl", load_config())
    srv = ServerThread(redis_server.url, "fwstaff5:", config=load_config()).start()
    try:
        auth = {"Authorization": f"Bearer {SUP}"}
        q = {"site": "gd-hotline", "queue": "general", "from": LAST.isoformat(), "days": 1}
        for hh in ("11", "09"):
            when = f"{LAST}T{hh}:00:00+08:00"
            rec = httpx.get(f"{srv.base}/api/staffing", params={**q, "at": when}, headers=auth, timeout=120).json()["recovery"]
            n, sl = of_log(log, datetime.fromisoformat(when))["gd-hotline"]
            assert rec["source"] == "live" and rec["offered"] == n > 50 and rec["sl_pct"] == round(sl, 1), (hh, rec, n, sl)
    finally:
        srv.stop()


def test_from_the_history_database(redis_server, planning_log, tmp_path, monkeypatch):
    """The production source: the same days written to a history database by ``floorwatch replay --db``
    give the same actuals, forecast, patience (from the stored waits) and so the same Erlang A plan."""
    import subprocess
    import sys

    from tests.dashboard_helpers import ROOT

    db = f"sqlite:///{tmp_path / 'history.db'}"
    subprocess.run([sys.executable, "-m", "stream.cli.main", "replay", str(planning_log), "--format", "jsonl",
                    "--report", "json", "--db", db], cwd=ROOT, check=True, capture_output=True)
    monkeypatch.delenv("FLOORWATCH_PLANNING_LOG", raising=False)
    q = {"site": "gd-hotline", "queue": "general", "from": LAST.isoformat(), "days": 1}
    auth = {"Authorization": f"Bearer {SUP}"}
    srv = ServerThread(redis_server.url, "fwstaff3:", history_db=db, config=load_config()).start()
    try:
        stored = httpx.get(f"{srv.base}/api/staffing", params=q, headers=auth, timeout=120).json()  # reads the store now
        # A re-plan over the store, no live figures: the day so far from the store's interval rows over by then.
        at = f"{LAST}T11:00:00+08:00"
        stored_at = httpx.get(f"{srv.base}/api/staffing", params={**q, "at": at}, headers=auth, timeout=120).json()
    finally:
        srv.stop()
    monkeypatch.setenv("FLOORWATCH_PLANNING_LOG", str(planning_log))
    log_srv = ServerThread(redis_server.url, "fwstaff4:", config=load_config()).start()
    try:
        logged = httpx.get(f"{log_srv.base}/api/staffing", params=q, headers=auth, timeout=120).json()
        assert [r["actual_offered"] for r in stored["intervals"]] == [r["actual_offered"] for r in logged["intervals"]]
        assert [r["offered"] for r in stored["intervals"]] == pytest.approx([r["offered"] for r in logged["intervals"]], abs=0.01)
        assert logged["patience_s"] > 0 and stored["patience_s"] == pytest.approx(logged["patience_s"], rel=1e-9)
        assert [r["agents"] for r in stored["intervals"]] == [r["agents"] for r in logged["intervals"]]
        logged_at = httpx.get(f"{log_srv.base}/api/staffing", params={**q, "at": at}, headers=auth, timeout=120).json()
        assert stored_at["recovery"]["source"] == "history" and logged_at["recovery"]["source"] == "log"
        assert {k: v for k, v in stored_at["recovery"].items() if k != "source"} == {k: v for k, v in logged_at["recovery"].items() if k != "source"}
    finally:
        log_srv.stop()


def test_no_history_configured_says_so(redis_server, monkeypatch):
    monkeypatch.delenv("FLOORWATCH_PLANNING_LOG", raising=False)
    srv = ServerThread(redis_server.url, "fwstaff2:", config=load_config()).start()
    try:
        r = httpx.get(f"{srv.base}/api/staffing/queues", headers={"Authorization": f"Bearer {SUP}"})
        assert r.status_code == 503 and "--db" in r.json()["detail"] and "FLOORWATCH_PLANNING_LOG" in r.json()["detail"]
    finally:
        srv.stop()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")
async def test_staffing_page_in_a_browser(server, tmp_path):
    playwright = pytest.importorskip("playwright.async_api")
    from openpyxl import load_workbook

    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        ctx = await browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
        page = await ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        at = f"{LAST}T11:00:00+08:00"
        await page.goto(f"{server.base}/staffing?token={ANALYST}&lang=en&queue=gd-hotline|general&from={LAST}&days=1"
                        f"&at={at.replace('+', '%2B')}")
        await page.wait_for_function("document.body.dataset.ready === '1'", timeout=120_000)
        assert await page.locator("#title").inner_text() == "Staffing"
        charts = await page.evaluate("typeof echarts !== 'undefined'")
        assert await page.locator("#no-charts").is_hidden() == charts
        summary = await page.locator("#fc-summary").inner_text()
        assert "Forecast" in summary and "actual" in summary and "WAPE" in summary and "(learnt from 14 past days)" in summary
        # Today's actuals so far reshape the rest of it; the sentence says when, and from when it acts (the lead).
        assert "Re-forecast and re-planned at 11:00" in summary, summary
        assert "changes take effect from 12:00 (the intervals before stay as planned)" in summary, summary
        # The morning below target (63.6 % to 11:00 on this simulated day): the rest of the day aims above it.
        rec = await page.locator("#recovery").inner_text()
        assert rec.startswith("Service level today up to 11:00: 63.6% (365 contacts, planning log), below the 80% target: "
                              "the rest of the day aims at 86.4% (+6.4 points) to make up the day."), rec
        need = await page.locator("#need-summary").inner_text()
        assert "agent-hours" in need
        # Planned against its error spread: "±N %" where the past forecasts missed by more than chance, else said so
        # (not "±0 %", which reads as a perfect forecast).
        assert ("against the forecast's error (typically ±" in need) != ("no more than chance" in need), need
        assert "±0%" not in need
        assert await page.locator("#sh-table tr").count() > 1  # the suggested shifts
        # A re-plan opens the interval table: the intervals it could not reach apart from those it re-planned, with
        # a legend and the day-ahead plan beside.
        assert await page.locator("#int-details").evaluate("d => d.open")
        assert await page.locator("#int-table tr").count() > 40  # the open hours' intervals
        legend = await page.locator("#replan-legend").inner_text()
        assert "As planned: before 12:00" in legend and "Re-planned: from 12:00" in legend, legend
        kept, moved = page.locator("#int-table tr.kept"), page.locator("#int-table tr.replanned")
        assert await kept.count() >= 4 and await moved.count() > 20
        assert await kept.last.locator("td").first.inner_text() == "11-16 11:45"
        assert await moved.first.locator("td").first.inner_text() == "11-16 12:00"
        bg = [await x.locator("td").nth(1).evaluate("c => getComputedStyle(c).backgroundColor") for x in (kept.first, moved.first)]
        assert bg[0] != bg[1] and "rgba(0, 0, 0, 0)" not in bg, bg
        assert "Day-ahead plan" in await page.locator("#int-table tr").first.inner_text()
        await page.set_viewport_size({"width": 1920, "height": 1080})
        await page.screenshot(path=str(tmp_path / "staffing-1920.png"), full_page=False)

        # The XLSX of the intervals: its figures are the API's.
        async with page.expect_download() as dl:
            await page.click("#int-xlsx")
        path = tmp_path / "intervals.xlsx"
        await (await dl.value).save_as(path)
        ws = load_workbook(path).active
        xl = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
        api = httpx.get(f"{server.base}/api/staffing", params={"site": "gd-hotline", "queue": "general", "from": LAST.isoformat(),
                                                               "days": 1, "shrinkage": 0, "at": at},
                        headers={"Authorization": f"Bearer {SUP}"}).json()["intervals"]
        assert len(xl) == len(api)
        head = [c.value for c in ws[1]]
        assert head[0].startswith("Start") and "开始" in head[0]
        need_col = next(i for i, h in enumerate(head) if h.startswith("Needed"))
        assert sum(r[need_col] for r in xl) == sum(r["agents"] for r in api) > 0

        # The language switch.
        await page.click("#lang")
        assert await page.locator("#title").inner_text() == "智能排班"
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        assert "预测" in await page.locator("#fc-summary").inner_text()
        assert "预测误差" in await page.locator("#need-summary").inner_text()
        assert "重新预测" in await page.locator("#fc-summary").inner_text()
        assert "上班" in await page.locator("#sh-table").inner_text()
        zh = await page.locator("#fc-summary").inner_text()
        assert "已于 11:00 按今日实际进线重新预测并重新排班，调整自 12:00 起生效（此前时段维持原计划）" in zh, zh
        rec = await page.locator("#recovery").inner_text()
        assert rec.startswith("今日截至 11:00 服务水平 63.6%（365 通，来自排班日志），低于目标 80%：余下时段目标 86.4%（+6.4 个百分点）以补足全天"), rec
        assert "维持原计划：12:00 之前" in await page.locator("#replan-legend").inner_text()
        await page.screenshot(path=str(tmp_path / "staffing.png"), full_page=True)
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.wait_for_timeout(300)
        await page.screenshot(path=str(tmp_path / "staffing-390.png"), full_page=False)
        await page.locator("#recovery").scroll_into_view_if_needed()
        await page.screenshot(path=str(tmp_path / "staffing-390-recovery.png"), full_page=False)
        # A new floor's first day: nothing to learn from, said so, not "forecast 0, error 100 %".
        new = await ctx.new_page()
        for lang, says in (("en", f"No whole day of this queue before {FIRST} to learn from yet"), ("zh", f"{FIRST} 之前该队列尚无完整的一天可供学习")):
            await new.goto(f"{server.base}/staffing?token={ANALYST}&lang={lang}&queue=gd-hotline|general&from={FIRST}&days=1")
            await new.wait_for_function("document.body.dataset.ready === '1'", timeout=120_000)
            first_day = await new.locator("#fc-summary").inner_text()
            assert says in first_day and "WAPE" not in first_day, first_day
            assert "Erlang" not in await new.locator("#need-summary").inner_text()
        await new.close()
        # A page whose token is wrong gets nothing: the API says 401 and the page shows the refusal.
        bad = await ctx.new_page()
        await bad.goto(f"{server.base}/staffing?token=not-a-token&lang=en")
        await bad.wait_for_selector("#error:not([hidden])", timeout=30_000)
        assert "token" in await bad.locator("#error").inner_text()
        assert await bad.locator("#fc-summary").inner_text() == ""
        assert httpx.get(f"{server.base}/api/staffing/queues", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
        if os.environ.get("FLOORWATCH_STAFFING_SCREENSHOT"):
            await page.screenshot(path=str(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "staffing.png")), full_page=True)
        await browser.close()
        assert errors == []
