"""The forecast job: every site × queue of a log, as of a cut-off, for the coming days.

``floorwatch forecast`` runs this. The log is folded by the core up to the
cut-off (``stream.planning.actuals``); each queue's whole days before the
cut-off's local date are learnt by a ``LoadForecaster`` (a site's queues
forecast together, ``forecast_site``: each queue's intraday shape borrows
from the site's as far as its own few contacts leave it unsure); the forecast covers
``days`` local days from that date, from the cut-off on. When the cut-off
falls inside a day, that day's intervals so far rescale the rest of it
(``reforecast``), as far as the site's past days showed such a deviation to
last (``persistence_of``: each past day forecast from the days before it,
its deviation up to the same time of day against the rest of it).
Asked for (``spread=True``, what a staffing plan uses), each site's
forecast error is learnt from the same past days
(``stream.planning.uncertainty``): the day-ahead forecasts' errors, or the
reforecasts' at that time of day; and where too few past days teach how far
a morning's deviation lasts, the rest of the day's forecast may rise with
it but not fall.

Each interval comes out as ``{"site", "queue", "start", "offered", "aht_s"}``
with ``start`` the interval's local time with its UTC offset and ``aht_s``
None where the queue has no handled contact to learn from.

>>> from stream.contracts.events import CallOffered
>>> from stream.contracts.floor_config import FloorConfig
>>> from stream.planning.actuals import Log
>>> cfg = FloorConfig.from_dict({"sites": {"s": {"timezone": "Asia/Shanghai"}}})
>>> day0 = 1_767_196_800_000                                  # 2026-01-01 00:00 +08:00
>>> evs = [CallOffered(id=str(i), ts=day0 + i * 86_400_000 + 9 * 3_600_000, site="s", call=str(i), queue="q")
...        for i in range(14)]
>>> rows = forecast_log(Log(evs, cfg), date(2026, 1, 15), days=1)
>>> len(rows), rows[36]["start"], round(sum(r["offered"] for r in rows), 2)
(96, '2026-01-15T09:00:00+08:00', 1.0)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

import numpy as np

from stream.contracts.floor_config import zone
from stream.fold.calendar import INTERVAL_MS
from stream.planning.actuals import Log, QueueHistory, cutoff_for, day_starts, fold_history, slot_of
from stream.planning.forecast import LoadForecaster, forecast_site, persistence_of, reforecast
from stream.planning.holidays import Holidays
from stream.planning.uncertainty import Spread, day_spread, rest_spread

__all__ = ["QueueOutlook", "forecast_log", "forecast_histories", "outlooks_log", "spreads_of"]

# Past days that teach the intraday reforecast how far a morning's deviation carries (``_past_days``).
PERSISTENCE_DAYS = 28


class QueueOutlook:
    """One queue's forecast rows, plus what a planner needs beside them (kind, timezone)."""

    def __init__(self, history: QueueHistory, rows: list[dict], spread: Optional[Spread] = None) -> None:
        self.history = history
        self.rows = rows
        # How far the first day's forecast can be off (``stream.planning.uncertainty``); None: not asked or unknown.
        self.spread = spread


def _local_date(ms: int, tz) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=tz).date()


def forecast_histories(
    hist: dict[tuple[str, str], QueueHistory],
    start: date | datetime,
    days: int,
    holidays: Optional[Holidays] = None,
    spread: bool = False,
    **model: float,
) -> list[QueueOutlook]:
    """Forecast every queue of ``hist`` (folded up to the cut-off of ``start``).

    ``spread``: also learn each site's forecast error (``QueueOutlook.spread``)
    from its past days: the day-ahead forecasts' errors, or, when the cut-off
    falls inside the day, the errors of reforecasts made at that time of day.
    """
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    holidays = holidays if holidays is not None else Holidays()
    out = []
    by_site: dict[str, dict[str, QueueHistory]] = {}
    for (site, queue), qh in sorted(hist.items()):
        by_site.setdefault(site, {})[queue] = qh
    # Each day of a site at once: a queue's intraday shape borrows from the site's (forecast_site).
    sites = {site: _learnt(qs, _local_date(cutoff_for(start, _tz(qs)), zone(_tz(qs))), holidays, model)
             for site, qs in by_site.items()}
    cache: dict[tuple[str, date], dict] = {}
    beta: dict[str, float] = {}
    past: dict[str, list] = {}
    spreads: dict[str, Optional[Spread]] = {}

    def past_of(site: str, d: date) -> list:
        if site not in past:
            past[site] = _past_days(by_site[site], d, holidays, model)
        return past[site]

    for (site, queue), qh in sorted(hist.items()):
        tz = zone(qh.timezone)
        cut = cutoff_for(start, qh.timezone)
        today = _local_date(cut, tz)
        rows = []
        if spread and site not in spreads:
            spreads[site] = day_spread((float(f.sum()), float(a.sum())) for f, a, w in past_of(site, today) if w)
        for i in range(days):
            d = today + timedelta(days=i)
            day_fc = cache.get((site, d))
            if day_fc is None:
                day_fc = cache[(site, d)] = forecast_site(sites[site], d)
            fc = day_fc[queue]
            offered = fc.offered
            starts = day_starts(d, tz)
            if i == 0:
                done = [s for s, _ in starts if s + INTERVAL_MS <= cut]
                if done:
                    upto = slot_of(done[-1], tz) + 1
                    actual = qh.days.get(d.isoformat())
                    if site not in beta:
                        # A plan (``spread``) reforecasts with the persistence of the days its error is learnt
                        # from (``_past_days``: the warm ones); the forecast itself keeps every past day.
                        beta[site] = persistence_of([(f, a, upto) for f, a, warm in past_of(site, d) if warm or not spread])
                        if spread:
                            act = sum((h.days[d.isoformat()].offered for h in by_site[site].values() if d.isoformat() in h.days),
                                      np.zeros(len(offered)))
                            spreads[site] = _rest_spread(past_of(site, d), upto, beta[site],
                                                         sum(x.offered for x in day_fc.values()), act)
                    base = offered
                    offered = reforecast(offered, actual.offered if actual is not None else np.zeros_like(offered), upto,
                                         persistence=beta[site])
                    if spread and spreads.get(site) is None:
                        # Too few past days to learn how far a morning's deviation lasts, nor how far the
                        # reforecast strays: a plan from it may add to the day's forecast, never cut it.
                        offered = np.concatenate([offered[:upto], np.maximum(offered[upto:], base[upto:])])
            for s, slot in starts:
                if s + INTERVAL_MS <= cut:
                    continue
                aht = fc.aht_s[slot]
                rows.append(
                    {
                        "site": site,
                        "queue": queue,
                        "start": datetime.fromtimestamp(s / 1000, tz=tz).isoformat(timespec="seconds"),
                        "offered": round(float(offered[slot]), 3),
                        "aht_s": None if np.isnan(aht) else round(float(aht), 1),
                    }
                )
        out.append(QueueOutlook(qh, rows, spreads.get(site)))
    return out


def _tz(qs: dict[str, QueueHistory]) -> str:
    return next(iter(qs.values())).timezone


def _learnt(qs: dict[str, QueueHistory], before: date, holidays: Holidays, model: dict) -> dict[str, LoadForecaster]:
    """A forecaster per queue of one site, learnt from the whole days before ``before``."""
    out = {}
    for queue, qh in qs.items():
        f = out[queue] = LoadForecaster(qh.site, holidays, **model)
        for dstr in sorted(qh.days):
            d = date.fromisoformat(dstr)
            if d < before:
                day = qh.days[dstr]
                f.learn_day(d, day.offered, day.handled, day.handle_s)
    return out


def _past_days(qs: dict[str, QueueHistory], today: date, holidays: Holidays, model: dict,
               days: int = PERSISTENCE_DAYS) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """The site's ``days`` days before ``today`` as ``(forecast, actual, warm)`` per slot, its queues summed.

    Each past day is forecast as it would have been the evening before (from
    the days before it only): what the reforecast's persistence and the
    forecast's error spread are learnt from; a plan's only from the ``warm``
    ones: days whose kind (weekday, holiday) the forecaster had seen before. Today's
    forecast is made from days of its kind; a first Friday forecast as an
    ordinary weekday (the log's first week: 0.30 of its forecast at the
    Anonymous Bank) says nothing about how far such a forecast strays, nor
    how far its morning's deviation lasts.
    """
    pairs = []
    for k in range(days, 0, -1):
        d = today - timedelta(days=k)
        actual = np.zeros(96)
        seen = False
        for qh in qs.values():
            day = qh.days.get(d.isoformat())
            if day is not None:
                actual = actual + day.offered
                seen = True
        if not seen:
            continue
        fs = _learnt(qs, d, holidays, model)
        if not any(f.days for f in fs.values()):
            continue
        fc = sum(x.offered for x in forecast_site(fs, d).values())
        pairs.append((fc, actual, any(f.kind(x) == f.kind(d) for f in fs.values() for x in f.days)))
    return pairs


def _rest_spread(past: list, upto: int, beta: float, fc_today: np.ndarray, act_today: np.ndarray) -> Optional[Spread]:
    """The spread of today's reforecast at slot ``upto``: past days reforecast the same way, against their rest."""
    rows = []
    for f, a, warm in past:
        if not warm:
            continue
        a0, f0 = float(a[:upto].sum()), float(f[:upto].sum())
        if a0 <= 0 or f0 <= 0:
            continue
        r = reforecast(f, a, upto, persistence=beta)
        rows.append((float(np.log(a0 / f0)), float(a[upto:].sum()), float(r[upto:].sum()), float(f[upto:].sum())))
    a0, f0 = float(act_today[:upto].sum()), float(fc_today[:upto].sum())
    return rest_spread(rows, float(np.log(a0 / f0)) if a0 > 0 and f0 > 0 else 0.0)


def outlooks_log(log: Log, start: date | datetime, days: int, holidays: Optional[Holidays] = None, spread: bool = False,
                 **model: float) -> list[QueueOutlook]:
    """Every queue of ``log`` forecast (``forecast_histories``), learnt only from events before ``start``."""
    cfg = log.config
    hist = fold_history(log.events, cfg, before=lambda site: cutoff_for(start, cfg.site(site).timezone))
    return forecast_histories(hist, start, days, holidays, spread, **model)


def spreads_of(outlooks: list[QueueOutlook]) -> dict[tuple[str, str], Optional[Spread]]:
    """Each queue's forecast error spread, as ``plan.plan(spread=...)`` takes it."""
    return {(o.history.site, o.history.queue): o.spread for o in outlooks}


def forecast_log(log: Log, start: date | datetime, days: int, holidays: Optional[Holidays] = None, **model: float) -> list[dict]:
    """The forecast rows of every queue of ``log``, learnt only from events before ``start``."""
    return [row for o in outlooks_log(log, start, days, holidays, **model) for row in o.rows]
