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
assumptions, so a flat day agrees with the plan checker). The queue runs
as a hall of one class whose counters are its agents
(``stream.planning.hall_ahead``, which follows every contact without
making events: the answer within a second for a queue of 800 agents):
ready agents (plus ``extra``) serve from now, each busy agent from when it
frees up (with fewer agents, the ready ones leave first, then the first to
finish). Agents not ready stay away for the hour. The service level and abandons
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

from stream.planning.hall_ahead import HallClass, LiveHall, hall_ahead

__all__ = ["LiveQueue", "ahead", "HORIZON_MS"]

HORIZON_MS = 3_600_000


@dataclass
class LiveQueue:
    """One queue's state at ``now_ms``: contacts waiting (offered ms, priority), agents busy (since ms), agents ready."""

    now_ms: int
    waiting: list[tuple[int, int]] = field(default_factory=list)
    busy_since: list[int] = field(default_factory=list)
    ready: int = 0


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
    courses: Sequence[int] = (),
) -> dict:
    """The next ``horizon_ms`` from ``q`` with ``extra`` agents more (negative: fewer), averaged over ``runs``.

    ``forecast``: ``(interval start ms, offered, aht_s)`` covering the horizon.
    Returns ``{"sl_pct", "longest_wait_s", "abandoned", "answered", "offered", "runs"}``
    (``sl_pct`` None when no contact counts). ``courses``: other ``extra`` values answered on the
    same draws; then the result is ``{extra: answer}`` for ``extra`` and each of them.
    """
    ahts = [a for _, _, a in forecast if a]
    aht_now = float(ahts[0]) if ahts else 180.0
    # One queue is a hall of one class whose counters are its agents (``hall_ahead``'s engine).
    hall = LiveHall(now_ms=q.now_ms, waiting=[(int(o), "q", int(p)) for o, p in q.waiting],
                    counters=[(["q"], int(s)) for s in q.busy_since] + [(["q"], None)] * q.ready)
    cls = {"q": HallClass(arrivals=[(t, n, a) for t, n, a in forecast], aht_s=aht_now, sl_t_s=sl_t_s,
                          patience_s=patience_s, short_abandon_s=short_abandon_s, sl_variant=sl_variant)}
    got = hall_ahead(hall, cls, extra=extra, horizon_ms=horizon_ms, runs=runs, seed=seed, courses=[*courses, extra])
    out = {k: {f: v for f, v in r.items() if f != "queues"} for k, r in got.items()}
    return out if courses else out[extra]
