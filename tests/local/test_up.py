"""``floorwatch up``: one command brings a live floor on embedded servers; Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from stream.local import embedded

ROOT = Path(__file__).resolve().parents[2]

try:
    embedded.find_tansu()
    embedded.find_redis_server()
    HAVE_SERVERS = True
except embedded.BinaryNotFound:  # pragma: no cover - depends on the machine
    HAVE_SERVERS = False


CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def wall_in_browser(url: str) -> None:
    """The printed URL opens a live wall: a tile shows up and the worker's changes keep arriving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
            page.goto(url)
            page.wait_for_selector("[data-site-tile='gd-hotline'], [data-queue]", timeout=15_000)
            # Changes from the worker keep arriving: the page's latest seq for the site grows
            # (the text alone would change anyway, timers tick in the page).
            seq = "window.__fw.seq['gd-hotline'] || 0"
            page.wait_for_function(f"{seq} > 0", timeout=15_000)
            first = page.evaluate(seq)
            page.wait_for_function(f"{seq} > {first}", timeout=15_000)
        finally:
            browser.close()


def _cmdlines() -> list[str]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                pass
    return out


@pytest.mark.skipif(not HAVE_SERVERS, reason="needs the embedded Tansu and redis-server binaries")
def test_up_runs_a_live_floor_and_ctrl_c_stops_everything(tmp_path):
    kport, rport, hport = embedded.free_port(), embedded.free_port(), embedded.free_port()
    history_db = f"sqlite:///{tmp_path / 'history.db'}"
    env = dict(os.environ, FLOORWATCH_LOG_DIR=str(tmp_path), FLOORWATCH_HISTORY_DB=history_db)
    proc = subprocess.Popen(
        [sys.executable, "-m", "stream.cli.main", "up", "--speed", "600", "--calls", "5000",
         "--kafka-port", str(kport), "--redis-port", str(rport), "--http-port", str(hport)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        # The wall's URL (with its token) is printed first; the page answers on it.
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "the wall is at" in line:
                url = line.rsplit(" ", 1)[1].strip()
        assert url and url.startswith(f"http://127.0.0.1:{hport}/?token=")
        token = url.split("token=", 1)[1]
        r = redis.Redis(port=rport)
        snap = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                raw = r.get("fw:snap:gd-hotline")
            except redis.ConnectionError:
                raw = None
            if raw:
                snap = json.loads(raw)
                if snap["health"]["events"] > 0 and snap["total"]["day"]["offered"] > 0:
                    break
            time.sleep(1)
        assert snap is not None and snap["total"]["day"]["offered"] > 0, "no live figures within 90 s"
        # The clock moves: the simulated day is being played live.
        first = snap["clock"]
        time.sleep(3)
        assert json.loads(r.get("fw:snap:gd-hotline"))["clock"] > first
        api = f"http://127.0.0.1:{hport}/api/snapshot?site=gd-hotline"
        assert httpx.get(api).status_code == 401
        got = httpx.get(api, headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == 200 and "gd-hotline" in got.text
        if os.path.exists(CHROMIUM):
            wall_in_browser(url)
        # History: sealed intervals reach the local SQLite file, and /reports is served.
        from stream.history.store import Store

        rows: list = []
        deadline = time.monotonic() + 90
        while not rows and time.monotonic() < deadline:
            try:
                rows = Store.open(history_db).all_rows("queue_intervals")
            except Exception:
                rows = []
            time.sleep(1)
        assert rows and {r["site"] for r in rows} >= {"gd-hotline"}, "no history rows within 90 s"
        assert httpx.get(f"http://127.0.0.1:{hport}/reports").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "stopped" in out
    time.sleep(1)
    leftovers = [c for c in _cmdlines() if str(kport) in c or f"--port {rport}" in c]
    assert leftovers == []
