"""The command line as people meet it (issue 13, item 7): one-line errors, honest exit codes, tables that never cut a number."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.dashboard_helpers import ROOT, busy_day_file


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stream.cli.main", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def one_line_error(r: subprocess.CompletedProcess, rc: int, *words: str) -> None:
    assert r.returncode == rc, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0]


@pytest.fixture(scope="module")
def day_file(tmp_path_factory) -> Path:
    return busy_day_file(tmp_path_factory.mktemp("cli") / "day.jsonl")


def test_user_errors_are_one_line_with_a_non_zero_exit(tmp_path):
    one_line_error(run("simulate", "--scenario", "busy-day", "--calls", "-5", "--seed", "1", "--report", "json"), 2, "--calls", "negative")
    one_line_error(run("simulate", "--scenario", "busy-day", "--calls", "10", "--seed", "1", "--out", str(tmp_path / "no" / "x.jsonl")),
                   2, "no such folder")
    one_line_error(run("simulate", "--scenario", "busy-day", "--calls", "10", "--seed", "1", "--out", str(tmp_path)), 2, "is a directory")
    one_line_error(run("replay", str(tmp_path), "--format", "jsonl"), 2, "is a directory")
    bad = tmp_path / "floor.yaml"
    bad.write_text("sites:\n  a: [\n")
    one_line_error(run("simulate", "--scenario", "busy-day", "--seed", "1", "--report", "json", "--config", str(bad)), 2,
                   f"{bad}:3:1", "not valid YAML")
    one_line_error(run("staffing", "--calls", "-1", "--interval-min", "30", "--aht-s", "180", "--target-s", "20", "--sl", "0.8"), 2, "calls")


def test_a_replay_accepting_no_rows_exits_non_zero_and_names_the_other_format(day_file):
    r = run("replay", str(day_file), "--format", "anonbank")
    one_line_error(r, 2, "none of the", "--format jsonl")
    assert r.stdout == ""


def test_tables_keep_whole_numbers_and_speak_chinese(day_file):
    r = run("replay", str(day_file), "--format", "jsonl", "--lang", "zh")
    assert r.returncode == 0, r.stderr
    assert "队列" in r.stdout and "服务水平%" in r.stdout and "合计" in r.stdout
    assert "…" not in r.stdout  # into a pipe: full width, nothing cut
    en = run("replay", str(day_file), "--format", "jsonl")
    assert "offered" in en.stdout and "…" not in en.stdout


def test_staffing_prints_rounded_figures():
    r = run("staffing", "--calls", "100", "--interval-min", "30", "--aht-s", "180", "--target-s", "20", "--sl", "0.8")
    assert r.returncode == 0
    assert "88.8%" in r.stdout and "17.4%" in r.stdout and "7.8 s" in r.stdout and "71.4%" in r.stdout
    assert "0.8883" not in r.stdout


def test_alerts_print_the_sites_local_time_with_its_offset(day_file):
    r = run("alerts", "--replay", str(day_file), "--format", "jsonl", timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert lines and all(ln[19:25] == "+08:00" for ln in lines), lines[:3]


def test_a_second_up_whose_port_is_taken_fails_at_once_in_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        t0 = time.monotonic()
        r = run("up", "--http-port", str(port), timeout=60)
        assert time.monotonic() - t0 < 20
    one_line_error(r, 2, str(port), "already in use")
    assert "http://" not in r.stdout  # no dead URL printed
