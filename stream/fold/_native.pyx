# distutils: language = c++
"""The native core's Python binding: the C++ fold of stream/fold/native/ behind the SiteCore interface.

The C++ headers in ``stream/fold/native/`` are the pure core (events in, sums out;
no I/O, no clock, no Python). This module is its thin shell:

* ``Batch`` — decoded events, their strings still slices of the bytes (or the
  Python strings) they came from. ``NativeFloor.decode_lines`` and
  ``decode_payload`` decode with the fast decoder (parse.hpp) and hand what it
  declines to ``stream.contracts.decode`` (msgspec and the bounds on size,
  depth and time), the reference, so a batch holds exactly the events (and
  the rejections exactly the reasons) that it gives.
* ``NativeFloor`` — the names of one floor; folds a batch site run by site
  run into the floor's sites.
* ``NativeSite`` — one site: the ``stream.fold.interface.SiteFold`` interface (fold,
  advance, flush, totals, sliding, waiting, agents, rejections), its sums
  turned back into the same Python objects (``QueueStats``, dicts).

Time zones, queue parameters and the figures' final arithmetic stay in
Python (``DayCalendar``, ``FloorConfig``, ``QueueStats.figures``): the core
asks for them once per day or queue.
"""

from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from cython.operator cimport dereference as deref, preincrement as inc
from libc.string cimport memchr, memcmp
from libcpp cimport bool as cbool
from libcpp.map cimport map as cmap
from libcpp.pair cimport pair
from libcpp.string cimport string
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector
from libcpp.algorithm cimport sort as std_sort

from stream.fold.agent import occupancy_pct
from stream.contracts.decode import decode_item as _decode_item, decode_payload as _py_decode_payload
from stream.contracts.events import EVENT_TYPES, ts_to_ms
from stream.fold.histogram import WaitHistogram
from stream.fold.site import SLIDING_MIN
from stream.fold.stats import QueueStats

__all__ = ["Batch", "NativeFloor", "NativeSite", "parse_one"]


cdef extern from "event.hpp" namespace "fw":
    cdef cppclass SV:
        const char* p
        uint32_t n
        cbool present()

    cdef cppclass ParsedEv:
        ParsedEv()
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
    cdef int N_KINDS
    cdef int N_STATES
    cdef uint8_t AGENT_STATE


cdef extern from "parse.hpp" namespace "fw":
    cbool parse_event(const char* p, const char* end, ParsedEv& ev, vector[SV]& queues)
    cbool parse_array(const char* p, const char* end, vector[ParsedEv]& evs, vector[SV]& queues)


cdef extern from "site.hpp" namespace "fw":
    cdef cppclass Interner:
        int32_t intern(const char* p, uint32_t n)
        const string& name(int32_t id)
        size_t size()

    cdef cppclass DayInfo:
        int64_t start
        int64_t end
        int64_t offset
        int32_t date
        cbool uniform

    cdef cppclass CalendarSource:
        void* ctx
        DayInfo (*load)(void*, int64_t) noexcept
        int64_t (*interval_start)(void*, int64_t) noexcept

    cdef cppclass Calendar:
        pass

    cdef cppclass QParams:
        int64_t t_ms
        int64_t short_ms
        uint8_t variant
        cbool known

    cdef cppclass QueueSource:
        void* ctx
        QParams (*get)(void*, int32_t) noexcept

    cdef cppclass Limits:
        int64_t lateness
        int64_t dedup_horizon
        int64_t max_open
        int64_t keep_days
        int64_t keep_interval_days
        int64_t dead_letters
        int64_t max_ahead
        cbool agent_intervals

    cdef cppclass QStats:
        int64_t offered, answered, abandoned, short_abandoned, transferred
        int64_t within, wait_sum, max_wait, handled, handle_sum
        int64_t abandon_wait_sum
        uint8_t variant
        const uint32_t* hist_data()

    cdef cppclass QueueRow:
        int32_t queue
        QStats st

    cdef cppclass Handled:
        int64_t n
        int64_t ms

    cdef cppclass AgentQueueSums:
        int32_t agent, queue
        int64_t n, handle, talk, wrap

    cdef cppclass WaitRow:
        int32_t queue
        int64_t n, oldest, n_vip, vip_oldest

    cdef cppclass DeadEv:
        uint8_t kind, state, priority
        cbool vip, wrap_up, has_queues, has_caller
        int64_t ts
        string id, cid, caller
        int32_t queue, agent, counter, reason
        vector[int32_t] queues

    cdef cppclass DeadRec:
        uint8_t why
        DeadEv ev

    cdef cppclass Trans:
        int64_t ts
        uint8_t state
        int32_t reason

    cdef cppclass Agent:
        int32_t name
        vector[Trans] trans
        vector[int32_t] queues
        int32_t counter
        uint64_t version
        int32_t watched_at
        int64_t state_since()
        vector[pair[int64_t, int64_t]] day_total(int64_t now, Calendar& cal, int32_t date) except +

    cdef cppclass PrimaryCount:
        int32_t queue, logged_in, ready

    cdef cppclass QueueLegs:
        int32_t queue
        vector[pair[int64_t, int64_t]] waiting
        vector[pair[int64_t, int64_t]] serving

    cdef cppclass StateAge:
        StateAge()
        cbool wanted
        double base
        vector[pair[int32_t, double]] by_reason

    cdef cppclass StateCounts:
        int32_t queue
        int64_t ready, busy, wrap_up, not_ready, logged_in
        vector[pair[int32_t, int64_t]] reasons

    cdef cppclass Site:
        Site(Interner* names, Limits lim, CalendarSource cal, QueueSource q) except +
        int64_t events
        int64_t duplicates
        int64_t dead_dropped
        int64_t dead_len
        vector[DeadRec] dead
        vector[int32_t] queues_seen
        vector[Agent*] agent_order
        Calendar cal
        unordered_map[int32_t, int64_t] date_starts
        int64_t clock()
        int64_t watermark()
        int64_t rejected_count(uint8_t why, uint8_t kind)
        void set_reference(int64_t ms)
        size_t fold(const ParsedEv* evs, size_t i, size_t n, const SV* qbase, cbool same_site, SV site, int64_t until) except +
        void advance(int64_t now) except +
        void flush() except +
        void totals(const vector[int32_t]* dates, const vector[pair[int64_t, int64_t]]* bounds,
                    unordered_map[int32_t, vector[QueueRow]]& days, cmap[int64_t, vector[QueueRow]]& intervals,
                    unordered_map[int32_t, vector[Handled]]& agents) except +
        void agent_interval_totals(int64_t now, int64_t since, int64_t until, cmap[int64_t, vector[pair[int32_t, vector[pair[int64_t, int64_t]]]]]& states,
                                   cmap[int64_t, vector[AgentQueueSums]]& handled) except +
        void sliding(int64_t now, const vector[int64_t]& minutes, cbool percentiles, vector[vector[QueueRow]]& out) except +
        void day_interval(int32_t date, int64_t interval, vector[QueueRow]& day, vector[QueueRow]& ival, vector[Handled]& agents) except +
        vector[WaitRow] waiting()
        vector[QueueLegs] queue_now() except +
        Agent* sealed_agent(int32_t name) except +
        Agent* agent(int32_t name)
        size_t open_count()
        void primary_counts(vector[PrimaryCount]& out)
        void agent_overview(vector[StateCounts]& counts, vector[int32_t]& skills, vector[pair[int32_t, uint8_t]]& staffed) except +
        cbool tracking()
        void track(int64_t bucket_ms, uint32_t watched_mask) except +
        int64_t bucket_ms()
        void window_sums(int64_t now, const vector[int64_t]& nb, int64_t span, vector[vector[QueueRow]]& out) except +
        vector[WaitRow] waiting_tracked() except +
        const vector[StateCounts]& queue_counts()
        const vector[int32_t]& skills()
        const vector[Agent*]& listed()
        void filter_past(int64_t now, const StateAge* ages, const vector[int32_t]& also, vector[Agent*]& agents) except +
        void listed_past(int64_t now, const StateAge* ages, const vector[int32_t]& held, vector[Agent*]& out) except +
        void staffed(vector[pair[int32_t, uint8_t]]& out) except +

    cdef int64_t NEVER
    cdef int64_t FAR
    cdef int N_ANOMALIES
    cdef int N_REJECTS
    cdef uint8_t R_LATE
    cbool unprefixed(uint8_t why)
    const char* const ANOMALY_TEXT[]
    const char* const REJECT_TEXT[]
    cdef int N_BINS


_KIND_NAMES = [KIND_NAMES[k].decode() for k in range(N_KINDS)]
_KIND_OF = {EVENT_TYPES[name]: k for k, name in enumerate(_KIND_NAMES)}
_CLASSES = [EVENT_TYPES[name] for name in _KIND_NAMES]
_STATE_NAMES = [STATE_NAMES[s].decode() for s in range(N_STATES)]
_STATE_OF = {name: s for s, name in enumerate(_STATE_NAMES)}
_VARIANTS = ("standard", "exclude_abandons")
_VARIANT_OF = {"standard": 0, "exclude_abandons": 1}
_WS = b" \t\n\r\x0b\x0c"  # what bytes.strip() strips (a JSON line's ends)


def _reason_texts() -> list:
    """reason[why][kind]: the rejection reasons as the reference core words them."""
    out = []
    for why in range(N_REJECTS):
        text = ANOMALY_TEXT[why].decode() if why < N_ANOMALIES else REJECT_TEXT[why - N_ANOMALIES].decode()
        if unprefixed(why):
            out.append([text] * N_KINDS)
        else:
            out.append([f"{k}: {text}" for k in _KIND_NAMES])
    return out


_REASONS = _reason_texts()


# -- strings ---------------------------------------------------------------------

cdef inline SV _sv_of(object s) except *:
    """A slice of ``s``'s UTF-8 (cached in the str: valid while it lives); absent for None."""
    cdef SV out
    cdef Py_ssize_t n
    if s is None:
        return out
    out.p = PyUnicode_AsUTF8AndSize(s, &n)
    out.n = <uint32_t>n
    return out


cdef inline object _str_of(SV s):
    if not s.present():
        return None
    return s.p[:s.n].decode("utf-8")


# -- batches ---------------------------------------------------------------------

cdef class Batch:
    """Decoded events in arrival order, ready to fold (``len``; ``batch[i]`` is the i-th as an event)."""

    cdef vector[ParsedEv] evs
    cdef vector[SV] queues
    cdef list keep  # what the slices point into: the bytes decoded, the events converted

    def __cinit__(self):
        self.keep = []

    def __len__(self) -> int:
        return self.evs.size()

    def __getitem__(self, key):
        if isinstance(key, slice):
            return [self[k] for k in range(*key.indices(self.evs.size()))]
        cdef Py_ssize_t i = key
        if i < 0:
            i += self.evs.size()
        if i < 0 or i >= <Py_ssize_t>self.evs.size():
            raise IndexError("batch index out of range")
        return _event_of(self.evs[i], self.queues)

    def sites(self) -> set:
        """The sites of the batch's events."""
        out = set()
        cdef size_t i
        cdef SV last
        cdef SV s
        for i in range(self.evs.size()):
            s = self.evs[i].site
            if last.present() and s.n == last.n and memcmp(s.p, last.p, s.n) == 0:
                continue
            last = s
            out.add(_str_of(s))
        return out

    cdef int add_event(self, object ev) except -1:
        """Append a decoded ``stream.contracts.events`` event (ts normalised to epoch ms on the event, as the reference core does)."""
        cdef ParsedEv p
        cdef int k = _KIND_OF[type(ev)]
        t = ev.ts
        if type(t) is not int:
            t = ts_to_ms(t)
            ev.ts = t
        self.keep.append(ev)
        p.kind = <uint8_t>k
        p.ts = t
        p.id = _sv_of(ev.id)
        p.site = _sv_of(ev.site)
        # Each of the kind's fields into its slot (events.py's fields; the slots of event.hpp).
        for f in _FIELDS[k]:
            v = getattr(ev, f)
            if f == "ticket" or f == "call":
                p.cid = _sv_of(v)
            elif f == "queue" or f == "to_queue":
                p.queue = _sv_of(v)
            elif f == "agent":
                p.agent = _sv_of(v)
            elif f == "counter":
                p.counter = _sv_of(v)
            elif f == "reason":
                p.reason = _sv_of(v)
            elif f == "caller":
                p.caller = _sv_of(v)
            elif f == "priority":
                p.priority = v
            elif f == "vip":
                p.vip = v
            elif f == "wrap_up":
                p.wrap_up = v
            elif f == "state":
                p.state = _STATE_OF[v]
            elif f == "queues":
                if v is not None:
                    p.has_queues = True
                    p.q_off = <uint32_t>self.queues.size()
                    p.q_n = <uint32_t>len(v)
                    for q in v:
                        self.queues.push_back(_sv_of(q))
            else:
                raise TypeError(f"{_KIND_NAMES[k]}.{f}: no slot in the native event (event.hpp)")
        self.evs.push_back(p)
        return 0


# Each kind's own fields (not the envelope), by kind number, in stream/contracts/events.py's order.
_FIELDS = [tuple(f for f in cls.__struct_fields__ if f not in ("id", "ts", "site")) for cls in _CLASSES]


cdef dict _fields_of(ParsedEv& ev, vector[SV]& queues):
    out = {"id": _str_of(ev.id), "ts": ev.ts, "site": _str_of(ev.site)}
    cdef uint32_t i
    for f in _FIELDS[ev.kind]:
        if f == "ticket" or f == "call":
            out[f] = _str_of(ev.cid)
        elif f == "queue" or f == "to_queue":
            out[f] = _str_of(ev.queue)
        elif f == "priority":
            out[f] = ev.priority
        elif f == "vip":
            out[f] = ev.vip
        elif f == "wrap_up":
            out[f] = ev.wrap_up
        elif f == "caller":
            out[f] = _str_of(ev.caller)
        elif f == "agent":
            out[f] = _str_of(ev.agent)
        elif f == "counter":
            out[f] = _str_of(ev.counter)
        elif f == "reason":
            out[f] = _str_of(ev.reason)
        elif f == "state":
            out[f] = _STATE_NAMES[ev.state]
        elif f == "queues":
            out[f] = [_str_of(queues[ev.q_off + i]) for i in range(ev.q_n)] if ev.has_queues else None
    return out


cdef object _event_of(ParsedEv& ev, vector[SV]& queues):
    return _CLASSES[ev.kind](**_fields_of(ev, queues))


# JSON-lines and batch framing ------------------------------------------------------

cdef inline const char* _skip_ws(const char* p, const char* end) noexcept:
    while p < end and (p[0] == b' ' or p[0] == b'\t' or p[0] == b'\n' or p[0] == b'\r'):
        p += 1
    return p


cdef inline cbool _strip_byte(char c) noexcept:
    return c == b' ' or c == b'\t' or c == b'\n' or c == b'\r' or c == b'\x0b' or c == b'\x0c'


# -- the floor ------------------------------------------------------------------

cdef class NativeFloor:
    """One floor's names and sites for the native core; ``floor`` (a ``stream.fold.floor.Floor``) makes the sites."""

    cdef Interner* names
    cdef list strs        # name id -> str (filled as names are read)
    cdef object floor_ref  # a weak reference: the floor owns this (no cycle to wait for the collector)

    def __cinit__(self):
        self.names = new Interner()
        self.strs = []

    def __dealloc__(self):
        del self.names

    def __init__(self, floor) -> None:
        import weakref

        self.floor_ref = weakref.ref(floor)

    cdef inline object name(self, int32_t i):
        """The str of name id ``i`` (None for -1)."""
        if i < 0:
            return None
        cdef Py_ssize_t n = len(self.strs)
        if i < n:
            s = self.strs[i]
            if s is not None:
                return s
        else:
            self.strs.extend([None] * (i + 1 - n))
        cdef const string* b = &self.names.name(i)
        s = b.data()[:b.size()].decode("utf-8")
        self.strs[i] = s
        return s

    cdef inline int32_t intern(self, object s) except -2:
        if s is None:
            return -1
        cdef SV v = _sv_of(s)
        return self.names.intern(v.p, v.n)

    cdef NativeSite site_of(self, SV name):
        # Once per run of a site's events: the floor's sites are the ones folded.
        site = self.name(self.names.intern(name.p, name.n))
        floor = self.floor_ref()
        ns = floor.sites.get(site)
        if ns is None:
            ns = floor.site(site)
        return <NativeSite>ns

    def new_site(self, str name, config, limits) -> NativeSite:
        return NativeSite(self, name, config, limits)

    # -- decoding -----------------------------------------------------------------

    def batch(self, events) -> Batch:
        """A batch of decoded ``stream.contracts.events`` events (a list or any iterable)."""
        b = Batch()
        for ev in events:
            b.add_event(ev)
        return b

    def decode_lines(self, bytes chunk) -> tuple:
        """Decode newline-delimited events: (batch, [(raw line, reason)]), as ``stream.contracts.decode.decode_lines_raw``."""
        b = Batch()
        b.keep.append(chunk)
        bad = []
        cdef const char* base = chunk
        cdef const char* end = base + len(chunk)
        cdef const char* p = base
        cdef const char* nl
        cdef const char* s
        cdef const char* e
        while p < end:
            nl = <const char*>memchr(p, b'\n', end - p)
            e = nl if nl != NULL else end
            s = p
            while s < e and _strip_byte(s[0]):
                s += 1
            while e > s and _strip_byte((e - 1)[0]):
                e -= 1
            if s < e:
                # Decoded in place at the batch's end; a declined line's record is taken back
                # (the decoder leaves the queue list as it was).
                b.evs.push_back(ParsedEv())
                if not parse_event(s, e, b.evs.back(), b.queues):
                    b.evs.pop_back()
                    line = chunk[s - base:e - base]
                    obj, why = _decode_item(line)
                    if obj is None:
                        bad.append((line, why))
                    else:
                        b.add_event(obj)
            if nl == NULL:
                break
            p = nl + 1
        return b, bad

    def decode_payload(self, bytes payload) -> tuple:
        """Decode a Kafka message value (one event or a JSON array of events): (batch, rejections),
        as ``stream.contracts.decode.decode_payload``."""
        b = Batch()
        b.keep.append(payload)
        cdef const char* base = payload
        cdef const char* end = base + len(payload)
        cdef const char* p = base
        cdef ParsedEv ev
        p = _skip_ws(p, end)
        if p < end and p[0] == b'[':
            if parse_array(base, end, b.evs, b.queues):
                return b, []
        elif p < end and p[0] == b'{':
            ev = ParsedEv()
            if parse_event(base, end, ev, b.queues):
                b.evs.push_back(ev)
                return b, []
        # Declined somewhere: the reference decodes the whole payload.
        b = Batch()
        evs, bad = _py_decode_payload(payload, norm=False)
        for obj in evs:
            b.add_event(obj)
        return b, bad

    # -- folding --------------------------------------------------------------------

    def fold(self, Batch b, Py_ssize_t start=0) -> None:
        """Fold ``b[start:]`` in arrival order, each site's run into its site."""
        cdef size_t i = start
        cdef size_t n = b.evs.size()
        cdef NativeSite ns
        while i < n:
            ns = self.site_of(b.evs[i].site)
            i = ns.fold_run(b, i, True, b.evs[i].site, FAR)

    def fold_until(self, Batch b, Py_ssize_t start, dict next_ms, int64_t period_ms) -> int:
        """``Floor.fold_until`` over a batch: fold up to the first event stamped after its site's next
        boundary (a site met for the first time gets the boundary after its first event); its index."""
        cdef size_t i = start
        cdef size_t n = b.evs.size()
        cdef size_t j
        cdef NativeSite ns
        while i < n:
            ns = self.site_of(b.evs[i].site)
            nb = next_ms.get(ns.site)
            if nb is None:
                nb = next_ms[ns.site] = (b.evs[i].ts // period_ms + 1) * period_ms
            j = ns.fold_run(b, i, True, b.evs[i].site, nb)
            if j == i:
                return i
            i = j
        return n


# -- calendar and config callbacks (the core asks once per day, once per queue) -----------

cdef DayInfo _cal_load(void* ctx, int64_t ms) noexcept with gil:
    cdef NativeSite ns = <NativeSite>ctx
    cdef DayInfo d
    try:
        start, end, date, offset, uniform = ns.cal.day_info(ms)
        d.start = start
        d.end = end
        d.offset = offset
        d.uniform = uniform
        d.date = ns.nf.intern(date)
        ns.c.date_starts[d.date] = start
    except BaseException as exc:  # cannot happen for a valid zone; never unwind through the core
        ns._callback_error(exc)
        d.start = ms
        d.end = ms + 1
        d.offset = 0
        d.date = ns.nf.intern("1970-01-01")
        d.uniform = True
    return d


cdef int64_t _cal_interval_start(void* ctx, int64_t ms) noexcept with gil:
    cdef NativeSite ns = <NativeSite>ctx
    try:
        return ns.cal.interval_start(ms)
    except BaseException as exc:
        ns._callback_error(exc)
        return ms


cdef QParams _queue_params(void* ctx, int32_t q) noexcept with gil:
    cdef NativeSite ns = <NativeSite>ctx
    cdef QParams p
    try:
        t_ms, short_ms, variant = ns.qparams(ns.nf.name(q))
        p.t_ms = t_ms
        p.short_ms = short_ms
        p.variant = _VARIANT_OF[variant]
    except BaseException as exc:
        ns._callback_error(exc)
    return p


# -- one site ----------------------------------------------------------------------

cdef object _stats_of(QStats& s, cbool hist):
    """A ``QueueStats`` with the sums of ``s`` (its histogram too, when asked and kept)."""
    st = QueueStats(_VARIANTS[s.variant])
    st.offered = s.offered
    st.answered = s.answered
    st.abandoned = s.abandoned
    st.short_abandoned = s.short_abandoned
    st.transferred = s.transferred
    st.within = s.within
    st.wait_sum = s.wait_sum
    st.abandon_wait_sum = s.abandon_wait_sum
    st.max_wait = s.max_wait
    st.handled = s.handled
    st.handle_sum = s.handle_sum
    cdef const uint32_t* h = s.hist_data()
    cdef int i
    if hist and h != NULL:
        w = WaitHistogram()
        bins = {}
        for i in range(N_BINS):
            if h[i]:
                bins[i] = h[i]
        w.bins = bins
        st.hist = w
    return st


cdef dict _by_queue(NativeFloor nf, vector[QueueRow]& rows, cbool hist):
    out = {}
    cdef size_t k
    for k in range(rows.size()):
        out[nf.name(rows[k].queue)] = _stats_of(rows[k].st, hist)
    return out


cdef dict _handled_dict(NativeFloor nf, vector[Handled]& by_agent):
    """agent -> [handled, handle ms], for the agents that handled any."""
    out = {}
    cdef size_t k
    for k in range(by_agent.size()):
        if by_agent[k].n:
            out[nf.name(<int32_t>k)] = [by_agent[k].n, by_agent[k].ms]
    return out


def _no_state() -> dict:
    # An agent known only from the contacts it answered (a log without agent states).
    return {"state": "logged_out", "reason": None, "since": None, "time_in_state_s": None,
            "queues": [], "counter": None, "occupancy_pct": None, "state_s": {}}


cdef class NativeSite:
    """One site folded by the native core, with ``stream.fold.site.SiteCore``'s interface."""

    cdef Site* c
    cdef object __weakref__
    cdef readonly NativeFloor nf
    cdef readonly str site
    cdef public object config, cfg, cal, limits, reference
    cdef dict _qparams
    cdef list _dead
    cdef dict _vrows   # the listed agents' rows (agents_in): name id -> (agent version, row)
    cdef object _cb_error  # an error raised in a callback from the core, raised once it returns
    cdef object _ages_of   # the StateAges _ages was made from
    cdef vector[StateAge] _ages
    cdef tuple _live_min  # keep_live's windows (minutes); empty: not kept
    cdef uint32_t _live_mask        # keep_live's listed states

    def __cinit__(self):
        self.c = NULL

    def __dealloc__(self):
        if self.c != NULL:
            del self.c

    def __init__(self, NativeFloor nf, str site, config, limits) -> None:
        from stream.fold.calendar import DayCalendar

        self.nf = nf
        self.site = site
        self.config = config
        self.cfg = config.site(site)
        self.cal = DayCalendar(self.cfg.timezone)
        self.limits = limits
        self._qparams = {}
        self._dead = []
        self._vrows = {}
        self._cb_error = None
        self._ages_of = None
        self._live_mask = 0
        self._live_min = ()
        self.reference = None
        cdef Limits lim
        lim.lateness = limits.lateness
        lim.dedup_horizon = limits.dedup_horizon
        lim.max_open = limits.max_open
        lim.keep_days = -1 if limits.keep_days is None else limits.keep_days
        lim.keep_interval_days = -1 if limits.keep_interval_days is None else limits.keep_interval_days
        lim.dead_letters = limits.dead_letters
        lim.max_ahead = limits.max_ahead
        lim.agent_intervals = getattr(limits, "agent_intervals", False)
        cdef CalendarSource cs
        cs.ctx = <void*>self
        cs.load = _cal_load
        cs.interval_start = _cal_interval_start
        cdef QueueSource qs
        qs.ctx = <void*>self
        qs.get = _queue_params
        self.c = new Site(nf.names, lim, cs, qs)

    def _callback_error(self, exc) -> None:
        # A callback cannot raise through the C++ core: the error waits here and is raised
        # as soon as the core returns (the first one; what the core did with the fallback
        # answer is not to be trusted).
        if self._cb_error is None:
            self._cb_error = exc

    cdef int _raise_callback_error(self) except -1:
        exc = self._cb_error
        if exc is not None:
            self._cb_error = None
            raise RuntimeError(f"native core of site {self.site!r}: a call into Python failed: {exc!r}") from exc
        return 0

    # -- parameters -------------------------------------------------------------------

    def qparams(self, str queue) -> tuple:
        p = self._qparams.get(queue)
        if p is None:
            rq = self.config.queue(self.site, queue)
            p = self._qparams[queue] = (rq.sl_t_s * 1000, rq.short_abandon_s * 1000, rq.sl_variant)
        return p

    @property
    def lateness(self) -> int:
        return self.limits.lateness

    def set_reference(self, ms) -> None:
        """The time the events folded next were logged at (None: unknown; site.py's "Wrong clocks")."""
        self.reference = ms
        self.c.set_reference(NEVER if ms is None else <int64_t>ms)

    @property
    def clock(self):
        """The site's event-time clock (its latest event or tick), None before any."""
        t = self.c.clock()
        return None if t == NEVER else t

    @property
    def watermark(self) -> int:
        return self.c.watermark()

    @property
    def events(self) -> int:
        return self.c.events

    @property
    def duplicates(self) -> int:
        return self.c.duplicates

    @property
    def dead_dropped(self) -> int:
        return self.c.dead_dropped

    @property
    def open_count(self) -> int:
        return self.c.open_count()

    @property
    def queues_seen(self) -> set:
        return {self.nf.name(q) for q in self.c.queues_seen}

    @property
    def rejected(self) -> dict:
        out = {}
        cdef int why, k
        for why in range(N_REJECTS):
            for k in range(N_KINDS):
                n = self.c.rejected_count(why, k)
                if n:
                    out[_REASONS[why][k]] = n
        return out

    @property
    def dead(self) -> list:
        """Rejected events with their reasons, since the list was last emptied (as SiteCore.dead)."""
        cdef size_t i
        if self.c.dead.size():
            for i in range(self.c.dead.size()):
                self._dead.append((self._dead_event(self.c.dead[i].ev), _REASONS[self.c.dead[i].why][self.c.dead[i].ev.kind]))
            self.c.dead.clear()
        return self._dead

    @dead.setter
    def dead(self, value) -> None:
        self.c.dead.clear()
        self._dead = list(value)
        self.c.dead_len = len(self._dead)

    cdef object _dead_event(self, DeadEv& d):
        nf = self.nf
        f = {"id": d.id.decode("utf-8"), "ts": d.ts, "site": self.site}
        for name in _FIELDS[d.kind]:
            if name == "ticket" or name == "call":
                f[name] = d.cid.decode("utf-8")
            elif name == "queue" or name == "to_queue":
                f[name] = nf.name(d.queue)
            elif name == "priority":
                f[name] = d.priority
            elif name == "vip":
                f[name] = d.vip
            elif name == "wrap_up":
                f[name] = d.wrap_up
            elif name == "caller":
                f[name] = d.caller.decode("utf-8") if d.has_caller else None
            elif name == "agent":
                f[name] = nf.name(d.agent)
            elif name == "counter":
                f[name] = nf.name(d.counter)
            elif name == "reason":
                f[name] = nf.name(d.reason)
            elif name == "state":
                f[name] = _STATE_NAMES[d.state]
            elif name == "queues":
                f[name] = [nf.name(q) for q in d.queues] if d.has_queues else None
        return _CLASSES[d.kind](**f)

    # -- folding ----------------------------------------------------------------------

    def apply(self, ev) -> None:
        """Fold one decoded event of this site."""
        self.fold_from([ev], 0, False)

    def apply_many(self, evs) -> None:
        """Fold decoded events of this site, in arrival order."""
        self.fold_from(evs if isinstance(evs, list) else list(evs), 0, False)

    def fold_from(self, evs, Py_ssize_t start, bint same_site, int64_t until=FAR) -> int:
        """``SiteCore.fold_from``: fold ``evs[start:]`` (events, or a Batch) in arrival order;
        the index it stopped at (another site's event with ``same_site``, or one after ``until``)."""
        cdef Batch b
        cdef SV site
        if isinstance(evs, Batch):
            b = <Batch>evs
            return self._fold_batch(b, start, same_site, until)
        b = Batch()
        for ev in evs[start:]:
            b.add_event(ev)
        return start + self._fold_batch(b, 0, same_site, until)

    cdef Py_ssize_t _fold_batch(self, Batch b, Py_ssize_t start, bint same_site, int64_t until) except -1:
        return self.fold_run(b, start, same_site, _sv_of(self.site), until)

    cdef size_t fold_run(self, Batch b, size_t i, bint same_site, SV site, int64_t until) except? 0:
        """Fold the batch from ``i`` in the C++ core.

        The GIL stays held: a message's fold is a fraction of a millisecond, and
        handing the GIL to the Kafka consumer's thread and back for each run cost
        more than it won (docs/measurements.md).
        """
        cdef size_t j = self.c.fold(b.evs.data(), i, b.evs.size(), b.queues.data(), same_site, site, until)
        self._raise_callback_error()
        return j

    def advance(self, int64_t now) -> None:
        """Move the event-time clock to ``now`` (an event's time or a tick)."""
        self.c.advance(now)
        self._raise_callback_error()

    def flush(self) -> None:
        """End of input: seal every finished contact (nothing more will come)."""
        self.c.flush()
        self._raise_callback_error()

    # -- figures ----------------------------------------------------------------------

    def totals(self, dates=None) -> tuple:
        """Day, interval and agent-day totals, sealed plus open contacts (as SiteCore.totals)."""
        cdef unordered_map[int32_t, vector[QueueRow]] days
        cdef cmap[int64_t, vector[QueueRow]] intervals
        cdef unordered_map[int32_t, vector[Handled]] agents
        cdef vector[int32_t] ds
        cdef vector[pair[int64_t, int64_t]] bounds
        nf = self.nf
        if dates is None:
            self.c.totals(NULL, NULL, days, intervals, agents)
        else:
            for d in dates:
                ds.push_back(nf.intern(d))
                b0, b1 = self.cal.bounds_of_date(d)
                bounds.push_back(pair[int64_t, int64_t](b0, b1))
            self.c.totals(&ds, &bounds, days, intervals, agents)
        self._raise_callback_error()
        # Iterators, not `for kv in`: that would copy every histogram.
        out_days = {}
        cdef unordered_map[int32_t, vector[QueueRow]].iterator di = days.begin()
        while di != days.end():
            out_days[nf.name(deref(di).first)] = _by_queue(nf, deref(di).second, True)
            inc(di)
        out_int = {}
        cdef cmap[int64_t, vector[QueueRow]].iterator ii = intervals.begin()
        while ii != intervals.end():
            out_int[deref(ii).first] = _by_queue(nf, deref(ii).second, True)
            inc(ii)
        out_agents = {}
        cdef unordered_map[int32_t, vector[Handled]].iterator ai = agents.begin()
        while ai != agents.end():
            out_agents[nf.name(deref(ai).first)] = _handled_dict(nf, deref(ai).second)
            inc(ai)
        return out_days, out_int, out_agents

    def agent_interval_totals(self, int64_t now, since=None, until=None) -> tuple:
        """Agent sums per 15-minute interval, sealed plus open (as SiteCore.agent_interval_totals);
        only intervals starting in [since, until) when given."""
        cdef cmap[int64_t, vector[pair[int32_t, vector[pair[int64_t, int64_t]]]]] states
        cdef cmap[int64_t, vector[AgentQueueSums]] handled
        cdef int64_t t_lo = -(2**62) if since is None else since
        cdef int64_t t_hi = 2**62 if until is None else until
        self.c.agent_interval_totals(now, t_lo, t_hi, states, handled)
        self._raise_callback_error()
        nf = self.nf
        out_states = {}
        cdef cmap[int64_t, vector[pair[int32_t, vector[pair[int64_t, int64_t]]]]].iterator si = states.begin()
        cdef size_t k, j
        cdef AgentQueueSums* r
        cdef pair[int32_t, vector[pair[int64_t, int64_t]]]* ag
        while si != states.end():
            per = {}
            for k in range(deref(si).second.size()):
                ag = &deref(si).second[k]
                labels = {}
                for j in range(ag.second.size()):
                    labels[self._label_str(ag.second[j].first)] = ag.second[j].second
                per[nf.name(ag.first)] = labels
            out_states[deref(si).first] = per
            inc(si)
        out_handled = {}
        cdef cmap[int64_t, vector[AgentQueueSums]].iterator hi = handled.begin()
        while hi != handled.end():
            rows = {}
            for k in range(deref(hi).second.size()):
                r = &deref(hi).second[k]
                rows[(nf.name(r.agent), nf.name(r.queue))] = [r.n, r.handle, r.talk, r.wrap]
            out_handled[deref(hi).first] = rows
            inc(hi)
        return out_states, out_handled

    def day_interval(self, str date, int64_t interval) -> tuple:
        """``SiteCore.day_interval``: (date's queue totals, the interval's, the date's agent handled
        counts), sealed plus open contacts: what a snapshot reads of ``totals``."""
        cdef vector[QueueRow] day
        cdef vector[QueueRow] ival
        cdef vector[Handled] agents
        nf = self.nf
        self.c.day_interval(nf.intern(date), interval, day, ival, agents)
        self._raise_callback_error()
        return _by_queue(nf, day, True), _by_queue(nf, ival, True), _handled_dict(nf, agents)

    def sliding(self, int64_t now, minutes=SLIDING_MIN, bint percentiles=True) -> dict:
        """Per window ("5m", ...), per queue: contacts offered in the last N minutes (as SiteCore.sliding).
        Kept windows (``keep_live``) ending at the clock on a bucket edge are the sums of their
        buckets; any other window (percentiles, another length or instant) is a scan."""
        cdef vector[int64_t] ms
        cdef vector[vector[QueueRow]] out
        cdef int64_t g
        mins = list(minutes)
        if not percentiles and self._live_min and now == self.c.clock():
            g = self.c.bucket_ms()
            if now % g == 0 and all(m in self._live_min for m in mins):
                for m in mins:
                    ms.push_back(m * 60_000 // g)
                self.c.window_sums(now, ms, max(self._live_min) * 60_000 // g, out)
                self._raise_callback_error()
                return {f"{mins[k]}m": _by_queue(self.nf, out[k], False) for k in range(out.size())}
        for m in mins:
            ms.push_back(m)
        self.c.sliding(now, ms, percentiles, out)
        self._raise_callback_error()
        cdef size_t k
        return {f"{mins[k]}m": _by_queue(self.nf, out[k], percentiles) for k in range(out.size())}

    def waiting(self, int64_t now) -> dict:
        """Per queue: contacts waiting now, the oldest one's wait, VIPs waiting (kept: ``keep_live``)."""
        if self.c.tracking():
            return self._waiting_dict(self.c.waiting_tracked(), now)
        return self._waiting_dict(self.c.waiting(), now)

    cdef dict _waiting_dict(self, vector[WaitRow] rows, int64_t now):
        out = {}
        cdef size_t k
        for k in range(rows.size()):
            w = rows[k]
            out[self.nf.name(w.queue)] = {
                "waiting": w.n,
                "vip_waiting": w.n_vip,
                "longest_wait_s": max(0, now - w.oldest) / 1000.0,
                "longest_vip_wait_s": max(0, now - w.vip_oldest) / 1000.0 if w.vip_oldest != FAR else 0.0,
            }
        return out

    def queue_now(self) -> dict:
        """Per queue: legs waiting (offered, class) in the order served and legs being handled
        (offered, answered) by answered time (as SiteCore.queue_now)."""
        cdef vector[QueueLegs] rows = self.c.queue_now()
        cdef size_t k, j
        out = {}
        for k in range(rows.size()):
            waiting = [(rows[k].waiting[j].first, rows[k].waiting[j].second) for j in range(rows[k].waiting.size())]
            serving = [(rows[k].serving[j].first, rows[k].serving[j].second) for j in range(rows[k].serving.size())]
            out[self.nf.name(rows[k].queue)] = {"waiting": waiting, "serving": serving}
        return out

    def _agent_label(self, str name) -> str:
        return self.cfg.agents.get(name, name) if self.cfg.agent_label == "display_name" else name

    cdef object _label_str(self, int64_t label):
        state = label & 0xFF
        reason = (label >> 8) - 1
        if reason < 0:
            return _STATE_NAMES[state]
        return f"not_ready:{self.nf.name(<int32_t>reason)}"

    cdef dict _state_now(self, Agent* a, int64_t now):
        cdef Trans* e = &a.trans.back()
        state = _STATE_NAMES[e.state]
        since = a.state_since()
        return {
            "state": state,
            "reason": self.nf.name(e.reason),
            "since": since,
            "time_in_state_s": (now - since) / 1000.0 if state != "logged_out" else None,
            "queues": [self.nf.name(q) for q in a.queues],
            "counter": self.nf.name(a.counter),
        }

    def agent_states(self, int64_t now) -> dict:
        """Every agent's state now, without the day's totals (what alert rules read)."""
        rows = {}
        cdef size_t i
        cdef Agent* a
        for i in range(self.c.agent_order.size()):
            a = self.c.sealed_agent(self.c.agent_order[i].name)
            name = self.nf.name(a.name)
            rows[name] = {"label": self._agent_label(name), **self._state_now(a, now)}
        return rows

    cdef dict _agent_row(self, Agent* a, int64_t now):
        name = self.nf.name(a.name)
        return {"label": self._agent_label(name), **self._state_now(a, now)}

    cdef dict _counts_dict(self, const vector[StateCounts]& counts):
        nf = self.nf
        by_queue = {}
        cdef size_t k, j
        cdef const StateCounts* c
        for k in range(counts.size()):
            c = &counts[k]
            reasons = {}
            for j in range(c.reasons.size()):
                # A reason left out counts as "unspecified", with any agent giving that word (state_counts).
                r = "unspecified" if c.reasons[j].first < 0 else nf.name(c.reasons[j].first)
                reasons[r] = reasons.get(r, 0) + c.reasons[j].second
            by_queue[nf.name(c.queue)] = {
                "ready": c.ready, "busy": c.busy, "wrap_up": c.wrap_up, "not_ready": c.not_ready, "logged_in": c.logged_in,
                "not_ready_reasons": reasons,
            }
        return by_queue

    cdef object _row_for(self, Agent* a, int64_t now):
        """The agent's row now (``agents_in``): kept by agent while no event changes it (its version), with
        its time in state brought up to date. The caller hands it out to be read, not kept."""
        cache = self._vrows
        cached = cache.get(a.name)
        if cached is None or (<tuple>cached)[0] != a.version:
            row = self._agent_row(a, now)
            cache[a.name] = (a.version, row)
            return row
        row = (<tuple>cached)[1]
        row["time_in_state_s"] = (now - row["since"]) / 1000.0
        return row

    def primary_counts(self, int64_t now) -> tuple:
        """Per queue, the logged-in and ready agents whose primary (first) skill it is; and how many
        agents the site knows (logged out too)."""
        cdef vector[PrimaryCount] rows
        self.c.primary_counts(rows)
        nf = self.nf
        cdef size_t k
        return ({nf.name(rows[k].queue): {"logged_in": rows[k].logged_in, "ready": rows[k].ready}
                 for k in range(rows.size())}, <Py_ssize_t>self.c.agent_order.size())

    def agent_counts(self, int64_t now) -> tuple:
        """Per queue its logged-in agents by state; every skill any agent has (kept: ``keep_live``;
        else a scan of the agents, unsealed: sealing changes no figure)."""
        cdef vector[StateCounts] counts
        cdef vector[int32_t] skills
        cdef vector[pair[int32_t, uint8_t]] staffed
        cdef const vector[int32_t]* kept
        cdef size_t k
        nf = self.nf
        if self.c.tracking():
            kept = &self.c.skills()
            return self._counts_dict(self.c.queue_counts()), [nf.name(deref(kept)[k]) for k in range(kept.size())]
        self.c.agent_overview(counts, skills, staffed)
        return self._counts_dict(counts), [nf.name(q) for q in skills]

    def agents_in(self, int64_t now, states, older_than=None, also=()) -> dict:
        """The logged-in agents in one of ``states``, with their time in state, in no set order;
        with ``older_than`` (``StateAges``) only those past their bar, and those in ``also``.
        The states ``keep_live`` listed come from that list; rows are kept by agent while no
        event changes it (its version): read them, the next call may change them."""
        cdef uint32_t mask = 0
        for name in states:
            mask |= 1u << <int>_STATE_OF[name]
        mask &= ~1u  # never the logged-out
        nf = self.nf
        cdef vector[Agent*] picked
        cdef vector[int32_t] held
        cdef const vector[Agent*]* listed
        cdef size_t k
        cdef Agent* a
        if older_than is not None:
            for h in also:
                held.push_back(nf.intern(h))
            std_sort(held.begin(), held.end())
        if self.c.tracking() and mask == self._live_mask:
            if older_than is not None:
                self.c.listed_past(now, self._ages_for(older_than), held, picked)
            else:
                listed = &self.c.listed()
                picked = deref(listed)
        else:
            for k in range(self.c.agent_order.size()):
                a = self.c.agent_order[k]
                if (mask >> a.trans.back().state) & 1:
                    picked.push_back(a)
            if older_than is not None:
                self.c.filter_past(now, self._ages_for(older_than), held, picked)
        rows = {}
        for k in range(picked.size()):
            a = picked[k]
            rows[nf.name(a.name)] = self._row_for(a, now)
        return rows

    cdef const StateAge* _ages_for(self, older_than) except NULL:
        """The C++ form of a ``StateAges`` (kept while the same one is handed)."""
        if older_than is not self._ages_of:
            self._ages.assign(N_STATES, StateAge())
            for name, bar in older_than.items():
                lv = &self._ages[_STATE_OF[name]]
                lv.wanted = True
                lv.base = bar[0]
                for reason, level in bar[1].items():
                    lv.by_reason.push_back(pair[int32_t, double](self.nf.intern(reason), level))
            self._ages_of = older_than
        return self._ages.data()

    def staffing(self) -> dict:
        """Each counter staffed by a logged-in agent, and that agent's state (the later agent wins)."""
        cdef vector[pair[int32_t, uint8_t]] staffed
        self.c.staffed(staffed)
        cdef size_t k
        return {self.nf.name(staffed[k].first): _STATE_NAMES[staffed[k].second] for k in range(staffed.size())}

    def keep_live(self, int64_t bucket_ms, minutes, states) -> None:
        """Keep the windows of ``minutes`` (buckets of ``bucket_ms``), the waiting contacts, the agents
        by queue and state and those in ``states`` listed, as events fold from now on, starting from
        everything the site holds. Once per site: a second call with other settings is an error."""
        cdef uint32_t mask = 0
        for name in states:
            mask |= 1u << <int>_STATE_OF[name]
        mask &= ~1u
        mins = sorted(set(minutes))
        if any(m * 60_000 % bucket_ms for m in mins):
            raise ValueError("the windows must be whole buckets")
        if self.c.tracking():
            if bucket_ms != self.c.bucket_ms() or mask != self._live_mask or tuple(mins) != self._live_min:
                raise ValueError(f"site {self.site!r} keeps its live readings with other settings already")
            return
        self._live_min = tuple(mins)
        self._live_mask = mask
        self.c.track(bucket_ms, mask)

    def agent_rows(self, int64_t now, str date, dict agent_days, occupancy=None) -> dict:
        """Every agent with a state or with contacts handled today (as SiteCore.agent_rows)."""
        rows = {}
        handled_today = agent_days.get(date, {})
        nf = self.nf
        cdef int32_t date_id = nf.intern(date)
        cdef size_t i
        cdef Agent* a
        cdef vector[pair[int64_t, int64_t]] tot
        names = {nf.name(self.c.agent_order[i].name) for i in range(self.c.agent_order.size())}
        for name in sorted(names | set(handled_today)):
            a = self.c.sealed_agent(nf.intern(name)) if name in names else NULL
            if a != NULL:
                tot = a.day_total(now, self.c.cal, date_id)
                self._raise_callback_error()
                totals = {self._label_str(p.first): p.second for p in tot}
                f = self._state_now(a, now)
                f["occupancy_pct"] = occupancy_pct(totals)
                f["state_s"] = {k: v / 1000.0 for k, v in sorted(totals.items())}
                if occupancy is not None:
                    for label, ms in totals.items():
                        occupancy[label] = occupancy.get(label, 0) + ms
            else:
                f = _no_state()
            h = handled_today.get(name)
            f["handled"] = h[0] if h else 0
            f["aht_s"] = h[1] / h[0] / 1000.0 if h and h[0] else None
            f["label"] = self._agent_label(name)
            rows[name] = f
        return rows


# -- decoder tests and benchmarks --

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


cdef dict _as_dict(ParsedEv& ev, vector[SV]& queues):
    out = {"kind": _KIND_NAMES[ev.kind]}
    out.update(_fields_of(ev, queues))
    return out


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
