"""Benchmarks, run on demand: ``python -m bench NAME [args]`` (``make bench ARGS="replay"``).

Each benchmark measures ours beside a baseline on the same data in the same run
and reports the ratio. None of them is part of ``make test``.
"""

from __future__ import annotations

import importlib
import sys

BENCHES = {
    "replay": "bench.bench_replay",
    "pipeline": "bench.bench_pipeline",
    "wall": "bench.bench_wall",
    "nab": "bench.bench_nab",
    "surge": "bench.bench_surge",
    "fold": "bench.bench_fold",
    "alerts": "bench.bench_alerts",
    "decode": "bench.bench_decode",
    "forecast": "bench.bench_forecast",
    "plan": "bench.bench_plan",
    "plan-sim": "bench.bench_plan_sim",
    "asterisk": "bench.bench_asterisk",
    "history": "bench.bench_history",
    "soak": "bench.bench_soak",
    "ewt": "bench.bench_ewt",
    "whatif": "bench.bench_whatif",
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in BENCHES:
        print("usage: python -m bench {" + ",".join(BENCHES) + "} [args]", file=sys.stderr)
        return 2
    mod = importlib.import_module(BENCHES[sys.argv[1]])
    return mod.main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
