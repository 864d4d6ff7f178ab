"""Queue statistics of one window, mergeable, and the figures of metrics.md.

``QueueStats`` holds sums, never averages: offered, answered, abandoned,
short abandons, answered within T, wait and handle-time sums, the largest
wait and a wait histogram. Rollups (site, region, a whole day from its
intervals) merge them; the figures (ASA, service level, abandon rate, AHT,
percentiles) are computed only at the end, so rolling up never averages
averages.

>>> s = QueueStats()
>>> s.add_answered(12_000, sl_t_ms=20_000); s.add_answered(30_000, sl_t_ms=20_000)
>>> s.add_abandoned(3_000, short_ms=5_000); s.offered = 3
>>> f = s.figures()
>>> f["sl_pct"], f["asa_s"], f["abandon_pct"], f["short_abandoned"]
(50.0, 21.0, 0.0, 1)
"""

from __future__ import annotations

from typing import Optional

from stream.fold.histogram import WaitHistogram

REPORT_KEYS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "asa_s",
    "aht_s",
    "sl_pct",
    "abandon_pct",
    "max_wait_s",
)

# The additive counters of QueueStats (what rollups and reports sum).
COUNTERS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "transferred",
    "within",
    "wait_sum",
    "abandon_wait_sum",
    "max_wait",
    "handled",
    "handle_sum",
)


class QueueStats:
    """Additive counters of one queue (or rollup) over one window."""

    __slots__ = (*COUNTERS, "hist", "sl_variant")

    def __init__(self, sl_variant: str = "standard") -> None:
        self.offered = 0
        self.answered = 0
        self.abandoned = 0
        self.short_abandoned = 0
        self.transferred = 0
        self.within = 0  # answered with wait <= T
        self.wait_sum = 0  # ms, answered contacts
        self.abandon_wait_sum = 0  # ms, abandoned contacts (with wait_sum: the exposure patience is estimated from)
        self.max_wait = -1  # ms, answered or abandoned; -1: none yet
        self.handled = 0
        self.handle_sum = 0  # ms
        self.hist: Optional[WaitHistogram] = None  # allocated at the first answer
        self.sl_variant = sl_variant

    def add_answered(self, wait_ms: int, sl_t_ms: int, hist: bool = True) -> None:
        """Count an answered contact; ``hist=False`` skips the wait histogram (no percentiles wanted)."""
        self.answered += 1
        self.wait_sum += wait_ms
        if wait_ms <= sl_t_ms:
            self.within += 1
        if wait_ms > self.max_wait:
            self.max_wait = wait_ms
        if not hist:
            return
        if self.hist is None:
            self.hist = WaitHistogram()
        self.hist.add(wait_ms)

    def add_abandoned(self, wait_ms: int, short_ms: int) -> None:
        self.abandoned += 1
        self.abandon_wait_sum += wait_ms
        if wait_ms < short_ms:
            self.short_abandoned += 1
        if wait_ms > self.max_wait:
            self.max_wait = wait_ms

    def add_handled(self, handle_ms: int) -> None:
        self.handled += 1
        self.handle_sum += handle_ms

    def merge(self, o: "QueueStats") -> "QueueStats":
        self.offered += o.offered
        self.answered += o.answered
        self.abandoned += o.abandoned
        self.short_abandoned += o.short_abandoned
        self.transferred += o.transferred
        self.within += o.within
        self.wait_sum += o.wait_sum
        self.abandon_wait_sum += o.abandon_wait_sum
        if o.max_wait > self.max_wait:
            self.max_wait = o.max_wait
        self.handled += o.handled
        self.handle_sum += o.handle_sum
        if o.hist is not None:
            if self.hist is None:
                self.hist = o.hist.copy()
            else:
                self.hist.merge(o.hist)
        if self.sl_variant != o.sl_variant:
            # A rollup of queues with different SL variants reports the standard one.
            self.sl_variant = "standard"
        return self

    def copy(self) -> "QueueStats":
        c = QueueStats(self.sl_variant)
        c.merge(self)
        c.sl_variant = self.sl_variant
        return c

    def figures(self, percentiles: bool = True) -> dict:
        """The metrics.md figures of this window (null where undefined).

        ``percentiles=False`` leaves the wait percentiles out (None): the alert
        rules never read them, and they are the costly part.
        """
        offered, answered, short = self.offered, self.answered, self.short_abandoned
        base = offered - short
        if self.sl_variant == "exclude_abandons":
            sl = 100.0 * self.within / answered if answered else None
        else:
            sl = 100.0 * self.within / base if base > 0 else None
        hist = self.hist if percentiles else None
        return {
            "offered": offered,
            "answered": answered,
            "abandoned": self.abandoned,
            "short_abandoned": short,
            "asa_s": self.wait_sum / answered / 1000.0 if answered else None,
            "aht_s": self.handle_sum / self.handled / 1000.0 if self.handled else None,
            "sl_pct": sl,
            "abandon_pct": 100.0 * (self.abandoned - short) / base if base > 0 else None,
            "max_wait_s": self.max_wait / 1000.0 if self.max_wait >= 0 else None,
            "transferred": self.transferred,
            "handled": self.handled,
            "answered_within_t": self.within,
            "wait_p50_s": hist.percentile(50) if hist is not None else None,
            "wait_p90_s": hist.percentile(90) if hist is not None else None,
        }

    def report(self) -> dict:
        """Only the replay report's keys, in its order."""
        f = self.figures()
        return {k: f[k] for k in REPORT_KEYS}


def merged(stats: "list[QueueStats]") -> QueueStats:
    out = QueueStats(stats[0].sl_variant if stats else "standard")
    for s in stats:
        out.merge(s)
    return out
