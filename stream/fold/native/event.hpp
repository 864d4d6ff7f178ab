// The wire event as the native core reads it: one decoded event, its strings
// still slices of the bytes it was decoded from (no copy, no allocation).
//
// The parser (parse.hpp) fills a ParsedEv from one JSON object, or says it
// cannot; the fold (site.hpp) copies what it keeps. Kinds, states and causal
// ranks are the Python model's (stream/contracts/events.py, stream/fold/contact.py).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "event_kinds.hpp"

namespace fw {

// A UTF-8 byte slice; n == 0 with p == nullptr: absent (JSON null or missing).
struct SV {
    const char* p = nullptr;
    uint32_t n = 0;
    bool present() const { return p != nullptr; }
};

inline bool sv_eq(SV a, SV b) { return a.n == b.n && (a.n == 0 || std::memcmp(a.p, b.p, a.n) == 0); }

// Kinds and agent states (enums, names, is_call_kind) are generated from
// stream/contracts/events.py into event_kinds.hpp.

// One decoded event. Which fields a kind has is stream/contracts/events.py's; the others stay absent.
//   cid     call or ticket id (contact kinds); absent for agent_state
//   queue   queue (call_offered, ticket_issued) or to_queue (transfers)
//   agent   agent (answered, wrap_up_ended, ticket_called; agent_state's agent)
//   counter ticket_called's counter; agent_state's counter
//   reason  agent_state's not-ready reason
//   caller  call_offered's masked or hashed caller
//   queues  agent_state's skills: q_n slices from q_off in the batch's queue list (has_queues: given, maybe empty)
struct ParsedEv {
    int64_t ts = 0;
    uint8_t kind = 0;
    uint8_t state = 0;
    uint8_t priority = 0;
    bool vip = false;
    bool wrap_up = false;
    bool has_queues = false;
    SV id, site, cid, queue, agent, counter, reason, caller;
    uint32_t q_off = 0, q_n = 0;
};

}  // namespace fw
