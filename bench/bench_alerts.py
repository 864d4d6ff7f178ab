"""The alert path alone: what the view's snapshots and the engine cost, and what they raise.

    python -m bench alerts [--calls 20000] [--out changes.json] [--no-timing]

Folds the day as ``python -m bench fold`` does (publisher's messages, 8
partitions, one alert hook each), and times the two halves of an evaluation
separately, in CPU time (steadier than wall time on a shared machine): the
incremental view's snapshot and ``AlertEngine.evaluate`` (per site:
evaluations, ms per evaluation). The driver's own loop and the view's
``touch`` are outside both (``bench fold`` has the whole). It also prints the number
of alert changes and a sha256 of them (canonical JSON, in the order the
partitions produced them): two builds raise the same alerts at the same
moments with the same messages exactly when the digests are equal.
``--out`` writes the changes themselves, to diff when they are not.
``--no-timing`` leaves the timers out (the digest of the plain hook).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import defaultdict

from bench.bench_fold import PARTITIONS, messages
from bench.bench_replay import ensure_day


def digest(changes: list[dict]) -> str:
    """sha256 of the changes as canonical JSON (sorted keys, one line each)."""
    h = hashlib.sha256()
    for c in changes:
        h.update(json.dumps(c, sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench alerts")
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="write the alert changes here (JSON list)")
    ap.add_argument("--no-timing", action="store_true")
    args = ap.parse_args(argv)
    from stream.sources.jsonl import read_jsonl
    from stream.alerts import driver as drv_mod
    from stream.alerts.runtime import hook_factory
    from stream.contracts.floor_config import FloorConfig
    from stream.runtime.gc_tuning import tune_for_folding
    from stream.runtime.partition import PartitionFloor

    tune_for_folding()
    cfg = FloorConfig()
    events = [e for e in read_jsonl(ensure_day(args.calls, args.seed)) if hasattr(e, "site")]
    msgs = messages(events)

    # site -> [evaluations, snapshot s, evaluate s]
    spent: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0])
    if not args.no_timing:
        clock = time.process_time  # CPU time: steadier than wall time on a shared machine

        def _evaluate_until(self, site, until, out, _orig=drv_mod.AlertDriver._evaluate_until):
            nb = self.next_ms[site]
            if until < nb:
                return
            last = nb + (until - nb) // self.period_ms * self.period_ms
            sc = self.floor.site(site)
            acc = spent[site]
            for b in self._boundaries(nb, last):
                sc.advance(b)
                t0 = clock()
                snap = self._snapshot(site)
                t1 = clock()
                out.extend(self.engine.evaluate(site, b, snap))
                acc[0] += 1
                acc[1] += t1 - t0
                acc[2] += clock() - t1
            self.next_ms[site] = last + self.period_ms

        drv_mod.AlertDriver._evaluate_until = _evaluate_until  # type: ignore[method-assign]

    factory = hook_factory(cfg)
    parts = {p: PartitionFloor(p, cfg, factory()) for p in range(PARTITIONS)}
    offsets = dict.fromkeys(parts, 0)
    changes: list[dict] = []
    t = time.perf_counter()
    for p, value in msgs:
        res = parts[p].fold(offsets[p], value, {})
        offsets[p] += 1
        changes.extend(res.alerts)
    total = time.perf_counter() - t

    print(f"alerts: {args.calls:,} calls = {len(events):,} events, fold + alerts {total:.2f} s ({len(events) / total:,.0f} events/s)")
    if not args.no_timing:
        snap_s = sum(v[1] for v in spent.values())
        eval_s = sum(v[2] for v in spent.values())
        print(f"  view snapshots {snap_s:6.2f} s   engine {eval_s:6.2f} s   together {snap_s + eval_s:6.2f} s")
        for site, (n, s, e) in sorted(spent.items(), key=lambda kv: -(kv[1][1] + kv[1][2]))[:4]:
            print(f"  {site:<14} {n:>6} evaluations  snapshot {1000 * s / n:6.3f} ms  engine {1000 * e / n:6.3f} ms  each")
    raised = sum(1 for c in changes if c["change"] == "raised")
    print(f"  {len(changes)} alert changes ({raised} raised)  sha256 {digest(changes)}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(changes, fh, ensure_ascii=False, indent=0, sort_keys=True)
    return 0
