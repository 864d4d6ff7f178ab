"""Strict, fast decoding of raw input into events, with rejections instead of exceptions.

Input comes as one event (a JSON object), a batch (a JSON array of events, the
Kafka message format) or JSON lines (files). The fast path decodes a whole
batch in C; when anything in it is broken, the batch is decoded item by item
so that one bad event becomes one rejection and the rest flows.

>>> evs, bad = decode_payload(b'[{"id":"1","ts":5,"site":"s","kind":"call_abandoned","call":"c"},{"id":2}]')
>>> [e.kind for e in evs], bad[0][1][:22]
(['call_abandoned'], 'Object missing require')
"""

from __future__ import annotations

from typing import Iterator

import msgspec

from stream.contracts.events import Event, ts_to_ms

Rejection = tuple[bytes, str]  # (raw bytes, reason)

_one = msgspec.json.Decoder(Event)
_batch = msgspec.json.Decoder(list[Event])
_raw_items = msgspec.json.Decoder(list[msgspec.Raw])


def _reason(exc: Exception) -> str:
    if isinstance(exc, msgspec.ValidationError):
        return str(exc)
    return f"not JSON: {exc}"


def _norm(evs: list) -> list:
    # RFC 3339 times become epoch ms here, at the edge; the core sees ints.
    for ev in evs:
        if ev.ts.__class__ is not int:
            ev.ts = ts_to_ms(ev.ts)
    return evs


def decode_one(raw: bytes) -> tuple[list, list[Rejection]]:
    try:
        return _norm([_one.decode(raw)]), []
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return [], [(bytes(raw), _reason(exc))]


def decode_payload(payload: bytes, norm: bool = True) -> tuple[list, list[Rejection]]:
    """Decode a Kafka message value: one event or a JSON array of events.

    ``norm=False`` leaves RFC 3339 ``ts`` as datetimes, for callers that hand the
    events straight to the core or the alert driver (both turn them into epoch
    ms themselves): one pass less over every event.
    """
    head = payload.lstrip()[:1]
    if head != b"[":
        return decode_one(payload)
    try:
        evs = _batch.decode(payload)
        return (_norm(evs) if norm else evs), []
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    try:
        items = _raw_items.decode(payload)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return [], [(bytes(payload), _reason(exc))]
    good: list = []
    bad: list[Rejection] = []
    for item in items:
        try:
            good.append(_one.decode(item))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            bad.append((bytes(item), _reason(exc)))
    return (_norm(good) if norm else good), bad


def decode_lines(chunk: bytes) -> tuple[list, list[Rejection]]:
    """Decode newline-delimited events; blank lines are skipped."""
    good, bad = decode_lines_raw(chunk)
    return _norm(good), bad


def decode_lines_raw(chunk: bytes) -> tuple[list, list[Rejection]]:
    """``decode_lines`` without turning RFC 3339 ``ts`` into epoch ms.

    For callers that hand the events straight to the core, which does that
    itself for the (rare) events that need it.
    """
    try:
        return _one.decode_lines(chunk), []
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    good: list = []
    bad: list[Rejection] = []
    for line in chunk.split(b"\n"):
        line = line.strip()
        if not line:
            continue
        try:
            good.append(_one.decode(line))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            bad.append((line, _reason(exc)))
    return good, bad


def iter_jsonl_chunks(fh, chunk_bytes: int = 4 << 20) -> Iterator[bytes]:
    """Read a binary file in large chunks that end on line boundaries."""
    rest = b""
    while True:
        block = fh.read(chunk_bytes)
        if not block:
            if rest.strip():
                yield rest
            return
        block = rest + block
        cut = block.rfind(b"\n")
        if cut < 0:
            rest = block
            continue
        rest = block[cut + 1 :]
        yield block[: cut + 1]
