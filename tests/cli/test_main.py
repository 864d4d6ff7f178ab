"""The command line's exact interfaces."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stream.cli.main import main
from stream.contracts.events import event_schema

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stream.cli.main", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_staffing_json_published_example():
    p = run_cli("staffing", "--calls", "100", "--interval-min", "30", "--aht-s", "180", "--target-s", "20", "--sl", "0.8", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert set(r) == {"agents", "service_level", "wait_probability", "asa_s", "occupancy"}
    assert r["agents"] == 14
    assert round(r["service_level"], 4) == 0.8884
    assert round(r["wait_probability"], 4) == 0.1741
    assert round(r["occupancy"], 3) == 0.714


def test_staffing_with_agents_given_and_bad_input():
    p = run_cli("staffing", "--calls", "100", "--interval-min", "30", "--aht-s", "180", "--target-s", "20", "--agents", "12", "--json")
    r = json.loads(p.stdout)
    assert r["agents"] == 12 and r["service_level"] < 0.8884
    bad = run_cli("staffing", "--calls", "-5", "--interval-min", "30", "--aht-s", "180", "--target-s", "20", "--sl", "0.8", "--json")
    assert bad.returncode == 2 and "calls" in bad.stderr and "Traceback" not in bad.stderr


def test_schema_in_docs_is_the_generated_one():
    on_disk = json.loads((ROOT / "docs" / "events.schema.json").read_text())
    assert on_disk == json.loads(json.dumps(event_schema())), "regenerate: floorwatch schema > docs/events.schema.json"


def test_replay_jsonl_counts_broken_lines_and_keeps_going(tmp_path, capsys):
    lines = [
        {"id": "1", "ts": 1_000, "site": "s", "kind": "call_offered", "call": "a", "queue": "q"},
        "this is not json",
        {"id": "2", "ts": 2_000, "site": "s", "kind": "call_answered", "call": "a", "agent": "x"},
        {"id": "3", "ts": 2_500, "site": "s", "kind": "call_exploded", "call": "a"},
        {"id": "4", "ts": "yesterday", "site": "s", "kind": "call_ended", "call": "a"},
        {"id": "5", "ts": 90_000, "site": "s", "kind": "call_ended", "call": "a"},
        {"id": "5", "ts": 90_000, "site": "s", "kind": "call_ended", "call": "a"},
    ]
    f = tmp_path / "day.jsonl"
    f.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    assert main(["replay", str(f), "--format", "jsonl", "--report", "json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["rejected"]["count"] == 3
    assert r["total"]["offered"] == 1 and r["total"]["answered"] == 1 and r["total"]["aht_s"] == 88.0
    assert isinstance(r["total"]["offered"], int) and isinstance(r["total"]["asa_s"], float)


def test_replay_table_and_missing_file(tmp_path):
    p = run_cli("replay", str(tmp_path / "nope.jsonl"), "--format", "jsonl")
    assert p.returncode == 2 and "no such file" in p.stderr


def test_simulate_is_deterministic_and_report_has_the_replay_shape(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for out in (a, b):
        assert run_cli("simulate", "--scenario", "busy-day", "--calls", "800", "--seed", "3", "--out", str(out)).returncode == 0
    assert a.read_bytes() == b.read_bytes()
    direct = json.loads(run_cli("simulate", "--scenario", "busy-day", "--calls", "800", "--seed", "3", "--report", "json").stdout)
    replayed = json.loads(run_cli("replay", str(a), "--format", "jsonl", "--report", "json").stdout)
    assert direct == replayed  # simulating in process and replaying the file agree
    assert set(direct) == {"rejected", "days", "total"}
    assert direct["total"]["offered"] > 800


def test_config_errors_name_file_and_field(tmp_path):
    bad = tmp_path / "floor.yaml"
    bad.write_text("sites:\n  gz:\n    timezone: Asia/Shanghai\n    queues:\n      vip:\n        sl_t_s: -3\n")
    p = run_cli("simulate", "--scenario", "busy-day", "--calls", "10", "--seed", "1", "--report", "json", "--config", str(bad))
    assert p.returncode != 0
    assert str(bad) in p.stderr and "$.sites.gz.queues.vip.sl_t_s" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("speed", ["max"])
def test_up_terminal_view_runs_a_busy_day(speed, tmp_path):
    import io
    from types import SimpleNamespace

    from stream.cli.terminal_view import run_terminal

    out = io.StringIO()
    args = SimpleNamespace(config=None, replay=None, format="jsonl", scenario="busy-day", seed=2, calls=500, speed=float("inf"), lang="zh", for_seconds=None)
    assert run_terminal(args, out=out) == 0
    text = out.getvalue()
    assert "合计" in text  # the zh-CN total row


def test_up_in_process_runs_from_the_command_line():
    # The command's own dispatch (cmd_up) to the terminal view, not only run_terminal.
    r = subprocess.run(
        [sys.executable, "-m", "stream.cli.main", "up", "--in-process", "--calls", "300", "--speed", "max", "--lang", "en"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Guangdong 10086 Hotline" in r.stdout  # a site's table, in English
