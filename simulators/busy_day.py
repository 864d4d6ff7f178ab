"""busy-day: one simulated working day of the demo floor, as v1 events in time order.

A discrete-event simulation (one ``heapq`` of integer-millisecond instants) of
every site in the floor config:

* **hotline** sites (open 08:00-22:00 local): ``calls`` calls arrive as a
  non-homogeneous Poisson process (thinning) with the intraday profile below,
  split over the queues (general biggest, english smallest), a few percent
  VIP callers. Agents work shifts planned with Erlang C on a forecast that
  under-calls the peaks, take breaks, lunch, meetings and training, and have
  1-3 skills (primary first). A caller hangs up after an exponential
  patience (VIPs wait longer); talk and wrap-up times are log-normal.
* **hall** sites (open 09:00-18:00 local): tickets are issued on the same kind
  of profile; clerks log in at the configured counters and call the next
  ticket (higher priority first, then their own queues first, then FIFO);
  some customers do not come when called (no-show), some leave before
  (abandon).

The intraday profile (relative arrival rate by local time): morning peak
10:00-11:30, lunch dip 12:00-13:30, afternoon peak 14:30-16:30, quiet evening.

``calls`` scales the whole day: the hotline gets exactly ``calls`` calls (the
Poisson process conditioned on its count) and each hall about
``calls / 20000 × 55`` tickets per configured counter, so the demo config
(12 + 10 counters) gets about ``calls / 16.5`` tickets. Staffing follows from
the load, so the day looks alike at any size. A hall whose demand needs more
counters than configured (only above ``calls ≈ 20000`` for the demo floor)
opens extra ones numbered after the last configured (``C13``, ``C14``, …).

Everything random comes from ``numpy.random.Generator(PCG64(seed))``: the same
config, seed, calls and day give byte-identical output.

>>> from stream.contracts.floor_config import load_config
>>> from simulators import busy_day
>>> evs = list(busy_day.generate(load_config(), seed=1, calls=2000))
>>> sum(ev.kind == "call_offered" for ev in evs)
2000
>>> all(a.ts <= b.ts for a, b in zip(evs, evs[1:]))
True

From the shell (JSON Lines; ``-o x.jsonl.gz`` compresses)::

    python -m simulators.busy_day --calls 20000 --seed 1 -o day.jsonl
"""

from __future__ import annotations

import argparse
import heapq
import math
import re
import sys
import time as _time
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable, Iterator, Optional, Sequence, Union

import numpy as np
from numpy.random import PCG64, Generator

from stream.contracts.floor_config import FloorConfig, SiteConfig, load_config, zone
from stream.contracts.events import (
    AgentState,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    Event,
    TicketAbandoned,
    TicketCalled,
    TicketCompleted,
    TicketIssued,
    TicketNoShow,
    WrapUpEnded,
    ts_to_ms,
)

__all__ = ["DEFAULT_DAY", "HALL_PROFILE", "HOTLINE_PROFILE", "REF_CALLS", "generate", "main"]

DEFAULT_DAY = date(2026, 11, 23)
# The size at which the demo halls' configured counters just fit the demand.
REF_CALLS = 20_000
TICKETS_PER_COUNTER = 50.0

# (local hour, relative arrival rate); the first and last knots are the
# opening and closing times. Linear in between.
HOTLINE_PROFILE: tuple[tuple[float, float], ...] = (
    (8.0, 0.30), (9.0, 0.72), (10.0, 1.00), (11.5, 1.00), (12.0, 0.62), (13.5, 0.58),
    (14.5, 0.92), (16.5, 0.92), (17.5, 0.68), (19.0, 0.40), (20.5, 0.28), (22.0, 0.15),
)
HALL_PROFILE: tuple[tuple[float, float], ...] = (
    (9.0, 0.55), (10.0, 1.00), (11.5, 1.00), (12.0, 0.62), (13.5, 0.60),
    (14.5, 0.90), (16.5, 0.90), (17.5, 0.55), (18.0, 0.35),
)

MIN = 60_000
HOUR = 3_600_000
SLOT = 30 * MIN  # staffing interval

# Planning: per 30-minute slot, agents on the phones (not on break) for A
# Erlangs offered = A·(1 − gamma) + beta·√A. In quiet slots gamma = 0 and
# beta > 0 (square-root staffing: spare agents, short waits); towards the
# peak gamma grows and beta falls, so the floor is short at the peaks, queues
# build and callers abandon - which is what a floor monitor is for. The
# shortage has a part in proportion (the same abandon share at any size) and
# a part in √A (the same odds of waiting at any size), which keeps the day
# alike at any ``calls``.
# (beta quiet, beta at the peak, gamma at the peak) by kind of site. Halls
# are a little kinder: their clerks' lunch closes counters with no cover.
PLAN = {"hotline": (0.4, -0.7, 0.06), "hall": (0.8, -0.3, 0.03)}
PEAK_FROM = 0.7  # relative arrival rate above which the shortage grows


@dataclass(frozen=True)
class _QueueModel:
    share: float  # of the site's contacts
    handle_s: float  # mean talk (hotline) or service (hall) time
    wrap_s: float  # mean wrap-up (hotline only)
    patience_s: float  # mean patience of a regular customer
    vip_share: float  # VIP customers among this queue's contacts (priority >= 1)
    # Hotline: (weight, further skills) of the agents whose primary this is.
    # Hall: "vip" / "business" / "general" role of the queue.
    skills: tuple[tuple[float, tuple[str, ...]], ...] = ((1.0, ()),)
    role: str = "general"


_HOTLINE_QUEUES = {
    "general": _QueueModel(0.44, 210, 35, 240, 0.02, ((0.55, ()), (0.25, ("billing",)), (0.20, ("broadband",)))),
    "vip": _QueueModel(0.09, 280, 45, 480, 1.00, ((0.60, ("general",)), (0.40, ()))),
    "broadband": _QueueModel(0.22, 300, 40, 300, 0.02, ((0.60, ()), (0.40, ("general",)))),
    "billing": _QueueModel(0.18, 240, 30, 240, 0.02, ((0.50, ("general",)), (0.50, ()))),
    "english": _QueueModel(0.07, 260, 40, 300, 0.05, ((0.50, ("general", "vip")), (0.50, ("general",)))),
}
_HOTLINE_DEFAULT = _QueueModel(0.10, 240, 35, 240, 0.02)
VIP_PATIENCE_FACTOR = 2.0
TALK_SIGMA = 0.7
WRAP_SIGMA = 0.5

_HALL_ROLES = {
    "vip": _QueueModel(0.12, 480, 0, 3600, 1.00, role="vip"),
    "business": _QueueModel(0.20, 600, 0, 2700, 0.06, role="business"),
    "general": _QueueModel(0.68, 360, 0, 2400, 0.06, role="general"),
}
SERVICE_SIGMA = 0.6
NO_SHOW_BASE = 0.04  # share of called customers who do not come ...
NO_SHOW_PER_HOUR = 0.16  # ... growing with the wait (they gave up unnoticed)

# Agent states (ints: compared in the hot path).
OFF, READY, BUSY, WRAP, NR = range(5)
# Contact states.
WAITING, SERVED, GONE = 0, 1, 2


# --- public API --------------------------------------------------------------


def generate(
    config: Optional[FloorConfig] = None,
    *,
    seed: int,
    calls: int = REF_CALLS,
    day: date = DEFAULT_DAY,
    tickets: Optional[int] = None,
) -> Iterator[Event]:
    """The events of one day at every site of ``config`` (default: ``config/floor.yaml``).

    ``calls`` calls go to the hotline site(s); the halls get tickets in
    proportion (or ``tickets`` in all, split by counters, when given). Events
    come in non-decreasing ``ts`` order; same arguments give the same events.
    """
    if calls < 0 or (tickets is not None and tickets < 0):
        raise ValueError("calls and tickets must be >= 0")
    cfg = config if config is not None else load_config()
    # A site fed by a real PBX (an ``asterisk:`` section) is not simulated.
    sites = [(s, sc) for s, sc in cfg.sites.items() if sc.asterisk is None]
    hotlines = [s for s, sc in sites if sc.kind == "hotline"]
    halls = [s for s, sc in sites if sc.kind == "hall"]
    # Each site draws from its own child stream, so changing one site's
    # parameters does not reshuffle the others.
    rngs = dict(zip((s for s, _ in sites), Generator(PCG64(seed)).spawn(len(sites))))

    volume: dict[str, int] = {}
    volume.update(zip(hotlines, _split(calls, [1.0] * len(hotlines))))
    weights = [float(len(cfg.sites[h].counters) or 8) for h in halls]
    if tickets is None:
        volume.update((h, round(calls / REF_CALLS * TICKETS_PER_COUNTER * w)) for h, w in zip(halls, weights))
    else:
        volume.update(zip(halls, _split(tickets, weights)))

    eng = _Engine()
    for site, sc in sites:
        if sc.kind == "hotline":
            _Hotline(eng, cfg, site, day, rngs[site], volume[site]).start()
        else:
            _Hall(eng, cfg, site, day, rngs[site], volume[site]).start()
    return eng.run()


# --- engine ------------------------------------------------------------------


class _Engine:
    """The event list: (ms, sequence, handler, argument); the sequence breaks ties in scheduling order."""

    __slots__ = ("heap", "seq", "out")

    def __init__(self) -> None:
        self.heap: list[tuple[int, int, Callable, object]] = []
        self.seq = 0
        # Handlers append the events they emit at the instant being handled,
        # so the output is in time order by construction.
        self.out: list[Event] = []

    def at(self, t: int, fn: Callable, arg: object) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, fn, arg))

    def run(self) -> Iterator[Event]:
        heap, out, pop = self.heap, self.out, heapq.heappop
        while heap:
            t, _, fn, arg = pop(heap)
            fn(t, arg)
            if len(out) >= 4096:
                yield from out
                out.clear()
        yield from out
        out.clear()


# --- helpers -----------------------------------------------------------------


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split by ``weights`` into ints that add up (largest remainder)."""
    if not weights:
        return []
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(x) for x in raw]
    for k in sorted(range(len(raw)), key=lambda k: (out[k] - raw[k], k))[: total - sum(out)]:
        out[k] += 1
    return out


def _local_ms(day: date, hour: float, tz: str) -> int:
    """Epoch ms of a local wall-clock time on ``day`` (zoneinfo: DST-correct)."""
    dt = datetime.combine(day, time(), tzinfo=zone(tz)) + timedelta(hours=hour)
    # datetime + timedelta is wall-clock arithmetic in Python; re-attach the
    # zone so the UTC offset of the target time (not of midnight) applies.
    return ts_to_ms(dt.replace(tzinfo=zone(tz)))


class _Clock:
    """Local hours of one site's day ↔ epoch ms.

    Opening hours never span a DST change (those happen at night), so one
    anchor at opening time makes the mapping exact and linear.
    """

    def __init__(self, day: date, tz: str, profile: Sequence[tuple[float, float]]) -> None:
        self.open_h, self.close_h = profile[0][0], profile[-1][0]
        self.open_ms = _local_ms(day, self.open_h, tz)
        self.close_ms = self.open_ms + round((self.close_h - self.open_h) * HOUR)
        self.xs = np.array([h for h, _ in profile])
        self.ys = np.array([r for _, r in profile])

    def ms(self, hour: float) -> int:
        return self.open_ms + round((hour - self.open_h) * HOUR)

    def arrivals(self, rng: Generator, n: int) -> list[int]:
        """``n`` sorted arrival instants: the Poisson process with this profile, given its count.

        Thinning on the order-statistics form: uniform candidates kept with
        probability rate/max-rate are iid with density ∝ rate.
        """
        if n <= 0:
            return []
        ymax = float(self.ys.max())
        accept = float(np.mean(np.interp(np.linspace(self.open_h, self.close_h, 1000), self.xs, self.ys))) / ymax
        span = self.close_ms - self.open_ms
        kept = []
        got = 0
        while got < n:
            m = int((n - got) / accept * 1.1) + 64
            u = rng.random(m) * span
            keep = u[rng.random(m) * ymax < np.interp(self.open_h + u / HOUR, self.xs, self.ys)]
            kept.append(keep)
            got += len(keep)
        t = np.sort(np.concatenate(kept)[:n])
        return (self.open_ms + np.floor(t).astype(np.int64)).tolist()

    def slot_load(self) -> tuple[np.ndarray, np.ndarray]:
        """Per staffing slot: its share of the day's arrivals, and its rate relative to the peak."""
        nslots = int(round((self.close_h - self.open_h) * 2))
        h = self.open_h + (np.arange(nslots * 30) + 0.5) / 60.0
        r = np.interp(h, self.xs, self.ys).reshape(nslots, 30)
        return r.sum(axis=1) / r.sum(), r.mean(axis=1) / self.ys.max()


def _target(traffic: np.ndarray, rel: np.ndarray, kind: str) -> list[int]:
    """Agents wanted on the phones per slot (see PLAN), at least one while open."""
    beta_quiet, beta_peak, gamma_peak = PLAN[kind]
    x = np.clip((rel - PEAK_FROM) / (1.0 - PEAK_FROM), 0.0, 1.0)
    beta = beta_quiet + (beta_peak - beta_quiet) * x
    want = traffic * (1.0 - gamma_peak * x) + beta * np.sqrt(traffic)
    return [max(1, math.ceil(w)) if a > 0 else 0 for a, w in zip(traffic.tolist(), want.tolist())]


def _plan_shifts(req: Sequence[int], lengths: Sequence[int]) -> list[tuple[int, int]]:
    """Shifts (start slot, end slot) that cover ``req`` agents in every slot.

    Greedy in time order: each agent missing in a slot starts a shift there,
    of the length (full-time first, then part-time) that wastes the fewest
    slots where nobody more is needed, so a shift started for the afternoon
    peak does not overstaff a quiet evening. Shifts end at closing at the
    latest; one that would be shorter than the shortest length starts earlier.
    """
    n = len(req)
    cover = [0] * n
    shifts: list[tuple[int, int]] = []
    for i in range(n):
        while cover[i] < req[i]:
            best = None
            for length in lengths:
                end = min(n, i + length)
                start = min(i, max(0, end - min(lengths)))
                waste = sum(1 for j in range(start, end) if cover[j] >= req[j]) / (end - start)
                if best is None or waste < best[0] - 1e-9:
                    best = (waste, start, end)
            _, start, end = best
            shifts.append((start, end))
            for j in range(start, end):
                cover[j] += 1
    return shifts


def _plan_breaks(
    rng: Generator, start: int, end: int, clock: _Clock, lunch_min: int
) -> list[tuple[int, str, int]]:
    """(planned start ms, reason, duration ms) of one shift's breaks, in time order, not overlapping."""
    length = end - start
    plan: list[tuple[int, str, int]] = []
    j = rng.integers(-20, 21, size=3) * MIN
    if length >= 6 * HOUR:
        # Spread over a window rather than at a fixed offset, so a shift
        # start does not become one mass break two hours later.
        plan.append((start + 90 * MIN + int(rng.random() * 90 * MIN), "break", 15 * MIN))
        # Lunch (or supper) inside the meal windows when the shift allows,
        # staggered at random so the floor is never emptied at once.
        lo, hi = start + 3 * HOUR, end - 3 * HOUR
        for w0, w1 in ((11.0, 13.5), (17.0, 19.0)):
            a, b = max(lo, clock.ms(w0)), min(hi, clock.ms(w1))
            if a <= b:
                plan.append((int(a + rng.random() * (b - a)), "lunch", lunch_min * MIN))
                break
        else:
            plan.append((start + length // 2 - lunch_min * MIN // 2 + int(j[1]), "lunch", lunch_min * MIN))
        plan.append((end - 150 * MIN + int(rng.random() * 75 * MIN), "break", 15 * MIN))
    elif length >= 3 * HOUR:
        plan.append((start + length // 2 + int(j[0]), "break", 15 * MIN))
    u = rng.random()
    if length >= 4 * HOUR and u < 0.15:
        reason, dur = ("meeting", 20 * MIN) if u < 0.10 else ("training", 60 * MIN)
        plan.append((start + 30 * MIN + int(rng.random() * (length - 120 * MIN - dur)), reason, dur))
    plan.sort()
    kept: list[tuple[int, str, int]] = []
    for b in plan:
        # Keep a gap after the previous one, and finish well before the end.
        if (not kept or b[0] >= kept[-1][0] + kept[-1][2] + 30 * MIN) and b[0] + b[2] <= end - 30 * MIN:
            kept.append(b)
    return kept


def _lognormal_ms(rng: Generator, mean_s: np.ndarray, sigma: float, floor_s: float) -> list[int]:
    mu = np.log(mean_s) - sigma * sigma / 2.0
    x = np.exp(mu + sigma * rng.standard_normal(len(mean_s)))
    return np.rint(np.maximum(x, floor_s) * 1000.0).astype(np.int64).tolist()


class _Agent:
    __slots__ = (
        "id", "start", "end", "closing", "skills", "qnames", "counter", "state", "work",
        "pending", "leaving", "breaks", "bi",
    )

    def __init__(self, aid: str, start: int, end: int, closing: bool, breaks: list[tuple[int, str, int]]) -> None:
        self.id = aid
        self.start, self.end, self.closing = start, end, closing
        self.breaks, self.bi = breaks, 0
        self.skills: list[int] = []
        self.qnames: list[str] = []
        self.counter: Optional[_Counter] = None
        self.state = OFF
        self.work = -1  # the contact being handled
        self.pending = False  # a break is due once the contact is done
        self.leaving = False  # the shift is over once the contact is done


class _Counter:
    __slots__ = ("id", "occupant", "next_clerk")

    def __init__(self, cid: str) -> None:
        self.id = cid
        self.occupant: Optional[_Agent] = None
        self.next_clerk: Optional[_Agent] = None


# --- sites -------------------------------------------------------------------


class _Site:
    """What hotline agents and hall clerks share: shifts, breaks, state events."""

    profile: tuple[tuple[float, float], ...] = HOTLINE_PROFILE
    lunch_min = 45

    def __init__(self, eng: _Engine, cfg: FloorConfig, site: str, day: date, rng: Generator) -> None:
        self.eng, self.out, self.cfg, self.site, self.rng = eng, eng.out, cfg, site, rng
        sc = cfg.sites[site]
        self.ymd = day.strftime("%Y%m%d")
        self.prefix = f"{site}:{self.ymd}:"
        self.n = 0
        self.clock = _Clock(day, sc.timezone, self.profile)
        self.agents: list[_Agent] = []

    def _id(self) -> str:
        self.n += 1
        return self.prefix + str(self.n)

    def _emit_state(self, t: int, a: _Agent, state: str, **kw: object) -> None:
        self.n += 1
        self.out.append(AgentState(id=self.prefix + str(self.n), ts=t, site=self.site, agent=a.id, state=state, **kw))

    def _roster(self, target: Sequence[int], full_slots: int, top_up: bool) -> list[tuple[int, int, bool, list]]:
        """(start ms, end ms, closing, breaks) of shifts that keep ``target`` agents available per slot.

        Breaks are planned with the shifts; with ``top_up``, slots they leave
        short get part-timers (a few rounds), so breaks do not eat the
        planned level. Without, a break just closes a counter for a while.
        """
        c = self.clock
        n = len(target)
        out: list[tuple[int, int, bool, list]] = []
        avail = np.zeros(n)
        lengths: tuple[int, ...] = (full_slots, 12, 8)
        for _ in range(4 if top_up else 1):
            need = [max(0, math.ceil(t - a - 1e-9)) for t, a in zip(target, avail.tolist())]
            if not any(need):
                break
            for s, e in _plan_shifts(need, lengths):
                start, end = c.open_ms + s * SLOT, min(c.close_ms, c.open_ms + e * SLOT)
                breaks = _plan_breaks(self.rng, start, end, c, self.lunch_min)
                out.append((start, end, end >= c.close_ms, breaks))
                avail[s:e] += 1.0
                for b0, _, dur in breaks:
                    # Take the break's share of each slot it touches.
                    k0, k1 = (b0 - c.open_ms) // SLOT, (b0 + dur - 1 - c.open_ms) // SLOT
                    for k in range(max(0, k0), min(n, k1 + 1)):
                        lo, hi = max(b0, c.open_ms + k * SLOT), min(b0 + dur, c.open_ms + (k + 1) * SLOT)
                        avail[k] -= max(0, hi - lo) / SLOT
            lengths = (8,)  # top-ups are part-timers
        return out

    # Shift machinery. Subclasses provide _next_work, _has_work, _begin,
    # _idle_add, _idle_remove (and may refuse a login with _seat).

    def start(self) -> None:
        for a in self.agents:
            self.eng.at(a.start, self._on_login, a)

    def _seat(self, t: int, a: _Agent) -> bool:
        return True

    def _on_login(self, t: int, a: _Agent) -> None:
        if t >= a.end or not self._seat(t, a):
            return
        a.state = READY
        self._emit_state(t, a, "ready", queues=list(a.qnames), counter=a.counter.id if a.counter else None)
        self.eng.at(max(a.end, t), self._on_shift_end, a)
        self._next_break(t, a)
        self._dispatch(t, a)

    def _dispatch(self, t: int, a: _Agent) -> None:
        w = self._next_work(a)
        if w < 0:
            self._idle_add(a)
        else:
            self._begin(t, a, w)

    def _free(self, t: int, a: _Agent) -> None:
        """The agent's contact or break is over: break, leave, or take the next contact."""
        if a.pending:
            self._start_break(t, a)
        elif a.leaving and not (a.closing and self._has_work(a)):
            self._logout(t, a)
        else:
            a.state = READY
            self._emit_state(t, a, "ready")
            self._dispatch(t, a)

    def _next_break(self, t: int, a: _Agent) -> None:
        while a.bi < len(a.breaks):
            planned, _, dur = a.breaks[a.bi]
            # A break pushed late by a long contact still keeps its length and
            # a gap to the next; it is dropped when it would run into the end.
            due = max(planned, t + 20 * MIN) if a.bi else planned
            if due + dur <= a.end - 10 * MIN:
                self.eng.at(due, self._on_break_due, a)
                return
            a.bi += 1

    def _on_break_due(self, t: int, a: _Agent) -> None:
        if a.state == READY:
            self._start_break(t, a)
        elif a.state in (BUSY, WRAP) and not a.leaving:
            a.pending = True  # taken after the current contact

    def _start_break(self, t: int, a: _Agent) -> None:
        if a.state == READY:
            self._idle_remove(a)
        a.pending = False
        _, reason, dur = a.breaks[a.bi]
        a.state = NR
        self._emit_state(t, a, "not_ready", reason=reason)
        self.eng.at(t + dur, self._on_break_end, a)

    def _on_break_end(self, t: int, a: _Agent) -> None:
        a.bi += 1
        if not a.leaving:
            self._next_break(t, a)
        self._free(t, a)

    def _on_shift_end(self, t: int, a: _Agent) -> None:
        if a.state == OFF:
            return
        a.leaving = True
        a.pending = False
        if a.state == READY:
            # Idle means nothing waits in its queues, closing shift or not.
            self._idle_remove(a)
            self._logout(t, a)

    def _logout(self, t: int, a: _Agent) -> None:
        a.state = OFF
        self._emit_state(t, a, "logged_out")


class _Hotline(_Site):
    profile = HOTLINE_PROFILE
    lunch_min = 45

    def __init__(self, eng: _Engine, cfg: FloorConfig, site: str, day: date, rng: Generator, n: int) -> None:
        super().__init__(eng, cfg, site, day, rng)
        sc = cfg.sites[site]
        qnames = list(sc.queues) or ["general"]
        self.qnames = qnames
        # Known queue names get tuned parameters; any other VIP queue behaves
        # like "vip", the rest like a mid-sized generic queue.
        models = [
            _HOTLINE_QUEUES.get(q) or (_HOTLINE_QUEUES["vip"] if q in sc.queues and sc.queues[q].vip else _HOTLINE_DEFAULT)
            for q in qnames
        ]
        nq = len(qnames)
        self.nq = nq

        # Calls: everything drawn up front, vectorised, in a fixed order.
        self.T = self.clock.arrivals(rng, n)
        share = np.array([m.share for m in models])
        q = rng.choice(nq, size=n, p=share / share.sum())
        vip = rng.random(n) < np.array([m.vip_share for m in models])[q]
        prio = np.where(vip, np.where(rng.random(n) < 0.25, 2, 1), 0)
        pat = rng.exponential(1.0, n) * np.array([m.patience_s for m in models])[q] * np.where(vip, VIP_PATIENCE_FACTOR, 1.0)
        self.Q = q.tolist()
        self.vip = vip.tolist()
        self.prio = prio.tolist()
        self.pat = np.rint(pat * 1000.0).astype(np.int64).tolist()
        self.talk = _lognormal_ms(rng, np.array([m.handle_s for m in models])[q], TALK_SIGMA, 5.0)
        self.wrap = _lognormal_ms(rng, np.array([m.wrap_s for m in models])[q], WRAP_SIGMA, 3.0)
        self.cid = [f"{self.ymd}-{i + 1:06d}" for i in range(n)]
        self.cstate = bytearray(n)

        # Waiting calls: per queue, one FIFO per priority (highest first).
        self.waitq = [[deque() for _ in range(3)] for _ in range(nq)]
        self.nwait = [0] * nq
        # Idle agents, longest idle first (dicts keep insertion order); those
        # whose primary skill is the queue are offered its calls first.
        self.idle_p: list[dict[_Agent, None]] = [{} for _ in range(nq)]
        self.idle_s: list[dict[_Agent, None]] = [{} for _ in range(nq)]

        self._staff(models, n)

    def _staff(self, models: list[_QueueModel], n: int) -> None:
        mass, rel = self.clock.slot_load()
        share = np.array([m.share for m in models])
        share = share / share.sum()
        index = {q: k for k, q in enumerate(self.qnames)}
        plans = []
        for k, m in enumerate(models):
            aht = m.handle_s + m.wrap_s
            target = _target(n * share[k] * mass / (SLOT / 1000) * aht, rel, "hotline")
            for start, end, closing, breaks in self._roster(target, full_slots=17, top_up=True):
                w = np.array([x for x, _ in m.skills])
                extra = m.skills[int(self.rng.choice(len(w), p=w / w.sum()))][1]
                skills = [k] + [index[s] for s in extra if s in index and index[s] != k]
                plans.append((start, k, end, closing, breaks, skills))
        # Work numbers in order of shift start, as a roster would list them.
        plans.sort(key=lambda p: (p[0], p[1]))
        for num, (start, _, end, closing, breaks, skills) in enumerate(plans, 10001):
            a = _Agent(str(num), start, end, closing, breaks)
            a.skills = skills
            a.qnames = [self.qnames[s] for s in skills]
            self.agents.append(a)

    def start(self) -> None:
        super().start()
        if self.T:
            self.eng.at(self.T[0], self._on_arrival, 0)

    # --- calls

    def _on_arrival(self, t: int, i: int) -> None:
        q = self.Q[i]
        self.n += 1
        self.out.append(CallOffered(
            id=self.prefix + str(self.n), ts=t, site=self.site, call=self.cid[i],
            queue=self.qnames[q], priority=self.prio[i], vip=self.vip[i],
        ))
        idle = self.idle_p[q] or self.idle_s[q]
        if idle:
            self._begin(t, next(iter(idle)), i)
        else:
            self.waitq[q][2 - self.prio[i]].append(i)
            self.nwait[q] += 1
            self.eng.at(t + self.pat[i], self._on_abandon, i)
        if i + 1 < len(self.T):
            self.eng.at(self.T[i + 1], self._on_arrival, i + 1)

    def _on_abandon(self, t: int, i: int) -> None:
        if self.cstate[i] == WAITING:
            self.cstate[i] = GONE
            self.nwait[self.Q[i]] -= 1
            self.n += 1
            self.out.append(CallAbandoned(id=self.prefix + str(self.n), ts=t, site=self.site, call=self.cid[i]))

    def _next_work(self, a: _Agent) -> int:
        nwait, cstate = self.nwait, self.cstate
        for q in a.skills:
            if nwait[q]:
                for dq in self.waitq[q]:
                    while dq:
                        i = dq.popleft()
                        if cstate[i] == WAITING:
                            nwait[q] -= 1
                            return i
        return -1

    def _has_work(self, a: _Agent) -> bool:
        return any(self.nwait[q] for q in a.skills)

    def _idle_add(self, a: _Agent) -> None:
        self.idle_p[a.skills[0]][a] = None
        for q in a.skills[1:]:
            self.idle_s[q][a] = None

    def _idle_remove(self, a: _Agent) -> None:
        self.idle_p[a.skills[0]].pop(a, None)
        for q in a.skills[1:]:
            self.idle_s[q].pop(a, None)

    def _begin(self, t: int, a: _Agent, i: int) -> None:
        if a.state == READY:
            self._idle_remove(a)
        self.cstate[i] = SERVED
        a.state = BUSY
        a.work = i
        self.n += 1
        self.out.append(CallAnswered(id=self.prefix + str(self.n), ts=t, site=self.site, call=self.cid[i], agent=a.id))
        self._emit_state(t, a, "busy")
        self.eng.at(t + self.talk[i], self._on_talk_end, a)

    def _on_talk_end(self, t: int, a: _Agent) -> None:
        self.n += 1
        self.out.append(CallEnded(id=self.prefix + str(self.n), ts=t, site=self.site, call=self.cid[a.work], wrap_up=True))
        a.state = WRAP
        self._emit_state(t, a, "wrap_up")
        self.eng.at(t + self.wrap[a.work], self._on_wrap_end, a)

    def _on_wrap_end(self, t: int, a: _Agent) -> None:
        self.n += 1
        self.out.append(WrapUpEnded(id=self.prefix + str(self.n), ts=t, site=self.site, call=self.cid[a.work], agent=a.id))
        a.work = -1
        self._free(t, a)


class _Hall(_Site):
    profile = HALL_PROFILE
    lunch_min = 60

    def __init__(self, eng: _Engine, cfg: FloorConfig, site: str, day: date, rng: Generator, n: int) -> None:
        super().__init__(eng, cfg, site, day, rng)
        sc = cfg.sites[site]
        qnames = list(sc.queues) or [f"{site}-general"]
        self.qnames = qnames
        roles = [_hall_role(q, sc) for q in qnames]
        models = [_HALL_ROLES[r] for r in roles]
        nq = len(qnames)

        self.T = self.clock.arrivals(rng, n)
        share = np.array([m.share for m in models])
        q = rng.choice(nq, size=n, p=share / share.sum())
        vip = rng.random(n) < np.array([m.vip_share for m in models])[q]
        prio = vip.astype(np.int64)
        pat = rng.exponential(1.0, n) * np.array([m.patience_s for m in models])[q] * np.where(vip, 1.5, 1.0)
        self.Q = q.tolist()
        self.vip = vip.tolist()
        self.prio = prio.tolist()
        self.pat = np.rint(pat * 1000.0).astype(np.int64).tolist()
        self.svc = _lognormal_ms(rng, np.array([m.handle_s for m in models])[q], SERVICE_SIGMA, 30.0)
        self.noshow_u = rng.random(n).tolist()
        self.noshow_delay = rng.integers(60_000, 120_001, n).tolist()
        self.tid = _ticket_ids(self.ymd, qnames, roles, self.Q)
        self.tstate = bytearray(n)

        self.waitq = [[(p, deque()) for p in (1, 0)] for _ in range(nq)]
        self.nwait = [0] * nq
        self.idle: list[dict[_Agent, None]] = [{} for _ in range(nq)]

        counters = [_Counter(c) for c in sc.counters] or [_Counter(f"C{k:02d}") for k in range(1, 9)]
        self.counters = counters
        self._staff(models, roles, n, sc)

    def _staff(self, models: list[_QueueModel], roles: list[str], n: int, sc: SiteConfig) -> None:
        share = np.array([m.share for m in models])
        aht = float((share * np.array([m.handle_s for m in models])).sum() / share.sum())
        mass, rel = self.clock.slot_load()
        shifts = self._roster(_target(n * mass / (SLOT / 1000) * aht, rel, "hall"), full_slots=18, top_up=False)
        shifts.sort(key=lambda s: (s[0], -s[1]))
        # Seat each clerk at the first counter free for the whole shift; the
        # counter's position gives its role (VIP desk first, then business).
        free_at: list[int] = [0] * len(self.counters)
        nc = len(self.counters)
        n_vip = max(1, round(nc * 0.1)) if "vip" in roles else 0
        n_bus = max(1, round(nc * 0.2)) if "business" in roles else 0
        by_role = {r: [k for k, x in enumerate(roles) if x == r] for r in ("vip", "business", "general")}
        order = {
            "vip": by_role["vip"] + by_role["general"] + by_role["business"],
            "business": by_role["business"] + by_role["vip"] + by_role["general"],
            "general": by_role["general"] + by_role["business"],
        }
        for num, (start, end, closing, breaks) in enumerate(shifts, 1):
            k = next((k for k, f in enumerate(free_at) if f <= start), None)
            if k is None:
                k = len(self.counters)
                self.counters.append(_Counter(_extra_counter(self.counters)))
                free_at.append(0)
            free_at[k] = end
            role = "vip" if k < n_vip else "business" if k < n_vip + n_bus else "general"
            a = _Agent(f"{self.site}-{num:03d}", start, end, closing, breaks)
            a.skills = order[role] or list(range(len(roles)))
            a.qnames = [self.qnames[s] for s in a.skills]
            a.counter = self.counters[k]
            self.agents.append(a)

    def start(self) -> None:
        super().start()
        if self.T:
            self.eng.at(self.T[0], self._on_issue, 0)

    # --- counters

    def _seat(self, t: int, a: _Agent) -> bool:
        c = a.counter
        if c.occupant is not None:
            # The previous clerk is still finishing a customer: take over then.
            c.next_clerk = a
            return False
        c.occupant = a
        return True

    def _logout(self, t: int, a: _Agent) -> None:
        super()._logout(t, a)
        c = a.counter
        c.occupant = None
        nxt, c.next_clerk = c.next_clerk, None
        if nxt is not None:
            self._on_login(t, nxt)

    # --- tickets

    def _on_issue(self, t: int, i: int) -> None:
        q = self.Q[i]
        self.n += 1
        self.out.append(TicketIssued(
            id=self.prefix + str(self.n), ts=t, site=self.site, ticket=self.tid[i],
            queue=self.qnames[q], priority=self.prio[i], vip=self.vip[i],
        ))
        idle = self.idle[q]
        if idle:
            self._begin(t, next(iter(idle)), i)
        else:
            self.waitq[q][1 - self.prio[i]][1].append(i)
            self.nwait[q] += 1
            self.eng.at(t + self.pat[i], self._on_abandon, i)
        if i + 1 < len(self.T):
            self.eng.at(self.T[i + 1], self._on_issue, i + 1)

    def _on_abandon(self, t: int, i: int) -> None:
        if self.tstate[i] == WAITING:
            self.tstate[i] = GONE
            self.nwait[self.Q[i]] -= 1
            self.n += 1
            self.out.append(TicketAbandoned(id=self.prefix + str(self.n), ts=t, site=self.site, ticket=self.tid[i]))

    def _next_work(self, a: _Agent) -> int:
        # Highest priority across the clerk's queues; ties go to the clerk's
        # own queues first (list order), then to the earliest ticket.
        best_p, best = -1, None
        tstate, nwait = self.tstate, self.nwait
        for q in a.skills:
            if not nwait[q]:
                continue
            for p, dq in self.waitq[q]:
                while dq and tstate[dq[0]] != WAITING:
                    dq.popleft()
                if dq:
                    if p > best_p:
                        best_p, best = p, (q, dq)
                    break
        if best is None:
            return -1
        q, dq = best
        self.nwait[q] -= 1
        return dq.popleft()

    def _has_work(self, a: _Agent) -> bool:
        return any(self.nwait[q] for q in a.skills)

    def _idle_add(self, a: _Agent) -> None:
        for q in a.skills:
            self.idle[q][a] = None

    def _idle_remove(self, a: _Agent) -> None:
        for q in a.skills:
            self.idle[q].pop(a, None)

    def _begin(self, t: int, a: _Agent, i: int) -> None:
        if a.state == READY:
            self._idle_remove(a)
        self.tstate[i] = SERVED
        a.state = BUSY
        a.work = i
        self.n += 1
        self.out.append(TicketCalled(
            id=self.prefix + str(self.n), ts=t, site=self.site, ticket=self.tid[i], counter=a.counter.id, agent=a.id,
        ))
        self._emit_state(t, a, "busy")
        waited_h = (t - self.T[i]) / HOUR
        if self.noshow_u[i] < NO_SHOW_BASE + NO_SHOW_PER_HOUR * min(waited_h, 1.0):
            self.eng.at(t + self.noshow_delay[i], self._on_no_show, a)
        else:
            self.eng.at(t + self.svc[i], self._on_complete, a)

    def _on_complete(self, t: int, a: _Agent) -> None:
        self.n += 1
        self.out.append(TicketCompleted(id=self.prefix + str(self.n), ts=t, site=self.site, ticket=self.tid[a.work]))
        a.work = -1
        self._free(t, a)

    def _on_no_show(self, t: int, a: _Agent) -> None:
        self.n += 1
        self.out.append(TicketNoShow(id=self.prefix + str(self.n), ts=t, site=self.site, ticket=self.tid[a.work]))
        a.work = -1
        self._free(t, a)


def _hall_role(q: str, sc: SiteConfig) -> str:
    qc = sc.queues.get(q)
    if (qc is not None and qc.vip) or q.endswith("vip"):
        return "vip"
    if "business" in q or "enterprise" in q:
        return "business"
    return "general"


def _ticket_ids(ymd: str, qnames: list[str], roles: list[str], Q: list[int]) -> list[str]:
    """Ticket numbers as a hall's machine prints them: 20261123-A017 (letter per queue, count per queue)."""
    letters: list[str] = []
    pool = iter("CDEFGHJKLMNPQRSTUWXYZ")
    for r in roles:
        want = {"general": "A", "business": "B", "vip": "V"}[r]
        letters.append(want if want not in letters else next(pool))
    counts = [0] * len(qnames)
    total = [0] * len(qnames)
    for q in Q:
        total[q] += 1
    width = [max(3, len(str(x))) for x in total]
    out = []
    for q in Q:
        counts[q] += 1
        out.append(f"{ymd}-{letters[q]}{counts[q]:0{width[q]}d}")
    return out


def _extra_counter(counters: list[_Counter]) -> str:
    """The next counter number after the configured ones (C12 → C13)."""
    taken = {c.id for c in counters}
    m = re.fullmatch(r"(.*?)(\d+)", counters[-1].id) if counters else None
    prefix, width, k = (m.group(1), len(m.group(2)), int(m.group(2))) if m else ("X", 2, 0)
    while True:
        k += 1
        cid = f"{prefix}{k:0{width}d}"
        if cid not in taken:
            return cid


# --- command line ------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: write a busy day as JSON Lines; ``--stats`` prints counts and timing."""
    from stream.sources.jsonl import write_jsonl

    p = argparse.ArgumentParser(prog="python -m simulators.busy_day", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=None, help="floor YAML (default config/floor.yaml)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--calls", type=int, default=REF_CALLS)
    p.add_argument("--tickets", type=int, default=None)
    p.add_argument("--day", type=date.fromisoformat, default=DEFAULT_DAY)
    p.add_argument("-o", "--output", default="-", help="file (.gz to compress), - for stdout")
    p.add_argument("--stats", action="store_true", help="only count events by kind and time it")
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    evs = generate(cfg, seed=args.seed, calls=args.calls, day=args.day, tickets=args.tickets)
    t0 = _time.perf_counter()
    if args.stats:
        counts: dict[str, int] = {}
        for ev in evs:
            kind = type(ev).__struct_config__.tag
            counts[kind] = counts.get(kind, 0) + 1
        for k in sorted(counts):
            print(f"{k:18s} {counts[k]:>9d}")
        print(f"{'total':18s} {sum(counts.values()):>9d}  in {_time.perf_counter() - t0:.2f} s")
    else:
        n = write_jsonl(evs, args.output)
        print(f"{n} events in {_time.perf_counter() - t0:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
