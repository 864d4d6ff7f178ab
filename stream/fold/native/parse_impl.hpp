// The strict fast decoder's object grammar: keys, the kinds' field sets, each field's values.
//
// One pass over the object. A key's name alone says how to read its value
// (every name has one type in every kind that has it), so the members can
// come in any order, `kind` anywhere among them; which names the kind allows
// and requires is checked once, at the closing brace. Once `kind` is read,
// the members that follow are first tried in the order msgspec's encoder
// writes them, each with its reader fixed at compile time; the first member
// out of that order (or spaced) hands back to the general loop. The rules are
// stream/events.py's; where a form is legal but not plain (escapes, signs,
// exponents, duplicate keys) the event is declined and msgspec decides.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "event.hpp"
#include "parse_text.hpp"
#include "parse_time.hpp"

namespace fw {
namespace pj {

// Every key any kind has, one bit each.
enum Field : uint32_t {
    F_ID = 1u << 0,
    F_TS = 1u << 1,
    F_SITE = 1u << 2,
    F_KIND = 1u << 3,
    F_TICKET = 1u << 4,
    F_CALL = 1u << 5,
    F_QUEUE = 1u << 6,
    F_TO_QUEUE = 1u << 7,
    F_PRIORITY = 1u << 8,
    F_VIP = 1u << 9,
    F_CALLER = 1u << 10,
    F_AGENT = 1u << 11,
    F_COUNTER = 1u << 12,
    F_WRAP_UP = 1u << 13,
    F_STATE = 1u << 14,
    F_REASON = 1u << 15,
    F_QUEUES = 1u << 16,
};

constexpr uint32_t ENVELOPE = F_ID | F_TS | F_SITE | F_KIND;

struct KindFields {
    uint32_t allowed, required;
};

// Indexed by Kind; stream/events.py's classes (a field with a default is allowed, not required).
constexpr KindFields KIND_FIELDS[N_KINDS] = {
    {ENVELOPE | F_TICKET | F_QUEUE | F_PRIORITY | F_VIP, ENVELOPE | F_TICKET | F_QUEUE},   // ticket_issued
    {ENVELOPE | F_TICKET | F_COUNTER | F_AGENT, ENVELOPE | F_TICKET | F_COUNTER},          // ticket_called
    {ENVELOPE | F_TICKET, ENVELOPE | F_TICKET},                                            // ticket_completed
    {ENVELOPE | F_TICKET, ENVELOPE | F_TICKET},                                            // ticket_no_show
    {ENVELOPE | F_TICKET, ENVELOPE | F_TICKET},                                            // ticket_abandoned
    {ENVELOPE | F_TICKET | F_TO_QUEUE, ENVELOPE | F_TICKET | F_TO_QUEUE},                  // ticket_transferred
    {ENVELOPE | F_CALL | F_QUEUE | F_PRIORITY | F_VIP | F_CALLER, ENVELOPE | F_CALL | F_QUEUE},  // call_offered
    {ENVELOPE | F_CALL | F_AGENT, ENVELOPE | F_CALL},                                      // call_answered
    {ENVELOPE | F_CALL, ENVELOPE | F_CALL},                                                // call_abandoned
    {ENVELOPE | F_CALL, ENVELOPE | F_CALL},                                                // call_held
    {ENVELOPE | F_CALL, ENVELOPE | F_CALL},                                                // call_resumed
    {ENVELOPE | F_CALL | F_WRAP_UP, ENVELOPE | F_CALL},                                    // call_ended
    {ENVELOPE | F_CALL | F_TO_QUEUE | F_WRAP_UP, ENVELOPE | F_CALL | F_TO_QUEUE},          // call_transferred
    {ENVELOPE | F_CALL | F_AGENT, ENVELOPE | F_CALL},                                      // wrap_up_ended
    {ENVELOPE | F_AGENT | F_STATE | F_REASON | F_QUEUES | F_COUNTER, ENVELOPE | F_AGENT | F_STATE},  // agent_state
};

constexpr uint32_t ID_MAX = 128;                 // Id: 1..128 code points
constexpr uint32_t REASON_MAX = 64;              // reason: 1..64
constexpr uint32_t CALLER_MAX = 80;              // caller: at most 80
constexpr uint64_t EPOCH_MS_MAX = 4102444800000;  // EpochMs: 0..2100-01-01 (RFC 3339 times too)
constexpr size_t MAX_EVENT_BYTES = 64 << 10;      // decode.py's MAX_EVENT_BYTES: larger objects are declined

// The key at p (just past its opening quote) as its Field, p moved past the
// closing quote; nullptr for any other key. No name holds a quote or a
// backslash, so a name matched with its closing quote is a whole, plain key.
inline const char* scan_key(const char* p, const char* end, uint32_t& f) {
#define FW_KEY(lit, field)               \
    if (has_lit(p, end, lit "\"")) {    \
        f = field;                       \
        return p + sizeof(lit);          \
    }
    if (p == end) return nullptr;
    switch (*p) {
        case 'i': FW_KEY("id", F_ID) break;
        case 't':
            FW_KEY("ts", F_TS)
            FW_KEY("ticket", F_TICKET)
            FW_KEY("to_queue", F_TO_QUEUE)
            break;
        case 's':
            FW_KEY("site", F_SITE)
            FW_KEY("state", F_STATE)
            break;
        case 'k': FW_KEY("kind", F_KIND) break;
        case 'c':
            FW_KEY("call", F_CALL)
            FW_KEY("caller", F_CALLER)
            FW_KEY("counter", F_COUNTER)
            break;
        case 'q':
            FW_KEY("queue", F_QUEUE)
            FW_KEY("queues", F_QUEUES)
            break;
        case 'a': FW_KEY("agent", F_AGENT) break;
        case 'p': FW_KEY("priority", F_PRIORITY) break;
        case 'v': FW_KEY("vip", F_VIP) break;
        case 'w': FW_KEY("wrap_up", F_WRAP_UP) break;
        case 'r': FW_KEY("reason", F_REASON) break;
        default: break;
    }
#undef FW_KEY
    return nullptr;
}

// A string value with no escapes whose length in code points is in [lo, hi].
inline const char* str_value(const char* p, const char* end, SV& out, uint32_t lo, uint32_t hi) {
    if (*p != '"') return nullptr;
    uint32_t cps;
    p = scan_string(p + 1, end, out, cps);
    if (!p || cps < lo || cps > hi) return nullptr;
    return p;
}

// null (out stays absent) or a string as str_value.
inline const char* opt_str_value(const char* p, const char* end, SV& out, uint32_t lo, uint32_t hi) {
    if (*p == 'n') return has_lit(p, end, "null") ? p + 4 : nullptr;
    return str_value(p, end, out, lo, hi);
}

inline const char* bool_value(const char* p, const char* end, bool& out) {
    if (has_lit(p, end, "true")) {
        out = true;
        return p + 4;
    }
    if (has_lit(p, end, "false")) {
        out = false;
        return p + 5;
    }
    return nullptr;
}

// A kind's tag. Only the exact names match; a name with an escape in it is declined.
inline const char* kind_value(const char* p, const char* end, uint8_t& kind) {
    SV s;
    const char* q = str_value(p, end, s, 1, 32);
    if (!q) return nullptr;
    // By length, then whole names.
    switch (s.n) {
        case 9: if (eq_lit(s.p, "call_held")) { kind = CALL_HELD; return q; } break;
        case 10: if (eq_lit(s.p, "call_ended")) { kind = CALL_ENDED; return q; } break;
        case 11: if (eq_lit(s.p, "agent_state")) { kind = AGENT_STATE; return q; } break;
        case 12:
            if (eq_lit(s.p, "call_offered")) { kind = CALL_OFFERED; return q; }
            if (eq_lit(s.p, "call_resumed")) { kind = CALL_RESUMED; return q; }
            break;
        case 13:
            if (eq_lit(s.p, "call_answered")) { kind = CALL_ANSWERED; return q; }
            if (eq_lit(s.p, "wrap_up_ended")) { kind = WRAP_UP_ENDED; return q; }
            if (eq_lit(s.p, "ticket_issued")) { kind = TICKET_ISSUED; return q; }
            if (eq_lit(s.p, "ticket_called")) { kind = TICKET_CALLED; return q; }
            break;
        case 14:
            if (eq_lit(s.p, "call_abandoned")) { kind = CALL_ABANDONED; return q; }
            if (eq_lit(s.p, "ticket_no_show")) { kind = TICKET_NO_SHOW; return q; }
            break;
        case 16:
            if (eq_lit(s.p, "call_transferred")) { kind = CALL_TRANSFERRED; return q; }
            if (eq_lit(s.p, "ticket_completed")) { kind = TICKET_COMPLETED; return q; }
            if (eq_lit(s.p, "ticket_abandoned")) { kind = TICKET_ABANDONED; return q; }
            break;
        case 18: if (eq_lit(s.p, "ticket_transferred")) { kind = TICKET_TRANSFERRED; return q; } break;
        default: break;
    }
    return nullptr;
}

inline const char* state_value(const char* p, const char* end, uint8_t& state) {
    SV s;
    const char* q = str_value(p, end, s, 1, 16);
    if (!q) return nullptr;
    // The five names have five lengths.
    switch (s.n) {
        case 5: if (eq_lit(s.p, "ready")) { state = READY; return q; } break;
        case 4: if (eq_lit(s.p, "busy")) { state = BUSY; return q; } break;
        case 9: if (eq_lit(s.p, "not_ready")) { state = NOT_READY; return q; } break;
        case 7: if (eq_lit(s.p, "wrap_up")) { state = WRAP_UP; return q; } break;
        case 10: if (eq_lit(s.p, "logged_out")) { state = LOGGED_OUT; return q; } break;
        default: break;
    }
    return nullptr;
}

inline bool is_digit(char c) { return static_cast<unsigned>(static_cast<unsigned char>(c) - '0') <= 9u; }
inline bool is_hex_lower(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

// CALLER_PATTERN, ^(sha256:[0-9a-f]{16,64}|(\+[0-9]{1,3}[ \-])?[0-9]{0,3}[ \-]?\*{4,}[ \-]?[0-9]{0,4})$,
// on escape-free text: re.search's `$` also matches before a final "\n", but a
// newline in a JSON string is an escape, declined before this is reached.
inline bool is_sep(char c) { return c == ' ' || c == '-'; }

inline bool caller_ok(SV s) {
    const char* p = s.p;
    const char* e = s.p + s.n;
    if (s.n >= 7 && eq_lit(p, "sha256:")) {
        uint32_t hex = s.n - 7;
        if (hex < 16 || hex > 64) return false;
        for (p += 7; p != e; ++p)
            if (!is_hex_lower(*p)) return false;
        return true;
    }
    // Masked. Each part is a run of one class of bytes and the next part starts
    // with another class, so reading each run greedily is the pattern's only match.
    if (p != e && *p == '+') {  // a country code, set off by a separator
        const char* d = ++p;
        while (p != e && is_digit(*p)) ++p;
        if (p - d < 1 || p - d > 3 || p == e || !is_sep(*p)) return false;
        ++p;
    }
    const char* head = p;
    while (p != e && is_digit(*p)) ++p;
    if (p - head > 3) return false;
    if (p != e && is_sep(*p)) ++p;
    const char* stars = p;
    while (p != e && *p == '*') ++p;
    if (p - stars < 4) return false;
    if (p != e && is_sep(*p)) ++p;
    const char* tail = p;
    while (p != e && is_digit(*p)) ++p;
    return p == e && e - tail <= 4;
}

inline const char* caller_value(const char* p, const char* end, SV& out) {
    if (*p == 'n') return has_lit(p, end, "null") ? p + 4 : nullptr;
    SV s;
    p = str_value(p, end, s, 0, CALLER_MAX);
    if (!p || !caller_ok(s)) return nullptr;
    out = s;
    return p;
}

// Epoch ms as a plain integer, or an RFC 3339 string (parse_time.hpp).
inline const char* ts_value(const char* p, const char* end, int64_t& ts) {
    if (*p == '"') {
        SV s;
        uint32_t cps;
        const char* q = scan_string(p + 1, end, s, cps);
        // Out of the integer range: declined, and the reference rejects it.
        if (!q || !rfc3339_ms(s.p, s.n, ts) || ts < 0 || ts > static_cast<int64_t>(EPOCH_MS_MAX)) return nullptr;
        return q;
    }
    uint64_t v;
    p = scan_uint(p, end, 13, v);
    if (!p || v > EPOCH_MS_MAX) return nullptr;
    ts = static_cast<int64_t>(v);
    return p;
}

// null, or an array (maybe empty) of Ids appended to queues.
inline const char* queues_value(const char* p, const char* end, ParsedEv& ev, std::vector<SV>& queues) {
    if (*p == 'n') return has_lit(p, end, "null") ? p + 4 : nullptr;
    if (*p != '[') return nullptr;
    ev.has_queues = true;
    ev.q_off = static_cast<uint32_t>(queues.size());
    p = skip_ws(p + 1, end);
    if (p == end) return nullptr;
    if (*p == ']') return p + 1;
    for (;;) {
        SV s;
        p = str_value(p, end, s, 1, ID_MAX);
        if (!p) return nullptr;
        queues.push_back(s);
        p = skip_ws(p, end);
        if (p == end) return nullptr;
        if (*p == ']') break;
        if (*p != ',') return nullptr;
        p = skip_ws(p + 1, end);
        if (p == end) return nullptr;
    }
    ev.q_n = static_cast<uint32_t>(queues.size()) - ev.q_off;
    return p + 1;
}

// The value of field F at p (p < end); F is known at compile time, so each
// use is straight code.
template <uint32_t F>
inline const char* value_of(const char* p, const char* end, ParsedEv& ev, std::vector<SV>& queues) {
    if constexpr (F == F_ID) return str_value(p, end, ev.id, 1, ID_MAX);
    if constexpr (F == F_SITE) return str_value(p, end, ev.site, 1, ID_MAX);
    if constexpr (F == F_TICKET || F == F_CALL) return str_value(p, end, ev.cid, 1, ID_MAX);
    if constexpr (F == F_QUEUE || F == F_TO_QUEUE) return str_value(p, end, ev.queue, 1, ID_MAX);
    // Nullable here; the two kinds that require them non-null are checked at the end.
    if constexpr (F == F_AGENT) return opt_str_value(p, end, ev.agent, 1, ID_MAX);
    if constexpr (F == F_COUNTER) return opt_str_value(p, end, ev.counter, 1, ID_MAX);
    if constexpr (F == F_REASON) return opt_str_value(p, end, ev.reason, 1, REASON_MAX);
    if constexpr (F == F_TS) return ts_value(p, end, ev.ts);
    if constexpr (F == F_KIND) return kind_value(p, end, ev.kind);
    if constexpr (F == F_STATE) return state_value(p, end, ev.state);
    if constexpr (F == F_CALLER) return caller_value(p, end, ev.caller);
    if constexpr (F == F_VIP) return bool_value(p, end, ev.vip);
    if constexpr (F == F_WRAP_UP) return bool_value(p, end, ev.wrap_up);
    if constexpr (F == F_PRIORITY) {
        // One digit; a second one ("10", "01") fails the check after the value.
        unsigned d = static_cast<unsigned char>(*p) - '0';
        if (d > 9) return nullptr;
        ev.priority = static_cast<uint8_t>(d);
        return p + 1;
    }
    if constexpr (F == F_QUEUES) return queues_value(p, end, ev, queues);
}

inline const char* field_value(uint32_t f, const char* p, const char* end, ParsedEv& ev, std::vector<SV>& queues) {
    switch (f) {
#define FW_CASE(F) \
    case F: return value_of<F>(p, end, ev, queues);
        FW_CASE(F_ID) FW_CASE(F_TS) FW_CASE(F_SITE) FW_CASE(F_KIND) FW_CASE(F_TICKET) FW_CASE(F_CALL)
        FW_CASE(F_QUEUE) FW_CASE(F_TO_QUEUE) FW_CASE(F_PRIORITY) FW_CASE(F_VIP) FW_CASE(F_CALLER)
        FW_CASE(F_AGENT) FW_CASE(F_COUNTER) FW_CASE(F_WRAP_UP) FW_CASE(F_STATE) FW_CASE(F_REASON)
        FW_CASE(F_QUEUES)
#undef FW_CASE
        default: return nullptr;
    }
}

// What follows a value: -1 not a valid object, 1 a comma and the next key's
// quote (p there), 2 the closing brace (p there).
inline int after_value(const char*& p, const char* end) {
    if (end - p >= 2 && p[0] == ',' && p[1] == '"') {  // compact JSON
        ++p;
        return 1;
    }
    p = skip_ws(p, end);
    if (p == end) return -1;
    if (*p == '}') return 2;
    if (*p != ',') return -1;
    p = skip_ws(p + 1, end);
    return (p != end && *p == '"') ? 1 : -1;
}

// Each field's member as compact JSON writes it after the previous value:
// comma, quote, name, quote, colon, and for an Id that cannot be null the
// value's opening quote (all one compare).
template <uint32_t F> struct Key;
#define FW_MEMBER(F, name, is_id, tail)                        \
    template <> struct Key<F> {                                \
        static constexpr bool id = is_id;                      \
        static constexpr char text[] = ",\"" name "\":" tail; \
    };
#define FW_ID_MEMBER(F, name) FW_MEMBER(F, name, true, "\"")
#define FW_OTHER_MEMBER(F, name) FW_MEMBER(F, name, false, "")
FW_ID_MEMBER(F_ID, "id")
FW_ID_MEMBER(F_SITE, "site")
FW_ID_MEMBER(F_TICKET, "ticket")
FW_ID_MEMBER(F_CALL, "call")
FW_ID_MEMBER(F_QUEUE, "queue")
FW_ID_MEMBER(F_TO_QUEUE, "to_queue")
FW_OTHER_MEMBER(F_TS, "ts")
FW_OTHER_MEMBER(F_PRIORITY, "priority")
FW_OTHER_MEMBER(F_VIP, "vip")
FW_OTHER_MEMBER(F_CALLER, "caller")
FW_OTHER_MEMBER(F_AGENT, "agent")  // null where calls and tickets have no agent
FW_OTHER_MEMBER(F_COUNTER, "counter")
FW_OTHER_MEMBER(F_WRAP_UP, "wrap_up")
FW_OTHER_MEMBER(F_STATE, "state")
FW_OTHER_MEMBER(F_REASON, "reason")
FW_OTHER_MEMBER(F_QUEUES, "queues")
#undef FW_OTHER_MEMBER
#undef FW_ID_MEMBER
#undef FW_MEMBER

// Where an Id member's value goes.
template <uint32_t F> inline SV& id_slot(ParsedEv& ev) {
    if constexpr (F == F_ID) return ev.id;
    else if constexpr (F == F_SITE) return ev.site;
    else if constexpr (F == F_TICKET || F == F_CALL) return ev.cid;
    else return ev.queue;
}

// One member, if it follows as F's in compact JSON: 0 it does not (p
// unchanged, just after the previous value), 1 read (p just after its
// value), -1 not a valid event.
template <uint32_t F>
inline int member(const char*& p, const char* end, ParsedEv& ev, std::vector<SV>& queues, uint32_t& seen) {
    constexpr size_t n = sizeof(Key<F>::text) - 1;
    if (!has_lit(p, end, Key<F>::text)) return 0;
    if (seen & F) return -1;
    seen |= F;
    const char* q = p + n;
    if constexpr (Key<F>::id) {
        uint32_t cps;
        q = scan_string(q, end, id_slot<F>(ev), cps);
        if (!q || cps < 1 || cps > ID_MAX) return -1;
    } else {
        if (q == end) return -1;
        q = value_of<F>(q, end, ev, queues);
        if (!q) return -1;
    }
    p = q;
    return 1;
}

// Members in the order given, for as long as the input follows it: 0, or -1
// for an invalid event.
template <uint32_t... Fs>
inline int members(const char*& p, const char* end, ParsedEv& ev, std::vector<SV>& queues, uint32_t& seen) {
    int r = 1;
    (void)(((r = member<Fs>(p, end, ev, queues, seen)) == 1) && ...);
    return r < 0 ? -1 : 0;
}

// The members after `kind` as msgspec's encoder writes them (compact, the
// kind's fields in class order, then the envelope): each member matched in
// one compare and its value read by code fixed at compile time, no dispatch
// on the key. Stops at the first member that is not the next one expected
// (absent, elsewhere, spaced) with p after the last value read: the general
// loop goes on from there. -1: not a valid event.
inline int kind_members(uint8_t kind, const char*& p, const char* end, ParsedEv& ev, std::vector<SV>& queues,
                        uint32_t& seen) {
#define FW_ENV F_ID, F_TS, F_SITE
    switch (kind) {
        case TICKET_ISSUED: return members<F_TICKET, F_QUEUE, F_PRIORITY, F_VIP, FW_ENV>(p, end, ev, queues, seen);
        case TICKET_CALLED: return members<F_TICKET, F_COUNTER, F_AGENT, FW_ENV>(p, end, ev, queues, seen);
        case TICKET_COMPLETED:
        case TICKET_NO_SHOW:
        case TICKET_ABANDONED: return members<F_TICKET, FW_ENV>(p, end, ev, queues, seen);
        case TICKET_TRANSFERRED: return members<F_TICKET, F_TO_QUEUE, FW_ENV>(p, end, ev, queues, seen);
        case CALL_OFFERED:
            return members<F_CALL, F_QUEUE, F_PRIORITY, F_VIP, F_CALLER, FW_ENV>(p, end, ev, queues, seen);
        case CALL_ANSWERED:
        case WRAP_UP_ENDED: return members<F_CALL, F_AGENT, FW_ENV>(p, end, ev, queues, seen);
        case CALL_ABANDONED:
        case CALL_HELD:
        case CALL_RESUMED: return members<F_CALL, FW_ENV>(p, end, ev, queues, seen);
        case CALL_ENDED: return members<F_CALL, F_WRAP_UP, FW_ENV>(p, end, ev, queues, seen);
        case CALL_TRANSFERRED: return members<F_CALL, F_TO_QUEUE, F_WRAP_UP, FW_ENV>(p, end, ev, queues, seen);
        case AGENT_STATE:
            return members<F_AGENT, F_STATE, F_REASON, F_QUEUES, F_COUNTER, FW_ENV>(p, end, ev, queues, seen);
        default: return 0;
    }
#undef FW_ENV
}

// The object at p ('{' expected) into ev; the pointer past its '}', or nullptr.
// May leave entries in queues on failure (parse_event and parse_array drop them).
inline const char* parse_object(const char* p, const char* end, ParsedEv& ev, std::vector<SV>& queues) {
    ev = ParsedEv{};
    if (p == end || *p != '{') return nullptr;
    const char* start = p;
    p = skip_ws(p + 1, end);
    if (p == end || *p != '"') return nullptr;  // "{}" lacks the required fields anyway
    uint32_t seen = 0;
    // Any order, any spacing: each member's key says how to read its value.
    for (;;) {
        // p is at a key's opening quote.
        uint32_t f;
        p = scan_key(p + 1, end, f);
        if (!p || (seen & f)) return nullptr;  // unknown or repeated key
        seen |= f;
        p = skip_ws(p, end);
        if (p == end || *p != ':') return nullptr;
        p = skip_ws(p + 1, end);
        if (p == end) return nullptr;
        p = field_value(f, p, end, ev, queues);
        if (!p) return nullptr;
        if (f == F_KIND && kind_members(ev.kind, p, end, ev, queues, seen) < 0) return nullptr;
        int r = after_value(p, end);
        if (r < 0) return nullptr;
        if (r == 2) break;
    }
    if (!(seen & F_KIND)) return nullptr;
    const KindFields& kf = KIND_FIELDS[ev.kind];
    if ((seen & ~kf.allowed) || (seen & kf.required) != kf.required) return nullptr;
    if (ev.kind == AGENT_STATE) {
        if (!ev.agent.present()) return nullptr;
        // AgentState.__post_init__: a reason goes with not_ready only.
        if (ev.reason.present() && ev.state != NOT_READY) return nullptr;
    } else if (ev.kind == TICKET_CALLED && !ev.counter.present()) {
        return nullptr;
    }
    // Too large: declined, and the reference rejects it.
    if (static_cast<size_t>(p + 1 - start) > MAX_EVENT_BYTES) return nullptr;
    return p + 1;
}

}  // namespace pj

inline bool parse_event(const char* p, const char* end, ParsedEv& ev, std::vector<SV>& queues) {
    size_t q0 = queues.size();
    p = pj::parse_object(pj::skip_ws(p, end), end, ev, queues);
    if (p && pj::skip_ws(p, end) == end) return true;
    queues.resize(q0);
    return false;
}

inline bool parse_array(const char* p, const char* end, std::vector<ParsedEv>& evs, std::vector<SV>& queues) {
    size_t e0 = evs.size(), q0 = queues.size();
    p = pj::skip_ws(p, end);
    if (p == end || *p != '[') return false;
    p = pj::skip_ws(p + 1, end);
    if (p != end && *p == ']') return pj::skip_ws(p + 1, end) == end;
    for (;;) {
        evs.emplace_back();
        p = pj::parse_object(p, end, evs.back(), queues);
        if (!p) break;
        p = pj::skip_ws(p, end);
        if (p == end) break;
        if (*p == ']') {
            if (pj::skip_ws(p + 1, end) == end) return true;
            break;
        }
        if (*p != ',') break;
        p = pj::skip_ws(p + 1, end);
    }
    evs.resize(e0);
    queues.resize(q0);
    return false;
}

}  // namespace fw
