"""The daily report: each site's previous day as XLSX, emailed at its local hour to a real (aiosmtpd) server."""

from __future__ import annotations

import email
import io
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from stream.cli.main import main
from stream.contracts.floor_config import load_config
from stream.delivery.config import load_delivery_config
from stream.contracts.floor_config import ConfigError
from stream.history.daily import DailyMailer, load_reports_config
from stream.history.rollup import history
from stream.history.store import Store
from tests.delivery_support import SmtpSink

DAY = "2026-11-23"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _ms(s: str) -> int:
    return int(datetime.fromisoformat(s).replace(tzinfo=SHANGHAI).timestamp() * 1000)


@pytest.fixture
def world(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    f = tmp_path / "day.jsonl"
    assert main(["simulate", "--scenario", "busy-day", "--calls", "2000", "--seed", "2", "--date", DAY, "--out", str(f)]) == 0
    assert main(["replay", str(f), "--format", "jsonl", "--report", "json", "--db", db]) == 0
    assert main(["alerts", "--replay", str(f), "--format", "jsonl", "--json", "--all"]) == 0
    out = capsys.readouterr().out
    changes = [json.loads(ln) for ln in out.splitlines() if ln.startswith('{"time"')]
    store = Store.open(db)
    # replay --db wrote the alert changes a replay raises: those `floorwatch alerts` lists.
    assert sorted((r["alert_id"], r["change"], r["at_ms"]) for r in store.all_rows("alert_changes")) == \
        sorted((c["id"], c["change"], c["at_ms"]) for c in changes) != []
    smtp = SmtpSink().start()
    (tmp_path / "delivery.yaml").write_text(
        "channels:\n  mail: {type: smtp, host: 127.0.0.1, port: %d, from: floorwatch@example.cn}\n  log: {type: log}\n"
        "recipients:\n  boss: {email: boss@example.cn, timezone: Asia/Shanghai}\n" % smtp.port)
    (tmp_path / "reports.yaml").write_text("daily_report:\n  local_hour: 7\n  via: mail\n  to: [boss]\n  sites: [gd-hotline]\n")
    yield store, smtp, tmp_path, db, changes
    smtp.stop()
    store.close()


def test_the_previous_day_is_sent_once_at_the_local_hour(world):
    store, smtp, d, db, changes = world
    mailer = DailyMailer(store, load_config(), load_reports_config(d / "reports.yaml"), load_delivery_config(d / "delivery.yaml"))
    assert mailer.run_due(_ms("2026-11-24T06:59:00")) == []
    assert mailer.run_due(_ms("2026-11-24T07:00:00")) == [("gd-hotline", DAY)]
    assert mailer.run_due(_ms("2026-11-24T09:00:00")) == []  # sent already (the ledger is in the database)
    assert len(smtp.messages) == 1
    sender, rcpts, raw = smtp.messages[0]
    assert sender == "floorwatch@example.cn" and rcpts == ["boss@example.cn"]
    msg = email.message_from_bytes(raw)
    subject = str(email.header.make_header(email.header.decode_header(msg["Subject"])))
    assert "日报" in subject and "Daily report" in subject and DAY in subject
    parts = [p for p in msg.walk() if p.get_filename()]
    assert [p.get_filename() for p in parts] == [f"floorwatch-gd-hotline-{DAY}.xlsx"]
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(parts[0].get_payload(decode=True)))
    assert wb.sheetnames == ["按小时 Hourly", "队列 Queues", "最差时段 Worst hours", "告警 Alerts"]

    def rows(ws):
        head = [c.value for c in ws[1]]
        return [dict(zip(head, [c.value for c in r])) for r in ws.iter_rows(min_row=2)]

    hourly = rows(wb["按小时 Hourly"])
    api = history(store, "gd-hotline", "*", date(2026, 11, 23), date(2026, 11, 23), "1d")["rows"][0]
    assert sum(r["进线 Offered"] for r in hourly) == api["offered"] > 0
    assert sum(r["放弃 Abandoned"] for r in hourly) == api["abandoned"]
    queues = rows(wb["队列 Queues"])
    total = next(r for r in queues if r["队列 Queue"] == "*")
    assert total["服务水平% SL %"] == pytest.approx(api["sl_pct"])
    assert all(r["目标% Target %"] is not None for r in queues if r["队列 Queue"] != "*")
    worst = rows(wb["最差时段 Worst hours"])
    assert len(worst) == 3 and worst[0]["服务水平% SL %"] == min(r["服务水平% SL %"] for r in hourly if r["服务水平% SL %"] is not None)
    raised = [c for c in changes if c["change"] == "raised" and c["site"] == "gd-hotline"]
    assert len(rows(wb["告警 Alerts"])) == len(raised) > 0


def test_the_command_sends_one_day_and_says_what_is_wrong(world, capsys):
    store, smtp, d, db, _ = world
    args = ["daily-report", "--db", db, "--reports", str(d / "reports.yaml"), "--delivery", str(d / "delivery.yaml")]
    assert main([*args, "--site", "gd-hotline", "--date", DAY]) == 0
    assert len(smtp.messages) == 1
    (d / "bad.yaml").write_text("daily_report:\n  via: log\n  to: [boss]\n")
    assert main([*args[:3], "--reports", str(d / "bad.yaml"), "--delivery", str(d / "delivery.yaml"), "--once"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("floorwatch daily-report: reports: daily_report.via 'log' is a log channel in the delivery config; the daily "
                           "report needs an smtp channel there (e.g. mail: {type: smtp, host: ..., from: ...}; docs/delivery.md) named in daily_report.via")
    (d / "bad.yaml").write_text("daily_report:\n  via: nosuch\n  to: [boss]\n")
    assert main([*args[:3], "--reports", str(d / "bad.yaml"), "--delivery", str(d / "delivery.yaml"), "--once"]) == 2
    assert "daily_report.via 'nosuch' is not a channel of the delivery config" in capsys.readouterr().err
    (d / "bad.yaml").write_text("daily_report:\n  local_hour: 25\n  via: mail\n  to: [boss]\n")
    assert main([*args[:3], "--reports", str(d / "bad.yaml"), "--once"]) == 2
    assert "local_hour" in capsys.readouterr().err


@pytest.mark.parametrize("text, got", [("just words\n", "a str"), ("", "empty"), ("- a\n- b\n", "a list")])
def test_a_reports_file_of_the_wrong_shape_says_what_it_must_hold(tmp_path, text, got):
    p = tmp_path / "reports.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_reports_config(p)
    assert str(err.value) == f"{p}: must be a mapping with a daily_report section (as config/reports.yaml), not {got}"
