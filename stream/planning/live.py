"""What-if from the live floor: the next hour of one queue, simulated forward from its state now.

A supervisor asks "with k more (or fewer) agents on this queue from now";
this answers with the service level, the longest wait and the abandons of
the next hour, beside the course with the agents there are. Pure (no I/O,
no clock): the state and the forecast come in, figures go out.

The start is the live state (``LiveQueue``): the contacts waiting now with
their offered times and priorities, the agents busy or in wrap-up (each
frees up after a residual handle time), the agents ready, and the instant.
Arrivals over the horizon are drawn from the forecast's offered contacts per
15-minute interval (Poisson), handle times exponential at each interval's
AHT and patience exponential at the queue's mean (memoryless: a caller
waiting 3 minutes has the same patience left as a new one; Erlang A's
assumptions, so a flat day agrees with the plan checker). Each run is one
call of the what-if engine (``stream.planning.whatif.simulate``) with the
agents as a step schedule: ready agents (plus ``extra``) now, each busy
agent as it frees up (with fewer agents, the ones leaving go as they finish).
Agents not ready stay away for the hour. The service level and abandons
are the core's own figures (``stream.fold.stats.QueueStats``) over every
contact waiting now or arriving within the horizon, followed until it is
answered or abandons; the longest wait is that of the contacts arriving from
now on (those waiting now have a wait no agent can undo), and all are
averaged over ``runs`` seeded runs (common random numbers: the course with
``extra`` agents and without share their draws, so the difference is the
agents', not the dice's).

>>> q = LiveQueue(now_ms=0, waiting=[(-600_000 + 10_000 * i, 0) for i in range(20)], busy_since=[-60_000] * 3, ready=0)
>>> fc = [(0, 10.0, 180.0), (900_000, 10.0, 180.0), (1_800_000, 10.0, 180.0), (2_700_000, 10.0, 180.0)]
>>> base = ahead(q, fc, extra=0, sl_t_s=20, patience_s=None)
>>> more = ahead(q, fc, extra=3, sl_t_s=20, patience_s=None)
>>> more["longest_wait_s"] < base["longest_wait_s"], more["sl_pct"] >= base["sl_pct"]
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from stream.fold.calendar import INTERVAL_MS
from stream.fold.stats import QueueStats
from stream.planning.calls import Contact
from stream.planning.whatif import simulate

__all__ = ["LiveQueue", "ahead", "HORIZON_MS"]

HORIZON_MS = 3_600_000


@dataclass
class LiveQueue:
    """One queue's state at ``now_ms``: contacts waiting (offered ms, priority), agents busy (since ms), agents ready."""

    now_ms: int
    waiting: list[tuple[int, int]] = field(default_factory=list)
    busy_since: list[int] = field(default_factory=list)
    ready: int = 0


def _run(q: LiveQueue, forecast: Sequence[tuple[int, float, float]], extra: int, horizon_ms: int, patience_s: Optional[float],
         rng: np.random.Generator, aht_now: float) -> tuple[list[Contact], list[tuple[int, int]]]:
    """One run's contacts and agent schedule (the draws depend on the seed only, not on ``extra``)."""
    now, end = q.now_ms, q.now_ms + horizon_ms
    cs: list[Contact] = []
    for i, (off, prio) in enumerate(sorted(q.waiting)):
        cs.append(Contact("", "", f"w{i}", int(off), priority=int(prio), wait_ms=max(0, now - int(off)),
                          handle_ms=int(rng.exponential(aht_now * 1000.0))))
    n = 0
    for start, offered, aht in forecast:
        lo, hi = max(start, now), min(start + INTERVAL_MS, end)
        if hi <= lo or offered <= 0:
            continue
        k = int(rng.poisson(offered * (hi - lo) / INTERVAL_MS))
        for t in np.sort(rng.uniform(lo, hi, k)):
            cs.append(Contact("", "", f"a{n}", int(t), wait_ms=0, handle_ms=int(rng.exponential((aht or aht_now) * 1000.0))))
            n += 1
    frees = sorted(now + int(rng.exponential(aht_now * 1000.0)) for _ in q.busy_since)
    # Capacity: ready agents (and the extra ones) now, one more as each busy agent frees up;
    # with fewer agents, the first to free up leave.
    base = q.ready + extra
    steps = [(now, max(0, base))]
    for j, t in enumerate(frees):
        steps.append((t, max(0, base + j + 1)))
    return cs, steps


def ahead(
    q: LiveQueue,
    forecast: Sequence[tuple[int, float, float]],
    *,
    extra: int = 0,
    sl_t_s: float,
    patience_s: Optional[float],
    short_abandon_s: float = 0.0,
    sl_variant: str = "standard",
    horizon_ms: int = HORIZON_MS,
    runs: int = 12,
    seed: int = 0,
) -> dict:
    """The next ``horizon_ms`` from ``q`` with ``extra`` agents more (negative: fewer), averaged over ``runs``.

    ``forecast``: ``(interval start ms, offered, aht_s)`` covering the horizon.
    Returns ``{"sl_pct", "longest_wait_s", "abandoned", "answered", "offered", "runs"}``
    (``sl_pct`` None when no contact counts).
    """
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    ahts = [a for _, _, a in forecast if a]
    aht_now = float(ahts[0]) if ahts else 180.0
    sl_t_ms, short_ms = int(sl_t_s * 1000), int(short_abandon_s * 1000)
    sl, longest, ab, ans, off = [], [], [], [], []
    for r in range(runs):
        rng = np.random.default_rng([seed, r])
        cs, steps = _run(q, forecast, extra, horizon_ms, patience_s, rng, aht_now)
        st = QueueStats(sl_variant)
        st.offered = len(cs)
        offered_at = {c.id: c.offered_ms for c in cs}
        newest = 0  # the longest wait of a contact arriving from now on
        for ev in simulate(cs, steps, patience_s=patience_s, seed=seed * 7919 + r, site="s", queue="q"):
            if ev.kind == "call_answered" or ev.kind == "call_abandoned":
                w = ev.ts - offered_at[ev.call]
                if ev.kind == "call_answered":
                    st.add_answered(w, sl_t_ms, hist=False)
                else:
                    st.add_abandoned(w, short_ms)
                if ev.call[0] == "a":
                    newest = max(newest, w)
        f = st.figures(percentiles=False)
        if f["sl_pct"] is not None:
            sl.append(f["sl_pct"])
        longest.append(newest / 1000.0)
        ab.append(f["abandoned"])
        ans.append(f["answered"])
        off.append(f["offered"])
    return {
        "sl_pct": round(float(np.mean(sl)), 1) if sl else None,
        "longest_wait_s": round(float(np.mean(longest)), 1),
        "abandoned": round(float(np.mean(ab)), 1),
        "answered": round(float(np.mean(ans)), 1),
        "offered": round(float(np.mean(off)), 1),
        "runs": runs,
    }
