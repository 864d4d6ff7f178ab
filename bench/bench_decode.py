"""Benchmark: the native decoder (stream/fold/native/parse*.hpp) beside orjson and msgspec on every line of a busy day.

Run on demand (not a test):  ``.venv/bin/python -m bench.bench_decode [--calls 150000] [--rounds 3]``

It writes the busy day once (``bench/out/busy-day-N-SEED.jsonl``, as ``bench
replay`` does), holds the whole file in memory, and times in one process,
round after round so that the three share the machine's noise:

* ``orjson``   — ``orjson.loads`` of each line (the fastest common JSON parser;
  it only parses, nothing is validated);
* ``msgspec``  — ``msgspec.json.Decoder(Event).decode`` of each line (what the
  Python path does for one event: parse and validate);
* ``msgspec-lines`` — ``Decoder(Event).decode_lines`` of each 4 MiB chunk (the
  Python path for a file, one call per chunk);
* ``native``   — ``stream.fold._native.count_lines`` of each chunk: the decoder
  over every line in C, counting accepted and declined lines (the decoder's
  own cost, no Python object per event).

The per-line baselines are driven by ``map`` (the cheapest per-item call
Python has), so their figures are as low as Python makes them. It prints
ns/event (best round) of each and the ratios to the native decoder, and the
number of lines the native decoder declined (on this file: none).
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from typing import Callable

import msgspec
import orjson

from bench.bench_replay import ensure_day
from stream.contracts.decode import iter_jsonl_chunks
from stream.contracts.events import Event


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench.bench_decode", description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=150_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)

    try:
        from stream.fold import _native
    except ImportError as exc:
        print(f"stream.fold._native is not built ({exc}): `pip install -e .` builds it", file=sys.stderr)
        return 1

    path = ensure_day(args.calls, args.seed)
    with open(path, "rb") as fh:
        chunks = list(iter_jsonl_chunks(fh))
    lines = [ln for chunk in chunks for ln in chunk.split(b"\n") if ln]
    n = len(lines)
    size = sum(len(c) for c in chunks)
    print(f"{path.name}: {n:,} events, {size / 1e6:.0f} MB, {size / n:.0f} bytes/event", file=sys.stderr)

    decoder = msgspec.json.Decoder(Event)
    drain = collections.deque
    counted: list[tuple[int, int]] = []

    def native() -> None:
        acc = dec = 0
        for chunk in chunks:
            a, d = _native.count_lines(chunk)
            acc += a
            dec += d
        counted.append((acc, dec))

    runs: dict[str, Callable[[], object]] = {
        "orjson": lambda: drain(map(orjson.loads, lines), maxlen=0),
        "msgspec": lambda: drain(map(decoder.decode, lines), maxlen=0),
        "msgspec-lines": lambda: drain(map(decoder.decode_lines, chunks), maxlen=0),
        "native": native,
    }
    best = {name: float("inf") for name in runs}
    for r in range(args.rounds):
        for name, fn in runs.items():
            best[name] = min(best[name], _timed(fn))
        print(f"round {r + 1}: " + "  ".join(f"{k} {v / n * 1e9:.0f}" for k, v in best.items()), file=sys.stderr)

    accepted, declined = counted[-1]
    ns = {name: t / n * 1e9 for name, t in best.items()}
    print(f"{'':16}{'ns/event':>10}{'x native':>10}")
    for name, v in ns.items():
        print(f"{name:16}{v:10.1f}{v / ns['native']:10.2f}")
    print(f"native: {accepted:,} accepted, {declined:,} declined")
    return 0 if declined == 0 and accepted == n else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
