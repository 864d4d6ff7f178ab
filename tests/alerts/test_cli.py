"""``floorwatch alerts`` and ``floorwatch detect`` end to end, and the busy day's alerts."""

from __future__ import annotations

import collections
import csv
import json
import subprocess
import sys
from pathlib import Path


from stream.sources.jsonl import write_jsonl
from tests.helpers import Seq, at

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stream.cli.main", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_alerts_command_prints_the_raised_alerts(tmp_path):
    t0 = at("09:00:00", tz="Asia/Shanghai")
    seq = Seq("gd-hotline")
    seq.offer(t0, "v1", "vip", vip=True)  # nobody answers the VIP for 4 minutes
    seq.answer(t0 + 240_000, "v1", "1001")
    seq.offer(t0 + 600_000, "g1", "general")
    f = tmp_path / "day.jsonl"
    write_jsonl(seq.events, f)
    f.write_text(f.read_text() + "not json\n")  # a broken line is rejected, not fatal
    p = run_cli("alerts", "--replay", str(f), "--format", "jsonl", "--json")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    rules = [(x["rule"], x["queue"], x["change"]) for x in lines]
    # config/alerts.yaml: the VIP line's wait alerts above 120 s (after 60 s), VIP wait above 90 s (after 30 s).
    assert ("vip_wait", "vip", "raised") in rules and ("longest_wait", "vip", "raised") in rules
    assert all(x["change"] == "raised" for x in lines)
    a = next(x for x in lines if x["rule"] == "vip_wait")
    assert set(a) >= {"time", "rule", "site", "queue", "severity", "message"}
    assert a["site"] == "gd-hotline" and a["severity"] == "major" and a["time"].endswith("Z")
    assert a["message"]["en"].startswith("VIP line: VIP waiting ")
    assert a["message"]["zh-CN"].startswith("贵宾专席：VIP客户已等待 ")
    p = run_cli("alerts", "--replay", str(f), "--format", "jsonl", "--json", "--all")
    changes = [json.loads(x)["change"] for x in p.stdout.splitlines()]
    assert "resolved" in changes
    p = run_cli("alerts", "--replay", str(f), "--format", "jsonl", "--lang", "zh")
    assert "贵宾专席" in p.stdout


def test_alerts_command_bad_input(tmp_path):
    p = run_cli("alerts", "--replay", str(tmp_path / "nope.jsonl"), "--format", "jsonl", "--json")
    assert p.returncode == 2 and "no such file" in p.stderr
    bad = tmp_path / "alerts.yaml"
    bad.write_text("defaults: {rules: {vip_wait: {raise: -1}}}\n")
    f = tmp_path / "e.jsonl"
    f.write_text("")
    p = run_cli("alerts", "--replay", str(f), "--format", "jsonl", "--alerts", str(bad))
    assert p.returncode == 2 and "$.defaults.rules.vip_wait.raise" in p.stderr and "Traceback" not in p.stderr
    # A file in another format than --format says: one line naming it, not an empty answer with exit 0.
    wrong = tmp_path / "calls.txt"
    wrong.write_text("vru+line\tcall_id\tcustomer_id\n" + "AA0101\t33116\t9664\n" * 3)
    p = run_cli("alerts", "--replay", str(wrong), "--format", "jsonl", "--json")
    assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
    assert p.stderr.count("\n") == 1 and "none of the 4 rows" in p.stderr and "--format jsonl" in p.stderr


def test_detect_command_writes_scores_at_the_same_paths(tmp_path):
    src, out = tmp_path / "nab", tmp_path / "out"
    (src / "a").mkdir(parents=True)
    (src / "b" / "c").mkdir(parents=True)
    for rel, spike in (("a/one.csv", 700), ("b/c/two.csv", None)):
        with open(src / rel, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["timestamp", "value"])
            for i in range(800):
                v = 10.0 + (i % 7) * 0.1 + (40.0 if i == spike else 0.0)
                w.writerow([f"2014-04-{1 + i // 288:02d} {(i % 288) // 12:02d}:{(i % 12) * 5:02d}:00", v])
    p = run_cli("detect", "--nab", str(src), "--out", str(out))
    assert p.returncode == 0, p.stderr
    for rel in ("a/one.csv", "b/c/two.csv"):
        rows = list(csv.DictReader(open(out / rel)))
        assert list(rows[0]) == ["timestamp", "value", "anomaly_score"]
        assert len(rows) == 800 and rows[5]["timestamp"] == "2014-04-01 00:25:00"
        scores = [float(r["anomaly_score"]) for r in rows]
        assert all(0.0 <= s <= 1.0 for s in scores)
    one = [float(r["anomaly_score"]) for r in csv.DictReader(open(out / "a/one.csv"))]
    # After NAB's probation (15 % of 800 rows) the spike is the top score, by far the rarest.
    assert one[700] == max(one[120:]) and one[700] > 0.9999 and max(one[120:700]) < 0.9996
    assert run_cli("detect", "--nab", str(tmp_path / "none"), "--out", str(out)).returncode == 2


def test_busy_day_raises_visible_alerts_but_not_hundreds(tmp_path):
    f = tmp_path / "busy.jsonl"
    p = run_cli("simulate", "--scenario", "busy-day", "--calls", "20000", "--seed", "1", "--out", str(f))
    assert p.returncode == 0, p.stderr
    p = run_cli("alerts", "--replay", str(f), "--format", "jsonl", "--json")
    assert p.returncode == 0, p.stderr
    raised = [json.loads(x) for x in p.stdout.splitlines()]
    by_rule = collections.Counter(x["rule"] for x in raised)
    # The busy day under-staffs its peaks: long waits, a low service level and
    # abandons at peak hours must show; a floor manager must not get hundreds.
    assert 15 <= len(raised) <= 100, by_rule
    assert by_rule["service_level"] >= 1 and by_rule["abandon_rate"] >= 1
    assert by_rule["longest_wait"] + by_rule["vip_wait"] >= 1
    hours = collections.Counter(int(x["time"][11:13]) for x in raised)  # UTC; the floor is UTC+8
    peak = sum(n for h, n in hours.items() if 2 <= h <= 9)  # 10:00-17:59 local
    assert peak >= len(raised) / 2
