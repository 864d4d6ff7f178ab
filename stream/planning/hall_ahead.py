"""What-if for a service hall: the next hour with ``k`` more (or fewer) counters open, from its state now.

A hall's counters serve several ticket classes (its queues): each counter has
its queues in the order it prefers them, and when it frees up it calls the
waiting ticket of the highest priority among them (a VIP first), ties going
to its own queues in that order, then to the earliest ticket (as the halls
of ``simulators/busy_day.py`` work). This simulates the hall forward from
``LiveHall`` (the tickets waiting now with their classes and waits so far,
each open counter's queues and whether it is serving) with the forecast
arrivals per class, and reports the service level, the longest wait and the
walk-outs (abandons and no-shows) for the hall and per class. Pure (no I/O,
no clock).

The draws are Erlang A's: arrivals Poisson per class and 15-minute interval,
service exponential at the class's AHT, a counter serving now frees up after
an exponential residual at its first queue's AHT, patience exponential at the
class's mean (memoryless: a ticket waiting 10 minutes has as much left as a
new one; None: nobody walks out, Erlang C, as ``stream.planning.plan`` staffs
halls). The ``k`` extra counters open now and take every class, VIP first;
with fewer, idle counters close now and then the first to finish a
customer. The service level and walk-outs are the core's own figures
(``stream.fold.stats.QueueStats``, each class at its own threshold) over
every ticket waiting now or issued within the horizon, followed until called
or gone; the longest wait is that of the tickets issued from now on; all are
averaged over ``runs`` seeded runs whose draws do not depend on ``k``
(common random numbers: the two courses differ by the counters, not the
dice).

A pool of hotline queues (``stream.planning.pools``: queues the same agents
answer) runs here too, each queue a class and each agent a counter taking
every member, with ``first_come``: a free agent takes the highest priority
waiting and then the first to come, whatever its queue (as
``stream.planning.whatif`` serves a pool), not its own queues first.

>>> h = LiveHall(now_ms=0, waiting=[(-300_000 + 10_000 * i, "g", 0) for i in range(15)],
...              counters=[(["g"], 0)] * 3 + [(["g"], None)])
>>> cls = {"g": HallClass(arrivals=[(0, 12.0)] * 1, aht_s=240.0, sl_t_s=600)}
>>> base, more = hall_ahead(h, cls, extra=0), hall_ahead(h, cls, extra=2)
>>> more["longest_wait_s"] < base["longest_wait_s"], more["sl_pct"] >= base["sl_pct"]
(True, True)
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import numpy as np

from stream.fold.calendar import INTERVAL_MS
from stream.fold.stats import QueueStats

__all__ = ["LiveHall", "HallClass", "hall_ahead", "HORIZON_MS"]

HORIZON_MS = 3_600_000
_INF = float("inf")


@dataclass
class LiveHall:
    """A hall at ``now_ms``: tickets waiting ``(issued ms, queue, priority)``; open counters
    ``(queues in the order served, serving since ms or None when ready)``."""

    now_ms: int
    waiting: list[tuple[int, str, int]] = field(default_factory=list)
    counters: list[tuple[list[str], Optional[int]]] = field(default_factory=list)


@dataclass
class HallClass:
    """One ticket class (queue) of the hall: its forecast arrivals ``(interval start ms, tickets)``,
    AHT (s), service-level threshold (s), mean patience (s; None: nobody walks out), and whether
    its tickets are VIP (priority 1 where issued)."""

    arrivals: Sequence[tuple]  # (interval start ms, tickets) or (start, tickets, AHT s of that interval)
    aht_s: float
    sl_t_s: float
    patience_s: Optional[float] = None
    vip: bool = False
    short_abandon_s: float = 0.0
    sl_variant: str = "standard"


def _draws(h: LiveHall, classes: Mapping[str, HallClass], rng: np.random.Generator, horizon_ms: int):
    """One run's tickets ``(issued, queue, priority, service ms, deadline)`` in issue order and the
    serving counters' free-up times: drawn from the seed alone (not from the counters opened)."""
    now, end = h.now_ms, h.now_ms + horizon_ms
    tickets = []
    for off, q, prio in sorted(h.waiting):
        c = classes[q]
        svc = rng.exponential(c.aht_s * 1000.0)
        pat = now + rng.exponential(c.patience_s * 1000.0) if c.patience_s else _INF
        tickets.append((int(off), q, int(prio), int(svc), pat, False))
    for q in sorted(classes):
        c = classes[q]
        for row in c.arrivals:
            start, offered = row[0], row[1]
            aht = (row[2] if len(row) > 2 else None) or c.aht_s
            lo, hi = max(start, now), min(start + INTERVAL_MS, end)
            if hi <= lo or offered <= 0:
                continue
            k = int(rng.poisson(offered * (hi - lo) / INTERVAL_MS))
            ts = np.sort(rng.uniform(lo, hi, k))
            svc = rng.exponential(aht * 1000.0, k)
            pat = ts + rng.exponential(c.patience_s * 1000.0, k) if c.patience_s else np.full(k, _INF)
            tickets.extend((int(t), q, 1 if c.vip else 0, int(s), float(p), True) for t, s, p in zip(ts, svc, pat))
    tickets.sort(key=lambda x: x[0])
    frees = []
    for qs, since in h.counters:
        c = classes.get(qs[0]) if qs else None
        aht = c.aht_s if c else float(np.mean([x.aht_s for x in classes.values()]))
        frees.append(now + int(rng.exponential(aht * 1000.0)) if since is not None else now)
    return tickets, frees


def _course(h: LiveHall, classes: Mapping[str, HallClass], tickets: list, frees: list[int], extra: int,
            order_all: list[str], horizon_ms: int, first_come: bool = False) -> tuple[dict[str, QueueStats], dict[str, int]]:
    """Follow one run's tickets with the counters of this course: per class, its stats and the longest
    wait (ms) of its tickets issued from now on (``first_come``: see the module docstring)."""
    now = h.now_ms
    counters = [list(qs) for qs, _ in h.counters]
    free_at = list(frees)
    if extra > 0:
        counters += [order_all] * extra
        free_at += [now] * extra
    # (free-up ms, counter): idle counters at ``now``; with fewer, the idle ones close first, then
    # the first to finish (the rest keep their place).
    pending = sorted((t, i) for i, t in enumerate(free_at))
    if extra < 0:
        pending = pending[min(-extra, len(pending)):]
    stats = {q: QueueStats(c.sl_variant) for q, c in classes.items()}
    heads: dict[str, list] = {q: [] for q in classes}  # per class: (-priority, issued, ticket)
    gone = [False] * len(tickets)
    quits: list[tuple[float, int]] = []
    idle: list[int] = []  # counters free with nothing for them
    ev: list[tuple[int, int]] = list(pending)
    heapq.heapify(ev)
    longest = dict.fromkeys(classes, 0)
    i, n = 0, len(tickets)
    for t in tickets:
        stats[t[1]].offered += 1

    def pick(ci: int) -> Optional[int]:
        best, best_key = None, None
        for rank, q in enumerate(counters[ci]):
            hq = heads.get(q)
            if not hq:
                continue
            while hq and gone[hq[0][2]]:
                heapq.heappop(hq)
            if hq:
                # higher priority first, then the counter's own order (a pool's agent: the first issued)
                key = hq[0] if first_come else (hq[0][0], rank)
                if best_key is None or key < best_key:
                    best, best_key = q, key
        if best is None:
            return None
        return heapq.heappop(heads[best])[2]

    def serve(ci: int, j: int, t: int) -> None:
        gone[j] = True
        tk = tickets[j]
        w = t - tk[0]
        c = classes[tk[1]]
        stats[tk[1]].add_answered(w, int(c.sl_t_s * 1000), hist=False)
        if tk[5] and w > longest[tk[1]]:
            longest[tk[1]] = w
        heapq.heappush(ev, (t + tk[3], ci))

    while True:
        t_ev = ev[0][0] if ev else _INF
        t_arr = tickets[i][0] if i < n else _INF
        while quits and gone[quits[0][1]]:
            heapq.heappop(quits)
        t_quit = quits[0][0] if quits else _INF
        t = min(t_ev, t_arr, t_quit)
        if t == _INF:
            break  # tickets left with no counter for them and endless patience: left open
        if t == t_ev:
            _, ci = heapq.heappop(ev)
            j = pick(ci)
            if j is None:
                idle.append(ci)
            else:
                serve(ci, j, int(t))
        elif t == t_arr:
            tk = tickets[i]
            heapq.heappush(heads[tk[1]], (-tk[2], tk[0], i))
            if tk[4] != _INF:
                heapq.heappush(quits, (tk[4], i))
            i += 1
            # An idle counter that takes this class calls it at once (the first idle in the order opened).
            for k, ci in enumerate(idle):
                if tk[1] in counters[ci]:
                    del idle[k]
                    j = pick(ci)
                    if j is not None:
                        serve(ci, j, int(t))
                    else:
                        idle.append(ci)
                    break
        else:
            _, j = heapq.heappop(quits)
            gone[j] = True
            tk = tickets[j]
            w = int(t) - tk[0]
            stats[tk[1]].add_abandoned(w, int(classes[tk[1]].short_abandon_s * 1000))
            if tk[5] and w > longest[tk[1]]:
                longest[tk[1]] = w
        if not ev and i >= n and not quits:
            break
    # Tickets no counter will ever call (none takes their class, and nobody walks out): waiting still at
    # the horizon's end, at least; in the longest wait, not in the service level (never called).
    end = now + horizon_ms
    for j in range(i):
        tk = tickets[j]
        if not gone[j] and tk[5] and end - tk[0] > longest[tk[1]]:
            longest[tk[1]] = end - tk[0]
    return stats, longest


def _course_alike(h: LiveHall, classes: Mapping[str, HallClass], tickets: list, frees: list[int], extra: int,
                  horizon_ms: int, of: Optional[list[int]] = None) -> tuple[dict[str, QueueStats], dict[str, int]]:
    """``_course`` where every counter takes every class and the first to come (priority first) whatever
    its class: a hall of one class, one queue's agents, or a pool's (``first_come``). The counters are
    alike, so they are counted, not told apart, and tickets wait in one first-come line per priority
    (issued in order); each ticket's figures go to its class. The same figures as ``_course`` (tested),
    a few times faster. ``of``: each ticket's class as its position in ``classes`` (made here if not given;
    the same for every course of a run)."""
    now = h.now_ms
    ends = sorted(frees)
    if extra > 0:
        ends = sorted(ends + [now] * extra)
    elif extra < 0:
        ends = ends[min(-extra, len(ends)):]  # the idle first, then the first to finish (sorted: a heap)
    names = list(classes)
    index = {q: k for k, q in enumerate(names)}
    sts = [QueueStats(classes[q].sl_variant) for q in names]
    sl_ts = [int(classes[q].sl_t_s * 1000) for q in names]
    shorts = [int(classes[q].short_abandon_s * 1000) for q in names]
    n = len(tickets)
    if of is None:
        of = [index[tk[1]] for tk in tickets]
    for k, c in Counter(of).items():
        sts[k].offered = c
    answered = [st.add_answered for st in sts]  # bound once: called per contact
    abandoned = [st.add_abandoned for st in sts]
    gone = bytearray(n)
    lines: dict[int, deque] = {p: deque() for p in sorted({tk[2] for tk in tickets}, reverse=True)}
    order = list(lines.values())  # highest priority first
    quits: list[tuple[float, int]] = []
    pop, push = heapq.heappop, heapq.heappush
    longest = [0] * len(names)
    idle = i = 0
    while True:
        t_ev = ends[0] if ends else _INF
        t_arr = tickets[i][0] if i < n else _INF
        while quits and gone[quits[0][1]]:
            pop(quits)
        t_quit = quits[0][0] if quits else _INF
        if t_ev <= t_arr and t_ev <= t_quit:
            if t_ev == _INF:
                break
            pop(ends)
            j = -1
            for line in order:
                while line and gone[line[0]]:
                    line.popleft()
                if line:
                    j = line.popleft()
                    break
            if j < 0:
                idle += 1
                continue
            t = t_ev
        elif t_arr <= t_quit:
            j, t = i, t_arr
            i += 1
            if not idle:
                # No counter free (so none waits idle with a ticket in line): it joins its line.
                tk = tickets[j]
                lines[tk[2]].append(j)
                if tk[4] != _INF:
                    push(quits, (tk[4], j))
                continue
            idle -= 1  # a counter idle means nobody in line: this ticket is called at once
        else:
            _, j = pop(quits)
            gone[j] = 1
            tk, k = tickets[j], of[j]
            w = int(t_quit) - tk[0]
            abandoned[k](w, shorts[k])
            if tk[5] and w > longest[k]:
                longest[k] = w
            if not ends and i >= n and not quits:
                break
            continue
        gone[j] = 1
        tk, k = tickets[j], of[j]
        w = t - tk[0]
        answered[k](w, sl_ts[k], False)
        if tk[5] and w > longest[k]:
            longest[k] = w
        push(ends, t + tk[3])
    end = now + horizon_ms
    for j in range(i):
        tk, k = tickets[j], of[j]
        if not gone[j] and tk[5] and end - tk[0] > longest[k]:
            longest[k] = end - tk[0]
    return dict(zip(names, sts)), dict(zip(names, longest))


def _summary(rows: list[dict]) -> dict:
    sl = [r["sl_pct"] for r in rows if r["sl_pct"] is not None]
    return {"sl_pct": round(float(np.mean(sl)), 1) if sl else None,
            **{k: round(float(np.mean([r[k] for r in rows])), 1) for k in ("longest_wait_s", "abandoned", "answered", "offered")}}


def hall_ahead(
    h: LiveHall,
    classes: Mapping[str, HallClass],
    *,
    extra: int = 0,
    horizon_ms: int = HORIZON_MS,
    runs: int = 12,
    seed: int = 0,
    courses: Sequence[int] = (),
    first_come: bool = False,
) -> dict:
    """The hall's next ``horizon_ms`` with ``extra`` counters more (negative: fewer), averaged over ``runs``.

    Returns ``{"sl_pct", "longest_wait_s", "abandoned", "answered", "offered", "runs", "queues": {queue:
    the same figures}}`` (``sl_pct`` None where no ticket counts). ``courses``: other ``extra`` values to
    answer on the same draws; then the result is ``{extra: answer}`` for ``extra`` and each of them. ``first_come``:
    a free counter takes the first to come among its queues' tickets of the highest priority (a pool).
    """
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    unknown = {q for _, q, _ in h.waiting} - set(classes)
    if unknown:
        raise ValueError(f"tickets waiting in a class without a forecast: {sorted(unknown)}")
    # An opened counter takes every class: VIP classes first, then the hall's order.
    order_all = sorted(classes, key=lambda q: (not classes[q].vip, list(classes).index(q)))
    ks = [extra, *[k for k in courses if k != extra]]
    # Counters all alike (one class; or a pool's, every one taking every class first come): counted, not told apart.
    alike = len(classes) == 1 or (first_come and all(set(qs) == set(classes) for qs, _ in h.counters))
    index = {q: i for i, q in enumerate(classes)}
    per: dict[int, dict[str, list[dict]]] = {k: {} for k in ks}
    for r in range(runs):
        rng = np.random.default_rng([seed, r])
        tickets, frees = _draws(h, classes, rng, horizon_ms)
        of = [index[tk[1]] for tk in tickets] if alike else None
        for k in ks:
            if alike:
                stats, longest = _course_alike(h, classes, tickets, frees, k, horizon_ms, of)
            else:
                stats, longest = _course(h, classes, tickets, frees, k, order_all, horizon_ms, first_come)
            hall = QueueStats("standard")
            for q, st in stats.items():
                hall.merge(st)
                per[k].setdefault(q, []).append({**st.figures(percentiles=False), "longest_wait_s": longest[q] / 1000.0})
            per[k].setdefault("", []).append({**hall.figures(percentiles=False),
                                              "longest_wait_s": max(longest.values(), default=0) / 1000.0})
    out = {}
    for k in ks:
        res = _summary(per[k].pop(""))
        res["runs"] = runs
        res["queues"] = {q: _summary(rows) for q, rows in per[k].items()}
        out[k] = res
    return out if courses else out[extra]
