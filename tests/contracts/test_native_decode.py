"""The native decoder (stream/fold/native/parse*.hpp) takes only what msgspec takes, and reads it as msgspec does.

The reference is ``msgspec.json.Decoder(Event)`` with ``ts`` turned into epoch
ms by ``ts_to_ms``. The native path may decline any input (the caller then
asks msgspec), but what it accepts msgspec must accept, with the same values
of the same types. Every hand-made case below states msgspec's verdict too,
so a change in msgspec's behaviour shows up here rather than as a silent
difference between the two paths.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.contracts.decode import decode_item, decode_payload
from stream.contracts.events import CALLER_PATTERN, EVENT_TYPES, Event, encode_event, ts_to_ms

try:
    from stream.fold import _native
except ImportError as exc:  # pragma: no cover - depends on the build
    pytest.skip(f"stream.fold._native is not built ({exc}); `pip install -e .` builds it", allow_module_level=True)

_DECODER = msgspec.json.Decoder(Event)
TS_MAX = 4_102_444_800_000


# --- the reference and the comparison -------------------------------------------


def _as_record(ev: Any) -> dict:
    out = {"kind": ev.kind, **msgspec.structs.asdict(ev)}
    if type(out["ts"]) is not int:
        out["ts"] = ts_to_ms(out["ts"])
    return out


def reference(raw: bytes) -> Optional[dict]:
    """The reference's reading of raw (msgspec, then the bounds of ``decode_item``: size, depth,
    RFC 3339 times in 1970..2100), shaped as parse_one's; None where it rejects it."""
    ev, _ = decode_item(raw)
    return None if ev is None else _as_record(ev)


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, all the way down (True is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def agree(raw: bytes) -> tuple[Optional[dict], Optional[dict]]:
    """(msgspec's reading, the native one); fails if the native path accepts anything msgspec does not read the same."""
    ref = reference(raw)
    got = _native.parse_one(raw)
    if got is not None:
        assert ref is not None, f"native accepted what msgspec rejects: {raw!r} -> {got}"
        assert same(got, ref), f"native read {raw!r} as {got}, msgspec as {ref}"
    return ref, got


def test_the_comparison_tells_types_apart() -> None:
    assert same({"a": [1, "x"], "b": None}, {"a": [1, "x"], "b": None})
    assert not same({"vip": True}, {"vip": 1})
    assert not same({"ts": 1}, {"ts": 1.0})
    assert not same({"q": ["a"]}, {"q": ("a",)})
    assert not same({"q": ["a"]}, {"q": ["a", "b"]})
    assert not same({"a": 1}, {"a": 1, "b": None})


# --- building events ------------------------------------------------------------

DROP = object()

# Every field of every kind, with valid values (optional ones not at their defaults).
FULL: dict[str, dict[str, Any]] = {
    "ticket_issued": {"ticket": "t1", "queue": "q1", "priority": 3, "vip": True},
    "ticket_called": {"ticket": "t1", "counter": "k1", "agent": "a1"},
    "ticket_completed": {"ticket": "t1"},
    "ticket_no_show": {"ticket": "t1"},
    "ticket_abandoned": {"ticket": "t1"},
    "ticket_transferred": {"ticket": "t1", "to_queue": "q2"},
    "call_offered": {"call": "c1", "queue": "q1", "priority": 9, "vip": True, "caller": "138****5678"},
    "call_answered": {"call": "c1", "agent": "a1"},
    "call_abandoned": {"call": "c1"},
    "call_held": {"call": "c1"},
    "call_resumed": {"call": "c1"},
    "call_ended": {"call": "c1", "wrap_up": True},
    "call_transferred": {"call": "c1", "to_queue": "q2", "wrap_up": True},
    "wrap_up_ended": {"call": "c1", "agent": "a1"},
    "agent_state": {"agent": "a1", "state": "not_ready", "reason": "lunch", "queues": ["q1", "q2"], "counter": "k1"},
}
ENVELOPE = {"id": "e1", "ts": 1_700_000_000_000, "site": "gz"}
REQUIRED = {k: [f.name for f in msgspec.structs.fields(c) if f.required] for k, c in EVENT_TYPES.items()}
OPTIONAL = {k: [f.name for f in msgspec.structs.fields(c) if not f.required] for k, c in EVENT_TYPES.items()}
ALL_KEYS = sorted({"kind", *(f.name for c in EVENT_TYPES.values() for f in msgspec.structs.fields(c))})


def _text(v: Any) -> bytes:
    return v if isinstance(v, bytes) else json.dumps(v, ensure_ascii=False).encode()


def obj(pairs: list[tuple[str, Any]]) -> bytes:
    """A compact JSON object from (key, value) pairs; a bytes value is written as is."""
    return b"{" + b",".join(json.dumps(k).encode() + b":" + _text(v) for k, v in pairs) + b"}"


def pairs(kind: str, /, **over: Any) -> list[tuple[str, Any]]:
    d: dict[str, Any] = {"kind": kind, **FULL[kind], **ENVELOPE}
    d.update(over)
    return [(k, v) for k, v in d.items() if v is not DROP]


def line(kind: str, /, **over: Any) -> bytes:
    """A valid event of kind (every field given), with fields replaced (bytes: raw JSON) or dropped (DROP)."""
    return obj(pairs(kind, **over))


def check(raw: bytes, msgspec_takes: bool, native_takes: bool) -> None:
    ref, got = agree(raw)
    assert (ref is not None) == msgspec_takes, f"msgspec {'rejects' if ref is None else 'accepts'} {raw!r}"
    assert (got is not None) == native_takes, f"native {'declines' if got is None else 'accepts'} {raw!r}"


def accepted(raw: bytes) -> None:
    check(raw, True, True)


def rejected(raw: bytes) -> None:
    """msgspec rejects it, so the native path must decline it."""
    check(raw, False, False)


def declined_valid(raw: bytes) -> None:
    """Valid, but in a form the native path declines on purpose (msgspec decodes it)."""
    check(raw, True, False)


# --- hand-made cases: the object ----------------------------------------------------


@pytest.mark.parametrize("kind", sorted(FULL))
def test_every_kind_with_every_field(kind: str) -> None:
    accepted(line(kind))
    got = _native.parse_one(line(kind))
    assert got is not None and got["kind"] == kind and got["ts"] == ENVELOPE["ts"]


@pytest.mark.parametrize("kind", sorted(FULL))
def test_missing_optional_fields_take_their_defaults(kind: str) -> None:
    raw = line(kind, **{f: DROP for f in OPTIONAL[kind]})
    accepted(raw)
    got = _native.parse_one(raw)
    defaults = {"priority": 0, "vip": False, "wrap_up": False}
    for f in OPTIONAL[kind]:
        assert same(got[f], defaults.get(f)), (f, got[f])


@pytest.mark.parametrize("kind,field", [(k, f) for k in sorted(FULL) for f in ["kind", *REQUIRED[k]]])
def test_a_missing_required_field_is_rejected(kind: str, field: str) -> None:
    rejected(line(kind, **{field: DROP}))


@pytest.mark.parametrize("kind,field", [(k, f) for k in sorted(FULL) for f in ALL_KEYS if f not in FULL[k] and f not in ENVELOPE and f != "kind"])
def test_a_field_of_another_kind_is_rejected(kind: str, field: str) -> None:
    value = ["q1"] if field == "queues" else "ready" if field == "state" else "x1"
    rejected(obj(pairs(kind) + [(field, value)]))


@pytest.mark.parametrize("kind", sorted(FULL))
def test_kind_may_stand_anywhere(kind: str) -> None:
    ps = pairs(kind)
    body = ps[1:]
    for at in range(len(body) + 1):
        accepted(obj(body[:at] + [ps[0]] + body[at:]))
    accepted(obj(list(reversed(ps))))


def test_unknown_and_duplicate_keys() -> None:
    rejected(obj(pairs("call_held") + [("extra", 1)]))
    rejected(obj(pairs("call_held") + [("Call", "c2")]))
    rejected(obj(pairs("call_held") + [("", "c2")]))
    # msgspec lets the last of two equal keys win; the fast path does not guess.
    declined_valid(obj(pairs("call_held") + [("call", "c2")]))
    declined_valid(obj(pairs("call_held") + [("id", "e2")]))
    declined_valid(obj(pairs("agent_state") + [("queues", [])]))
    # Two kinds: msgspec takes the first as the tag and rejects the second as a value.
    rejected(obj(pairs("call_held") + [("kind", "call_resumed")]))
    declined_valid(obj(pairs("call_held") + [("kind", "call_held")]))


def test_duplicate_keys_before_and_after_kind() -> None:
    # The kind's fields are read two ways: any order before `kind`, in
    # msgspec's order after it; a repeat is declined either way.
    for kind in ("call_answered", "agent_state"):
        ps = pairs(kind)
        for key, value in ps:
            for at in range(len(ps) + 1):
                body = list(ps)
                body.insert(at, (key, value))
                for order in (body, body[::-1]):
                    # Two kinds are a dict's last-wins for msgspec too, but an error when they differ.
                    declined_valid(obj(order))


def test_keys_with_escapes_are_declined() -> None:
    declined_valid(line("call_held").replace(b'"call"', b'"c\\u0061ll"'))
    declined_valid(line("call_held").replace(b'"id"', b'"\\u0069d"'))
    declined_valid(line("call_held").replace(b'"kind"', b'"kin\\u0064"'))
    rejected(line("call_held").replace(b'"call"', b'"call\\u0000"'))


def test_whitespace() -> None:
    raw = line("agent_state")
    spaced = b" \t\r\n" + re.sub(rb'([{}\[\],:])', rb" \n\1\t\r ", raw) + b"\n\r\t "
    accepted(spaced)
    assert same(_native.parse_one(spaced), _native.parse_one(raw))
    accepted(json.dumps(dict(pairs("agent_state")), indent=4).encode())
    for ws in (b"\x0b", b"\x0c", b"\x00", b"\xc2\xa0", b"\xef\xbb\xbf"):
        rejected(ws + raw)
        rejected(raw + ws)
        rejected(raw.replace(b",", ws + b",", 1))


def test_trailing_and_broken_structure() -> None:
    raw = line("call_ended")
    rejected(raw + b"x")
    rejected(raw + b"{}")
    rejected(raw + b"}")
    rejected(raw + b",")
    rejected(raw[:-1] + b",}")
    rejected(raw.replace(b",", b",,", 1))
    rejected(raw.replace(b":", b"", 1))
    rejected(raw.replace(b":", b"::", 1))
    rejected(raw.replace(b",", b"", 1))
    rejected(raw.replace(b",", b":", 1))
    rejected(b"[" + raw + b"]")
    for head in (b"", b"{}", b"[]", b"null", b"1", b'"x"', b"{", b"}"):
        rejected(head)
    for n in range(len(raw)):
        rejected(raw[:n])


def test_kind_values() -> None:
    for tag in EVENT_TYPES:
        accepted(line(tag))
    for bad in ("Call_held", "call_helds", "call_hel", "call held", "", "agent_state ", "callheld"):
        rejected(line("call_held", kind=bad))
    for bad in (b"null", b"1", b"true", b'["call_held"]', b'{"call_held":1}'):
        rejected(line("call_held", kind=bad))
    for tag in EVENT_TYPES:  # each name with one character changed, dropped or added, with that kind's fields
        for i in range(len(tag)):
            rejected(line(tag, kind=tag[:i] + "x" + tag[i + 1 :]))
            rejected(line(tag, kind=tag[:i] + tag[i + 1 :]))
        rejected(line(tag, kind=tag + "x"))
        rejected(line(tag, kind="x" + tag))
    declined_valid(line("call_held", kind=b'"call\\u005fheld"'))
    declined_valid(line("call_held", kind=b'"call_hel\\u0064"'))


# --- hand-made cases: strings ---------------------------------------------------------

ID_FIELDS = [("call_offered", "id"), ("call_offered", "site"), ("call_offered", "call"), ("call_offered", "queue"),
             ("ticket_issued", "ticket"), ("ticket_transferred", "to_queue"), ("call_transferred", "to_queue"),
             ("ticket_called", "counter"), ("ticket_called", "agent"), ("call_answered", "agent"),
             ("wrap_up_ended", "agent"), ("agent_state", "agent"), ("agent_state", "counter")]


@pytest.mark.parametrize("kind,field", ID_FIELDS)
def test_id_lengths_count_code_points(kind: str, field: str) -> None:
    for ch in ("a", "é", "中", "\U0001F600", "\x7f"):
        accepted(line(kind, **{field: ch}))
        accepted(line(kind, **{field: ch * 128}))
        rejected(line(kind, **{field: ch * 129}))
    accepted(line(kind, **{field: "é中\U0001F600a" * 32}))
    rejected(line(kind, **{field: "é中\U0001F600a" * 32 + "x"}))
    rejected(line(kind, **{field: ""}))
    got = _native.parse_one(line(kind, **{field: "\U0001F600" * 128}))
    assert len(got[field]) == 128


@pytest.mark.parametrize("kind,field", ID_FIELDS)
def test_id_types_and_null(kind: str, field: str) -> None:
    nullable = field == "agent" and kind != "agent_state" or field == "counter" and kind == "agent_state"
    check(line(kind, **{field: None}), nullable, nullable)
    for bad in (b"nul", b"nulx", b"nill", b"Null", b"n", b"nulll"):
        rejected(line(kind, **{field: bad}))
    for bad in (b"1", b"true", b"[]", b'["a"]', b"{}", b"1.5"):
        rejected(line(kind, **{field: bad}))


def test_strings_with_escapes_are_declined() -> None:
    for esc in (b"\\n", b'\\"', b"\\\\", b"\\/", b"\\u00e9", b"\\ud83d\\ude00", b"\\t", b"\\u0041"):
        declined_valid(line("call_answered", agent=b'"a' + esc + b'"'))
    # Escapes msgspec refuses are declined all the same.
    for esc in (b"\\x41", b"\\a", b"\\u12", b"\\ud800", b"\\"):
        raw = line("call_answered", agent=b'"a' + esc + b'"')
        assert _native.parse_one(raw) is None
        agree(raw)


def test_control_bytes_are_invalid_json() -> None:
    for c in [*range(0x20)]:
        rejected(line("call_answered", agent=b'"a' + bytes([c]) + b'b"'))
    accepted(line("call_answered", agent=b'"a\x7fb"'))


VALID_UTF8 = ["\x80", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\ufffd", "\uffff", "\U00010000", "\U0010ffff", "\u2028"]
BAD_UTF8 = [b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
            b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80",
            b"\xfe", b"\xff", b"\xc2", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc2\x41", b"\xe2\x28\xa1", b"\xf0\x9f\x28\x80"]


def test_utf8_edges() -> None:
    for s in VALID_UTF8:
        accepted(line("call_answered", agent="a" + s + "b"))
        accepted(line("call_answered", agent=s))
    for b in BAD_UTF8:
        rejected(line("call_answered", agent=b'"a' + b + b'"'))
        rejected(line("call_answered", agent=b'"' + b + b'b"'))
        # Far from the end (the wide scan) and near it (the byte-wise tail).
        rejected(line("call_answered", agent=b'"' + b"x" * 40 + b + b"x" * 40 + b'"'))
        rejected(line("call_answered", **{"site": b'"' + b + b'"'}))
        rejected(line("call_answered", site=b'"gz' + b))


def test_special_bytes_at_every_offset() -> None:
    """Strings are scanned sixteen, then eight bytes at a time, then bytewise:
    a byte that ends or spoils a string is found wherever it stands."""
    specials = [(bytes([c]), False) for c in range(0x20)] + [(b"\\n", None), (b"\\\\", None), (b'\\"', None)]
    specials += [(s.encode(), True) for s in ("é", "中", "\U0001F600", "\x7f")] + [(b, False) for b in BAD_UTF8[:12]]
    for special, valid in specials:
        for before in range(0, 34):
            for after in (0, 1, 7, 8, 15, 16, 17):
                text = b'"' + b"x" * before + special + b"y" * after + b'"'
                for raw in (line("call_answered", site=text), line("call_answered", agent=text)):
                    ref, got = agree(raw)
                    if valid is None:  # an escape: valid JSON, declined
                        assert ref is not None and got is None, raw
                    else:
                        assert (ref is not None) == (got is not None) == valid, raw


# --- hand-made cases: numbers, booleans, the enumerations ---------------------------------------


def test_epoch_ms() -> None:
    for ok in (b"0", b"1", b"9", b"10", b"1700000000000", b"4102444800000", b"999999999999"):
        accepted(line("call_held", ts=ok))
    for bad in (b"4102444800001", b"9999999999999", b"10000000000000", b"99999999999999999999999", b"-1",
                b"01", b"00", b"1.0", b"1.", b".1", b"1e3", b"1E3", b"1e-3", b"+1", b"0x10", b"true", b"null",
                b"[]", b"{}", b'"1700000000000"', b'""', b"1_000", b"- 1", b"Infinity", b"NaN", b":", b"/", b"17:0",
                b"1/0"):
        rejected(line("call_held", ts=bad))
    declined_valid(line("call_held", ts=b"-0"))
    got = _native.parse_one(line("call_held", ts=b"4102444800000"))
    assert same(got["ts"], 4_102_444_800_000)


def test_priority() -> None:
    for p in range(10):
        got = _native.parse_one(line("ticket_issued", priority=p))
        assert got is not None and same(got["priority"], p)
        accepted(line("call_offered", priority=p))
    for bad in (b"10", b"-1", b"01", b"1.0", b"1e0", b"true", b"false", b"null", b'"1"', b"[]", b"99", b":", b"/", b"9:"):
        rejected(line("call_offered", priority=bad))
        rejected(line("ticket_issued", priority=bad))
    declined_valid(line("call_offered", priority=b"-0"))


def test_booleans() -> None:
    for kind, field in (("ticket_issued", "vip"), ("call_offered", "vip"), ("call_ended", "wrap_up"), ("call_transferred", "wrap_up")):
        for v in (True, False):
            got = _native.parse_one(line(kind, **{field: v}))
            assert got is not None and got[field] is v
            accepted(line(kind, **{field: v}))
        for bad in (b"0", b"1", b"null", b'"true"', b"True", b"tru", b"truee", b"falsey", b"[]", b"trux", b"falsx",
                    b"fals", b"flase", b"t", b"f"):
            rejected(line(kind, **{field: bad}))


def test_agent_states_and_reasons() -> None:
    for state in ("logged_out", "ready", "busy", "wrap_up", "not_ready"):
        got = _native.parse_one(line("agent_state", state=state, reason=None))
        assert got is not None and got["state"] == state
        accepted(line("agent_state", state=state, reason=DROP))
        # __post_init__: a reason with any state but not_ready is an error.
        check(line("agent_state", state=state, reason="lunch"), state == "not_ready", state == "not_ready")
    for bad in ("Ready", "idle", "", "ready ", "not ready", "loggedout", "wrap-up"):
        rejected(line("agent_state", state=bad))
    for state in ("logged_out", "ready", "busy", "wrap_up", "not_ready"):
        for i in range(len(state)):
            rejected(line("agent_state", state=state[:i] + "x" + state[i + 1 :], reason=DROP))
            rejected(line("agent_state", state=state[:i] + state[i + 1 :], reason=DROP))
    for bad in (b"null", b"1", b"[]", b'"\\u0072eady"'):
        check(line("agent_state", state=bad, reason=DROP), bad == b'"\\u0072eady"', False)
    accepted(line("agent_state", reason="x"))
    accepted(line("agent_state", reason="r" * 64))
    accepted(line("agent_state", reason="\U0001F600" * 64))
    rejected(line("agent_state", reason="r" * 65))
    rejected(line("agent_state", reason=""))
    rejected(line("agent_state", reason=b"1"))
    # reason before state: the check waits for the closing brace.
    accepted(obj([("reason", "lunch"), *pairs("agent_state", reason=DROP)]))
    rejected(obj([("reason", "lunch"), *pairs("agent_state", reason=DROP, state="ready")]))


def test_queues() -> None:
    for qs in ([], ["q"], ["q1", "q2", "q3"], ["x" * 128], ["\U0001F600" * 128, "é"]):
        got = _native.parse_one(line("agent_state", queues=qs))
        assert got is not None and same(got["queues"], qs)
        accepted(line("agent_state", queues=qs))
    accepted(line("agent_state", queues=None))
    accepted(line("agent_state", queues=b'[ "a" , "b" ]'))
    accepted(line("agent_state", queues=b"[ ]"))
    accepted(line("agent_state", queues=b"[\n]"))
    for bad in (b'[""]', b'["' + b"x" * 129 + b'"]', b"[1]", b"[null]", b'["a",]', b'[,"a"]', b'["a""b"]',
                b'["a",,"b"]', b'[["a"]]', b'"a"', b"{}", b'["a"', b"[", b"true", b'["a":1]'):
        rejected(line("agent_state", queues=bad))
    declined_valid(line("agent_state", queues=b'["\\u0061"]'))
    # Two events with queues in one batch keep their own.
    batch = _native.parse_batch(b"[" + line("agent_state", queues=["a", "b"]) + b"," + line("agent_state", queues=["c"]) + b"]")
    assert [e["queues"] for e in batch] == [["a", "b"], ["c"]]


CALLERS_OK = ["sha256:" + "0" * 16, "sha256:" + "0123456789abcdef" * 4, "sha256:" + "f" * 40, "****", "*" * 80,
              "138****5678", "+86 138-****5678", "1****", "****1234", "****0", "000********0000", "+86 138****5678",
              "+852 912****4567", "+1 415****0123", "+86 *****", "020-****-1234", "+86-20-****1234", "+86-020 ****",
              "138 **** 5678", " ****", "****-1234", "138**** 5678", "+" + "1" * 3 + " " + "*" * 70 + "1234"]
# Full numbers with stars added, and other shapes that show too much (issue 19).
CALLERS_BAD = ["", "***", "sha256:" + "0" * 15, "sha256:" + "0" * 65, "sha256:" + "A" * 16, "sha256:" + "g" * 16,
               "SHA256:" + "0" * 16, "sha256" + "0" * 16, "13800005678", "138****56789", "138*****5678x",
               "*" * 81, "+" * 77 + "****", "1**2**", "sha256:" + "0" * 16 + "****", "١٢٣****", "****١",
               "sha256:" + "０" * 16, "138.****5678", "13a****5678", "(138)****5678", "138****567a",
               "sha256:" + "0" * 15 + "g", "sha256:" + "0" * 16 + " ", "sha256 " + "0" * 16,
               "13812345678****", "+86 19999888866 ****1234", "+86 13812345678****", "****13812345678", "1381****",
               "0000********0000", "+" * 70 + "****1234", "- +1****", "+86138****5678", "+8613 ****", "+ ****",
               "138  ****", "****  1234", "+86  ****5678x", "138-****--5678", "+1234 ****"]


def test_caller() -> None:
    pattern = re.compile(CALLER_PATTERN)
    for c in CALLERS_OK:
        assert pattern.search(c) and len(c) <= 80, c
        got = _native.parse_one(line("call_offered", caller=c))
        assert got is not None and got["caller"] == c
        accepted(line("call_offered", caller=c))
    for c in CALLERS_BAD:
        assert not (pattern.search(c) and len(c) <= 80), c
        rejected(line("call_offered", caller=c))
    accepted(line("call_offered", caller=None))
    for bad in (b"1", b"true", b"[]", b'["****"]'):
        rejected(line("call_offered", caller=bad))
    # `$` matches before a final newline (re.search): msgspec takes "****\n". A
    # newline in a JSON string is an escape, which the fast path declines.
    declined_valid(line("call_offered", caller="****\n"))
    declined_valid(line("call_offered", caller="sha256:" + "0" * 16 + "\n"))
    rejected(line("call_offered", caller="****\n\n"))
    rejected(line("call_offered", caller="\n****"))


@pytest.mark.parametrize("kind", sorted(FULL))
def test_every_field_against_every_json_type(kind: str) -> None:
    """For plain values of each JSON type the native verdict is msgspec's, exactly."""
    for field in [*FULL[kind], *ENVELOPE, "kind"]:
        for value in (b"{}", b"[]", b'["q"]', b"0", b"1", b"1.5", b"-1", b'"x"', b'"ready"', b"true", b"false", b"null",
                      b'"2026-01-01T00:00:00Z"', b'{"a":1}', b"[1,2]"):
            raw = line(kind, **{field: value})
            ref, got = agree(raw)
            assert (got is None) == (ref is None), (raw, ref, got)


# --- hand-made cases: RFC 3339 ts ---------------------------------------------------------------

RFC_OK = {
    "2026-11-23T08:00:00Z": 1795420800000,
    "2026-11-23t08:00:00z": 1795420800000,
    "2026-11-23 08:00:00Z": 1795420800000,
    "2026-11-23T08:00:00+00:00": 1795420800000,
    "2026-11-23T08:00:00-00:00": 1795420800000,
    "2026-11-23T16:00:00+08:00": 1795420800000,
    "2026-11-23T16:00:00+0800": 1795420800000,
    "2026-11-23T08:00:00.5Z": 1795420800500,
    "2026-11-23T08:00:00.123Z": 1795420800123,
    "2026-11-23T08:00:00.1239Z": 1795420800123,
    "2026-11-23T08:00:00.123456Z": 1795420800123,
    "2026-11-23T08:00:00.1234567Z": 1795420800123,
    "2026-11-23T08:00:00.123456789Z": 1795420800123,
    "2026-11-23T08:00:00.9999994Z": 1795420800999,
    "2026-11-23T08:00:00.9999995Z": 1795420801000,  # rounded to the microsecond, half up, then floored
    "2026-11-23T08:00:00.99999949999Z": 1795420800999,  # only the seventh digit rounds
    "2026-12-31T23:59:59.99999999Z": 1798761600000,  # the carry runs into the next year
    "2026-11-23T08:00:00.000000000000000000000000000000001Z": 1795420800000,
    "1970-01-01T00:00:00Z": 0,
    "2024-02-29T12:00:00Z": 1709208000000,
    "2000-02-29T12:00:00Z": 951825600000,
    "2100-01-01T00:00:00Z": 4102444800000,
    "2100-01-01T00:00:00.0009Z": 4102444800000,  # floored to the ms: within EpochMs' bound
    "2026-11-23T08:00:00.5-08:30": 1795451400500,
}
# Times msgspec reads but outside EpochMs' bound (0..2100-01-01), which holds for RFC 3339
# times as for integers: the reference rejects them, the native path declines them.
RFC_OUT_OF_RANGE = {
    "1969-12-31T23:59:59.9995Z": -1,
    "1969-12-31T23:59:59.999Z": -1,
    "0001-01-01T00:00:00+23:59": -62135683140000,
    "0001-01-01T00:00:00Z": -62135596800000,
    "9999-12-31T23:59:59.999999-23:59": 253402387139999,
    "9999-12-31T23:59:59.9999994Z": 253402300799999,
    "2100-03-01T00:00:00Z": 4107542400000,
    "2100-01-01T00:00:00.001Z": 4102444800001,
}
RFC_BAD = ["2026-11-23T08:00:00", "2026-11-23T08:00:00.5", "2026-11-23", "2026-11-23T08:00Z", "2026-11-23T08:00:60Z",
           "2016-12-31T23:59:60Z", "2026-11-23T24:00:00Z", "2026-11-23T08:60:00Z", "2026-11-23T08:00:00+24:00",
           "2026-11-23T08:00:00+08:60", "2026-11-23T08:00:00+08", "2026-11-23T08:00:00+8:00", "2026-11-23T08:00:00+08:0",
           "2026-11-23T08:00:00+080", "2026-11-23T08:00:00+08:00:00", "2026-11-23T08:00:00+08:00Z", "2026-11-23T08:00:00ZZ",
           "2026-11-23T08:00:00 Z", "2026-11-23T08:00:00.Z", "2026-11-23T08:00:00,5Z", "2026-11-23_08:00:00Z",
           "2026-02-29T08:00:00Z", "1900-02-29T08:00:00Z", "2026-04-31T08:00:00Z", "2026-00-01T08:00:00Z",
           "2026-13-01T08:00:00Z", "2026-01-00T08:00:00Z", "0000-01-01T00:00:00Z", "+2026-11-23T08:00:00Z",
           "20261-11-23T08:00:00Z", "2026-1-23T08:00:00Z", "2026-11-23T8:00:00Z", " 2026-11-23T08:00:00Z",
           "2026-11-23T08:00:00Z ", "9999-12-31T23:59:59.9999995Z", "9999-12-31T23:59:59.9999995+05:00",
           "2026-11-23T08:00:00.-5Z", "2026-11-23T08:00:00+-8:00", "2026-11-23T08:00:00\u00a0Z", "２026-11-23T08:00:00Z",
           "2026-11-23T08:00:00.５Z", "", "Z", "1700000000000"]


def test_rfc3339_ts() -> None:
    for text, ms in RFC_OK.items():
        raw = line("call_held", ts=text)
        accepted(raw)
        assert same(_native.parse_one(raw)["ts"], ms), text
    for text in RFC_BAD:
        rejected(line("call_held", ts=text))
    for text, ms in RFC_OUT_OF_RANGE.items():
        assert ts_to_ms(_DECODER.decode(line("call_held", ts=text)).ts) == ms, text  # msgspec reads it so
        rejected(line("call_held", ts=text))
    declined_valid(line("call_held", ts=b'"\\u0032026-11-23T08:00:00Z"'))
    declined_valid(line("call_held", ts=b'"2026-11-23T08:00:00\\u005a"'))


# --- batches and line counts ----------------------------------------------------------------


def _batch_reference(raw: bytes) -> Optional[list]:
    evs, bad = decode_payload(raw, norm=False)
    return None if bad else [_as_record(e) for e in evs]


def test_parse_batch() -> None:
    a, b = line("call_offered"), line("agent_state")
    for raw, ok in ((b"[]", True), (b" [ ] ", True), (b"[" + a + b"]", True), (b"[" + a + b"," + b + b"]", True),
                    (b"[ " + a + b" ,\n" + b + b" ]\n", True), (b"[" + a + b",]", False), (b"[," + a + b"]", False),
                    (b"[" + a + b"," + line("call_held", call=DROP) + b"]", False), (b"[" + a + b"]x", False),
                    (b"[" + a + b"][]", False), (a, False), (b"[" + a, False), (b"[" + a + b" " + b + b"]", False),
                    (b"[[" + a + b"]]", False), (b"", False), (b"[", False)):
        ref = _batch_reference(raw)
        got = _native.parse_batch(raw)
        assert (got is not None) == ok, raw
        if got is not None:
            assert ref is not None and same(got, ref), raw
        elif ok is False and raw != a:
            assert ref is None, raw


def test_a_declined_item_leaves_the_buffers_as_they_were() -> None:
    good = line("agent_state", queues=["a", "b"])
    bad_late = line("agent_state", queues=["c", "d"], site=b"1")  # declined after its queues were read
    assert _native.parse_sizes([good, bad_late, good], False) == [(True, 0, 2), (False, 0, 2), (True, 0, 4)]
    batch, bad_batch = b"[" + good + b"," + good + b"]", b"[" + good + b"," + bad_late + b"]"
    assert _native.parse_sizes([batch, bad_batch, batch], True) == [(True, 2, 4), (False, 2, 4), (True, 4, 8)]


def test_count_lines() -> None:
    good, bad = line("call_offered"), line("call_held", call=DROP)
    chunk = b"\n".join([good, bad, b"", good + b"\r", b"  " + good, bad, good]) + b"\n\n"
    assert _native.count_lines(chunk) == (4, 2)
    assert _native.count_lines(b"") == (0, 0)
    assert _native.count_lines(good) == (1, 0)


def test_the_simulators_output_is_all_accepted() -> None:
    from simulators import busy_day
    from stream.contracts.floor_config import load_config

    evs = list(busy_day.generate(load_config(), seed=3, calls=1500))
    lines = [encode_event(ev) for ev in evs]
    for raw in lines:
        ref, got = agree(raw)
        assert got is not None, raw
    assert _native.count_lines(b"\n".join(lines)) == (len(lines), 0)


# --- properties -----------------------------------------------------------------------------------

# Characters no JSON writer escapes (so every common producer writes them raw), and all others.
_SAFE_ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\')  # json.dumps escapes DEL
_SAFE_UTF8 = st.characters(min_codepoint=0x20, exclude_characters='"\\', exclude_categories=("Cs",))
_ANY = st.characters(exclude_categories=("Cs",))


def _sized(alphabet: st.SearchStrategy, lo: int = 1, hi: int = 128) -> st.SearchStrategy[str]:
    """Strings of lo..hi characters, often at the edges."""
    return st.one_of(
        st.text(alphabet, min_size=lo, max_size=min(lo + 6, hi)),
        st.text(alphabet, min_size=max(hi - 3, lo), max_size=hi),
        st.text(alphabet, min_size=lo, max_size=hi),
    )


_TZ = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
# Within EpochMs' bound whatever the offset (times outside it are rejected: RFC_OUT_OF_RANGE).
_DATETIMES = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 31), timezones=st.one_of(st.just(timezone.utc), _TZ))


def _ts_text(dt: datetime, how: int) -> str:
    if how == 0:
        return msgspec.json.encode(dt).decode()[1:-1]
    if how == 1:
        return dt.isoformat()
    return dt.isoformat(sep=" ", timespec="milliseconds")


_VALID_CALLERS = st.one_of(
    st.none(),
    st.text("0123456789abcdef", min_size=16, max_size=64).map(lambda h: "sha256:" + h),
    st.tuples(
        st.one_of(st.just(""), st.tuples(st.text("0123456789", min_size=1, max_size=3), st.sampled_from(" -")).map(lambda t: "+" + "".join(t))),
        st.text("0123456789", max_size=3), st.sampled_from(["", " ", "-"]), st.integers(4, 30),
        st.sampled_from(["", " ", "-"]), st.text("0123456789", max_size=4),
    ).map(lambda t: t[0] + t[1] + t[2] + "*" * t[3] + t[4] + t[5]),
)


@st.composite
def valid_events(draw: Callable, alphabet: st.SearchStrategy = _SAFE_UTF8) -> dict:
    """A valid event as a dict (kind first), some optional fields left out."""
    ident = _sized(alphabet)
    kind = draw(st.sampled_from(sorted(FULL)))
    if draw(st.booleans()):
        ts: Any = draw(st.one_of(st.integers(0, TS_MAX), st.sampled_from([0, TS_MAX])))
    else:
        ts = _ts_text(draw(_DATETIMES), draw(st.integers(0, 2)))
    d: dict[str, Any] = {"kind": kind}
    values = {
        "ticket": ident, "call": ident, "queue": ident, "to_queue": ident,
        "counter": ident if kind == "ticket_called" else st.one_of(st.none(), ident),
        "agent": ident if kind == "agent_state" else st.one_of(st.none(), ident),
        "priority": st.integers(0, 9), "vip": st.booleans(), "wrap_up": st.booleans(),
        "caller": _VALID_CALLERS,
        "queues": st.one_of(st.none(), st.lists(ident, max_size=4)),
    }
    for f in FULL[kind]:
        if f in ("state", "reason"):
            continue
        if f in REQUIRED[kind] or draw(st.booleans()):
            d[f] = draw(values[f])
    if kind == "agent_state":
        d["state"] = draw(st.sampled_from(["logged_out", "ready", "busy", "wrap_up", "not_ready"]))
        if d["state"] == "not_ready" and draw(st.booleans()):
            d["reason"] = draw(_sized(alphabet, 1, 64))
        elif draw(st.booleans()):
            d["reason"] = None
    d.update({"id": draw(ident), "ts": ts, "site": draw(ident)})
    return d


@st.composite
def any_events(draw: Callable) -> dict:
    """Valid events and near misses: values across and past every limit."""
    d = draw(valid_events(_ANY))
    odd = st.one_of(
        _sized(_ANY, 0, 130),
        st.sampled_from(["", "x" * 129, "\U0001F600" * 129, "é" * 65, "****\n", "sha256:" + "A" * 16, "138****56789"]),
        st.none(), st.booleans(), st.integers(-2, 12), st.sampled_from([TS_MAX + 1, -1, 2**64, 10**30]),
        st.floats(allow_nan=False, allow_infinity=False), st.lists(_sized(_ANY, 0, 130), max_size=3),
        st.sampled_from(["ready", "not_ready", "busy", "Ready", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00"]),
    )
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from([*d, *ALL_KEYS]))
        if draw(st.integers(0, 9)) == 0:
            d.pop(key, None)
        else:
            d[key] = draw(odd)
    if d.get("kind") == "agent_state" and draw(st.integers(0, 3)) == 0:
        d["reason"] = draw(_sized(_ANY, 1, 64))  # maybe with a state that forbids it
    return d


def _spaced(d: dict, rng: random.Random, shuffle: bool) -> bytes:
    """d written by hand: keys maybe shuffled, random JSON whitespace between all tokens (rarely a non-JSON one)."""
    spaces = [" ", "\t", "\n", "\r", "", "", "  \r\n"]
    if rng.random() < 0.05:
        spaces.append(rng.choice(["\x0b", "\x0c", "\u00a0", "\x00"]))

    def ws() -> str:
        return rng.choice(spaces)

    def value(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ws() + ("," + ws()).join(value(x) + ws() for x in v) + "]"
        return json.dumps(v, ensure_ascii=rng.random() < 0.3)

    items = list(d.items())
    if shuffle:
        rng.shuffle(items)
    body = ",".join(ws() + json.dumps(k) + ws() + ":" + ws() + value(v) + ws() for k, v in items)
    return (ws() + "{" + body + "}" + ws()).encode()


def _writings(d: dict, rng: random.Random) -> list[bytes]:
    out = [
        msgspec.json.encode(d),
        json.dumps(d).encode(),
        json.dumps(d, ensure_ascii=False).encode(),
        json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode(),
        _spaced(d, rng, shuffle=False),
        _spaced(d, rng, shuffle=True),
    ]
    try:
        out.append(encode_event(msgspec.convert(d, Event)))
    except (msgspec.ValidationError, TypeError, ValueError):
        pass
    return out


_PROPS = settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@_PROPS
@given(any_events(), st.randoms(use_true_random=False))
def test_whatever_native_accepts_msgspec_reads_the_same(d: dict, rng: random.Random) -> None:
    for raw in _writings(d, rng):
        agree(raw)


_NASTY = b'"\\{}[],:0123456789-+.eEtrufalsn \t\n\r\x00\x1f\x7f\x80\xbf\xc0\xc2\xe0\xed\xf0\xf4\xff*'
_NASTY_BYTE = st.sampled_from(_NASTY)
_ANY_BYTE = st.one_of(_NASTY_BYTE, st.integers(0, 255))


@st.composite
def mutated(draw: Callable) -> bytes:
    d = draw(valid_events())
    raw = bytearray(draw(st.sampled_from(_writings(d, draw(st.randoms(use_true_random=False))))))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.integers(0, 5))
        i = draw(st.integers(0, len(raw)))
        if op == 0:  # insert
            raw[i:i] = bytes([draw(_NASTY_BYTE)])
        elif op == 1:  # delete a run
            del raw[i : i + draw(st.integers(1, 4))]
        elif op == 2 and i < len(raw):  # replace
            raw[i] = draw(_ANY_BYTE)
        elif op == 3:  # duplicate a slice
            j = draw(st.integers(i, min(len(raw), i + 24)))
            raw[j:j] = raw[i:j]
        elif op == 4:  # truncate
            del raw[i:]
        else:  # swap two bytes
            j = draw(st.integers(0, max(len(raw) - 1, 0)))
            if i < len(raw) and j < len(raw):
                raw[i], raw[j] = raw[j], raw[i]
    return bytes(raw)


@_PROPS
@given(mutated())
def test_mutated_lines(raw: bytes) -> None:
    agree(raw)


@settings(max_examples=500, deadline=None)
@given(valid_events(_SAFE_UTF8), valid_events(_SAFE_ASCII))
def test_common_producers_always_take_the_fast_path(d: dict, ascii_d: dict) -> None:
    """Valid events whose strings need no escapes: every common writer's output is accepted natively."""
    ev = msgspec.convert(d, Event)
    for raw in (encode_event(ev), msgspec.json.encode(d), json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode(),
                json.dumps(d, ensure_ascii=False).encode()):
        ref, got = agree(raw)
        assert ref is not None and got is not None, raw
    for raw in (json.dumps(ascii_d).encode(), json.dumps(ascii_d, separators=(",", ":")).encode(),
                encode_event(msgspec.convert(ascii_d, Event))):
        ref, got = agree(raw)
        assert ref is not None and got is not None, raw


# RFC 3339 near misses: every part from a range around its valid values.
_D2 = st.integers(0, 99).map(lambda v: f"{v:02d}")
_RFC_PARTS = st.tuples(
    st.one_of(st.integers(0, 9999).map(lambda v: f"{v:04d}"), st.sampled_from(["0000", "0001", "9999", "999", "10000", "197a"])),
    st.one_of(st.integers(0, 13).map(lambda v: f"{v:02d}"), st.just("1")),
    st.one_of(st.integers(0, 32).map(lambda v: f"{v:02d}"), st.sampled_from(["28", "29", "30", "31"])),
    st.sampled_from(["T", "t", " ", "T", "_", "TT", ""]),
    st.one_of(st.integers(0, 25).map(lambda v: f"{v:02d}"), st.just("23")),
    st.one_of(st.integers(0, 61).map(lambda v: f"{v:02d}"), st.just("59")),
    st.one_of(st.integers(0, 61).map(lambda v: f"{v:02d}"), st.just("59")),
    st.one_of(st.just(""), st.text("0123456789", min_size=0, max_size=14).map(lambda f: "." + f),
              st.sampled_from([".9999995", ".99999949", ".9999994999", ".0000005", ",5", ".5.5"])),
    st.one_of(st.sampled_from(["Z", "z", "", "ZZ", "+", "-", "Z+00:00"]),
              st.tuples(st.sampled_from("+-"), _D2, st.sampled_from([":", "", ";"]), _D2).map("".join),
              st.tuples(st.sampled_from("+-"), st.integers(0, 23).map(lambda v: f"{v:02d}"), st.just(":"),
                        st.integers(0, 59).map(lambda v: f"{v:02d}")).map("".join),
              st.sampled_from(["+24:00", "-24:00", "+23:59", "-23:59", "+00", "+0000", "+08:00:00"])),
)


@settings(max_examples=4000, deadline=None)
@given(_RFC_PARTS)
def test_rfc3339_matches_msgspec(parts: tuple) -> None:
    y, mo, d, sep, h, mi, s, frac, tz = parts
    text = f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{tz}"
    ref, got = agree(line("call_held", ts=text))
    # Every form msgspec takes from this grammar the fast path takes too.
    assert (got is None) == (ref is None), (text, ref)


@settings(max_examples=1000, deadline=None)
@given(_DATETIMES, st.integers(0, 2), st.text("0123456789", max_size=6))
def test_rfc3339_of_any_datetime(dt: datetime, how: int, more: str) -> None:
    text = _ts_text(dt, how)
    ref, got = agree(line("call_held", ts=text))
    assert ref is not None and got is not None, text
    if "." in text and more:  # further fraction digits: rounded as msgspec rounds them
        head, _, tail = text.partition(".")
        digits = re.match(r"\d*", tail).group(0)
        longer = f"{head}.{digits}{more}{tail[len(digits):]}"
        ref, got = agree(line("call_held", ts=longer))
        assert (got is None) == (ref is None), longer
