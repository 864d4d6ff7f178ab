// The strict fast decoder's object grammar: keys, the kinds' field sets, each field's values.
//
// One pass over the object. A key's name alone says how to read its value
// (every name has one type in every kind that has it), so the members can
// come in any order, `kind` anywhere among them; which names the kind allows
// and requires is checked once, at the closing brace. Once `kind` is read,
// the members that follow are first tried in the order msgspec's encoder
// writes them, each with its reader fixed at compile time; the first member
// out of that order (or spaced) hands back to the general loop. The rules are
// stream/contracts/events.py's: what this file needs of them (field names and
// sets, bounds, member orders) is generated into parse_tables.hpp; here are
// the value readers and the object loop. Where a form is legal but not plain
// (escapes, signs, exponents, duplicate keys) the event is declined and
// msgspec decides.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "event.hpp"
#include "parse_text.hpp"
#include "parse_time.hpp"

namespace fw {
namespace pj {

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

inline const char* caller_value(const char* p, const char* end, SV& out, uint32_t max_len) {
    if (*p == 'n') return has_lit(p, end, "null") ? p + 4 : nullptr;
    SV s;
    p = str_value(p, end, s, 0, max_len);
    if (!p || !caller_ok(s)) return nullptr;
    out = s;
    return p;
}

// Epoch ms (at most max_ms) as a plain integer, or an RFC 3339 string (parse_time.hpp).
inline const char* ts_value(const char* p, const char* end, int64_t& ts, uint64_t max_ms) {
    if (*p == '"') {
        SV s;
        uint32_t cps;
        const char* q = scan_string(p + 1, end, s, cps);
        // Out of the integer range: declined, and the reference rejects it.
        if (!q || !rfc3339_ms(s.p, s.n, ts) || ts < 0 || ts > static_cast<int64_t>(max_ms)) return nullptr;
        return q;
    }
    uint64_t v;
    p = scan_uint(p, end, 13, v);
    if (!p || v > max_ms) return nullptr;
    ts = static_cast<int64_t>(v);
    return p;
}

// null, or an array (maybe empty) of strings of lo..hi code points appended to queues.
inline const char* queues_value(const char* p, const char* end, ParsedEv& ev, std::vector<SV>& queues, uint32_t lo,
                                uint32_t hi) {
    if (*p == 'n') return has_lit(p, end, "null") ? p + 4 : nullptr;
    if (*p != '[') return nullptr;
    ev.has_queues = true;
    ev.q_off = static_cast<uint32_t>(queues.size());
    p = skip_ws(p + 1, end);
    if (p == end) return nullptr;
    if (*p == ']') return p + 1;
    for (;;) {
        SV s;
        p = str_value(p, end, s, lo, hi);
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

// One digit 0..max: a second digit ("10", "01") fails the check after the value.
inline const char* digit_value(const char* p, const char* end, uint8_t& out, unsigned max) {
    (void)end;  // p < end
    unsigned d = static_cast<unsigned char>(*p) - '0';
    if (d > max) return nullptr;
    out = static_cast<uint8_t>(d);
    return p + 1;
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

}  // namespace pj
}  // namespace fw

// The generated part: fields, kinds' field sets, matchers, value_of, Key<F>, kind_members.
#include "parse_tables.hpp"

namespace fw {
namespace pj {

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
    if (!nonnull_present(ev, kf.nonnull)) return nullptr;
    // AgentState.__post_init__ (code, not a declaration): a reason goes with not_ready only.
    if (ev.kind == AGENT_STATE && ev.reason.present() && ev.state != NOT_READY) return nullptr;
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
