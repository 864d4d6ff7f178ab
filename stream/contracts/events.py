"""Event model v1: the wire format every source writes and the core folds.

One JSON object per event. The envelope is ``id`` (unique; a repeated id is
ignored), ``ts`` (event time: RFC 3339 with an offset, or epoch milliseconds),
``site`` and ``kind``; the kind selects the rest of the fields. Unknown fields
are errors, so a typo in a source is caught at the edge, not on the wall.

>>> from stream.contracts.events import decode_event
>>> ev = decode_event(b'{"id":"e1","ts":1700000000000,"site":"gz",'
...                   b'"kind":"call_offered","call":"c1","queue":"general"}')
>>> (ev.kind, ev.ts, ev.queue)
('call_offered', 1700000000000, 'general')

The JSON Schema in ``docs/events.schema.json`` is generated from these classes
(``python -m stream.contracts.events > docs/events.schema.json``).
"""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta, timezone
from typing import Annotated, ClassVar, Literal, Union

import msgspec
from msgspec import Meta, Struct

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "CALLER_PATTERN",
    "EPOCH_MS_MAX",
    "AgentState",
    "CallAbandoned",
    "CallAnswered",
    "CallEnded",
    "CallHeld",
    "CallOffered",
    "CallResumed",
    "CallTransferred",
    "Event",
    "TicketAbandoned",
    "TicketCalled",
    "TicketCompleted",
    "TicketIssued",
    "TicketNoShow",
    "TicketTransferred",
    "WrapUpEnded",
    "decode_event",
    "encode_event",
    "event_schema",
    "ts_to_ms",
]

SCHEMA_VERSION = 1

Id = Annotated[str, Meta(min_length=1, max_length=128)]
# Epoch milliseconds from 1970 to 2100; anything outside is a unit mistake.
# RFC 3339 times are held to the same range by the decoder (stream.contracts.decode).
EPOCH_MS_MAX = 4_102_444_800_000
EpochMs = Annotated[int, Meta(ge=0, le=EPOCH_MS_MAX)]
Rfc3339 = Annotated[datetime, Meta(tz=True)]
Priority = Annotated[int, Meta(ge=0, le=9)]

AgentStateName = Literal["logged_out", "ready", "busy", "wrap_up", "not_ready"]

# A caller is personal data: only a hash ("sha256:<hex>") or a masked number may
# enter the system. Masked means at most 3 digits shown before the mask and at
# most 4 after it, with at least four masked: "138****5678", "+86 138****5678",
# "020-****-1234", "****". An optional country code ("+" 1-3 digits) is set off by
# a space or '-'; one space or '-' may stand on each side of the mask. A full
# number with stars added ("13812345678****") is not masked (docs/events.md).
CALLER_PATTERN = r"^(sha256:[0-9a-f]{16,64}|(\+[0-9]{1,3}[ \-])?[0-9]{0,3}[ \-]?\*{4,}[ \-]?[0-9]{0,4})$"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)


class _Event(Struct, tag_field="kind", forbid_unknown_fields=True, kw_only=True, gc=False):
    # The tag, readable on instances too (set below for every kind).
    kind: ClassVar[str]

    id: Id
    ts: Union[EpochMs, Rfc3339]
    site: Id


# --- tickets (service halls) -------------------------------------------------


class TicketIssued(_Event, tag="ticket_issued"):
    """A customer took a ticket: the contact is offered to ``queue``."""

    ticket: Id
    queue: Id
    priority: Priority = 0
    vip: bool = False


class TicketCalled(_Event, tag="ticket_called"):
    """A counter called the ticket; the customer's wait ends here."""

    ticket: Id
    counter: Id
    agent: Union[Id, None] = None


class TicketCompleted(_Event, tag="ticket_completed"):
    """The counter finished serving the ticket (handling ends)."""

    ticket: Id


class TicketNoShow(_Event, tag="ticket_no_show"):
    """The ticket was called and nobody came: an abandon."""

    ticket: Id


class TicketAbandoned(_Event, tag="ticket_abandoned"):
    """The ticket holder left before being called."""

    ticket: Id


class TicketTransferred(_Event, tag="ticket_transferred"):
    """The ticket moves to another queue (offered there anew)."""

    ticket: Id
    to_queue: Id


# --- calls (hotline) ---------------------------------------------------------


class CallOffered(_Event, tag="call_offered"):
    """A call left the IVR and asks for an agent of ``queue``."""

    call: Id
    queue: Id
    priority: Priority = 0
    vip: bool = False
    # Hashed ("sha256:<hex>") or masked ("138****5678"); a plain number fails.
    caller: Union[Annotated[str, Meta(max_length=80, pattern=CALLER_PATTERN)], None] = None


class CallAnswered(_Event, tag="call_answered"):
    call: Id
    agent: Union[Id, None] = None


class CallAbandoned(_Event, tag="call_abandoned"):
    call: Id


class CallHeld(_Event, tag="call_held"):
    call: Id


class CallResumed(_Event, tag="call_resumed"):
    call: Id


class CallEnded(_Event, tag="call_ended"):
    """Talk ended. With ``wrap_up`` the handling ends at ``wrap_up_ended``."""

    call: Id
    wrap_up: bool = False


class CallTransferred(_Event, tag="call_transferred"):
    """The call moves to ``to_queue`` and is offered there anew."""

    call: Id
    to_queue: Id
    wrap_up: bool = False


class WrapUpEnded(_Event, tag="wrap_up_ended"):
    call: Id
    agent: Union[Id, None] = None


# --- agents ------------------------------------------------------------------


class AgentState(_Event, tag="agent_state"):
    """An agent (or a counter's clerk) changed state.

    ``queues`` (skills) and ``counter`` are given at login and kept until the
    next login; ``reason`` goes with ``not_ready`` only.
    """

    agent: Id
    state: AgentStateName
    reason: Union[Annotated[str, Meta(min_length=1, max_length=64)], None] = None
    queues: Union[list[Id], None] = None
    counter: Union[Id, None] = None

    def __post_init__(self) -> None:
        if self.reason is not None and self.state != "not_ready":
            raise ValueError("reason is only allowed with state not_ready")


Event = Union[
    TicketIssued,
    TicketCalled,
    TicketCompleted,
    TicketNoShow,
    TicketAbandoned,
    TicketTransferred,
    CallOffered,
    CallAnswered,
    CallAbandoned,
    CallHeld,
    CallResumed,
    CallEnded,
    CallTransferred,
    WrapUpEnded,
    AgentState,
]

EVENT_TYPES: dict[str, type] = {cls.__struct_config__.tag: cls for cls in Event.__args__}  # type: ignore[attr-defined]
for _tag, _cls in EVENT_TYPES.items():
    setattr(_cls, "kind", _tag)

_decoder = msgspec.json.Decoder(Event)
_encoder = msgspec.json.Encoder()


def decode_event(raw: bytes | str) -> Event:
    """Decode one event; raises ``msgspec.ValidationError``/``DecodeError``.

    ``ts`` is normalised to epoch milliseconds, so the core only sees ints.
    """
    ev = _decoder.decode(raw)
    if type(ev.ts) is not int:
        ev.ts = ts_to_ms(ev.ts)
    return ev


def ts_to_ms(ts: datetime) -> int:
    """An aware datetime as epoch milliseconds, exactly (no float rounding)."""
    return (ts - _EPOCH) // _MS


def encode_event(ev: Event) -> bytes:
    return _encoder.encode(ev)


def event_schema() -> dict:
    """The JSON Schema of one event, generated from the classes above."""
    schema = msgspec.json.schema(Event)
    # Descriptions are the classes' docstrings, cleaned here: msgspec releases
    # differ in how they dedent them, and the schema must not change with them.
    for d in schema.get("$defs", {}).values():
        if "description" in d:
            d["description"] = inspect.cleandoc(d["description"])
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"floorwatch event v{SCHEMA_VERSION}"
    return schema


if __name__ == "__main__":  # pragma: no cover - documentation generator
    import json
    import sys

    json.dump(event_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
