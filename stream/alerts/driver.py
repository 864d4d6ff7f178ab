"""The event-time driver: apply events to a Floor, evaluate alerts at period boundaries.

Each site is evaluated when its event-time clock crosses a multiple of
``period_ms`` (30 s by default): just before the first event stamped *after*
a boundary is applied, the site's clock is moved to the boundary and the
engine gets the snapshot of that instant. So the figures at a boundary
include every event stamped at or before it that arrived before a later one,
and the same event order gives the same alerts at the same moments whatever
the batching or replay speed. Snapshots are taken only at boundaries (they
are the expensive part), per site.

A quiet gap (a closed night) is walked boundary by boundary for the first
``catchup`` boundaries (2 hours at 30 s), then only at 5-minute boundaries (the detectors'
buckets) for at most ``max_gap_ms``; beyond that the driver jumps.

Snapshots come from the alert view (:mod:`stream.alerts.view`), which asks
each site to keep its live readings as it folds, so on the native core an
evaluation costs what changed since the last one, not a rescan of the site.
Between evaluations events are folded in runs (``Floor.apply_many``).

The driver keeps its boundary state, so the runtime calls :meth:`feed` batch
after batch (and :meth:`tick` with the wall clock when a live site is quiet);
``to_dict`` / ``from_dict`` carry that state over a restart, beside the
engine's.

>>> from stream.fold.floor import Floor
>>> from stream.alerts.config import AlertsConfig
>>> from stream.alerts.engine import AlertEngine
>>> from stream.contracts.events import CallOffered
>>> cfg = AlertsConfig.from_dict({"defaults": {"rules": {"longest_wait": {"raise": 60, "clear": 30, "for_s": 0}}}})
>>> drv = AlertDriver(Floor(), AlertEngine(cfg))
>>> ch = drv.feed([CallOffered(id="1", ts=0, site="s", call="c", queue="q"),
...                CallOffered(id="2", ts=95_000, site="s", call="d", queue="q")])
>>> [(c["change"], c["rule"], c["at_ms"]) for c in ch]
[('raised', 'longest_wait', 90000)]
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional

from stream.alerts.engine import BUCKET_MS, AlertEngine
from stream.alerts.view import AlertViews
from stream.contracts.events import ts_to_ms
from stream.fold.floor import Floor

__all__ = ["AlertDriver", "run_with_alerts", "MAX_GAP_MS"]

# A quiet gap longer than this is jumped, not walked (its detectors learn only its last part).
MAX_GAP_MS = 2 * 86_400_000


class AlertDriver:
    """Feeds a Floor and an AlertEngine on event time; see the module docstring."""

    def __init__(self, floor: Floor, engine: AlertEngine, period_ms: int = 30_000, catchup: int = 240, max_gap_ms: int = MAX_GAP_MS,
                 annotate: Optional[Callable[[Floor, str, dict], None]] = None) -> None:
        """``annotate(floor, site, snapshot)``: adds what a rule reads beyond the fold's figures
        (the staffing advice the ``understaffed`` rule reads) to each snapshot before it is evaluated."""
        if period_ms <= 0 or BUCKET_MS % period_ms:
            raise ValueError("period_ms must divide 5 minutes (300000 ms)")
        self.floor = floor
        self.engine = engine
        self.period_ms = period_ms
        self.catchup = catchup
        self.max_gap_ms = max_gap_ms
        self.annotate = annotate
        # site -> the next boundary to evaluate at
        self.next_ms: dict[str, int] = {}
        # The snapshots at boundaries, kept up to date from the events fed (buckets of one period).
        self.views = AlertViews(floor, period_ms)
        # Sites whose detectors a resumed checkpoint brought, not met yet (see _walk_since_learnt).
        self._unseen: set[str] = set(engine.learnt)

    def _boundaries(self, start: int, until: int) -> list[int]:
        """Boundaries from ``start`` to ``until`` inclusive, thinned in long gaps."""
        p = self.period_ms
        if until < start:
            return []
        n = (until - start) // p + 1
        if n <= self.catchup:
            return list(range(start, until + 1, p))
        out = list(range(start, start + self.catchup * p, p))
        lo = start + self.catchup * p
        lo = max(lo, until - self.max_gap_ms)
        first5 = -(-lo // BUCKET_MS) * BUCKET_MS
        out += list(range(first5, until + 1, BUCKET_MS))
        if out[-1] != until:
            out.append(until)
        return out

    def _evaluate_until(self, site: str, until: int, out: list) -> None:
        """Evaluate ``site`` at every due boundary <= ``until``."""
        nb = self.next_ms[site]
        if until < nb:
            return
        last = nb + (until - nb) // self.period_ms * self.period_ms
        sc = self.floor.site(site)
        for b in self._boundaries(nb, last):
            sc.advance(b)
            snap = self._snapshot(site)
            if self.annotate is not None:
                self.annotate(self.floor, site, snap)
            out.extend(self.engine.evaluate(site, b, snap))
        self.next_ms[site] = last + self.period_ms

    def _snapshot(self, site: str) -> dict:
        """The site's alert snapshot now, with only the agents in a state an agent rule watches and past
        their lowest level or held (all the engine reads of them: ``AlertEngine.agent_filter``)."""
        floors, held = self.engine.agent_filter(site)
        return self.views.snapshot(site, floors, held)

    def feed(self, events: Iterable) -> list[dict]:
        """Apply ``events`` in order; the alert changes of the boundaries they cross."""
        out: list[dict] = []
        evs = self.floor.as_batch(events)
        if self._unseen:
            self._walk_since_learnt(evs)
        # Events are folded up to the next one stamped after its site's boundary;
        # the site is evaluated before that one is applied (the same figures as
        # one by one: the core folds in arrival order). That event then starts
        # the next run: its site's next boundary is now at or after it.
        i, n = 0, len(evs)
        while i < n:
            j = self._fold(evs, i)
            if j < n:
                ev = evs[j]
                self._evaluate_until(ev.site, ev.ts - 1, out)
            i = j
        return out

    def _walk_since_learnt(self, evs) -> None:
        """A site whose first event here comes after the last boundary its resumed detectors learnt
        (a checkpoint, or the history store's warm start) is walked from that boundary, as the engine
        that learnt it would have walked the quiet time between (a night: empty buckets learnt, a
        longer gap thinned as any). Otherwise the detectors would skip it, and differ from a run that
        was never interrupted. A site met first at or before that boundary goes on as usual."""
        for site in self.floor.batch_sites(evs) & self._unseen:
            self._unseen.discard(site)
            if site in self.next_ms:
                continue
            first = next(evs[i] for i in range(len(evs)) if evs[i].site == site)
            t = first.ts if isinstance(first.ts, int) else ts_to_ms(first.ts)
            learnt = self.engine.learnt[site]
            if t > learnt:
                self.next_ms[site] = learnt + self.period_ms

    def _fold(self, evs: list, start: int) -> int:
        """Fold from ``start`` up to the first event past its site's next boundary; its index."""
        return self.floor.fold_until(evs, start, self.next_ms, self.period_ms)

    def tick(self, now_ms: int) -> list[dict]:
        """A quiet live floor: evaluate every site at the boundaries up to ``now_ms`` (wall clock as event time)."""
        out: list[dict] = []
        for site in sorted(self.next_ms):
            self._evaluate_until(site, now_ms, out)
        return out

    def to_dict(self) -> dict:
        return {"period_ms": self.period_ms, "next_ms": dict(sorted(self.next_ms.items()))}

    def restore(self, data: dict) -> None:
        """Resume the boundary state saved by :meth:`to_dict` (same period)."""
        if data["period_ms"] != self.period_ms:
            raise ValueError("saved driver state has another period")
        self.next_ms = dict(data["next_ms"])


def run_with_alerts(floor: Floor, events: Iterable, engine: AlertEngine, period_ms: int = 30_000, driver: Optional[AlertDriver] = None) -> list[dict]:
    """Apply ``events`` to ``floor`` one by one and return the alert changes (see :class:`AlertDriver`).

    Pass the same ``driver`` again to continue batch after batch.
    """
    drv = driver if driver is not None else AlertDriver(floor, engine, period_ms)
    return drv.feed(events)
