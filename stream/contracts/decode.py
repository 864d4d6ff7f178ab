"""Strict, fast decoding of raw input into events, with rejections instead of exceptions.

Input comes as one event (a JSON object), a batch (a JSON array of events, the
Kafka message format) or JSON lines (files). The fast path decodes a whole
batch in C; when anything in it is broken, the batch is decoded item by item
so that one bad event becomes one rejection and the rest flows.

Nothing here raises on input: besides what the schema rejects, an event
larger than ``MAX_EVENT_BYTES``, nested deeper than ``MAX_DEPTH`` or stamped
outside 1970..2100 (the bound integer times have, held for RFC 3339 times
too) is a rejection with its reason, and so is anything the JSON decoder
itself fails on (docs/events.md, "What is rejected").

>>> evs, bad = decode_payload(b'[{"id":"1","ts":5,"site":"s","kind":"call_abandoned","call":"c"},{"id":2}]')
>>> [e.kind for e in evs], bad[0][1][:22]
(['call_abandoned'], 'Object missing require')
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

import msgspec

from stream.contracts.events import EPOCH_MS_MAX, Event, ts_to_ms

Rejection = tuple[bytes, str]  # (raw bytes, reason)

# One event's JSON is at most this long (the native decoder holds the same bound).
MAX_EVENT_BYTES = 64 << 10
# A valid event nests two deep (the object, agent_state's queues); anything
# past this is rejected before a recursive decoder sees it.
MAX_DEPTH = 8

TOO_LARGE = f"too large: an event is at most {MAX_EVENT_BYTES} bytes"
TOO_DEEP = f"not JSON: nested deeper than {MAX_DEPTH} levels"
TS_OUT_OF_RANGE = "ts out of range: 1970-01-01T00:00:00Z..2100-01-01T00:00:00Z - at `$.ts`"

_one = msgspec.json.Decoder(Event)
_batch = msgspec.json.Decoder(list[Event])
_raw_items = msgspec.json.Decoder(list[msgspec.Raw])

# JSON strings (escapes and all; an unterminated one runs to the end) and the
# structural bytes: what the depth check and the batch splitter walk.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{},]')


def _reason(exc: Exception) -> str:
    if isinstance(exc, msgspec.ValidationError):
        return str(exc)
    if isinstance(exc, msgspec.DecodeError):
        return f"not JSON: {exc}"
    return f"not decodable: {type(exc).__name__}"


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text nests arrays or objects deeper than ``limit`` (brackets in strings do not count)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for m in _TOKENS.finditer(raw):
        c = m.group()[0]
        if c == 0x5B or c == 0x7B:  # [ {
            depth += 1
            if depth > limit:
                return True
        elif c == 0x5D or c == 0x7D:  # ] }
            depth -= 1
    return False


def ts_in_range(ts) -> bool:
    """An RFC 3339 time (decoded) is within the integer times' bound, 0..EPOCH_MS_MAX epoch ms."""
    return 0 <= ts_to_ms(ts) <= EPOCH_MS_MAX


def decode_item(raw: bytes) -> tuple[Optional[object], Optional[str]]:
    """One event's bytes as ``(event, None)`` or ``(None, reason)``; never raises.

    The reference every decoder here (and the native core's) ends in for
    anything its fast path does not take. ``ts`` is left as decoded.
    """
    if len(raw) > MAX_EVENT_BYTES and len(raw.strip(b" \t\n\r")) > MAX_EVENT_BYTES:
        return None, TOO_LARGE
    if too_deep(raw):
        return None, TOO_DEEP
    try:
        ev = _one.decode(raw)
    except Exception as exc:  # noqa: BLE001 - any failure on input is a rejection, never a crash
        return None, _reason(exc)
    if ev.ts.__class__ is not int and not ts_in_range(ev.ts):
        return None, TS_OUT_OF_RANGE
    return ev, None


def _all_fit(evs: list) -> bool:
    # What the schema alone does not hold: RFC 3339 times in range.
    for ev in evs:
        if ev.ts.__class__ is not int and not ts_in_range(ev.ts):
            return False
    return True


def _norm(evs: list) -> list:
    # RFC 3339 times become epoch ms here, at the edge; the core sees ints.
    for ev in evs:
        if ev.ts.__class__ is not int:
            ev.ts = ts_to_ms(ev.ts)
    return evs


def _decode_items(items) -> tuple[list, list[Rejection]]:
    good: list = []
    bad: list[Rejection] = []
    for item in items:
        raw = bytes(item)
        ev, why = decode_item(raw)
        if ev is None:
            bad.append((raw, why))
        else:
            good.append(ev)
    return good, bad


def split_array(payload: bytes) -> Optional[list[bytes]]:
    """The items of a JSON array, as bytes, without decoding them (None: not an array).

    For a batch the JSON decoder cannot walk (an item nested too deep for it):
    each item is then decoded, or rejected, on its own.
    """
    body = payload.strip()
    if body[:1] != b"[" or body[-1:] != b"]":
        return None
    items: list[bytes] = []
    depth = 0
    start = 1
    for m in _TOKENS.finditer(body):
        c = m.group()[0]
        if c == 0x5B or c == 0x7B:
            depth += 1
        elif c == 0x5D or c == 0x7D:
            depth -= 1
            if depth == 0:
                if m.end() != len(body):
                    return None
                last = body[start : m.start()].strip()
                if last:
                    items.append(last)
                elif items:
                    return None
                return items
        elif c == 0x2C and depth == 1:
            items.append(body[start : m.start()].strip())
            start = m.end()
    return None


def decode_one(raw: bytes, norm: bool = True) -> tuple[list, list[Rejection]]:
    ev, why = decode_item(bytes(raw))
    if ev is None:
        return [], [(bytes(raw), why)]
    return (_norm([ev]) if norm else [ev]), []


def decode_payload(payload: bytes, norm: bool = True) -> tuple[list, list[Rejection]]:
    """Decode a Kafka message value: one event or a JSON array of events.

    ``norm=False`` leaves RFC 3339 ``ts`` as datetimes, for callers that hand the
    events straight to the core or the alert driver (both turn them into epoch
    ms themselves): one pass less over every event.
    """
    head = payload.lstrip()[:1]
    if head != b"[":
        return decode_one(payload, norm)
    try:
        evs = _batch.decode(payload)
    except Exception:  # noqa: BLE001 - decoded item by item below
        evs = None
    if evs is not None and _all_fit(evs) and (len(payload) <= MAX_EVENT_BYTES or _items_fit(payload)):
        return (_norm(evs) if norm else evs), []
    try:
        items = _raw_items.decode(payload)
    except RecursionError:
        items = split_array(payload)
        if items is None:
            return [], [(bytes(payload), TOO_DEEP)]
    except Exception as exc:  # noqa: BLE001 - the payload is not a JSON array: one rejection
        return [], [(bytes(payload), _reason(exc))]
    good, bad = _decode_items(items)
    return (_norm(good) if norm else good), bad


def _items_fit(payload: bytes) -> bool:
    """Every item of a (valid) batch is within MAX_EVENT_BYTES."""
    return all(len(item) <= MAX_EVENT_BYTES for item in _raw_items.decode(payload))


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
        evs = _one.decode_lines(chunk)
    except Exception:  # noqa: BLE001 - decoded line by line below
        evs = None
    lines = chunk.split(b"\n")
    if evs is not None and _all_fit(evs) and (len(chunk) <= MAX_EVENT_BYTES or max(map(len, lines)) <= MAX_EVENT_BYTES):
        return evs, []
    return _decode_items(line for line in (ln.strip() for ln in lines) if line)


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
