"""Benchmark: whole-process ``floorwatch replay`` beside merely JSON-parsing the same events.

Run on demand (not a test):  ``.venv/bin/python -m bench replay [--calls 150000]``

It writes a busy day of N calls once (``bench/out/``), then, in the same run and
alternating to share the machine's noise, times as separate processes:

* ``replay``   — ``floorwatch replay FILE --format jsonl --report json`` (decode,
  validate, fold, report);
* ``parse``    — a process that reads the file and ``orjson.loads`` every line
  (the fastest common JSON parser; nothing else);
* ``parse-stdlib`` — the same with the standard library's ``json``.

It prints events/s of each and the ratio replay ÷ parse, by wall time and by
CPU time (user + system of the child process). Absolute times on shared
machines are noisy; the ratio within one run is the figure to read, and the
CPU-time ratio is the steadier one when other work competes for the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"

PARSE_ORJSON = """
import sys, orjson
n = 0
with open(sys.argv[1], 'rb') as fh:
    for line in fh:
        orjson.loads(line); n += 1
print(n)
"""
PARSE_STDLIB = PARSE_ORJSON.replace("orjson", "json")


def ensure_day(calls: int, seed: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"busy-day-{calls}-{seed}.jsonl"
    if not path.exists():
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "stream.cli.main", "simulate", "--scenario", "busy-day", "--calls", str(calls), "--seed", str(seed), "--out", str(path)],
            cwd=ROOT, check=True,
        )
        print(f"generated {path.name} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return path


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and stdout of one run of ``cmd``."""
    c = _child_cpu()
    t = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t, _child_cpu() - c, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="bench replay")
    ap.add_argument("--calls", type=int, default=150_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    path = ensure_day(args.calls, args.seed)
    n_events = sum(1 for _ in open(path, "rb"))
    size_mb = os.path.getsize(path) / 1e6
    cmds = {
        "replay": [sys.executable, "-m", "stream.cli.main", "replay", str(path), "--format", "jsonl", "--report", "json"],
        "parse": [sys.executable, "-c", PARSE_ORJSON, str(path)],
        "parse-stdlib": [sys.executable, "-c", PARSE_STDLIB, str(path)],
    }
    times: dict[str, list[float]] = {k: [] for k in cmds}
    cpus: dict[str, list[float]] = {k: [] for k in cmds}
    report = None
    for _ in range(args.repeat):
        for name, cmd in cmds.items():  # interleaved, so noise hits all alike
            dt, cpu, out = timed(cmd)
            times[name].append(dt)
            cpus[name].append(cpu)
            if name == "replay":
                report = json.loads(out)
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    print(f"busy day: {args.calls:,} calls, {n_events:,} events, {size_mb:.0f} MB; median of {args.repeat} runs, whole processes")
    print(f"  {'':<13} {'wall':>8}   {'events/s':>10}    {'cpu':>8}   {'events/s':>10}")
    for k in cmds:
        print(f"  {k:<13} {med[k]:6.2f} s   {n_events / med[k]:>10,.0f}    {cpu[k]:6.2f} s   {n_events / cpu[k]:>10,.0f}")
    print(f"  replay / parse (orjson)        = {med['replay'] / med['parse']:.2f}x wall, {cpu['replay'] / cpu['parse']:.2f}x cpu")
    print(f"  replay / parse (stdlib json)   = {med['replay'] / med['parse-stdlib']:.2f}x wall, {cpu['replay'] / cpu['parse-stdlib']:.2f}x cpu")
    if report is not None:
        t = report["total"]
        print(f"  (day: offered {t['offered']:,}, SL {t['sl_pct']:.1f} %, rejected {report['rejected']['count']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
