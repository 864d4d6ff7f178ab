"""Load forecast backtest: ours against seasonal naive, statsforecast MSTL and AutoETS, same run.

    python -m bench forecast [--file ../shared/data/anonbank/february.txt] [--first 1999-02-15]
                             [--horizon 7] [--step 7] [--sim-days 21] [--sim-calls 4000] [--no-sf] [--json]

Rolling origin: from each origin day D (``--first``, then every ``--step``
days to the end of the log) each model learns the queue's 15-minute
intervals of the days before D and forecasts the ``--horizon`` days from D
(96 intervals a day). By default origins a week apart, a week ahead, so
every day from ``--first`` on is forecast once (statsforecast's fits take
minutes per origin on a small machine; ``--step 1 --horizon 1`` is the
day-ahead variant). Per queue and in total:

* offered: WAPE = Σ|forecast − actual| ÷ Σ actual over all intervals of all
  origins;
* AHT: WAPE weighted by the interval's handled contacts, Σ h·|f − a| ÷ Σ h·a
  over intervals with a handled contact (one 20-minute call in a quiet
  interval should not weigh like a busy hour).

The actuals are the core's interval rows (``stream.planning.actuals``), folded
once from the whole log; a day's rows are by offered time, so a model at
origin D sees nothing of D (a handle time ending after midnight is counted
on its end's interval, as the core does).

Models: *seasonal naive* (the same interval one week earlier; AHT too, the
queue's mean where that interval had none), *ours*
(``stream.planning.forecast.LoadForecaster``), and what an analyst would pick
instead, statsforecast's ``MSTL`` (daily and weekly seasonality, 96 and 672
intervals, AutoETS trend) and ``AutoETS`` (daily season, 96), each fitted on
the same history at every origin (AHT series: intervals without a handled
contact filled with the queue's mean). The same runs on ``--sim-days`` busy
days of the demo floor (``simulators.busy_day``, ``--sim-calls`` calls a
day, one seed per day), one origin 7 days before the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NIXTLA_ID_AS_COL", "1")

import numpy as np

from stream.planning.actuals import SLOTS, QueueHistory, fold_history, read_log
from stream.planning.forecast import LoadForecaster, forecast_site

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "anonbank" / "february.txt"
MODELS = ("naive", "ours", "MSTL", "AutoETS")


def _grid(qh: QueueHistory, d0: date, d1: date) -> tuple[list[date], np.ndarray, np.ndarray, np.ndarray]:
    """Days d0..d1 as (days, offered, handled, handle_s) arrays of shape (days, 96); missing days are zeros."""
    days = [d0 + timedelta(days=i) for i in range((d1 - d0).days + 1)]
    off = np.zeros((len(days), SLOTS))
    h = np.zeros((len(days), SLOTS))
    hs = np.zeros((len(days), SLOTS))
    for i, d in enumerate(days):
        day = qh.days.get(d.isoformat())
        if day is not None:
            off[i], h[i], hs[i] = day.offered, day.handled, day.handle_s
    return days, off, h, hs


def _aht_series(h: np.ndarray, hs: np.ndarray) -> tuple[np.ndarray, float]:
    mean = hs.sum() / h.sum() if h.sum() > 0 else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(h > 0, hs / np.maximum(h, 1e-12), mean)
    return a, mean


def _statsforecast(series: dict[str, np.ndarray], start: date, horizon: int) -> dict[str, dict[str, np.ndarray]]:
    """MSTL and AutoETS forecasts of ``horizon`` intervals for each named series (15-minute steps from ``start``)."""
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS

    frames = []
    for uid, y in series.items():
        ds = pd.date_range(pd.Timestamp(start), periods=len(y), freq="15min")
        frames.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": y.astype(float)}))
    df = pd.concat(frames, ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = StatsForecast(
            models=[MSTL(season_length=[96, 672], trend_forecaster=AutoETS(model="ZZN")), AutoETS(season_length=96)],
            freq="15min",
            n_jobs=1,
        )
        fc = sf.forecast(df=df, h=horizon)
    out: dict[str, dict[str, np.ndarray]] = {}
    for uid, g in fc.groupby("unique_id"):
        out[str(uid)] = {m: np.clip(g[m].to_numpy(dtype=float), 0, None) for m in ("MSTL", "AutoETS")}
    return out


class Score:
    """Sums for offered and AHT WAPE of one model on one queue."""

    def __init__(self) -> None:
        self.err = 0.0
        self.act = 0.0
        self.aerr = 0.0
        self.aact = 0.0

    def add(self, f_off, a_off, f_aht, a_h, a_hs) -> None:
        self.err += float(np.abs(f_off - a_off).sum())
        self.act += float(a_off.sum())
        m = a_h > 0
        a_aht = np.where(m, a_hs / np.maximum(a_h, 1e-12), 0.0)
        f = np.nan_to_num(f_aht, nan=0.0)
        self.aerr += float((a_h[m] * np.abs(f[m] - a_aht[m])).sum())
        self.aact += float(a_hs[m].sum())

    def merge(self, o: "Score") -> None:
        self.err += o.err
        self.act += o.act
        self.aerr += o.aerr
        self.aact += o.aact

    def wape(self) -> tuple[float | None, float | None]:
        return (100 * self.err / self.act if self.act else None, 100 * self.aerr / self.aact if self.aact else None)


def backtest(hist: dict, first: date, last: date, use_sf: bool = True, horizon: int = 7, step: int = 7, pool: bool = True,
             **model) -> dict:
    """Rolling-origin scores per queue and model: ``{queue: {model: (wape_offered, wape_aht)}}``.

    Origins ``first``, ``first + step``, ... up to ``last``; from each, every
    model forecasts the next ``horizon`` days (not past ``last``) from the
    days before the origin only.
    """
    if not 1 <= horizon <= 7:
        raise ValueError("horizon must be 1..7 days (the seasonal naive copies the week before)")
    d0 = min(date.fromisoformat(d) for qh in hist.values() for d in qh.days)
    scores: dict[str, dict[str, Score]] = {}
    timing = {m: 0.0 for m in MODELS}
    grids = {f"{s}/{q}": _grid(qh, d0, last) for (s, q), qh in hist.items()}
    models = MODELS if use_sf else MODELS[:2]
    origin = first
    while origin <= last:
        k = (origin - d0).days
        H = min(horizon, (last - origin).days + 1)
        sf_in: dict[str, np.ndarray] = {}
        for uid, (days, off, h, hs) in grids.items():
            if off[:k].sum() == 0:
                continue
            aht_hist, _ = _aht_series(h[:k], hs[:k])
            sf_in[uid + "|off"] = off[:k].ravel()
            sf_in[uid + "|aht"] = aht_hist.ravel()
        t = time.perf_counter()
        sf_out = _statsforecast(sf_in, d0, SLOTS * H) if use_sf and sf_in else {}
        timing["MSTL"] += time.perf_counter() - t
        if use_sf:
            print(f"  origin {origin}: statsforecast {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
        t = time.perf_counter()
        by_site: dict[str, dict[str, LoadForecaster]] = {}
        for uid, (days, off, h, hs) in grids.items():
            if uid + "|off" not in sf_in:
                continue
            site = uid.partition("/")[0]
            f = by_site.setdefault(site, {})[uid] = LoadForecaster(site, **model)
            for i in range(k):
                f.learn_day(days[i], off[i], h[i], hs[i])
        ours_all: dict[str, list] = {uid: [] for fs in by_site.values() for uid in fs}
        for fs in by_site.values():
            for j in range(H):
                for uid, fc in forecast_site(fs, days[k + j], pool).items():
                    ours_all[uid].append(fc)
        timing["ours"] += time.perf_counter() - t
        for uid, (days, off, h, hs) in grids.items():
            if uid + "|off" not in sf_in:
                continue
            _, mean = _aht_series(h[:k], hs[:k])
            ours = ours_all[uid]
            for j in range(H):
                kk = k + j
                a_off, a_h, a_hs = off[kk], h[kk], hs[kk]
                preds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
                # Seasonal naive: the same interval one week earlier (always before the origin: horizon <= 7).
                wk = kk - 7
                if wk >= 0:
                    with np.errstate(invalid="ignore", divide="ignore"):
                        prev_aht = np.where(h[wk] > 0, hs[wk] / np.maximum(h[wk], 1e-12), mean)
                    preds["naive"] = (off[wk], prev_aht)
                else:
                    preds["naive"] = (off[k - 1], np.full(SLOTS, mean))
                preds["ours"] = (ours[j].offered, ours[j].aht_s)
                if use_sf:
                    sl = slice(j * SLOTS, (j + 1) * SLOTS)
                    for m in ("MSTL", "AutoETS"):
                        preds[m] = (sf_out[uid + "|off"][m][sl], sf_out[uid + "|aht"][m][sl])
                for m in models:
                    scores.setdefault(uid, {}).setdefault(m, Score()).add(preds[m][0], a_off, preds[m][1], a_h, a_hs)
        origin += timedelta(days=step)
    total = {m: Score() for m in models}
    for per in scores.values():
        for m, sc in per.items():
            total[m].merge(sc)
    out = {uid: {m: sc.wape() for m, sc in per.items()} for uid, per in sorted(scores.items())}
    out["total"] = {m: sc.wape() for m, sc in total.items()}
    out["_seconds"] = {m: round(v, 2) for m, v in timing.items() if m in models and m != "AutoETS"}
    return out


def _busy_days(n: int, calls: int) -> dict:
    from simulators import busy_day
    from stream.contracts.floor_config import load_config

    cfg = load_config()
    start = date(2026, 3, 2)
    evs = []
    for i in range(n):
        evs.extend(busy_day.generate(cfg, seed=1000 + i, calls=calls, day=start + timedelta(days=i)))
    evs.sort(key=lambda e: e.ts)
    return fold_history(evs, cfg), start + timedelta(days=n - 7), start + timedelta(days=n - 1)


def _table(title: str, res: dict) -> str:
    models = [m for m in MODELS if m in res["total"]]
    lines = [title, f"{'queue':<26}" + "".join(f"{m + ' off':>12}{m + ' aht':>12}" for m in models)]

    def fmt(v):
        return f"{v:12.1f}" if v is not None else f"{'-':>12}"

    for uid, per in res.items():
        if uid.startswith("_"):
            continue
        lines.append(f"{uid:<26}" + "".join(fmt(per[m][0]) + fmt(per[m][1]) for m in models))
    t = res["total"]
    base = t["naive"][0]
    lines.append(f"ours vs naive (offered WAPE): {100 * (1 - t['ours'][0] / base):.1f} % lower")
    if "MSTL" in t:
        best = min(t["MSTL"][0], t["AutoETS"][0])
        lines.append(f"ours vs best statsforecast (offered): {t['ours'][0] / best:.3f}×; AHT: ours {t['ours'][1]:.1f} vs "
                     f"naive {t['naive'][1]:.1f}, MSTL {t['MSTL'][1]:.1f}, AutoETS {t['AutoETS'][1]:.1f}")
    lines.append(f"seconds: {res['_seconds']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench forecast", description=__doc__.split("\n\n")[0])
    p.add_argument("--file", default=str(DEFAULT))
    p.add_argument("--first", default="1999-02-15", help="first origin day (default 1999-02-15)")
    p.add_argument("--horizon", type=int, default=7, help="days forecast from each origin (1..7, default 7)")
    p.add_argument("--step", type=int, default=7, help="days between origins (default 7; 1 with --horizon 1: day ahead)")
    p.add_argument("--sim-days", type=int, default=21)
    p.add_argument("--sim-calls", type=int, default=4000)
    p.add_argument("--no-sf", action="store_true", help="leave statsforecast out (quick iteration)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not Path(args.file).is_file():
        print(f"bench forecast: no such file: {args.file}", file=sys.stderr)
        return 2
    log = read_log(args.file, "anonbank")
    hist = fold_history(log.events, log.config)
    last = max(date.fromisoformat(d) for qh in hist.values() for d in qh.days)
    res = {"february": backtest(hist, date.fromisoformat(args.first), last, not args.no_sf, args.horizon, args.step)}
    if args.sim_days >= 14:
        sim, s_first, s_last = _busy_days(args.sim_days, args.sim_calls)
        res["busy_day"] = backtest(sim, s_first, s_last, not args.no_sf, args.horizon, args.step)
    if args.json:
        print(json.dumps(res))
    else:
        print(_table(f"February, origins every {args.step} d from {args.first}, {args.horizon} d ahead — WAPE %", res["february"]))
        if "busy_day" in res:
            print()
            print(_table(f"busy-day simulation, {args.sim_days} days, the last 7 forecast — WAPE %", res["busy_day"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
