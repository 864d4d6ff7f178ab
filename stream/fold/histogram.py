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

from typing import Optional

_FINE_END = 600_000  # 10 min, 1 s bins
_MID_END = 3_600_000  # 1 h, 10 s bins
_COARSE_END = 21_600_000  # 6 h, 60 s bins
N_BINS = 600 + 300 + 300 + 1


def edge_s(idx: int) -> float:
    """Lower edge of bin ``idx``, in seconds."""
    if idx < 600:
        return float(idx)
    if idx < 900:
        return float(600 + (idx - 600) * 10)
    if idx < 1200:
        return float(3600 + (idx - 900) * 60)
    return 21600.0


def bin_of(wait_ms: int) -> int:
    """The bin index of a wait in milliseconds."""
    if wait_ms < _FINE_END:
        return wait_ms // 1000 if wait_ms > 0 else 0
    if wait_ms < _MID_END:
        return 600 + (wait_ms - _FINE_END) // 10_000
    if wait_ms < _COARSE_END:
        return 900 + (wait_ms - _MID_END) // 60_000
    return N_BINS - 1


class WaitHistogram:
    """Counts of waits per bin; ``merge`` adds another histogram in place.

    The counts are sparse (bin -> count): a queue's waits fill few bins, and
    adding one wait must be cheap because the core does it for every answered leg.
    """

    __slots__ = ("bins",)

    def __init__(self) -> None:
        self.bins: dict[int, int] = {}

    def add(self, wait_ms: int) -> None:
        i = bin_of(wait_ms)
        self.bins[i] = self.bins.get(i, 0) + 1

    def merge(self, other: "WaitHistogram") -> None:
        for i, n in other.bins.items():
            self.bins[i] = self.bins.get(i, 0) + n

    def copy(self) -> "WaitHistogram":
        h = WaitHistogram()
        h.bins = dict(self.bins)
        return h

    @property
    def total(self) -> int:
        return sum(self.bins.values())

    def percentile(self, p: float) -> Optional[float]:
        """Nearest-rank percentile in seconds (lower bin edge), None when empty."""
        n = self.total
        if n == 0:
            return None
        rank = max(1, -(-int(round(p * n * 1000)) // 100_000))  # ceil(p/100 * n) without float drift
        cum = 0
        for i in sorted(self.bins):
            cum += self.bins[i]
            if cum >= rank:
                return edge_s(i)
        return edge_s(max(self.bins))  # not reached: rank <= n
