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
from tests.stack_helpers import HAVE_SERVERS, start_up, wait_snapshot

ROOT = Path(__file__).resolve().parents[2]


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
    proc, url, kport, rport = start_up(tmp_path, "--speed", "600", "--calls", "5000")
    hport = int(url.split(":")[2].split("/")[0])
    history_db = f"sqlite:///{tmp_path / 'history.db'}"  # start_up sets FLOORWATCH_HISTORY_DB to it
    try:
        token = url.split("token=", 1)[1]
        r = redis.Redis(port=rport)
        snap = wait_snapshot(rport, "gd-hotline", lambda s: s["health"]["events"] > 0 and s["total"]["day"]["offered"] > 0)
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


def _pids_with(text: str) -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmd:
                out.append(int(pid))
    return out


@pytest.mark.integration
@pytest.mark.skipif(not HAVE_SERVERS, reason="needs the embedded Tansu and redis-server binaries")
def test_up_restarts_a_dead_broker_and_redis_and_says_so_once(tmp_path):
    import threading

    kport, rport, hport = embedded.free_port(), embedded.free_port(), embedded.free_port()
    env = dict(os.environ, FLOORWATCH_LOG_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "stream.cli.main", "up", "--speed", "300", "--calls", "5000",
         "--kafka-port", str(kport), "--redis-port", str(rport), "--http-port", str(hport)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    out: list[str] = []
    threading.Thread(target=lambda: out.extend(iter(proc.stdout.readline, "")), daemon=True).start()

    def live_clock() -> int | None:
        try:
            raw = redis.Redis(port=rport, socket_timeout=2).get("fw:snap:gd-hotline")
        except redis.RedisError:
            return None
        return json.loads(raw)["clock"] if raw else None

    def wait(pred, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.5)
        return False

    try:
        assert wait(lambda: live_clock() is not None, 90), "".join(out)
        broker = _pids_with(f"tcp://127.0.0.1:{kport}")
        # redis-server renames itself "redis-server 127.0.0.1:P".
        server = [p for p in _pids_with(f"127.0.0.1:{rport}") if p in _pids_with("redis-server")]
        assert broker and server
        t_kill = time.monotonic()
        for pid in broker + server:
            os.kill(pid, signal.SIGKILL)
        # Both come back on their ports, and the floor with them (Redis was empty: the worker
        # published it again; the broker was empty: the feed goes on into new topics).
        assert wait(lambda: any("embedded broker stopped" in ln for ln in out)
                    and any("embedded redis stopped" in ln for ln in out), 30), "".join(out)
        assert wait(lambda: live_clock() is not None, 60), "".join(out)
        first = live_clock()
        assert wait(lambda: (live_clock() or 0) > first, 60), "the floor did not move after the restarts"
        window = time.monotonic() - t_kill
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    said = [ln for ln in out if "stopped; restarting" in ln]
    assert len(said) == 2, said  # one line per server, not one per second
    errors = sum(ln.count("[ERROR]") + ln.count(" ERROR ") for p in tmp_path.glob("*.log") for ln in p.read_text(errors="replace").splitlines())
    assert errors < 100, f"{errors} ERROR lines in the children's logs over {window:.0f} s"
    assert proc.returncode == 0
