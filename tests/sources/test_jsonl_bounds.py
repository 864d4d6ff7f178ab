"""The JSON-lines reader (``up --replay``, ``replay --kafka``) holds the decoder's bounds (issue 19, items 1-2).

Before, a line nested 1,000 deep raised RecursionError out of ``read_jsonl``
and a time in year 9999 came through to crash the fold; now both are
``Rejected`` lines with their reasons, and the lines around them read.
"""

from __future__ import annotations

import io

from stream.sources.jsonl import Rejected, read_jsonl


def test_poison_lines_are_rejected_and_the_rest_reads() -> None:
    nested = b'{"id":' + b"[" * 1000 + b"]" * 1000 + b',"ts":1,"site":"s","kind":"call_abandoned","call":"x"}'
    far = b'{"id":"f","ts":"9999-12-31T00:00:00Z","site":"s","kind":"call_abandoned","call":"x"}'
    old = b'{"id":"g","ts":"0001-01-01T00:00:00Z","site":"s","kind":"call_abandoned","call":"x"}'
    ok = b'{"id":"o","ts":"2026-11-23T00:00:00Z","site":"s","kind":"call_abandoned","call":"x"}'
    items = list(read_jsonl(io.BytesIO(b"\n".join([nested, far, old, ok]) + b"\n")))
    assert [type(i) is Rejected for i in items] == [True, True, True, False]
    assert items[0].reason == "line 1: not JSON: nested deeper than 8 levels"
    assert items[1].reason.startswith("line 2: ts out of range") and items[1].raw == far
    assert items[2].reason.startswith("line 3: ts out of range")
    assert (items[3].id, items[3].ts) == ("o", 1_795_392_000_000)
