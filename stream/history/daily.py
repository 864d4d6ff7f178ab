"""The daily report: each site's previous day as an XLSX, emailed at a configured local hour.

What it holds (from the history database only): the day's hourly table (site
total), each queue's day figures against its service-level target, the
worst hours (lowest service level), and the alerts raised that day. Figures
come from ``stream.history.rollup`` (the replay report's own). The email goes
through an SMTP channel of the delivery service (``config/delivery.yaml``) to
recipients named there; ``daily_reports_sent`` remembers what was sent, so a
restart never sends a day twice.

``config/reports.yaml``::

    daily_report:
      local_hour: 7              # each site's local hour to send the previous day
      via: mail                  # an smtp channel of config/delivery.yaml
      to: [floor-manager-gd]     # recipients of config/delivery.yaml (their email)
      sites: []                  # empty: every site with history
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Annotated, Optional, Union

from msgspec import Meta, Struct, field

from stream.contracts.floor_config import ConfigError, FloorConfig, convert_at, read_yaml, zone
from stream.history.export import to_xlsx
from stream.history.rollup import TOTAL, history

DEFAULT_REPORTS_CONFIG = Path(__file__).resolve().parents[2] / "config" / "reports.yaml"
WORST_HOURS = 3

# Column headers of the XLSX, in both languages (users work in zh-CN and English).
HEADERS = {
    "queue": "队列 Queue", "start": "开始 Start", "offered": "进线 Offered", "answered": "接通 Answered",
    "abandoned": "放弃 Abandoned", "short_abandoned": "短时放弃 Short abandons", "asa_s": "平均应答(秒) ASA (s)",
    "aht_s": "平均处理(秒) AHT (s)", "sl_pct": "服务水平% SL %", "abandon_pct": "放弃率% Abandon %",
    "max_wait_s": "最长等待(秒) Max wait (s)", "sl_target_pct": "目标% Target %", "met": "达标 Met",
    "at": "时间 Time", "change": "变化 Change", "rule": "规则 Rule", "severity": "级别 Severity",
    "message_zh": "消息 (中文)", "message_en": "Message (English)", "site": "站点 Site",
}


class DailyReport(Struct, forbid_unknown_fields=True, kw_only=True):
    local_hour: Annotated[int, Meta(ge=0, le=23)] = 7
    via: str
    to: Annotated[list[str], Meta(min_length=1)]
    sites: list[str] = field(default_factory=list)


class ReportsConfig(Struct, forbid_unknown_fields=True, kw_only=True):
    daily_report: DailyReport


def load_reports_config(path: Union[str, Path, None] = None) -> ReportsConfig:
    p = Path(path) if path is not None else DEFAULT_REPORTS_CONFIG
    data = read_yaml(p)
    if not isinstance(data, dict):
        # msgspec would say "Expected `object`, got `str` - at `$`": name what the file must hold instead.
        got = "empty" if data is None else f"a {type(data).__name__}"
        raise ConfigError(f"{p}: must be a mapping with a daily_report section (as config/reports.yaml), not {got}")
    convert_at(data, ReportsConfig, str(p), "$")
    import msgspec

    return msgspec.convert(data, ReportsConfig)


def _site_tz(config: FloorConfig, site: str):
    return zone(config.site(site).timezone)


def due(now_ms: int, sites: list[str], config: FloorConfig, local_hour: int, sent) -> list[tuple[str, str]]:
    """(site, previous local date) of each site whose local clock is past ``local_hour`` and whose
    previous day is not ``sent(site, date)`` yet. Pure but for ``sent``."""
    out = []
    for site in sites:
        local = datetime.fromtimestamp(now_ms / 1000, tz=_site_tz(config, site))
        if local.hour < local_hour:
            continue
        d = (local.date() - timedelta(days=1)).isoformat()
        if not sent(site, d):
            out.append((site, d))
    return out


def build_daily(store, config: FloorConfig, site: str, day: str) -> dict:
    """The report of one site's local day, as plain data."""
    d = date.fromisoformat(day)
    hours = [r for r in history(store, site, TOTAL, d, d, "1h")["rows"]]
    days = history(store, site, None, d, d, "1d")["rows"]
    sc = config.site(site)
    queues = []
    for r in days:
        qc = sc.queues.get(r["queue"]) if r["queue"] != TOTAL else None
        target = qc.sl_target_pct if qc is not None else None
        met = None if target is None or r["sl_pct"] is None else r["sl_pct"] >= target
        queues.append({**{k: v for k, v in r.items() if k not in ("site", "start")}, "sl_target_pct": target, "met": met})
    scored = [h for h in hours if h["sl_pct"] is not None]
    worst = sorted(scored, key=lambda h: (h["sl_pct"], h["start"]))[:WORST_HOURS]
    tz = _site_tz(config, site)
    t0 = int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() * 1000)
    t1 = int(datetime.combine(d + timedelta(days=1), datetime.min.time(), tzinfo=tz).timestamp() * 1000)
    alerts = [
        {"at": datetime.fromtimestamp(a["at_ms"] / 1000, tz=tz).isoformat(timespec="seconds"), "queue": a["queue"],
         "rule": a["rule"], "severity": a["severity"], "message_zh": a["message_zh"], "message_en": a["message_en"]}
        for a in store.alert_rows(site, t0, t1) if a["change"] == "raised"
    ]
    name = sc.name
    return {
        "site": site, "date": day,
        "name": {"en": name.en if name else site, "zh": (name.zh or name.en) if name else site},
        "hours": [{k: v for k, v in h.items() if k != "site"} for h in hours],
        "queues": queues, "worst_hours": [{k: v for k, v in h.items() if k not in ("site", "queue")} for h in worst],
        "alerts": alerts,
    }


def daily_xlsx(rep: dict) -> bytes:
    return to_xlsx(
        [("按小时 Hourly", rep["hours"]), ("队列 Queues", rep["queues"]),
         ("最差时段 Worst hours", rep["worst_hours"]), ("告警 Alerts", rep["alerts"])],
        headers=HEADERS,
    )


def daily_email(rep: dict, sender: str, to: list[str]) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = ", ".join(to)
    m["Subject"] = f"日报 Daily report {rep['name']['zh']} / {rep['name']['en']} {rep['date']}"
    m["Message-ID"] = make_msgid(domain="floorwatch")
    total = next((q for q in rep["queues"] if q["queue"] == TOTAL), None)

    def f(v) -> str:
        return "—" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))

    lines = [f"{rep['name']['zh']} {rep['date']} 日报（附件为 Excel）。", f"{rep['name']['en']}: daily report for {rep['date']} (Excel attached).", ""]
    if total:
        lines += [f"进线 Offered {total['offered']}  接通 Answered {total['answered']}  放弃 Abandoned {total['abandoned']}",
                  f"服务水平 SL {f(total['sl_pct'])}%  平均应答 ASA {f(total['asa_s'])} s  放弃率 Abandon {f(total['abandon_pct'])}%", ""]
    for q in rep["queues"]:
        if q["queue"] != TOTAL and q["sl_target_pct"] is not None:
            mark = "达标 met" if q["met"] else ("未达标 missed" if q["met"] is False else "—")
            lines.append(f"  {q['queue']}: SL {f(q['sl_pct'])}% / {f(q['sl_target_pct'])}%  {mark}")
    lines += ["", f"告警 Alerts raised: {len(rep['alerts'])}"]
    m.set_content("\n".join(lines), charset="utf-8")
    m.add_attachment(daily_xlsx(rep), maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     filename=f"floorwatch-{rep['site']}-{rep['date']}.xlsx")
    return m


class DailyMailer:
    """Sends what is due, once per site and date (the ledger is in the history database)."""

    def __init__(self, store, config: FloorConfig, reports: ReportsConfig, delivery) -> None:
        from stream.delivery.channels import SmtpSender
        from stream.delivery.config import SmtpChannel

        self.store, self.config, self.rc = store, config, reports.daily_report
        ch = delivery.channels.get(self.rc.via)
        if not isinstance(ch, SmtpChannel):
            what = "is not a channel of" if ch is None else f"is a {type(ch).__struct_config__.tag} channel in"
            raise ConfigError(f"reports: daily_report.via {self.rc.via!r} {what} the delivery config; the daily report needs an "
                              "smtp channel there (e.g. mail: {type: smtp, host: ..., from: ...}; docs/delivery.md) named in daily_report.via")
        emails = []
        for name in self.rc.to:
            r = delivery.recipients.get(name)
            if r is None or not r.email:
                raise ConfigError(f"reports: daily_report.to {name!r} is not a delivery recipient with an email")
            emails.append(r.email)
        self.channel, self.emails = ch, emails
        self.sender = SmtpSender(ch, delivery.secrets())

    def sites(self) -> list[str]:
        return list(self.rc.sites) or self.store.sites()

    def send(self, site: str, day: str) -> None:
        rep = build_daily(self.store, self.config, site, day)
        # The delivery service's SMTP sending (connection, TLS, login), reused as it is.
        self.sender._send_blocking(daily_email(rep, self.channel.from_, self.emails))
        self.store.mark_sent(site, day, int(time.time() * 1000), len(self.emails))

    def run_due(self, now_ms: Optional[int] = None) -> list[tuple[str, str]]:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        todo = due(now_ms, self.sites(), self.config, self.rc.local_hour, self.store.was_sent)
        for site, day in todo:
            self.send(site, day)
        return todo
