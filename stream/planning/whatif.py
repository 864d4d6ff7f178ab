"""The what-if engine: replay real contacts against a staffing, as events the core can fold.

A pure function (no I/O, no clock): ``simulate`` takes one queue's contacts
(their offered times, handle times and, for the abandoned, patience) and a
step schedule of agents, and returns the events of that queue as it would
have run with those agents: ``call_offered`` at the real instant,
``call_answered`` when an agent is free (priority first, then first come),
``call_ended`` a handle time later, or ``call_abandoned`` when the caller's
patience runs out first. Folding the events with ``Floor`` gives the
figures of ``metrics.md``; nothing here computes a figure.

A pool (queues answered by the same people, ``stream.planning.pools``) is
one simulation: its members' contacts against the pool's agents, each
contact offered to its own queue (the core reports each queue truthfully)
and keeping its own queue's patience (``patience_s`` per queue).

What the log cannot say is drawn from a seeded generator: an answered
caller's patience is unknown beyond the wait they had, so it is that wait
plus an exponential of the queue's mean patience (memoryless, as Erlang A
assumes); an abandoned caller who is answered here needs a handle time, drawn
from the queue's answered contacts (the pool's where its queue has none). When the schedule drops, agents on a
contact finish it first. A later caller can feed a live floor's open
contacts the same way (start from the state, simulate forward).

>>> from stream.planning.calls import Contact
>>> cs = [Contact("s", "q", "a", 0, wait_ms=0, handle_ms=60_000),
...       Contact("s", "q", "b", 10_000, wait_ms=0, handle_ms=60_000)]
>>> evs = simulate(cs, [(0, 1)], patience_s=None, seed=1)
>>> [(e.kind, e.call, e.ts) for e in evs if e.kind != "call_offered"]
[('call_answered', 'a', 0), ('call_ended', 'a', 60000), ('call_answered', 'b', 60000), ('call_ended', 'b', 120000)]
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from typing import Mapping, Optional, Sequence, Union

import numpy as np

from stream.contracts.events import CallAbandoned, CallAnswered, CallEnded, CallOffered, Event
from stream.planning.calls import Contact

__all__ = ["simulate"]

_INF = float("inf")


def simulate(
    contacts: Sequence[Contact],
    schedule: Sequence[tuple[int, int]],
    *,
    patience_s: Union[Optional[float], Mapping[str, Optional[float]]],
    seed: int = 0,
    site: Optional[str] = None,
    queue: Optional[str] = None,
    group: Optional[str] = None,
) -> list[Event]:
    """Events of ``contacts`` (one queue's, or one pool's) served by ``schedule`` (``(from_ms, agents)`` steps, sorted).

    ``patience_s``: the mean patience (None: answered callers never abandon
    here), one for all or per queue. ``queue``: offer every contact to it
    (default: each to its own); ``group``: the name the event ids carry (a
    pool's; default the queue's). Same inputs, same events.
    """
    if not contacts:
        return []
    site = site or contacts[0].site
    name = group or queue or contacts[0].queue
    rng = np.random.default_rng(seed)
    cs = sorted(contacts, key=lambda c: (c.offered_ms, c.id))
    n = len(cs)
    per = patience_s if isinstance(patience_s, Mapping) else {c.queue: patience_s for c in cs}
    mean = np.array([per.get(c.queue) or _INF for c in cs], dtype=float)
    # No draw when nobody has a patience: the handle draws below stay those of a queue without one.
    extra = rng.exponential(1.0, n) * (mean * 1000.0) if np.isfinite(mean).any() else np.full(n, _INF)
    pool_handles = np.array([c.handle_ms for c in cs if c.handle_ms is not None], dtype=float)
    drawn = np.full(n, 0.0)
    for q in sorted({c.queue for c in cs}):
        idx = [i for i, c in enumerate(cs) if c.queue == q]
        own = np.array([cs[i].handle_ms for i in idx if cs[i].handle_ms is not None], dtype=float)
        src = own if len(own) else pool_handles
        if len(src):
            drawn[idx] = rng.choice(src, len(idx))
    deadline = []  # absolute time the caller gives up
    handle = []
    for i, c in enumerate(cs):
        w = c.wait_ms or 0
        deadline.append(c.offered_ms + (w if c.abandoned else w + extra[i]))
        handle.append(int(c.handle_ms) if c.handle_ms is not None else int(drawn[i]))

    steps_t = [t for t, _ in schedule]
    steps_n = [max(0, int(k)) for _, k in schedule]

    def capacity(t: float) -> int:
        i = bisect_right(steps_t, t) - 1
        return steps_n[i] if i >= 0 else 0

    out: list[Event] = []
    seq = 0

    def emit(cls, t, i, **kw) -> None:
        nonlocal seq
        seq += 1
        out.append(cls(id=f"whatif:{site}:{name}:{seq}", ts=int(t), site=site, call=cs[i].id, **kw))

    waiting: list[tuple[int, int, int]] = []  # (-priority, offered, index)
    gone = [False] * n  # abandoned or answered
    ends: list[tuple[int, int]] = []  # (end ms, index) of contacts being handled
    quits: list[tuple[float, int]] = []  # (deadline, index) of contacts waiting
    busy = 0
    i = 0
    k = 0  # next schedule step
    while i < n or ends or waiting:
        # The next thing to happen: an end, an arrival, a schedule step or a caller giving up.
        t_end = ends[0][0] if ends else _INF
        t_arr = cs[i].offered_ms if i < n else _INF
        t_step = steps_t[k] if k < len(steps_t) else _INF
        while quits and gone[quits[0][1]]:
            heapq.heappop(quits)
        t_quit = quits[0][0] if quits else _INF
        t = min(t_end, t_arr, t_step, t_quit)
        if t == _INF:
            break  # callers waiting with no agent ever again and infinite patience: left open
        if t == t_end:
            _, j = heapq.heappop(ends)
            emit(CallEnded, t, j)
            busy -= 1
        elif t == t_arr:
            c = cs[i]
            emit(CallOffered, t, i, queue=queue or c.queue, priority=min(c.priority, 9))
            heapq.heappush(waiting, (-c.priority, c.offered_ms, i))
            heapq.heappush(quits, (deadline[i], i))
            i += 1
        elif t == t_step:
            k += 1
        else:
            _, j = heapq.heappop(quits)
            gone[j] = True
            emit(CallAbandoned, t, j)
            continue
        cap = capacity(t)
        while busy < cap and waiting:
            _, _, j = heapq.heappop(waiting)
            if gone[j]:
                continue
            gone[j] = True
            emit(CallAnswered, t, j)
            heapq.heappush(ends, (int(t) + handle[j], j))
            busy += 1
    return out
