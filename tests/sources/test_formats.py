"""The one registry of input formats (stream.sources.formats): every command offers and reads the same ones."""

from __future__ import annotations

import json
from pathlib import Path

from stream.alerts.cli import _events
from stream.cli.main import build_parser
from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor
from stream.runtime.publish import _file_items
from stream.runtime.replay import replay_file
from stream.sources import formats

DATA = Path(__file__).resolve().parent / "asterisk"


def test_every_command_offers_the_registry_formats() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    for cmd in ("replay", "up"):
        fmt = next(a for a in sub[cmd]._actions if a.dest == "format")
        assert tuple(fmt.choices) == formats.NAMES, cmd
    alerts = next(a for a in sub["alerts"]._actions if a.dest == "format")
    assert tuple(alerts.choices) == formats.NAMES
    tail = next(a for a in sub["tail"]._actions if a.dest == "format")
    assert set(tail.choices) == {n for n, f in formats.FORMATS.items() if f.follow is not None} == {"asterisk", "jsonl"}


def test_replay_publish_and_alerts_read_a_file_alike(tmp_path) -> None:
    good = (DATA / "modern.expected.jsonl").read_bytes()
    path = tmp_path / "day.jsonl"
    path.write_bytes(good + b'{"id": 1}\nnot json\n')
    floor = replay_file(path, "jsonl", Floor(load_config()))
    events, broken = _file_items(path, "jsonl", load_config())
    assert len(events) == good.count(b"\n") and [raw for raw, _ in broken] == [b'{"id": 1}', b"not json"]
    f2 = Floor(load_config())
    assert len(list(_events(path, "jsonl", f2))) == len(events)
    # The same reasons whichever way a broken line goes (replay's fast path, alerts, the generic reader).
    generic = Floor(load_config())
    from stream.runtime.replay import replay_items

    replay_items(formats.get("jsonl").read(path, generic.config, None), generic)
    assert floor.rejected_summary() == f2.rejected_summary() == generic.rejected_summary()
    assert floor.rejected_summary()["count"] == 2
    assert json.dumps(floor.report()) == json.dumps(generic.report())


def test_asterisk_dead_letters_reach_publish_with_their_reasons() -> None:
    events, broken = _file_items(DATA / "modern.queue_log", "asterisk", load_config())
    assert len(broken) == 6 and all(r.startswith("asterisk: ") for _, r in broken)
    assert b"13812345678" not in b"".join(raw for raw, _ in broken)


def test_jsonl_lines_are_followed_one_by_one() -> None:
    m = formats.get("jsonl").follow(load_config(), None)
    line = (DATA / "modern.expected.jsonl").read_bytes().splitlines()[0]
    assert m.feed(line + b"\n")[0].id == "A-o" and m.feed(b"\n") == []
    assert m.feed(b"{broken") == [formats.Dead(b"{broken", None)]
    assert formats.reason_of(formats.Dead(b"{broken", None)).startswith("not JSON")


def test_a_log_of_which_nothing_was_accepted_is_named_once_for_every_command() -> None:
    from pathlib import Path

    why = formats.none_accepted(Path("calls.csv"), "jsonl", {"not JSON": 7, "too large": 2})
    assert why.startswith("none of the 9 rows of calls.csv was accepted as --format jsonl (most: not JSON)")
    others = [n for n in formats.NAMES if n != "jsonl"]
    assert all(f"--format {n}" in why.split("; is it ")[1] for n in others)
    assert "\n" not in why
    empty = formats.none_accepted(Path("e.csv"), "anonbank", {})
    assert "the file is empty" in empty and "is it" not in empty
