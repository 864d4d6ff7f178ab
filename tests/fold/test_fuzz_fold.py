"""Fuzz of the fold (issue 19): no exception escapes, every input is counted, both cores give identical outputs.

Mutation fuzz (seeded: the same streams every run) of a simulated busy day's
events as JSON lines: events dropped, repeated, reordered, moved in time
(seconds, minutes, to 2099 and 1970), given another contact, site or kind, and
broken lines in between; each stream folded by the reference core and the
native one through the bytes path (``decode_lines``, ``apply_many``,
``flush``). Both must give every output the
same (reports, snapshots, alert snapshots, intervals, rejections and dead
letters), and every line must be accounted for: decoded or rejected by the
decoder, then folded, a duplicate, late or quarantined as ahead. Half the
streams come as Kafka messages with timestamps (the reference-time
quarantine). Then hypothesis: contradicting events of few contacts at any
times, with or without a message timestamp, any clock and lateness bounds.
About 10,800 + 3,000 inputs a run.
"""

from __future__ import annotations

import random

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators import busy_day
from stream.contracts.floor_config import FloorConfig, load_config
from stream.fold.floor import Floor, native_available
from stream.fold.site import Limits
from tests.fold.test_native_core import _assert_same, garbage
from tests.fold.test_properties import CFG

pytestmark = pytest.mark.skipif(not native_available(), reason="the native core is not built here (no C++ compiler at install)")

_enc = msgspec.json.Encoder()
STREAMS = 24
EVENTS = 450  # per stream: 24 x 450 = 10,800 inputs a run


@pytest.fixture(scope="module")
def day_lines() -> list[dict]:
    evs = list(busy_day.generate(load_config(), seed=11, calls=3000))
    return [msgspec.json.decode(_enc.encode(e)) for e in evs]


def _mutant_stream(rng: random.Random, day: list[dict]) -> list[bytes]:
    start = rng.randrange(0, len(day) - EVENTS)
    evs = [dict(e) for e in day[start : start + EVENTS]]
    out: list[bytes] = []
    for i, e in enumerate(evs):
        r = rng.random()
        if r < 0.03:
            continue  # dropped
        if r < 0.06:
            e["ts"] += rng.choice([1_000, 30_000, 59_000, 90_000, 700_000, 3_600_000, -120_000])  # moved in time
        elif r < 0.07:
            # A wrong clock. (Decades off are test_wrong_clock's: an agent whose timeline spans
            # them is slow to total, day by day, in both cores.)
            e["ts"] += rng.choice([600_000, 2 * 3_600_000, 36 * 3_600_000, 30 * 86_400_000])
        elif r < 0.09 and "call" in e:
            e["call"] = rng.choice(["c-x", "c-y", e["call"] + "-other"])  # another contact
        elif r < 0.10:
            e["site"] = rng.choice(["gd-hotline", "hall-tianhe", "nowhere"])
        elif r < 0.11 and e["kind"].startswith("call_") and e["kind"] != "call_offered":
            e["kind"] = rng.choice(["call_answered", "call_abandoned", "call_ended", "call_held"])
            e.pop("wrap_up", None), e.pop("agent", None), e.pop("to_queue", None)
        line = _enc.encode(e)
        if rng.random() < 0.02:
            line = line[: rng.randrange(len(line))]  # broken on the wire
        out.append(line)
        if rng.random() < 0.03:
            out.append(line)  # delivered twice
    # Some reordering within and beyond the lateness bound.
    for _ in range(rng.randint(0, 20)):
        a = rng.randrange(len(out))
        b = min(len(out) - 1, a + rng.randint(1, 40))
        out[a], out[b] = out[b], out[a]
    return out


def _fold(lines: list[bytes], native: bool, limits: Limits, refs: tuple) -> Floor:
    f = Floor(load_config(), limits=limits, native=native)
    chunk = b"\n".join(lines) + b"\n"
    # Two chunks, as a file is read (the cut falls anywhere), or as two Kafka messages
    # with their timestamps (refs: None for a file).
    cut = chunk.find(b"\n", len(chunk) // 2) + 1
    for part, ref in zip((chunk[:cut], chunk[cut:]), refs):
        f.set_reference(ref)
        good, bad = f.decode_lines(part)
        f.apply_many(good)
        for raw, why in bad:
            f.reject(raw, why)
    return f


def _accounted(f: Floor, n_lines: int) -> None:
    """Every line: rejected by the decoder, or folded, a duplicate, late or ahead (later rejections are of folded events)."""
    decoder = sum(f.rejected.values())
    at_entry = 0
    for sc in f.sites.values():
        at_entry += sc.events + sc.duplicates
        at_entry += sum(n for why, n in sc.rejected.items() if why.startswith(("late:", "ahead:")))
    assert decoder + at_entry == n_lines


@pytest.mark.parametrize("stream", range(STREAMS))
def test_mutation_fuzz_of_the_fold(day_lines, stream: int) -> None:
    rng = random.Random(1000 + stream)
    lines = _mutant_stream(rng, day_lines)
    limits = Limits(lateness_ms=rng.choice([0, 30_000, 60_000]), max_open_ms=rng.choice([600_000, 24 * 3_600_000]),
                    max_ahead_ms=rng.choice([60_000, 300_000]), dead_letters=rng.choice([5, 10_000]))
    # Half the streams as Kafka messages: timestamps around the stream's middle, so that
    # some events are past them (quarantined) and some are not.
    mid = msgspec.json.decode(lines[len(lines) // 2]).get("ts") if stream % 2 and lines[len(lines) // 2].endswith(b"}") else None
    refs = (mid, mid + 600_000) if isinstance(mid, int) else (None, None)
    native, ref = _fold(lines, True, limits, refs), _fold(lines, False, limits, refs)
    for f in (native, ref):
        _accounted(f, sum(1 for ln in lines if ln.strip()))
    _assert_same(native, ref, f"stream {stream} before flush")
    native.flush()
    ref.flush()
    _assert_same(native, ref, f"stream {stream} after flush")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage(), st.sampled_from([None, 0, 1_800_000, 4_102_444_800_000]), st.integers(1_000, 900_000), st.integers(0, 120_000))
def test_hypothesis_fuzz_of_the_fold(evs, reference, max_ahead, lateness) -> None:
    """Contradicting events of few contacts and agents, any times in four hours, with or without a
    message timestamp and any clock bound: counted alike, every output the same in both cores."""
    limits = Limits(lateness_ms=lateness, max_ahead_ms=max_ahead, max_open_ms=3_600_000, dead_letters=9)
    cfg = FloorConfig.from_dict(CFG)
    native, ref = Floor(cfg, limits=limits, native=True), Floor(cfg, limits=limits, native=False)
    for f in (native, ref):
        f.set_reference(reference)
        f.apply_many([e.__copy__() for e in evs])
        _accounted(f, len(evs))
    _assert_same(native, ref, "before flush")
    native.flush()
    ref.flush()
    _assert_same(native, ref, "after flush")
