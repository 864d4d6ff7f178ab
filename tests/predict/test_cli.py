"""``floorwatch ewt``: one JSON line per offered contact; bad input is one line and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulators import mmc
from stream.cli.main import main
from stream.sources.jsonl import write_jsonl

FEB = Path(__file__).resolve().parents[3] / "shared" / "data" / "anonbank" / "february.txt"
KEYS = {"id", "site", "queue", "at", "predicted_wait_s", "actual_wait_s", "outcome"}


def test_one_line_per_offered_contact(tmp_path, capsys):
    evs = list(mmc.generate(calls_per_hour=200, aht_s=180, agents=10, hours=2, seed=3))
    path = tmp_path / "mmc.jsonl"
    write_jsonl(evs, path)
    assert main(["ewt", "--replay", str(path), "--format", "jsonl", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    offered = [e for e in evs if e.kind == "call_offered"]
    assert [x["id"] for x in lines] == [e.call for e in offered]
    assert all(set(x) == KEYS for x in lines)
    assert {x["outcome"] for x in lines} == {"answered"}
    assert any(x["predicted_wait_s"] > 0 for x in lines) and any(x["actual_wait_s"] > 0 for x in lines)
    assert lines[0]["at"].endswith("Z")


@pytest.mark.parametrize(
    "args, rc, says",
    [
        (["--replay", "{tmp}/missing.jsonl", "--format", "jsonl"], 2, "no such file"),
        (["--replay", "{tmp}/garbage.jsonl", "--format", "jsonl"], 2, "none of the 2 rows"),
        (["--replay", "{tmp}/garbage.jsonl", "--format", "anonbank"], 2, "as --format anonbank"),
    ],
)
def test_bad_input_is_one_line_and_a_nonzero_exit(tmp_path, capsys, args, rc, says):
    (tmp_path / "garbage.jsonl").write_text("not json\n{\"id\": 1}\n")
    assert main(["ewt", *[a.format(tmp=tmp_path) for a in args], "--json"]) == rc
    err = capsys.readouterr()
    assert err.out == "" and len(err.err.strip().splitlines()) == 1 and says in err.err, err.err
    assert "Traceback" not in err.err


def test_unknown_format_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ewt", "--replay", str(tmp_path), "--format", "csv"])
    assert exc.value.code == 2


@pytest.mark.skipif(not FEB.is_file(), reason="../shared/data/anonbank/february.txt absent (a clone without ../shared)")
def test_february_every_offered_call_once(capsys):
    assert main(["ewt", "--replay", str(FEB), "--format", "anonbank", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 31125  # the offered of `floorwatch replay` (README)
    assert sum(x["outcome"] == "abandoned" for x in lines) == 3963
    assert all(x["actual_wait_s"] is not None and x["predicted_wait_s"] >= 0 for x in lines)
