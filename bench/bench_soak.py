"""The soak: a simulated week through the pipeline at full speed, a part killed every few minutes.

    python -m bench soak [--days 7] [--calls 20000] [--chunks 4] [--fault-every-s 120] [--out DIR]

Seven busy days (``simulators.busy_day``, one seed per day) are published
into a fresh stack (embedded Tansu, Redis with its append-only file, one
worker, delivery) at full speed, in ``--chunks`` parts a day. Between parts
the next fault in turn is injected (SIGKILL, then ``Stack.supervise``
restarts it), at most one every ``--fault-every-s`` seconds of wall time:
worker, Redis, delivery in turn for the first ``--broker-from`` of the parts,
then broker, Redis, delivery. The broker is killed only once the worker has
caught up, and no worker after it: the embedded broker keeps its log in memory
(docs/embedded.md), so a worker restarted after a broker restart could rebuild
only what the new log holds (docs/faults.md) - a broker with storage has
neither limit.

At the end the live report must equal ``floorwatch replay --report json`` of
the same week, and the delivery log must hold exactly one sent message per
raise and resolve of ``floorwatch alerts --json --all``. Printed (and written
as JSON to ``--out``): events, faults survived per part, wall time, and the
RSS of every process at the start and at the end (a part restarted by a fault
is a new process: its figure is the one running at the end).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from stream.local.faults import PARTS, delivered, expected_deliveries, inject, processes, rss_mib, write_delivery_config
from stream.local.up import Stack

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, timeout: float = 3600) -> str:
    return subprocess.run([sys.executable, "-m", "stream.cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=True).stdout


def week(days: int, calls: int, chunks: int, out: Path) -> tuple[Path, list[Path], int]:
    """The week as one JSON-lines file and as ``days * chunks`` parts; returns (whole, parts, events)."""
    from simulators import busy_day
    from stream.sources.jsonl import write_jsonl

    parts: list[Path] = []
    every: list = []
    for d in range(days):
        evs = list(busy_day.generate(seed=100 + d, calls=calls, day=busy_day.DEFAULT_DAY + timedelta(days=d)))
        every.extend(evs)
        for c in range(chunks):
            p = out / f"day{d}-{c}.jsonl"
            write_jsonl(evs[len(evs) * c // chunks: len(evs) * (c + 1) // chunks], p)
            parts.append(p)
    whole = out / "week.jsonl"
    write_jsonl(every, whole)
    return whole, parts, len(every)


def report(redis_url: str) -> dict:
    return json.loads(cli("report", "--redis", redis_url, "--json", timeout=120))


def wait_report(redis_url: str, expected: dict, timeout: float) -> tuple[dict, float]:
    t0 = time.monotonic()
    got: dict = {}
    while time.monotonic() - t0 < timeout:
        try:
            got = report(redis_url)
        except subprocess.CalledProcessError:
            got = {}
        if got == expected:
            break
        time.sleep(2)
    return got, time.monotonic() - t0


def memory(st: Stack) -> dict[str, float]:
    return {name: round(rss_mib(pid), 1) for name, pid in sorted(processes(st).items())}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench soak")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--calls", type=int, default=20000, help="hotline calls a day (the halls get tickets in proportion)")
    ap.add_argument("--chunks", type=int, default=4, help="parts a day is published in; a fault after each")
    ap.add_argument("--fault-every-s", type=float, default=120.0, help="at most one fault this often (wall seconds)")
    ap.add_argument("--broker-from", type=float, default=0.7,
                    help="fraction of the parts after which broker faults replace worker faults")
    ap.add_argument("--out", help="directory for the logs and soak.json (default: a temporary one)")
    args = ap.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="floorwatch-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()

    whole, parts, n_events = week(args.days, args.calls, args.chunks, out)
    print(f"soak: {args.days} days, {n_events:,} events in {len(parts)} parts; logs in {out}", flush=True)
    expected = json.loads(cli("replay", str(whole), "--format", "jsonl", "--report", "json"))
    alerts = [json.loads(ln) for ln in cli("alerts", "--replay", str(whole), "--format", "jsonl", "--json", "--all").splitlines() if ln.strip()]
    want = expected_deliveries(alerts)
    print(f"soak: in-process: {expected['total']['offered']:,} offered, {len(want)} alert messages expected "
          f"({time.monotonic() - t_start:.0f} s)", flush=True)

    faults: dict[str, int] = {p: 0 for p in PARTS}
    last_fault = 0.0
    t_pipe = time.monotonic()
    with Stack(dashboard=False, delivery=True, log_dir=str(out / "logs"), redis_persist_dir=str(out / "redis"),
               delivery_config=str(write_delivery_config(out))) as st:
        rss_start: dict[str, float] = {}
        published: list[Path] = []
        turn = 0
        broker_from = int(len(parts) * args.broker_from)
        for i, part in enumerate(parts):
            cli("replay", str(part), "--format", "jsonl", "--kafka", st.kafka_url)
            published.append(part)
            if i == 0:
                time.sleep(3)
                rss_start = memory(st)
            if i == len(parts) - 1:
                break
            wait = last_fault + args.fault_every_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            rotation = ("worker", "redis", "delivery") if i < broker_from else ("broker", "redis", "delivery")
            if i == broker_from:
                turn = 0
            what = rotation[turn % len(rotation)]
            turn += 1
            if what == "broker":
                # Only what was folded already may go with the broker's in-memory log.
                sofar = json.loads(cli("replay", *_concat(published, out), "--format", "jsonl", "--report", "json"))
                got, _ = wait_report(st.redis_url, sofar, 600)
                if got != sofar:
                    print("soak: the worker did not catch up before the broker fault", flush=True)
                    return 1
            inject(st, what, down_s=2.0 if what == "redis" else 0.0)
            faults[what] += 1
            last_fault = time.monotonic()
            print(f"soak: part {i + 1}/{len(parts)} published; {what} killed and restarted "
                  f"({time.monotonic() - t_pipe:.0f} s)", flush=True)
        got, settle_s = wait_report(st.redis_url, expected, 900)
        deadline = time.monotonic() + 120
        while set(sent := delivered(st.redis_url)) != want and time.monotonic() < deadline:
            time.sleep(2)
        rss_end = memory(st)
        restarts = dict(st.restarts)
    pipe_s = time.monotonic() - t_pipe
    twice = {f"{k[0]} {k[1]}": v for k, v in sent.items() if v != ["sent"]}
    result = {
        "days": args.days,
        "events": n_events,
        "parts": len(parts),
        "faults": faults,
        "restarts": restarts,
        "pipeline_s": round(pipe_s, 1),
        "settle_s": round(settle_s, 1),
        "report_identical": got == expected,
        "alert_messages_expected": len(want),
        "alert_messages_sent": sum(1 for v in sent.values() if "sent" in v),
        "alert_messages_missing": len(want - set(sent)),
        "alert_messages_extra": len(set(sent) - want),
        "alert_messages_not_once": len(twice),
        "rss_mib_start": rss_start,
        "rss_mib_end": rss_end,
    }
    (out / "soak.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    ok = got == expected and set(sent) == want and not twice
    print(f"soak: {'OK' if ok else 'FAILED'}: figures {'identical to' if got == expected else 'DIFFER from'} in-process; "
          f"{sum(faults.values())} faults survived in {pipe_s:.0f} s", flush=True)
    return 0 if ok else 1


def _concat(paths: list[Path], out: Path) -> list[str]:
    """One file of ``paths`` in order (the in-process replay of what was published so far)."""
    dest = out / "sofar.jsonl"
    with open(dest, "wb") as fh:
        for p in paths:
            fh.write(p.read_bytes())
    return [str(dest)]
