"""The worker's fold without Kafka: where a worker's time goes, minus the broker.

    python -m bench fold [--calls 150000] [--no-alerts] [--snapshots] [--core both|native|python]

The day is cut into messages exactly as ``stream.runtime.publish`` sends them (site
batches of up to 1000 events), spread over 8 partitions by the same murmur2
key hash the producer uses, and each message is handed to its partition's
``PartitionFloor`` (with the alert hook, as the worker runs it) in the order
the broker would hold them. ``--snapshots`` also builds every dirty site's
snapshot and diff every 100 messages of a partition (what the Redis sink does
between folds). Reports events/s next to the bare core's ``apply_many`` over
the same events: the ratio is what the worker shell costs on top of the fold.
Both cores run in the same process on the same messages, one after the
other (``--core both``, the default): the native one and the reference one
it replaces.

Run it under ``py-spy record -o out.svg -- python -m bench fold`` to see the
profile without the asyncio/Faust noise.
"""

from __future__ import annotations

import argparse
import time

import msgspec
from aiokafka.partitioner import murmur2

from bench.bench_replay import ensure_day
from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor
from stream.runtime.pacing import paced_batches
from stream.runtime.partition import PartitionFloor
from stream.runtime.publish import MAX_BATCH, site_batches

PARTITIONS = 8


def messages(events: list) -> list[tuple[int, bytes]]:
    """(partition, value) in send order, as ``Publisher.send_events`` cuts them."""
    enc = msgspec.json.Encoder()
    out: list[tuple[str, bytes]] = []
    for batch, _ in paced_batches(events, float("inf"), max_batch=MAX_BATCH * 8):
        out.extend((site, enc.encode(b)) for site, b in site_batches(batch))
    return [((murmur2(s.encode()) & 0x7FFFFFFF) % PARTITIONS, v) for s, v in out]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench fold")
    ap.add_argument("--calls", type=int, default=150_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-alerts", action="store_true")
    ap.add_argument("--snapshots", action="store_true", help="build snapshots + diffs every 100 messages per partition")
    ap.add_argument("--core", choices=("both", "native", "python"), default="both")
    args = ap.parse_args(argv)
    from stream.sources.jsonl import read_jsonl
    from stream.runtime.gc_tuning import tune_for_folding

    tune_for_folding()  # as the worker runs (stream.runtime.worker.run_worker)

    cfg = FloorConfig()
    events = [e for e in read_jsonl(ensure_day(args.calls, args.seed)) if hasattr(e, "site")]
    msgs = messages(events)
    n = len(events)

    factory = None
    if not args.no_alerts:
        from stream.alerts.runtime import hook_factory

        factory = hook_factory(cfg)
    cores = {"both": (True, False), "native": (True,), "python": (False,)}[args.core]
    results = {}
    for native in cores:
        results[native] = _run(msgs, cfg, factory, native, args.snapshots)
    print(f"fold: {args.calls:,} calls = {n:,} events in {len(msgs):,} messages over {PARTITIONS} partitions")
    for native, (worker_s, core_s, alerts, snaps) in results.items():
        name = "native core" if native else "reference core"
        print(f"  {name}:")
        print(f"    partition fold{'' if args.no_alerts else ' + alerts'}{' + snapshots' if args.snapshots else ''}  {worker_s:6.2f} s  {n / worker_s:>10,.0f} events/s  ({alerts} alert changes, {snaps} snapshots)")
        print(f"    bare core decode + apply_many     {core_s:6.2f} s  {n / core_s:>10,.0f} events/s")
    if len(results) == 2:
        (nw, nc, na, _), (pw, pc, pa, _) = results[True], results[False]
        print(f"  native / reference: partition fold {pw / nw:.2f}x faster, bare core {pc / nc:.2f}x faster; same alert changes: {na == pa}")
    return 0


def _run(msgs: list, cfg: FloorConfig, factory, native: bool, snapshots: bool) -> tuple[float, float, int, int]:
    """(partition fold seconds, bare core seconds, alert changes, snapshots) of one core over the messages."""
    parts = {p: PartitionFloor(p, cfg, factory() if factory else None, native=native) for p in range(PARTITIONS)}
    offsets = dict.fromkeys(parts, 0)
    dirty: dict[int, set] = {p: set() for p in parts}
    alerts = 0
    snaps = 0
    t = time.perf_counter()
    for p, value in msgs:
        pf = parts[p]
        res = pf.fold(offsets[p], value, {})
        offsets[p] += 1
        alerts += len(res.alerts)
        if snapshots:
            dirty[p] |= res.sites
            if offsets[p] % 100 == 0:
                for s in sorted(dirty[p]):
                    pf.floor.changes(s)
                    snaps += 1
                dirty[p].clear()
    worker_s = time.perf_counter() - t

    # The bare core over the same messages (decode + apply_many), no alerts.
    floors = {p: Floor(cfg, native=native) for p in parts}
    t = time.perf_counter()
    for p, value in msgs:
        f = floors[p]
        evs, _ = f.decode_payload(value)
        f.apply_many(evs)
    core_s = time.perf_counter() - t
    return worker_s, core_s, alerts, snaps
