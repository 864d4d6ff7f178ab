"""Fold many sealed legs into a site's totals at once, with numpy.

The same sums as ``SiteCore._fold_leg`` applied leg by leg (counts, wait and
handle-time sums, within-T counts, maxima, histogram bins, per agent and day),
grouped with numpy instead of a dictionary walk per leg and figure. Everything
is integer arithmetic on epoch milliseconds, so the totals are exactly those of
the leg-by-leg fold; only the order in which dictionary keys first appear may
differ, and no figure depends on it.

A replay seals about 160,000 legs a busy day; folding them here instead of one
by one is one of the larger savings of the replay path.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from stream.fold.calendar import INTERVAL_MS
from stream.fold.histogram import N_BINS, WaitHistogram, bins_of
from stream.fold.site import stats_at

_NONE = -1  # epoch ms are >= 0 (events.EpochMs), so -1 stands for "not yet"


def _local_days(cal, ms: np.ndarray) -> tuple[np.ndarray, list[tuple[str, bool, int]]]:
    """Index of each instant's local day, and per day (date, uniform offset?, offset ms)."""
    lo, hi = int(ms.min()), int(ms.max())
    starts: list[int] = []
    infos: list[tuple[str, bool, int]] = []
    t = lo
    while True:
        start, end = cal.day_bounds(t)
        starts.append(start)
        infos.append((cal.date_of(t), cal._uniform, cal._offset))
        if hi < end:
            break
        t = end
    idx = np.searchsorted(np.asarray(starts, dtype=np.int64), ms, side="right") - 1
    return idx, infos


def _intervals(cal, ms: np.ndarray, day_idx: np.ndarray, infos: list) -> np.ndarray:
    """``cal.interval_start`` of each instant."""
    offsets = np.asarray([off for _, _, off in infos], dtype=np.int64)
    # numpy's % on integers takes the divisor's sign, like Python's.
    out = ms - (ms + offsets[day_idx]) % INTERVAL_MS
    uneven = [i for i, (_, uniform, _) in enumerate(infos) if not uniform]
    if uneven:
        # A day with a DST change: the offset of each instant, one by one.
        for j in np.flatnonzero(np.isin(day_idx, uneven)).tolist():
            out[j] = cal.interval_start(int(ms[j]))
    return out


def _col(legs: list, name: str) -> np.ndarray:
    vals = [getattr(lg, name) for lg in legs]
    return np.fromiter((_NONE if v is None else v for v in vals), dtype=np.int64, count=len(vals))


class _Groups:
    """Rows grouped by an integer key: unique keys and each row's group."""

    __slots__ = ("keys", "inv", "n")

    def __init__(self, keys: np.ndarray) -> None:
        self.keys, self.inv = np.unique(keys, return_inverse=True)
        self.n = len(self.keys)

    def count(self, mask: np.ndarray) -> list[int]:
        return np.bincount(self.inv[mask], minlength=self.n).tolist()

    def sum(self, mask: np.ndarray, vals: np.ndarray) -> list[int]:
        out = np.zeros(self.n, dtype=np.int64)
        np.add.at(out, self.inv[mask], vals[mask])
        return out.tolist()

    def max(self, mask: np.ndarray, vals: np.ndarray) -> list[int]:
        out = np.full(self.n, -1, dtype=np.int64)
        np.maximum.at(out, self.inv[mask], vals[mask])
        return out.tolist()

    def hists(self, mask: np.ndarray, bins: np.ndarray) -> list[Optional[dict[int, int]]]:
        """Per group, bin -> count of the masked rows (None for a group without any)."""
        out: list[Optional[dict[int, int]]] = [None] * self.n
        pairs, counts = np.unique(self.inv[mask] * N_BINS + bins[mask], return_counts=True)
        for pair, k in zip(pairs.tolist(), counts.tolist()):
            g, b = divmod(pair, N_BINS)
            h = out[g]
            if h is None:
                h = out[g] = {}
            h[b] = k
        return out


def fold_legs(sc, legs: list, days: dict, intervals: dict, agent_days: Optional[dict]) -> None:
    """Add sealed ``legs`` of site core ``sc`` to ``days``, ``intervals`` and ``agent_days``."""
    cal = sc.cal
    qcodes: dict[str, int] = {}
    qidx = np.fromiter((qcodes.setdefault(lg.queue, len(qcodes)) for lg in legs), dtype=np.int64, count=len(legs))
    qnames = list(qcodes)
    params = [sc.qparams(q) for q in qnames]
    t_ms = np.asarray([p[0] for p in params], dtype=np.int64)[qidx]
    short_ms = np.asarray([p[1] for p in params], dtype=np.int64)[qidx]
    variants = [p[2] for p in params]
    nq = len(qnames)

    offered = _col(legs, "offered")
    answered = _col(legs, "answered")
    handle_end = _col(legs, "handle_end")
    abandoned = _col(legs, "abandoned")
    transferred = _col(legs, "transferred")

    # The same branches as _fold_leg: answered, else abandoned, else transferred.
    is_ans = answered != _NONE
    is_ab = ~is_ans & (abandoned != _NONE)
    is_tr = ~is_ans & ~is_ab & (transferred != _NONE)
    is_hd = is_ans & (handle_end != _NONE)
    wait = np.where(is_ans, answered - offered, np.where(is_ab, abandoned - offered, 0))
    handle = np.where(is_hd, handle_end - answered, 0)
    within = is_ans & (wait <= t_ms)
    short = is_ab & (wait < short_ms)
    waited = is_ans | is_ab
    bins = bins_of(wait)

    day_idx, day_infos = _local_days(cal, offered)
    i0 = _intervals(cal, offered, day_idx, day_infos)
    everyone = np.ones(len(legs), dtype=bool)

    def fold(book: dict, groups: _Groups, key_of) -> None:
        off = groups.count(everyone)
        ans = groups.count(is_ans)
        ab = groups.count(is_ab)
        sh = groups.count(short)
        tr = groups.count(is_tr)
        win = groups.count(within)
        wsum = groups.sum(is_ans, wait)
        wmax = groups.max(waited, wait)
        hists = groups.hists(is_ans, bins)
        for g, key in enumerate(groups.keys.tolist()):
            k, q = divmod(key, nq)
            st = stats_at(book, key_of(k), qnames[q], variants[q])
            st.offered += off[g]
            st.answered += ans[g]
            st.abandoned += ab[g]
            st.short_abandoned += sh[g]
            st.transferred += tr[g]
            st.within += win[g]
            st.wait_sum += wsum[g]
            if wmax[g] > st.max_wait:
                st.max_wait = wmax[g]
            h = hists[g]
            if h is not None:
                if st.hist is None:
                    st.hist = WaitHistogram()
                st.hist.merge(_as_hist(h))

    # Days by the offered time; handle time of a day too (metrics.md).
    day_groups = _Groups(day_idx * nq + qidx)
    fold(days, day_groups, lambda k: day_infos[k][0])
    hd = day_groups.count(is_hd)
    hsum = day_groups.sum(is_hd, handle)
    for g, key in enumerate(day_groups.keys.tolist()):
        if hd[g]:
            k, q = divmod(key, nq)
            st = days[day_infos[k][0]][qnames[q]]
            st.handled += hd[g]
            st.handle_sum += hsum[g]

    # Intervals by the offered time; handle time in the interval where the handling ended.
    fold(intervals, _Groups(i0 * nq + qidx), lambda k: k)
    if is_hd.any():
        he = handle_end[is_hd]
        he_day, he_infos = _local_days(cal, he)
        he_groups = _Groups(_intervals(cal, he, he_day, he_infos) * nq + qidx[is_hd])
        sub = np.ones(len(he), dtype=bool)
        hd = he_groups.count(sub)
        hsum = he_groups.sum(sub, handle[is_hd])
        for g, key in enumerate(he_groups.keys.tolist()):
            k, q = divmod(key, nq)
            st = stats_at(intervals, k, qnames[q], variants[q])
            st.handled += hd[g]
            st.handle_sum += hsum[g]

    # Agents: contacts handled and handle time, per offered day.
    if agent_days is not None:
        for j in np.flatnonzero(is_hd).tolist():
            agent = legs[j].agent
            if agent is None:
                continue
            d = day_infos[int(day_idx[j])][0]
            ad = agent_days.get(d)
            if ad is None:
                ad = agent_days[d] = {}
            h = int(handle[j])
            row = ad.get(agent)
            if row is None:
                ad[agent] = [1, h]
            else:
                row[0] += 1
                row[1] += h


def _as_hist(bins: dict[int, int]) -> WaitHistogram:
    h = WaitHistogram()
    h.bins = bins
    return h
