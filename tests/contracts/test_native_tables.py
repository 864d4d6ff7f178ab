"""The native decoder's tables are generated from events.py and must not drift from it.

``stream/fold/native/event_kinds.hpp`` and ``parse_tables.hpp`` are what
``python -m stream.contracts.native_tables`` writes from the event classes;
tests/contracts/test_native_decode.py then holds the decoder built from them
to msgspec's decoding of the same classes.
"""

from __future__ import annotations

import typing
from typing import Union

import msgspec
import pytest
from msgspec import inspect as mi

from stream.contracts import events as E
from stream.contracts import native_tables as nt


def test_the_headers_on_disk_are_the_generated_ones():
    assert nt.stale() == [], "regenerate: python -m stream.contracts.native_tables"


def test_check_mode_says_so(tmp_path, capsys):
    assert nt.main(["--dir", str(tmp_path)]) == 0
    assert nt.main(["--check", "--dir", str(tmp_path)]) == 0
    (tmp_path / nt.TABLES_HEADER).write_text("// edited by hand\n")
    assert nt.main(["--check", "--dir", str(tmp_path)]) == 1
    assert "stale: parse_tables.hpp" in capsys.readouterr().err


class CallParked(E._Event, tag="call_parked"):
    call: E.Id
    queue: E.Id
    vip: bool = False


class CallBayed(E._Event, tag="call_bayed"):
    call: E.Id
    bay: E.Id


def _with_kind(monkeypatch, cls) -> None:
    monkeypatch.setattr(E, "Event", Union[(*typing.get_args(E.Event), cls)])


def test_a_new_kind_in_events_py_makes_the_headers_stale(monkeypatch):
    _with_kind(monkeypatch, CallParked)
    assert nt.stale() == [nt.KINDS_HEADER, nt.TABLES_HEADER]
    texts = nt.headers()
    assert "CALL_PARKED," in texts[nt.KINDS_HEADER]
    assert "case CALL_PARKED:\n            return members<F_CALL, F_QUEUE, F_VIP, F_ID, F_TS, F_SITE>" in texts[nt.TABLES_HEADER]


def test_the_tables_follow_the_classes():
    wf = nt.wire_format()
    assert wf.kinds == [c.__struct_config__.tag for c in typing.get_args(E.Event)]
    assert wf.states == typing.get_args(E.AgentStateName)
    # msgspec's encoder writes the members in this order: the fast path expects it.
    ev = E.CallOffered(id="1", ts=5, site="s", call="c", queue="q", caller="138****5678")
    keys = list(msgspec.json.decode(E.encode_event(ev)))
    assert keys == ["kind", *wf.members["call_offered"]]
    # Optional elsewhere, required (non-null) here: checked after the object is read.
    assert wf.nonnull["agent_state"] == {"agent"} and wf.nonnull["ticket_called"] == {"counter"}
    assert wf.required["ticket_issued"] == {"kind", "id", "ts", "site", "ticket", "queue"}


class Weighed(E._Event, tag="call_weighed"):
    call: E.Id
    weight: float


class Conflicting(E._Event, tag="call_conflicting"):
    call: E.Id
    vip: E.Id  # a bool in the other kinds


@pytest.mark.parametrize(
    ("cls", "says"),
    [
        (Weighed, "call_weighed.weight: the native decoder has no reader"),
        (Conflicting, "field 'vip' has different types"),
        (CallBayed, "field 'bay' has no slot in ParsedEv"),
    ],
)
def test_what_the_decoder_cannot_read_stops_the_generator(monkeypatch, cls, says):
    _with_kind(monkeypatch, cls)
    with pytest.raises(nt.GenerationError, match=says):
        nt.wire_format()


def test_a_reader_per_type():
    r = nt._reader("k", "f", mi.type_info(typing.Optional[E.Id]))
    assert r.nullable and r.code.startswith("opt_str_value")
    with pytest.raises(nt.GenerationError, match="one digit"):
        nt._reader("k", "f", mi.type_info(typing.Annotated[int, msgspec.Meta(ge=0, le=10)]))
