"""An anomaly alert on the wall, as the alert engine raises it: how far from the usual, for which slot, since when.

The alert is the engine's own (a week of ordinary arrivals, then three
times the usual from 10:00 local), published through RedisSink as the worker
publishes it; the wall in a real headless Chromium shows its explanation in
Chinese and in English.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from stream.alerts.config import AlertsConfig
from stream.alerts.engine import AlertEngine
from tests.dashboard_helpers import day, redis_server  # noqa: F401 - fixtures
from tests.dashboard_helpers import WALL, ServerThread, populated

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
PREFIX = "fwanom:"
TZ = "Asia/Shanghai"
WED = 1_700_006_400 - 8 * 3600  # a Wednesday, 00:00 in Shanghai

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]


def _rate(t_ms: int) -> float:
    h = ((t_ms // 1000 - WED) // 3600) % 24
    return 8.0 if 9 <= h < 18 else (3.0 if 7 <= h < 21 else 0.3)


def _snap(offered: int) -> dict:
    empty = {"offered": 0, "short_abandoned": 0, "abandoned": 0, "handled": 0, "aht_s": None, "sl_pct": None, "abandon_pct": None}
    q = {"name": {"en": "General enquiries", "zh": "综合咨询"},
         "waiting": 0, "longest_wait_s": 0.0, "vip_waiting": 0, "longest_vip_wait_s": 0.0,
         "agents": {"ready": 1, "busy": 0, "wrap_up": 0, "not_ready": 0, "logged_in": 1, "not_ready_reasons": {}},
         "sliding": {"5m": {**empty, "offered": offered}, "15m": dict(empty), "60m": dict(empty)}}
    return {"kind": "hotline", "timezone": TZ, "queues": {"general": q}, "agents": {}}


def surge_alert() -> dict:
    """The engine's arrival-surge alert for the general queue of gd-hotline, the surge from 10:00 local."""
    eng = AlertEngine(AlertsConfig.from_dict({"defaults": {"anomaly": {"arrival_surge": {"warmup_buckets": 864}}}}))
    rng = np.random.default_rng(7)
    t0 = WED * 1000
    for i in range(1, 288 * 7 + 1):
        now = t0 + i * 300_000
        assert not [c for c in eng.evaluate("gd-hotline", now, _snap(int(rng.poisson(_rate(now - 300_000))))) if c["change"] == "raised"]
    start = t0 + (288 * 7 + 10 * 12) * 300_000
    for i in range(1, 7):
        now = start + i * 300_000
        raised = [c for c in eng.evaluate("gd-hotline", now, _snap(int(rng.poisson(3 * _rate(now - 300_000))))) if c["change"] == "raised"]
        if raised:
            assert raised[0]["onset_ms"] == start
            return raised[0]
    raise AssertionError("the engine raised no surge")


async def test_the_wall_shows_an_anomalys_explanation(redis_server, day, tmp_path):
    playwright = pytest.importorskip("playwright.async_api")
    a = surge_alert()
    _, sink = await populated(redis_server.url, PREFIX, day, len(day) // 2)
    await sink.publish_alerts([a])
    srv = ServerThread(redis_server.url, PREFIX).start()
    try:
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = await (await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")).new_page()
            await page.goto(f"{srv.base}/?token={WALL}")
            await page.click("#sites button[data-site='gd-hotline']", timeout=10_000)
            card = page.locator(f"#alertlist .alert[data-id='{a['id']}']")
            await card.wait_for(timeout=5000)
            ratio = f"{a['value'] / a['expected']:.1f}"
            zh = (await card.inner_text()).strip()
            # How far from the usual, for which slot, since when (local time at the site), the figures.
            assert f"自 10:00 起来话为周三 10:00 通常水平的 {ratio} 倍" in zh, zh
            assert f"5分钟 {a['value']:.0f} 个，预期 {a['expected']:.1f} 个" in zh, zh
            shot = Path(os.environ.get("FLOORWATCH_WALL_SCREENSHOT") or tmp_path) / "wall-anomaly.png"
            await page.screenshot(path=str(shot))
            await page.click("#lang")
            await page.wait_for_function("document.documentElement.lang === 'en'", timeout=2000)
            en = (await card.inner_text()).strip()
            assert f"arrivals {ratio}× the usual for Wed 10:00 since 10:00 - {a['value']:.0f} in 5 min vs {a['expected']:.1f} expected" in en, en
            await browser.close()
    finally:
        srv.stop()
