"""Fuzz of the decoders (issue 19): no exception escapes, every input is an event or a rejection with a reason, both decoders agree.

Mutation fuzz (seeded: the same 8,000 mutants every run) of valid wire events —
bytes flipped, cut, repeated, nested, quoted, times and numbers pushed to the
extremes — and hypothesis-generated JSON lines and batches. Each input goes
through the reference decoder (``stream.contracts.decode``) and the native
core's (``NativeFloor.decode_lines``/``decode_payload``), as JSON lines and as
a Kafka batch; both must give the same events and the same rejections with the
same reasons, and account for every line.
"""

from __future__ import annotations

import json
import random
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.contracts.decode import decode_lines_raw, decode_payload
from stream.contracts.events import ts_to_ms
from stream.fold.floor import Floor, native_available

SEED_LINES = [
    b'{"kind":"call_offered","call":"c1","queue":"general","priority":1,"vip":true,"caller":"138****5678","id":"e1","ts":1795395600000,"site":"gd-hotline"}',
    b'{"kind":"call_answered","call":"c1","agent":"1007","id":"e2","ts":"2026-11-23T09:00:12+08:00","site":"gd-hotline"}',
    b'{"kind":"call_ended","call":"c1","wrap_up":true,"id":"e3","ts":1795395700000,"site":"gd-hotline"}',
    b'{"kind":"wrap_up_ended","call":"c1","agent":null,"id":"e4","ts":1795395710000,"site":"gd-hotline"}',
    b'{"kind":"agent_state","agent":"1007","state":"not_ready","reason":"lunch","queues":["general","vip"],"counter":null,"id":"e5","ts":1795395600000,"site":"gd-hotline"}',
    b'{"kind":"ticket_issued","ticket":"A017","queue":"cash","priority":0,"vip":false,"id":"e6","ts":"2026-11-23T01:00:00Z","site":"gz-hall"}',
    b'{"kind":"ticket_called","ticket":"A017","counter":"C1","agent":"k9","id":"e7","ts":1795395800000,"site":"gz-hall"}',
    b'{"kind":"ticket_transferred","ticket":"A017","to_queue":"vip","id":"e8","ts":1795395900000,"site":"gz-hall"}',
    b'{"id":"e9","ts":1795395600000,"site":"gd-hotline","kind":"call_transferred","call":"c2","to_queue":"vip","wrap_up":false}',
    b'{ "id" : "e10" , "ts" : 0 , "site" : "s" , "kind" : "call_abandoned" , "call" : "c3" }',
]
# Pieces a mutation puts in: structure, extremes, escapes, other encodings.
SPLICES = [b"[" * 40, b"]" * 40, b"{" * 30, b'"', b"\\", b"\\u0000", b"\\ud800", b"\xff\xfe", b"\xc3\x28", b"null", b"true",
           b"-1", b"1e400", b"99999999999999999999999", b"4102444800001", b'"9999-12-31T00:00:00Z"', b'"0001-01-01T00:00:00Z"',
           b'"2100-01-01T00:00:00.001Z"', b'"1969-12-31T23:59:59.999Z"', b'"13812345678****"', b'"+86 19999888866 ****1234"',
           b",", b":", b"}", b"{}", b"[]", b'"id":"x",', b"\t", b"\r", "中".encode(), b"\x00", b"0" * 30]


def _mutate(rng: random.Random, line: bytes) -> bytes:
    b = bytearray(line)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randint(0, len(b))
        if op == 0 and b:  # flip a byte
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 1:  # splice in a piece
            b[pos:pos] = rng.choice(SPLICES)
        elif op == 2:  # cut
            del b[pos : pos + rng.randint(1, 12)]
        elif op == 3:  # truncate
            del b[pos:]
        elif op == 4:  # repeat a slice
            s = bytes(b[pos : pos + rng.randint(1, 30)])
            b[pos:pos] = s * rng.randint(1, 5)
        elif op == 5:  # nest a value deep
            d = rng.choice([3, 9, 200, 3000])
            b[pos:pos] = b"[" * d + b"1" + b"]" * d
        else:  # swap in a value from another event
            other = rng.choice(SEED_LINES)
            q = rng.randint(0, len(other))
            b[pos:pos] = other[q : q + rng.randint(1, 40)]
    return bytes(b).replace(b"\n", b" ")


def _mutants(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        m = _mutate(rng, rng.choice(SEED_LINES))
        if m.strip():
            out.append(m)
    return out


def _record(ev: Any) -> dict:
    out = {"kind": ev.kind, **msgspec.structs.asdict(ev)}
    if type(out["ts"]) is not int:
        out["ts"] = ts_to_ms(out["ts"])
    return out


def _decoders() -> list:
    out = [("reference", decode_lines_raw, lambda p: decode_payload(p, norm=False))]
    if native_available():
        f = Floor(native=True)
        out.append(("native", f.decode_lines, f.decode_payload))
    return out


def _run(lines: list[bytes]) -> dict:
    """Every decoder's reading of the lines: as one JSON-lines chunk, and as one Kafka batch per 50 lines."""
    chunk = b"\n".join(lines) + b"\n"
    batches = [b"[" + b",".join(lines[k : k + 50]) + b"]" for k in range(0, len(lines), 50)]
    got = {}
    for name, lines_dec, payload_dec in _decoders():
        good, bad = lines_dec(chunk)
        recs = [_record(good[i]) for i in range(len(good))]
        assert len(recs) + len(bad) == len(lines), f"{name}: lines unaccounted for"
        assert all(isinstance(why, str) and why for _, why in bad), name
        per_batch = []
        for payload in batches:
            g, b = payload_dec(payload)
            assert all(isinstance(why, str) and why for _, why in b), name
            per_batch.append(([_record(g[i]) for i in range(len(g))], [(bytes(r), w) for r, w in b]))
        got[name] = (recs, [(bytes(r), w) for r, w in bad], per_batch)
    return got


def _agree(got: dict) -> None:
    if "native" in got:
        assert got["native"][0] == got["reference"][0], "accepted events differ"
        assert got["native"][1] == got["reference"][1], "rejections differ"
        assert got["native"][2] == got["reference"][2], "batch readings differ"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_mutation_fuzz_of_the_decoders(seed: int) -> None:
    """4 x 2,000 mutants of valid events (8,000 inputs a run), each as a line and in a batch."""
    lines = _mutants(2000, seed)
    got = _run(lines)
    _agree(got)
    recs, bad, _ = got["reference"]
    # The mutants are mostly broken, but not all: both outcomes are exercised.
    assert len(bad) > 1000 and len(recs) > 20, (len(recs), len(bad))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.sampled_from(["id", "ts", "site", "kind", "call", "queue",
                                                                               "agent", "state", "queues", "x"]), kids, max_size=6),
    max_leaves=12,
)
_KINDS = ["call_offered", "call_answered", "call_abandoned", "call_ended", "agent_state", "ticket_issued", "ticket_called", "nope"]


@st.composite
def _eventish(draw) -> bytes:
    """An object shaped like an event, each field valid or not."""
    d = {"id": draw(st.one_of(st.text(min_size=1, max_size=6), _JSON)),
         "ts": draw(st.one_of(st.integers(-10, 4_102_444_800_010), st.sampled_from(
             ["2026-11-23T09:00:00Z", "9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z", "2100-01-01T00:00:00Z",
              "2100-01-01T00:00:00.001Z", "1970-01-01T00:00:00+00:01", "2026-11-23T09:00:00"]), _JSON)),
         "site": draw(st.one_of(st.sampled_from(["s1", "s2"]), _JSON)),
         "kind": draw(st.sampled_from(_KINDS))}
    for k in draw(st.lists(st.sampled_from(["call", "queue", "agent", "state", "queues", "ticket", "counter", "caller", "vip"]), max_size=4)):
        d[k] = draw(st.one_of(st.sampled_from(["q", "a1", "ready", "138****5678", "13812345678****"]), _JSON))
    return json.dumps(d, ensure_ascii=draw(st.booleans())).encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.one_of(_eventish(), _JSON.map(lambda v: json.dumps(v).encode()), st.binary(min_size=1, max_size=40)), min_size=1, max_size=20))
def test_hypothesis_fuzz_of_the_decoders(items: list) -> None:
    """150 examples of up to 20 inputs each (~1,500 a run): event-shaped objects, any JSON, any bytes."""
    lines = [i.replace(b"\n", b" ") for i in items]
    lines = [ln for ln in lines if ln.strip()]
    if lines:
        _agree(_run(lines))
