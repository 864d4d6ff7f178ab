# distutils: language = c++
"""The native core's Python binding: the C++ fold of stream/native/ behind the SiteCore interface.

The C++ headers in ``stream/native/`` are the pure core (events in, sums out;
no I/O, no clock, no Python). This module is its thin shell: it hands bytes to
the decoder, Python events to the fold, and turns the core's sums back into
the same Python objects the reference core (``stream.site``) gives.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t
from libcpp cimport bool as cbool
from libcpp.vector cimport vector


cdef extern from "event.hpp" namespace "fw":
    cdef cppclass SV:
        const char* p
        uint32_t n
        cbool present()

    cdef cppclass ParsedEv:
        int64_t ts
        uint8_t kind
        uint8_t state
        uint8_t priority
        cbool vip
        cbool wrap_up
        cbool has_queues
        SV id, site, cid, queue, agent, counter, reason, caller
        uint32_t q_off, q_n

    const char* const KIND_NAMES[]
    const char* const STATE_NAMES[]


cdef extern from "parse.hpp" namespace "fw":
    cbool parse_event(const char* p, const char* end, ParsedEv& ev, vector[SV]& queues)


cdef inline object _str(SV s):
    if not s.present():
        return None
    return s.p[:s.n].decode("utf-8")


# Each kind's own fields, in stream/events.py's order, and which slot of ParsedEv holds each.
_FIELDS = {
    "ticket_issued": ("ticket", "queue", "priority", "vip"),
    "ticket_called": ("ticket", "counter", "agent"),
    "ticket_completed": ("ticket",),
    "ticket_no_show": ("ticket",),
    "ticket_abandoned": ("ticket",),
    "ticket_transferred": ("ticket", "to_queue"),
    "call_offered": ("call", "queue", "priority", "vip", "caller"),
    "call_answered": ("call", "agent"),
    "call_abandoned": ("call",),
    "call_held": ("call",),
    "call_resumed": ("call",),
    "call_ended": ("call", "wrap_up"),
    "call_transferred": ("call", "to_queue", "wrap_up"),
    "wrap_up_ended": ("call", "agent"),
    "agent_state": ("agent", "state", "reason", "queues", "counter"),
}


cdef dict _as_dict(ParsedEv& ev, vector[SV]& queues):
    kind = KIND_NAMES[ev.kind].decode()
    out = {"kind": kind, "id": _str(ev.id), "ts": ev.ts, "site": _str(ev.site)}
    cdef uint32_t i
    for f in _FIELDS[kind]:
        if f in ("ticket", "call"):
            out[f] = _str(ev.cid)
        elif f in ("queue", "to_queue"):
            out[f] = _str(ev.queue)
        elif f == "priority":
            out[f] = ev.priority
        elif f == "vip":
            out[f] = ev.vip
        elif f == "wrap_up":
            out[f] = ev.wrap_up
        elif f == "caller":
            out[f] = _str(ev.caller)
        elif f == "agent":
            out[f] = _str(ev.agent)
        elif f == "counter":
            out[f] = _str(ev.counter)
        elif f == "reason":
            out[f] = _str(ev.reason)
        elif f == "state":
            out[f] = STATE_NAMES[ev.state].decode()
        elif f == "queues":
            if ev.has_queues:
                out[f] = [_str(queues[ev.q_off + i]) for i in range(ev.q_n)]
            else:
                out[f] = None
    return out


def parse_one(bytes data):
    """The fast decoder's reading of one JSON object: a dict of the event's fields
    (``kind``, the envelope, the kind's fields; ``ts`` in epoch ms), or None where it declines.

    For tests: what it accepts must be what msgspec decodes (``msgspec.structs.asdict``).
    """
    cdef ParsedEv ev
    cdef vector[SV] queues
    cdef const char* p = data
    if not parse_event(p, p + len(data), ev, queues):
        return None
    return _as_dict(ev, queues)


# -- decoder tests and benchmarks --

from libc.string cimport memchr

cdef extern from "parse.hpp" namespace "fw":
    cbool parse_array(const char* p, const char* end, vector[ParsedEv]& evs, vector[SV]& queues)


def parse_batch(bytes data) -> list | None:
    """The fast decoder's reading of a JSON array of events: a list of dicts as
    ``parse_one`` gives them, or None where it declines the batch (all or nothing).
    """
    cdef vector[ParsedEv] evs
    cdef vector[SV] queues
    cdef const char* p = data
    cdef size_t i
    if not parse_array(p, p + len(data), evs, queues):
        return None
    return [_as_dict(evs[i], queues) for i in range(evs.size())]


def count_lines(bytes chunk) -> tuple:
    """(accepted, declined) over the non-empty lines of a JSON-lines chunk, all in C:
    the decoder's own cost, for bench/bench_decode.py.
    """
    cdef ParsedEv ev
    cdef vector[SV] queues
    cdef const char* p = chunk
    cdef const char* end = p + len(chunk)
    cdef const char* nl
    cdef Py_ssize_t accepted = 0, declined = 0
    queues.reserve(64)
    while p < end:
        nl = <const char*>memchr(p, 10, end - p)
        if nl == NULL:
            nl = end
        if nl > p:
            if parse_event(p, nl, ev, queues):
                accepted += 1
            else:
                declined += 1
            queues.clear()
        p = nl + 1
    return accepted, declined


def parse_sizes(list items, bint batch) -> list:
    """Each item decoded in turn into the same buffers (parse_event, or parse_array
    with ``batch``): [(accepted, events held, queue entries held)], to test that a
    declined item leaves the buffers as they were.
    """
    cdef ParsedEv ev
    cdef vector[ParsedEv] evs
    cdef vector[SV] queues
    cdef const char* p
    cdef bytes item
    cdef cbool ok
    out = []
    for item in items:
        p = item
        if batch:
            ok = parse_array(p, p + len(item), evs, queues)
        else:
            ok = parse_event(p, p + len(item), ev, queues)
        out.append((ok, evs.size(), queues.size()))
    return out
