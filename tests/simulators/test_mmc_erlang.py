"""The simulator and the core against queueing theory: M/M/c through the whole
replay path must land on Erlang C (ASA within 6 %, SL within 1.5 points)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stream.planning import staffing

ROOT = Path(__file__).resolve().parents[2]

# A = 200/h x 180 s = 10 Erlangs on 12 agents (occupancy 0.83): a real queue,
# P(wait) ~ 0.45, ASA ~ 40 s, SL(20 s) ~ 64 %.
CASES = [
    dict(calls_per_hour=200.0, aht_s=180.0, agents=12, calls=150_000, seed=7),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_mmc_matches_erlang_c(case):
    out = subprocess.run(
        [
            sys.executable, "-m", "stream.cli.main", "simulate", "--scenario", "mmc",
            "--calls-per-hour", str(case["calls_per_hour"]), "--aht-s", str(case["aht_s"]),
            "--agents", str(case["agents"]), "--calls", str(case["calls"]),
            "--seed", str(case["seed"]), "--report", "json",
        ],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=600,
    ).stdout
    total = json.loads(out)["total"]
    assert total["offered"] >= 150_000 * 0.98
    assert total["abandoned"] == 0  # infinite patience

    a = case["calls_per_hour"] / 3600 * case["aht_s"]
    n = case["agents"]
    asa = staffing.asa(n, a, case["aht_s"])
    sl = 100 * staffing.service_level(n, a, case["aht_s"], 20.0)
    assert total["asa_s"] == pytest.approx(asa, rel=0.06), (total["asa_s"], asa)
    assert abs(total["sl_pct"] - sl) <= 1.5, (total["sl_pct"], sl)
    assert total["aht_s"] == pytest.approx(case["aht_s"], rel=0.02)
