"""An Erlang A day for the tests: M/M/c+M (Poisson arrivals, exponential handle times and
patience, FIFO, c agents), as v1 events in time order."""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from typing import Iterator

from stream.contracts.events import AgentState, CallAbandoned, CallAnswered, CallEnded, CallOffered, Event

START = 1_700_000_000_000


def generate(lam_per_s: float, mu_per_s: float, theta_per_s: float, agents: int, hours: float, seed: int,
             site: str = "erlang-a", queue: str = "q") -> Iterator[Event]:
    rng = random.Random(seed)
    seq = 0

    def eid() -> str:
        nonlocal seq
        seq += 1
        return f"ea:{seq}"

    out: list[Event] = []
    for k in range(agents):
        out.append(AgentState(id=eid(), ts=START, site=site, agent=f"a{k}", state="ready", queues=[queue]))
    # (time ms, order, kind, call, agent): kinds 0 end, 1 abandon, 2 arrival
    heap: list[tuple[int, int, int, int, int]] = []
    order = itertools.count()
    t = 0.0
    n = 0
    while True:
        t += rng.expovariate(lam_per_s)
        if t > hours * 3600:
            break
        heapq.heappush(heap, (START + round(t * 1000), next(order), 2, n, -1))
        n += 1
    idle = deque(range(agents))
    waiting: deque[int] = deque()

    def answer(ts: int, c: int, ag: int) -> None:
        out.append(CallAnswered(id=eid(), ts=ts, site=site, call=f"c{c}", agent=f"a{ag}"))
        out.append(AgentState(id=eid(), ts=ts, site=site, agent=f"a{ag}", state="busy"))
        heapq.heappush(heap, (ts + max(1, round(rng.expovariate(mu_per_s) * 1000)), next(order), 0, c, ag))

    while heap:
        ts, _, kind, c, ag = heapq.heappop(heap)
        if kind == 2:
            out.append(CallOffered(id=eid(), ts=ts, site=site, call=f"c{c}", queue=queue))
            if idle:
                answer(ts, c, idle.popleft())
            else:
                waiting.append(c)
                heapq.heappush(heap, (ts + round(rng.expovariate(theta_per_s) * 1000), next(order), 1, c, -1))
        elif kind == 1:
            if c in waiting:  # still waiting when its patience ran out
                waiting.remove(c)
                out.append(CallAbandoned(id=eid(), ts=ts, site=site, call=f"c{c}"))
        else:
            out.append(CallEnded(id=eid(), ts=ts, site=site, call=f"c{c}", wrap_up=False))
            out.append(AgentState(id=eid(), ts=ts, site=site, agent=f"a{ag}", state="ready", queues=[queue]))
            if waiting:
                answer(ts, waiting.popleft(), ag)
            else:
                idle.append(ag)
    yield from out
