"""Wall latency: from a change's ``published_ms`` to its arrival on the wall.

    python -m bench wall [--rate 3000] [--seconds 30] [--clients 10] [--no-browser]

A busy day is folded at a steady ``--rate`` events/s and published through
``RedisSink`` exactly as a worker does (throttled: at most one snapshot per
site per 200 ms). ``floorwatch dashboard`` runs as its own process on a real
Redis (``EmbeddedRedis``). Measured:

* baseline — a plain Redis subscriber on the ``changes`` channel (what the
  pipeline costs before the dashboard: pub/sub delivery);
* ws — websocket clients of the dashboard (``--clients`` of them);
* browser — the wall page in headless Chromium (``window.__fw.arrivals``: the
  moment the page's message handler ran), if /usr/bin/chromium is there.

p50 and p99 in milliseconds are printed for each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
TOKENS = "wall:bench-wall,admin:bench-admin"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float("nan")


def line(name: str, xs: list[float]) -> str:
    return f"{name:>9}: n={len(xs):6d}  p50 {pct(xs, 50):7.1f} ms  p99 {pct(xs, 99):7.1f} ms  max {max(xs, default=float('nan')):7.1f} ms"


async def ws_client(url: str, out: list[float], stop: asyncio.Event) -> None:
    import websockets

    async with websockets.connect(url, max_size=None) as ws:
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except asyncio.TimeoutError:
                continue
            now = time.time() * 1000
            m = orjson.loads(raw)
            if m["t"] == "patch" and m.get("published_ms"):
                out.append(now - m["published_ms"])


async def redis_baseline(url: str, channel: str, out: list[float], stop: asyncio.Event) -> None:
    r = aioredis.from_url(url)
    ps = r.pubsub(ignore_subscribe_messages=True)
    await ps.subscribe(channel)
    while not stop.is_set():
        msg = await ps.get_message(timeout=0.5)
        if msg:
            now = time.time() * 1000
            out.append(now - orjson.loads(msg["data"])["published_ms"])
    await ps.aclose()
    await r.aclose()


async def feed(redis_url: str, prefix: str, day: Path, rate: int, seconds: float) -> None:
    """The worker's part, in its own process: fold at ``rate`` events/s, publish through RedisSink.

    Its own process so that folding never delays the measuring clients' reads
    (that would be charged to the dashboard).
    """
    from stream.sources.jsonl import Rejected, read_jsonl
    from stream.contracts.floor_config import load_config
    from stream.fold.floor import Floor
    from stream.runtime.redis_sink import RedisSink

    events = [e for e in read_jsonl(day) if not isinstance(e, Rejected)]
    r = aioredis.from_url(redis_url)
    floor = Floor(load_config())
    sink = RedisSink(r, prefix=prefix)
    # Morning first: the floor is already running when the walls connect.
    warm = len(events) // 4
    floor.apply_many(events[:warm])
    sink.mark(sorted(floor.sites))
    await sink.maybe_publish(floor, force=True)
    print("ready", flush=True)
    sys.stdin.readline()  # go
    pos, t0 = warm, time.monotonic()
    while (el := time.monotonic() - t0) < seconds and pos < len(events):
        # Catch up to rate x elapsed: a steady rate even when a publish takes a while.
        target = warm + int(rate * el)
        batch = events[pos:target]
        pos = max(pos, target)
        if batch:
            floor.apply_many(batch)
            sink.mark({e.site for e in batch})
        await sink.maybe_publish(floor)
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - t0
    print(f"folded {pos - warm:,} events in {elapsed:.1f}s = {(pos - warm) / elapsed:,.0f} events/s; "
          f"{sink.published} snapshots published", flush=True)
    await r.aclose()


async def run(args: argparse.Namespace) -> int:
    from stream.local.embedded import EmbeddedRedis, free_port
    from stream.runtime.redis_keys import Keys

    with tempfile.TemporaryDirectory(prefix="fw-bench-wall-") as tmp:
        return await _run(args, Path(tmp) / "day.jsonl")


async def _run(args: argparse.Namespace, day: Path) -> int:
    from stream.local.embedded import EmbeddedRedis, free_port
    from stream.runtime.redis_keys import Keys

    need = int(args.rate * args.seconds * 1.2)
    calls = max(3000, need // 6)  # a busy day has ~7 events per call
    subprocess.run([sys.executable, "-m", "stream.cli.main", "simulate", "--scenario", "busy-day", "--calls", str(calls),
                    "--seed", "1", "--out", str(day)], cwd=ROOT, check=True)
    print(f"wall bench: {args.rate:,} events/s for {args.seconds}s, {args.clients} ws clients", flush=True)

    with EmbeddedRedis() as rs:
        prefix = "fwbench:"
        feeder_cmd = [sys.executable, "-m", "bench.bench_wall", "--feed", rs.url, prefix, str(day), str(args.rate), str(args.seconds)]
        feeder = subprocess.Popen(feeder_cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert feeder.stdout.readline().strip() == "ready"

        port = free_port()
        env = {**os.environ, "FLOORWATCH_TOKENS": TOKENS, "FLOORWATCH_REDIS_PREFIX": prefix}
        dash = subprocess.Popen([sys.executable, "-m", "stream.cli.main", "dashboard", "--redis", rs.url, "--http-port", str(port),
                                 "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        import httpx

        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)

        stop = asyncio.Event()
        lat_ws: list[float] = []
        lat_base: list[float] = []
        tasks = [asyncio.create_task(redis_baseline(rs.url, Keys(prefix).changes, lat_base, stop))]
        tasks += [asyncio.create_task(ws_client(f"ws://127.0.0.1:{port}/ws?token=bench-wall", lat_ws, stop))
                  for _ in range(args.clients)]

        browser = page = pw = None
        if not args.no_browser and os.path.exists(CHROMIUM):
            from playwright.async_api import async_playwright

            pw = await async_playwright().start()
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"])
            page = await (await browser.new_context(viewport={"width": 1920, "height": 1080})).new_page()
            await page.goto(f"{base}/?token=bench-wall&site=gd-hotline")
            await page.wait_for_function("window.__fw && window.__fw.connected")
        await asyncio.sleep(1.0)
        if page is not None:
            await page.evaluate("window.__fw.arrivals.length = 0")

        feeder.stdin.write("go\n")
        feeder.stdin.flush()
        summary = await asyncio.to_thread(feeder.stdout.readline)
        feeder.wait(30)
        await asyncio.sleep(1.0)  # the last changes still on their way
        stop.set()
        lat_page: list[float] = []
        if page is not None:
            arr = await page.evaluate("window.__fw.arrivals")
            lat_page = [a[3] - a[2] for a in arr]
            await browser.close()
            await pw.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        dash.terminate()
        dash.wait(10)

    print(summary.strip())
    print(line("baseline", lat_base) + "   (plain Redis subscriber on the changes channel)")
    print(line("ws", lat_ws) + f"   ({args.clients} websocket clients of the dashboard)")
    if lat_page:
        print(line("browser", lat_page) + "   (the wall page in headless Chromium)")
    else:
        print("  browser: skipped" + (" (--no-browser)" if args.no_browser else f" ({CHROMIUM} absent)"))
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--feed":
        url, prefix, day, rate, seconds = argv[1:6]
        asyncio.run(feed(url, prefix, Path(day), int(rate), float(seconds)))
        return 0
    p = argparse.ArgumentParser(prog="python -m bench wall")
    p.add_argument("--rate", type=int, default=3000, help="events folded per second")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--no-browser", action="store_true")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
