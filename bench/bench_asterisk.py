"""Benchmark: replaying an Asterisk queue_log beside replaying the same events as floorwatch's JSON lines.

Run on demand (not a test):  ``.venv/bin/python -m bench asterisk [--calls 100000]``

It writes a synthetic day of N queue calls as a queue_log (``bench/out/``;
seeded: arrivals, abandons, transfers, pauses), and the events the mapping
makes of it as JSON lines; then, alternating in the same run, times as
separate processes:

* ``asterisk`` — ``floorwatch replay FILE.queue_log --format asterisk --report json``;
* ``jsonl``    — ``floorwatch replay FILE.jsonl --format jsonl --report json``
  (the same events, already in the wire format: what a floor that writes its
  own producer would feed);

and, in this process, the mapping alone (lines/s) beside splitting each line
at ``|`` (the least any queue_log reader does). Ratios within one run are the
figures to read; the reports of both replays must be equal.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
T0 = 1795395600  # 2026-11-23 09:00 Asia/Shanghai
QUEUES = ("q-support", "q-sales", "q-vip")
AGENTS = [f"PJSIP/{1000 + i}" for i in range(1, 41)]


def write_log(path: Path, calls: int, seed: int) -> None:
    """A day of ``calls`` queue calls over 12 hours, 40 agents in every queue, a lunch pause each."""
    rng = random.Random(seed)
    lines: list[tuple[int, int, str]] = []
    seq = 0

    def add(t: int, text: str) -> None:
        nonlocal seq
        lines.append((t, seq, f"{t}|{text}"))
        seq += 1

    add(T0 - 60, "NONE|NONE|NONE|QUEUESTART|")
    for a in AGENTS:
        for q in QUEUES:
            add(T0 - 30, f"NONE|{q}|{a}|ADDMEMBER|")
        lunch = T0 + rng.randrange(3 * 3600, 5 * 3600)
        for q in QUEUES:
            add(lunch, f"NONE|{q}|{a}|PAUSE|lunch")
            add(lunch + 1800, f"NONE|{q}|{a}|UNPAUSE|")
    free = {a: T0 for a in AGENTS}
    for i in range(calls):
        t = T0 + int(i * 43200 / calls)
        uid = f"{t}.{i}"
        q = rng.choice(QUEUES)
        add(t, f"{uid}|{q}|NONE|ENTERQUEUE||138{rng.randrange(10**8):08d}|1")
        wait = int(rng.expovariate(1 / 25))
        if wait > 90 or rng.random() < 0.05:
            add(t + min(wait, 120), f"{uid}|{q}|NONE|ABANDON|1|1|{min(wait, 120)}")
            continue
        a = min(AGENTS, key=lambda x: free[x])
        start = max(t + wait, free[a])
        talk = max(5, int(rng.lognormvariate(5, 0.5)))
        add(start, f"{uid}|{q}|{a}|CONNECT|{start - t}|{uid}1|3")
        ev = "COMPLETECALLER" if rng.random() < 0.6 else "COMPLETEAGENT"
        add(start + talk, f"{uid}|{q}|{a}|{ev}|{start - t}|{talk}|1")
        free[a] = start + talk + 1
    lines.sort()
    path.write_text("".join(text + "\n" for _, _, text in lines))


def ensure(calls: int, seed: int) -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    log, jl = OUT / f"asterisk-{calls}-{seed}.queue_log", OUT / f"asterisk-{calls}-{seed}.jsonl"
    if not log.exists() or not jl.exists():
        from stream.contracts.floor_config import load_config
        from stream.sources import formats
        from stream.sources.jsonl import write_jsonl

        write_log(log, calls, seed)
        evs = [e for e in formats.get("asterisk").read(log, load_config(), None) if not isinstance(e, formats.Dead)]
        write_jsonl(evs, jl)
    return log, jl


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(cmd: list[str]) -> tuple[float, float, str]:
    c0, t0 = _cpu(), time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - t0, _cpu() - c0, out


def map_only(log: Path) -> tuple[float, float]:
    """Seconds to map every line, and to only split every line at ``|``."""
    from stream.contracts.floor_config import load_config
    from stream.sources.asterisk import QueueLogMapper, resolve_site

    raw = log.read_bytes().splitlines()
    name, sc = resolve_site(load_config(), None)
    m = QueueLogMapper(name, sc)
    t = time.perf_counter()
    for ln in raw:
        m.feed(ln)
    mapped = time.perf_counter() - t
    t = time.perf_counter()
    for ln in raw:
        ln.decode().split("|")
    return mapped, time.perf_counter() - t


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench asterisk")
    p.add_argument("--calls", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args(argv)
    log, jl = ensure(a.calls, a.seed)
    n_lines = sum(1 for _ in open(log, "rb"))
    n_events = sum(1 for _ in open(jl, "rb"))
    cmds = {
        "asterisk": [sys.executable, "-m", "stream.cli.main", "replay", str(log), "--format", "asterisk", "--report", "json"],
        "jsonl": [sys.executable, "-m", "stream.cli.main", "replay", str(jl), "--format", "jsonl", "--report", "json"],
    }
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    reports: dict[str, dict] = {}
    for _ in range(a.rounds):
        for k, cmd in cmds.items():
            wall, cpu, out = run(cmd)
            times[k].append((wall, cpu))
            reports[k] = json.loads(out)
    same = {k: v for k, v in reports["asterisk"].items() if k != "rejected"} == \
           {k: v for k, v in reports["jsonl"].items() if k != "rejected"}
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in times.items()}
    mapped, split = map_only(log)
    print(f"{a.calls:,} calls: {n_lines:,} queue_log lines -> {n_events:,} events; reports equal: {same}")
    for k, (w, c) in best.items():
        print(f"  replay {k:<8} {w:6.2f} s wall  {c:6.2f} s cpu  {n_events / w:10,.0f} events/s")
    print(f"  asterisk / jsonl: {best['asterisk'][0] / best['jsonl'][0]:.2f}x wall, "
          f"{best['asterisk'][1] / best['jsonl'][1]:.2f}x cpu")
    print(f"  mapping alone {n_lines / mapped:10,.0f} lines/s; split at '|' alone {n_lines / split:10,.0f} lines/s; "
          f"ratio {mapped / split:.1f}x")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
