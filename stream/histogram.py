"""Mergeable histogram of waits, for wait percentiles (p50/p90) of any window.

Bins are 1 s wide up to 10 minutes, 10 s up to an hour, 1 minute up to six
hours, then one overflow bin. Two histograms merge by adding counts, so a
site's or a day's percentiles come from its queues' or intervals' histograms,
never from averaging percentiles.

A percentile is the nearest-rank one (the smallest wait with at least p% of the
waits at or below it), reported as the lower edge of its bin: for waits in
whole seconds under 10 minutes this is exact.

>>> h = WaitHistogram()
>>> for s in (3, 8, 8, 15, 40):
...     h.add(s * 1000)
>>> h.percentile(50), h.percentile(90)
(8.0, 40.0)
"""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

_FINE_END = 600_000  # 10 min, 1 s bins
_MID_END = 3_600_000  # 1 h, 10 s bins
_COARSE_END = 21_600_000  # 6 h, 60 s bins
N_BINS = 600 + 300 + 300 + 1

# Lower edge of every bin, in seconds.
EDGES_S = np.concatenate(
    [
        np.arange(0, 600, 1, dtype=np.float64),
        np.arange(600, 3600, 10, dtype=np.float64),
        np.arange(3600, 21600, 60, dtype=np.float64),
        np.array([21600.0]),
    ]
)


def bin_of(wait_ms: int) -> int:
    """The bin index of a wait in milliseconds."""
    if wait_ms < _FINE_END:
        return wait_ms // 1000 if wait_ms > 0 else 0
    if wait_ms < _MID_END:
        return 600 + (wait_ms - _FINE_END) // 10_000
    if wait_ms < _COARSE_END:
        return 900 + (wait_ms - _MID_END) // 60_000
    return N_BINS - 1


def bins_of(waits_ms: np.ndarray) -> np.ndarray:
    """Vectorised ``bin_of`` for an array of waits (ms)."""
    w = np.maximum(np.asarray(waits_ms, dtype=np.int64), 0)
    out = np.where(
        w < _FINE_END,
        w // 1000,
        np.where(
            w < _MID_END,
            600 + (w - _FINE_END) // 10_000,
            np.where(w < _COARSE_END, 900 + (w - _MID_END) // 60_000, N_BINS - 1),
        ),
    )
    return out


class WaitHistogram:
    """Counts of waits per bin; ``merge`` adds another histogram in place."""

    __slots__ = ("counts",)

    def __init__(self, counts: Optional[np.ndarray] = None) -> None:
        self.counts = counts if counts is not None else np.zeros(N_BINS, dtype=np.int64)

    def add(self, wait_ms: int) -> None:
        self.counts[bin_of(wait_ms)] += 1

    def add_many(self, waits_ms: Iterable[int]) -> None:
        arr = np.fromiter(waits_ms, dtype=np.int64)
        if arr.size:
            self.counts += np.bincount(bins_of(arr), minlength=N_BINS)

    def merge(self, other: "WaitHistogram") -> None:
        self.counts += other.counts

    def copy(self) -> "WaitHistogram":
        return WaitHistogram(self.counts.copy())

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def percentile(self, p: float) -> Optional[float]:
        """Nearest-rank percentile in seconds (lower bin edge), None when empty."""
        n = self.total
        if n == 0:
            return None
        rank = max(1, -(-int(round(p * n * 1000)) // 100_000))  # ceil(p/100 * n) without float drift
        idx = int(np.searchsorted(np.cumsum(self.counts), rank))
        return float(EDGES_S[idx])
