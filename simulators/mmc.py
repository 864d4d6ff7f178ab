"""mmc: the Erlang C world (M/M/N, FIFO, no abandons, no wrap-up) as v1 events.

Its figures are known in closed form (``docs/metrics.md``, "Staffing"), so a
run proves the simulator and the core right: the offered rate is
``calls_per_hour``, the mean talk time ``aht_s``, the share of calls that wait
``erlang_c(agents, A)`` with ``A = calls_per_hour × aht_s / 3600`` and the mean
wait ``Pw·AHT/(N−A)``.

Flows: ``call_offered`` → ``call_answered(agent)`` as soon as an agent is free
(the longest-idle one) → ``call_ended(wrap_up=False)``; agents log in
``ready`` at the start, go ``busy`` at the answer and ``ready`` at the end.
The site is UTC (it is not in the floor config; unknown sites are UTC
hotlines). Arrivals stop after ``hours``; calls still queued then are served.

>>> from simulators import mmc
>>> evs = list(mmc.generate(calls_per_hour=120, aht_s=180, agents=8, hours=1, seed=7))
>>> evs[0].kind, evs[0].state, evs[0].queues
('agent_state', 'ready', ['mmc'])
>>> sum(ev.kind == "call_offered" for ev in evs) > 80
True
>>> round(erlang_c(8, 6.0), 4)
0.357

From the shell::

    python -m simulators.mmc --calls-per-hour 360 --aht 180 --agents 20 --hours 8 --seed 1 -o mmc.jsonl
"""

from __future__ import annotations

import argparse
import heapq
from collections import deque
from datetime import datetime, timezone
from typing import Iterator, Optional, Sequence

import numpy as np
from numpy.random import PCG64, Generator

from stream.contracts.events import AgentState, CallAnswered, CallEnded, CallOffered, Event, ts_to_ms

__all__ = ["DEFAULT_START", "erlang_c", "generate", "main"]

DEFAULT_START = datetime(2026, 1, 5, tzinfo=timezone.utc)


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a call waits, for ``agents`` servers and ``traffic`` Erlangs (1.0 if unstable)."""
    if agents <= traffic:
        return 1.0
    # Erlang B recursion: no factorials, stable for thousands of agents.
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic * b / (k + traffic * b)
    return agents * b / (agents - traffic * (1.0 - b))


def generate(
    *,
    calls_per_hour: float,
    aht_s: float,
    agents: int,
    hours: float,
    seed: int,
    start: datetime = DEFAULT_START,
    site: str = "mmc",
    queue: str = "mmc",
) -> Iterator[Event]:
    """Events of an M/M/N queue over ``hours``, in non-decreasing ``ts`` order.

    Same arguments, same events (``numpy`` PCG64 seeded with ``seed``).
    """
    if calls_per_hour < 0 or aht_s <= 0 or agents < 1 or hours < 0:
        raise ValueError("need calls_per_hour >= 0, aht_s > 0, agents >= 1, hours >= 0")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    rng = Generator(PCG64(seed))
    start_ms = ts_to_ms(start)
    horizon_s = hours * 3600.0

    # Draw all arrivals up front (vectorised): cumulative exponential gaps in
    # float seconds, each instant rounded to ms on its own so no rounding error
    # accumulates along the day.
    arr: list[int] = []
    if calls_per_hour > 0 and horizon_s > 0:
        mean_gap = 3600.0 / calls_per_hour
        t = 0.0
        chunks = []
        expect = horizon_s / mean_gap
        while t < horizon_s:
            gaps = rng.exponential(mean_gap, int(expect + 5 * expect**0.5) + 16)
            cum = t + np.cumsum(gaps)
            chunks.append(cum[cum < horizon_s])
            t = float(cum[-1])
        secs = np.concatenate(chunks)
        arr = (start_ms + np.rint(secs * 1000.0)).astype(np.int64).tolist()
    n = len(arr)
    # Service durations rounded to whole ms; the answer instant is already an
    # int, so end = answer + duration stays exact.
    svc = np.rint(rng.exponential(aht_s, n) * 1000.0).astype(np.int64).tolist()

    tag = start.astimezone(timezone.utc).strftime("%Y%m%dT%H%M")
    prefix = f"{site}:{tag}:"
    seq = 0
    agent_ids = [f"a{k + 1:03d}" for k in range(agents)]
    call_ids = [f"{tag}-{i + 1:07d}" for i in range(n)]

    out: list[Event] = []
    for a in agent_ids:
        seq += 1
        out.append(AgentState(id=prefix + str(seq), ts=start_ms, site=site, agent=a, state="ready", queues=[queue]))
    yield from out
    out.clear()

    idle: deque[int] = deque(range(agents))  # longest idle first
    waiting: deque[int] = deque()
    ends: list[tuple[int, int, int, int]] = []  # (end_ms, order, agent, call)
    order = 0
    i = 0
    while i < n or ends:
        # A call end at the same ms as an arrival goes first: the freed agent
        # can then take the new call, as a real ACD would.
        if ends and (i >= n or ends[0][0] <= arr[i]):
            t, _, ag, c = heapq.heappop(ends)
            seq += 1
            out.append(CallEnded(id=prefix + str(seq), ts=t, site=site, call=call_ids[c], wrap_up=False))
            seq += 1
            out.append(AgentState(id=prefix + str(seq), ts=t, site=site, agent=agent_ids[ag], state="ready"))
            if waiting:
                c = waiting.popleft()
            else:
                idle.append(ag)
                c = -1
        else:
            t = arr[i]
            c = i
            i += 1
            seq += 1
            out.append(CallOffered(id=prefix + str(seq), ts=t, site=site, call=call_ids[c], queue=queue))
            if idle:
                ag = idle.popleft()
            else:
                waiting.append(c)
                c = -1
        if c >= 0:
            seq += 1
            out.append(CallAnswered(id=prefix + str(seq), ts=t, site=site, call=call_ids[c], agent=agent_ids[ag]))
            seq += 1
            out.append(AgentState(id=prefix + str(seq), ts=t, site=site, agent=agent_ids[ag], state="busy"))
            order += 1
            heapq.heappush(ends, (t + svc[c], order, ag, c))
        if len(out) >= 4096:
            yield from out
            out.clear()
    yield from out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: write an mmc run as JSON Lines."""
    from stream.sources.jsonl import write_jsonl

    p = argparse.ArgumentParser(prog="python -m simulators.mmc", description=__doc__.split("\n\n")[0])
    p.add_argument("--calls-per-hour", type=float, required=True)
    p.add_argument("--aht", type=float, required=True, help="mean service time, seconds")
    p.add_argument("--agents", type=int, required=True)
    p.add_argument("--hours", type=float, default=8.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", type=datetime.fromisoformat, default=DEFAULT_START, help="ISO 8601 with offset")
    p.add_argument("--site", default="mmc")
    p.add_argument("--queue", default="mmc")
    p.add_argument("-o", "--output", default="-", help="file (.gz to compress) or - for stdout")
    args = p.parse_args(argv)
    evs = generate(
        calls_per_hour=args.calls_per_hour, aht_s=args.aht, agents=args.agents, hours=args.hours,
        seed=args.seed, start=args.start, site=args.site, queue=args.queue,
    )
    write_jsonl(evs, args.output)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
