"""AHT drifts and abandon spikes injected into the real February log, ours against an oracle (``bench surge``).

The busiest queue's calls give, per 5-minute bucket, the handled calls that
ended in it and their mean handle time (what the engine feeds ``DriftCusum``,
only with ≥ 5 handled) and, per 15-minute bucket (by offer time), the
offered and abandoned calls and the seconds they waited, answered or
abandoned (``AbandonBuckets``): what the engine feeds ``PatienceDrop``
(every abandon, ≥ 10 offered) and fed ``RateSpike`` before (short abandons,
under 5 s, left out of both counts as metrics.md says).

* **AHT drift**: for 30 minutes, every call ending in the window is handled
  ``1 + lift`` times as long (+50 %, +100 %).
* **Abandon spike**: for 30 minutes (two 15-minute buckets), each call that
  was not abandoned is abandoned with probability ``lift`` (+20, +40 points).
  It hangs up at the moment it was really answered: its real wait, the most
  conservative choice for a hazard (the seconds waited stay as they were; a
  caller hanging up earlier would only add evidence). About half the calls
  were answered within 5 s, so half the injected abandons are short: issue
  17's injection counts them as long abandons anyway (``injection="issue"``),
  the engine leaves them out of the abandon rate (``"short"``); both are
  reported, and ``PatienceDrop``, counting every abandon, reads them alike.

The live detectors run as the engine builds them (``new_detector``: a
time-of-day baseline in the site's zone, drifts of half the usual, abandons
20 per 100 offered above what the waits explain) and with
config/alerts.yaml's levels; ``tod=False`` runs the previous ones (one global
baseline each, the defaults of ``DriftCusum`` and ``RateSpike``) for the
before/after; the **oracle** is a CUSUM of log-likelihood ratios *told* the
month's figures per (day type, 30-minute slot) — mean and per-call variance
of handle time (Gaussian, for a +50 % shift), abandon rate (Bernoulli, for
+20 points) — its threshold the lowest that raises no more alarm episodes on
the untouched month than ours. For abandon spikes a second oracle, fair to
``PatienceDrop``'s model: a Poisson CUSUM told the month's hazard per slot
(abandons ÷ seconds waited) and given each bucket's seconds waited, against
ours' alternative. Detection: an alert from the start to 15 minutes after
the end; false alarms after the first week.

The oracle's month figures are computed two ways, both reported:

* **in-sample** (as first built): each slot's figures from every day of the
  month, the bucket's own day included. Handle times are long-tailed (one
  hour-long call triples a slot's variance), so a slot's variance then
  *contains* the very outliers the oracle is tested on, and the oracle is
  told not only the season but where this month's noise fell;
* **other days** (leave-one-day-out): a bucket is judged against its slot's
  figures from the month's *other* days — still told the whole month's
  season in hindsight (more than any online detector can know), but not
  the bucket's own noise.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from typing import Optional
from zoneinfo import ZoneInfo

import numpy as np

from bench.bench_surge import BUCKET, GRACE_BUCKETS, WARMUP_BUCKETS, WEEK, cusum_alarms, day_type, detected, episodes, lowest_threshold
from stream.alerts.config import load_alerts
from stream.alerts.detectors import DriftCusum, RateSpike
from stream.alerts.engine import MIN_HANDLED, MIN_OFFERED, new_detector
from stream.alerts.hysteresis import step

__all__ = ["series", "run_drift", "run_spike", "SlotSums", "AbandonBuckets", "RATE_PARAMS", "INJECTIONS"]

SHORT_ABANDON_MS = 5_000
SPAN_MS = 30 * 60_000  # a drift or spike lasts 30 minutes
_NAMES = ("ours", "oracle", "oracle_other_days")


def series(path) -> dict:
    """The busiest queue (most handled calls): (end ms, handle s) of its handled calls,
    (offer ms, abandoned) of its offers, short abandons left out, and (offer ms, wait s,
    outcome) of every offer ("answered", "abandoned", "short": an abandon under 5 s, or
    "none"; the wait 0 for "none"), for the seconds waited."""
    from stream.sources import anonbank

    log = anonbank.read_anonbank(path)
    offered: dict = {}  # call -> (offer ms, queue)
    answered: dict = {}
    abandoned: dict = {}  # call -> long (True) or short (False) abandon
    abandon_ms: dict = {}
    handled: dict = {}  # queue -> [(end ms, handle s)]
    for e in log.events:
        if e.kind == "call_offered":
            offered[e.call] = (e.ts, e.queue)
        elif e.kind == "call_answered":
            answered[e.call] = e.ts
        elif e.kind == "call_ended" and e.call in answered and e.call in offered:
            handled.setdefault(offered[e.call][1], []).append((e.ts, (e.ts - answered[e.call]) / 1000.0))
        elif e.kind == "call_abandoned" and e.call in offered:
            abandoned[e.call] = e.ts - offered[e.call][0] >= SHORT_ABANDON_MS
            abandon_ms[e.call] = e.ts
    busiest = max(handled, key=lambda q: len(handled[q]))
    offers = sorted((t, abandoned.get(c, False)) for c, (t, q) in offered.items() if q == busiest and abandoned.get(c, True))
    waits = []
    for c, (t, q) in offered.items():
        if q != busiest:
            continue
        if c in abandoned:
            waits.append((t, (abandon_ms[c] - t) / 1000.0, "abandoned" if abandoned[c] else "short"))
        elif c in answered:
            waits.append((t, (answered[c] - t) / 1000.0, "answered"))
        else:
            waits.append((t, 0.0, "none"))
    hs = sorted(handled[busiest])
    return {"queue": busiest, "handled": hs, "offers": offers, "waits": sorted(waits),
            "t0": min(hs[0][0], offers[0][0]) // 86_400_000 * 86_400_000, "tz": anonbank.TIMEZONE}


class SlotSums:
    """Sums of per-bucket figures by (slot, day): what the oracle is told of a bucket's slot,
    over the whole month (in-sample) or over the month's other days.

    >>> sums = SlotSums(keys=["a", "a", "b", "a"], days=[1, 1, 1, 2], rows=[(2, 10.0), (1, 4.0), (5, 5.0), (3, 9.0)])
    >>> sums.of(0, other_days=False), sums.of(0, other_days=True), sums.of(3, other_days=True)
    ((6, 23.0), (3, 9.0), (3, 14.0))
    """

    def __init__(self, keys: list, days: list, rows: list) -> None:
        self.keys, self.days = keys, days
        self.by_day: dict = {}
        self.month: dict = {}
        for key, day, row in zip(keys, days, rows):
            for table, k in ((self.by_day, (key, day)), (self.month, key)):
                acc = table.get(k)
                table[k] = tuple(row) if acc is None else tuple(x + y for x, y in zip(acc, row))

    def of(self, i: int, other_days: bool) -> tuple:
        """Bucket ``i``'s slot's sums over the month, or (``other_days``) without the bucket's own day."""
        total = self.month[self.keys[i]]
        if not other_days:
            return total
        return tuple(x - y for x, y in zip(total, self.by_day[(self.keys[i], self.days[i])]))


def _slot_key(t_ms: int, tz: str) -> tuple[int, int]:
    d = datetime.fromtimestamp(t_ms / 1000, ZoneInfo(tz))
    return day_type(t_ms, tz), (d.hour * 60 + d.minute) // 30


def _alerts(scores: list, raise_at: float, clear_at: float, start: int) -> list[int]:
    """Buckets where an alert is raised; a bucket without input (None) leaves the condition as it is, as the engine does."""
    st, out = None, []
    for i, s in enumerate(scores):
        if s is None:
            continue
        st, ev = step(st, s, raise_at=raise_at, clear_at=clear_at, for_s=0, repeat_s=0, lower_is_worse=False, now=i)
        if ev == "raised" and i >= start:
            out.append(i)
    return out


def _starts(rng: np.random.Generator, open_b: list[int], k: int, per_day: int) -> list[int]:
    starts: list[int] = []
    for _ in range(2000):
        if len(starts) == k:
            break
        b = int(open_b[rng.integers(len(open_b))])
        if all(abs(b - s) >= per_day for s in starts):
            starts.append(b)
    return sorted(starts)


def run_drift(s: dict, seeds: int, k: int, lifts=(0.5, 1.0), tod: bool = True) -> dict:
    """AHT drift: ours (DriftCusum + config levels) vs the Gaussian oracle."""
    dc = load_alerts().detector("anonbank", None, "aht_drift")
    t0, tz = s["t0"], s["tz"]
    nb = (s["handled"][-1][0] - t0) // BUCKET + 1
    per_bucket: list[list[float]] = [[] for _ in range(nb)]
    for t, h in s["handled"]:
        per_bucket[(t - t0) // BUCKET].append(h)
    keys = [_slot_key(t0 + i * BUCKET, tz) for i in range(nb)]
    days = [(t0 + i * BUCKET) // 86_400_000 for i in range(nb)]
    figs = SlotSums(keys, days, [(len(hs), sum(hs), sum(h * h for h in hs)) for hs in per_bucket])

    def slot_figures(i: int, other_days: bool) -> Optional[tuple[float, float]]:
        """(mean, per-call variance) of bucket ``i``'s slot over the month (or its other days); None under 2 calls."""
        c, total, squares = figs.of(i, other_days)
        if c < 2:
            return None
        mu = total / c
        return mu, squares / c - mu * mu

    def inputs(scale: np.ndarray) -> list:
        return [(sum(hs) * scale[i] / len(hs), len(hs)) if len(hs) >= MIN_HANDLED else None for i, hs in enumerate(per_bucket)]

    def ours(xs: list) -> list[int]:
        det, scores = (new_detector("aht_drift", tz, dc.warmup_buckets) if tod else DriftCusum(warmup=dc.warmup_buckets)), []
        for i, x in enumerate(xs):
            scores.append(None if x is None else det.explain_learn_one({"t": (t0 + i * BUCKET) / 1000, "y": x[0], "n": x[1]})["score"])
        return _alerts(scores, dc.raise_, dc.clear, WARMUP_BUCKETS)

    def oracle_incs(xs: list, other_days: bool) -> list[float]:
        out = []
        for i, x in enumerate(xs):
            f = None if x is None else slot_figures(i, other_days)
            if f is None or f[1] <= 0:
                out.append(0.0)
                continue
            se = math.sqrt(f[1] / x[1])
            z, d = (x[0] - f[0]) / se, 0.5 * f[0] / se
            out.append(d * z - d * d / 2)
        return out

    clean = inputs(np.ones(nb))
    fa = ours(clean)
    weeks = (nb - WARMUP_BUCKETS) * BUCKET / WEEK
    h = {o: lowest_threshold(oracle_incs(clean, o), WARMUP_BUCKETS, episodes(fa)) for o in (False, True)}
    res = {"queue": s["queue"], "false_alarms_per_week": round(len(fa) / weeks, 2), "oracle_threshold": h[False],
           "oracle_other_days_threshold": h[True], "lifts": {}}
    open_b = [i for i in range(WARMUP_BUCKETS, nb - 9) if clean[i] is not None]
    span = SPAN_MS // BUCKET
    for lift in lifts:
        hits = dict.fromkeys(_NAMES, 0)
        total = 0
        for seed in range(seeds):
            starts = _starts(np.random.default_rng(seed), open_b, k, 288)
            scale = np.ones(nb)
            for b in starts:
                scale[b : b + span] = 1 + lift
            xs = inputs(scale)
            total += len(starts)
            hits["ours"] += detected(ours(xs), starts)[0]
            for name, o in (("oracle", False), ("oracle_other_days", True)):
                hits[name] += detected(cusum_alarms(oracle_incs(xs, o), h[o], WARMUP_BUCKETS), starts)[0]
        res["lifts"][f"+{lift:.0%}"] = {"surges": total, **{n: {"detected": v, "detection_rate": round(v / total, 3)} for n, v in hits.items()}}
    return res


# The abandon detector the engine ran before ``PatienceDrop`` (an abandon rate against its hour of the
# day, no waits): the before of the before/after.
RATE_PARAMS = {"ratio": 1.0, "floor": 0.2, "dispersion": True, "disp_alpha": 0.05, "memory": 0.8, "slot_s": 3600, "cap": 14.0}
INJECTIONS = ("issue", "short")


class AbandonBuckets:
    """The busiest queue's 15-minute buckets (by offer time), as the engine reads them: ``n`` offered
    net of short abandons and ``a`` long abandons (the abandon rate's, metrics.md); ``n_all`` offered
    and ``a_all`` abandoned, short ones too, and ``e`` the seconds waited by every offer, answered or
    abandoned (the fold's two wait sums): what ``PatienceDrop`` reads. Per bucket, the waits of the
    calls that were not abandoned (those an injected spike can make hang up), in offer order.

    >>> b = AbandonBuckets([(0, 30.0, "answered"), (1, 2.0, "short"), (2, 50.0, "abandoned"), (900_001, 0.0, "answered")], 0)
    >>> b.n.tolist(), b.a.tolist(), b.n_all.tolist(), b.a_all.tolist(), b.e.tolist(), [c.tolist() for c in b.calls]
    ([2, 1], [1, 0], [3, 1], [2, 0], [82.0, 0.0], [[30.0], [0.0]])
    """

    def __init__(self, waits: list, t0: int, width_ms: int = 3 * BUCKET) -> None:
        nb = (waits[-1][0] - t0) // width_ms + 1
        self.n, self.a, self.n_all, self.a_all = (np.zeros(nb, dtype=np.int64) for _ in range(4))
        self.e = np.zeros(nb)
        calls: list[list[float]] = [[] for _ in range(nb)]
        for t, w, outcome in waits:
            i = (t - t0) // width_ms
            self.e[i] += w
            self.n_all[i] += 1
            self.a_all[i] += outcome in ("abandoned", "short")
            if outcome == "short":
                continue
            self.n[i] += 1
            if outcome == "abandoned":
                self.a[i] += 1
            else:
                calls[i].append(w)
        self.calls = [np.array(c) for c in calls]

    def counts(self) -> dict[str, np.ndarray]:
        """Copies of the counts a spike changes (``n``, ``a``, ``a_all``), to inject into."""
        return {"n": self.n.copy(), "a": self.a.copy(), "a_all": self.a_all.copy()}

    def inject(self, i: int, rng: np.random.Generator, pick: np.random.Generator, lift: float, c: dict, injection: str) -> None:
        """Bucket ``i``'s spike into the counts ``c``, in place: each call not abandoned hangs up with
        probability ``lift``, at the time it was really answered (its real wait: the most conservative
        choice, the seconds waited are then unchanged). Every one is an abandon of ``a_all``. In the
        abandon rate's counts, ``"issue"``: every one is a long abandon (as issue 17 injected);
        ``"short"``: those that had waited under 5 s are short abandons, left out of the offered and
        the abandons as the engine leaves them (metrics.md)."""
        m = int(rng.binomial(c["n"][i] - c["a"][i], lift))
        c["a_all"][i] += m
        if injection == "issue":
            c["a"][i] += m
            return
        waits = self.calls[i][pick.choice(len(self.calls[i]), m, replace=False)] if m else np.zeros(0)
        short = int((waits < SHORT_ABANDON_MS / 1000).sum())
        c["a"][i] += m - short
        c["n"][i] -= short


def run_spike(s: dict, seeds: int, k: int, lifts=(0.2, 0.4), tod: bool = True, model: str = "patience", injection: str = "issue") -> dict:
    """Abandon spike on 15-minute buckets: ours (``model``: the engine's ``PatienceDrop``, or ``"rate"``
    the ``RateSpike`` it ran before; ``tod=False`` RateSpike's defaults) with the config levels, against
    the Bernoulli oracle told the month's abandon rate per slot and the Poisson oracle told its hazard
    per slot (and given each bucket's exposure), both at our false-alarm count."""
    dc = load_alerts().detector("anonbank", None, "abandon_spike")
    b15 = 3 * BUCKET
    t0, tz = s["t0"], s["tz"]
    bk = AbandonBuckets(s["waits"], t0, b15)
    n, a, e, n_all = bk.n, bk.a, bk.e, bk.n_all
    nb = len(n)
    keys = [_slot_key(t0 + i * b15, tz) for i in range(nb)]
    days = [(t0 + i * b15) // 86_400_000 for i in range(nb)]
    figs = SlotSums(keys, days, list(zip(n.tolist(), a.tolist(), bk.a_all.tolist(), e.tolist())))
    alt = new_detector("abandon_spike", tz, dc.warmup_buckets)  # the hazard oracle's alternative is ours

    def make():
        if model == "patience":
            return new_detector("abandon_spike", tz, dc.warmup_buckets)
        return RateSpike(warmup=dc.warmup_buckets, tz=tz, **RATE_PARAMS) if tod else RateSpike(warmup=dc.warmup_buckets)

    start = WARMUP_BUCKETS // 3

    def fed(c: dict, i: int) -> bool:
        """The engine feeds a bucket with ``MIN_OFFERED`` offered: ``PatienceDrop`` all of them, ``RateSpike`` net of short abandons."""
        return (n_all[i] if model == "patience" else c["n"][i]) >= MIN_OFFERED

    def ours(c: dict) -> list[int]:
        det, scores = make(), []
        for i in range(nb):
            if model == "patience":
                x = {"t": (t0 + i * b15) / 1000, "k": int(c["a_all"][i]), "n": int(n_all[i]), "e": float(e[i])}
            else:
                x = {"t": (t0 + i * b15) / 1000, "k": int(c["a"][i]), "n": int(c["n"][i])}
            scores.append(det.explain_learn_one(x)["score"] if fed(c, i) else None)
        return _alerts(scores, dc.raise_, dc.clear, start)

    def oracle_incs(c: dict, other_days: bool) -> list[float]:
        """Bernoulli: the slot's abandon rate over the month (or its other days), +20 points."""
        out = []
        for i in range(nb):
            cn, ck, _, _ = figs.of(i, other_days)
            ni, ai = c["n"][i], c["a"][i]
            if ni < MIN_OFFERED or not cn:
                out.append(0.0)
                continue
            p0 = min(max(ck / cn, 0.005), 0.9)
            p1 = min(p0 + 0.2, 0.99)
            out.append(ai * math.log(p1 / p0) + (ni - ai) * math.log((1 - p1) / (1 - p0)))
        return out

    def hazard_incs(c: dict, other_days: bool) -> list[float]:
        """Poisson: the slot's hazard over the month (or its other days) × the bucket's exposure, against ours' alternative."""
        out = []
        for i in range(nb):
            _, _, ck, ce = figs.of(i, other_days)
            if n_all[i] < MIN_OFFERED or ce <= 0:
                out.append(0.0)
                continue
            mu0 = max(ck / ce, 1e-5) * max(e[i], 1.0)  # ours' least hazard and exposure
            mu1 = alt.ratio * mu0 + alt.floor * n_all[i]
            out.append(c["a_all"][i] * math.log(mu1 / mu0) - (mu1 - mu0))
        return out

    oracles = {"oracle": (oracle_incs, False), "oracle_other_days": (oracle_incs, True),
               "hazard_oracle": (hazard_incs, False), "hazard_oracle_other_days": (hazard_incs, True)}
    fa = ours(bk.counts())
    # 30 minutes are two 15-minute buckets: an oracle's alarms further apart are two episodes, as two raises of ours are.
    gap = SPAN_MS // b15
    h = {name: lowest_threshold(f(bk.counts(), o), start, episodes(fa, gap), gap) for name, (f, o) in oracles.items()}
    res = {"model": model if tod else "rate_global", "injection": injection, "false_alarms_per_week": round(len(fa) / ((nb - start) * b15 / WEEK), 2),
           **{f"{name}_threshold": v for name, v in h.items()}, "lifts": {}}
    open_b = [i for i in range(start, nb - 3) if n[i] >= MIN_OFFERED]
    for lift in lifts:
        hits = dict.fromkeys(("ours", *oracles), 0)
        total = 0
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            pick = np.random.default_rng([seed, 1])  # which calls hang up: apart, so the counts are the same whatever the injection
            starts = _starts(rng, open_b, k, 96)
            c = bk.counts()
            for b in starts:
                for i in range(b, b + SPAN_MS // b15):
                    bk.inject(i, rng, pick, lift, c, injection)
            total += len(starts)
            # Detected from the start to 15 minutes after the end: one 15-minute bucket of grace.
            win = lambda raised: sum(1 for b in starts if any(b <= r < b + SPAN_MS // b15 + GRACE_BUCKETS // 3 for r in raised))
            hits["ours"] += win(ours(c))
            for name, (f, o) in oracles.items():
                hits[name] += win(cusum_alarms(f(c, o), h[name], start))
        res["lifts"][f"+{lift * 100:.0f} pts"] = {"surges": total, **{nm: {"detected": v, "detection_rate": round(v / total, 3)} for nm, v in hits.items()}}
    return res
