"""Special days for the load forecast: public holidays and make-up working days, per site.

Read from ``config/holidays.yaml`` (the Chinese public holidays as the
example). A forecaster asks ``day_kind(site, d)``: the weekday (0 = Monday)
whose pattern the day follows, or ``HOLIDAY``. A make-up working day (调休, a
weekend day worked) follows its calendar's ``workday_as`` weekday.

>>> cal = Holidays.from_dict({"calendars": {"cn": {"holidays": [
...     {"from": "2026-02-15", "to": "2026-02-23", "name": {"en": "Spring Festival", "zh": "春节"}}],
...     "workdays": ["2026-02-14"]}}, "sites": {"gd-hotline": "cn"}})
>>> from datetime import date
>>> cal.day_kind("gd-hotline", date(2026, 2, 16)), cal.day_kind("gd-hotline", date(2026, 2, 14))
('holiday', 0)
>>> cal.day_kind("elsewhere", date(2026, 2, 16))   # a Monday, no calendar
0
>>> cal.name("gd-hotline", date(2026, 2, 16), "zh")
'春节'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Optional, Union

import yaml

__all__ = ["HOLIDAY", "DEFAULT_HOLIDAYS", "Holidays", "load_holidays"]

HOLIDAY = "holiday"
DEFAULT_HOLIDAYS = Path(__file__).resolve().parents[2] / "config" / "holidays.yaml"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

DayKind = Union[int, str]


def _date(v: Any, where: str) -> date:
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError:
        raise ValueError(f"{where}: not a date (YYYY-MM-DD): {v!r}") from None


@dataclass
class _Calendar:
    holidays: dict[date, dict[str, str]] = field(default_factory=dict)
    workdays: set[date] = field(default_factory=set)
    workday_as: int = 0


class Holidays:
    """Calendars of special days and which site follows which."""

    def __init__(self, calendars: Optional[dict[str, _Calendar]] = None, sites: Optional[dict[str, str]] = None) -> None:
        self.calendars = calendars or {}
        self.sites = sites or {}

    @classmethod
    def from_dict(cls, raw: Any, source: str = "holidays") -> "Holidays":
        """Validate a parsed YAML document; errors name the source and the field."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict) or set(raw) - {"calendars", "sites"}:
            raise ValueError(f"{source}: expected a mapping with 'calendars' and 'sites'")
        cals: dict[str, _Calendar] = {}
        for name, c in (raw.get("calendars") or {}).items():
            where = f"{source}: calendars.{name}"
            if not isinstance(c, dict) or set(c) - {"name", "holidays", "workdays", "workday_as"}:
                raise ValueError(f"{where}: expected name, holidays, workdays, workday_as")
            cal = _Calendar()
            wa = c.get("workday_as", "monday")
            if wa not in _WEEKDAYS:
                raise ValueError(f"{where}.workday_as: one of {', '.join(_WEEKDAYS)}, got {wa!r}")
            cal.workday_as = _WEEKDAYS.index(wa)
            for i, h in enumerate(c.get("holidays") or []):
                hw = f"{where}.holidays[{i}]"
                if not isinstance(h, dict) or "from" not in h:
                    raise ValueError(f"{hw}: expected {{from, to, name}}")
                d0 = _date(h["from"], hw + ".from")
                d1 = _date(h.get("to", h["from"]), hw + ".to")
                if d1 < d0:
                    raise ValueError(f"{hw}: 'to' is before 'from'")
                label = h.get("name") or {}
                if isinstance(label, str):
                    label = {"en": label}
                d = d0
                while d <= d1:
                    cal.holidays[d] = {k: str(v) for k, v in label.items()}
                    d += timedelta(days=1)
            cal.workdays = {_date(d, f"{where}.workdays") for d in c.get("workdays") or []}
            cals[str(name)] = cal
        sites = {str(k): str(v) for k, v in (raw.get("sites") or {}).items()}
        for s, c in sites.items():
            if c not in cals:
                raise ValueError(f"{source}: sites.{s}: no calendar named {c!r}")
        return cls(cals, sites)

    def _cal(self, site: str) -> Optional[_Calendar]:
        name = self.sites.get(site)
        return self.calendars.get(name) if name else None

    def day_kind(self, site: str, d: date) -> DayKind:
        """``HOLIDAY``, or the weekday (0 = Monday) whose pattern ``d`` follows at ``site``."""
        cal = self._cal(site)
        if cal is not None:
            if d in cal.holidays:
                return HOLIDAY
            if d in cal.workdays:
                return cal.workday_as
        return d.weekday()

    def name(self, site: str, d: date, lang: str = "en") -> Optional[str]:
        """The holiday's name in ``lang`` (English when missing), None on an ordinary day."""
        cal = self._cal(site)
        label = cal.holidays.get(d) if cal is not None else None
        if label is None:
            return None
        return label.get(lang) or label.get("en")


def load_holidays(path: Optional[str | Path] = None) -> Holidays:
    """Read the holiday calendar (``config/holidays.yaml`` by default; none there: no special days)."""
    p = Path(path) if path is not None else DEFAULT_HOLIDAYS
    if not p.is_file():
        if path is not None:
            raise ValueError(f"no such file: {p}")
        return Holidays()
    try:
        # Every scalar as text: dates are checked here, where the error can name the field.
        raw = yaml.load(p.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        raise ValueError(f"{p}: not YAML ({str(exc).splitlines()[0]})") from None
    return Holidays.from_dict(raw, str(p))
