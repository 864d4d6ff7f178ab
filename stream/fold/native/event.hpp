// The wire event as the native core reads it: one decoded event, its strings
// still slices of the bytes it was decoded from (no copy, no allocation).
//
// The parser (parse.hpp) fills a ParsedEv from one JSON object, or says it
// cannot; the fold (site.hpp) copies what it keeps. Kinds, states and causal
// ranks are the Python model's (stream/events.py, stream/contact.py).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace fw {

// A UTF-8 byte slice; n == 0 with p == nullptr: absent (JSON null or missing).
struct SV {
    const char* p = nullptr;
    uint32_t n = 0;
    bool present() const { return p != nullptr; }
};

inline bool sv_eq(SV a, SV b) { return a.n == b.n && (a.n == 0 || std::memcmp(a.p, b.p, a.n) == 0); }

// Event kinds, in the order of stream.events.Event.
enum Kind : uint8_t {
    TICKET_ISSUED = 0,
    TICKET_CALLED,
    TICKET_COMPLETED,
    TICKET_NO_SHOW,
    TICKET_ABANDONED,
    TICKET_TRANSFERRED,
    CALL_OFFERED,
    CALL_ANSWERED,
    CALL_ABANDONED,
    CALL_HELD,
    CALL_RESUMED,
    CALL_ENDED,
    CALL_TRANSFERRED,
    WRAP_UP_ENDED,
    AGENT_STATE,
    N_KINDS
};

inline const char* const KIND_NAMES[N_KINDS] = {
    "ticket_issued", "ticket_called", "ticket_completed", "ticket_no_show", "ticket_abandoned", "ticket_transferred",
    "call_offered",  "call_answered", "call_abandoned",   "call_held",      "call_resumed",     "call_ended",
    "call_transferred", "wrap_up_ended", "agent_state",
};

inline bool is_call_kind(uint8_t k) { return k >= CALL_OFFERED && k <= WRAP_UP_ENDED; }

// Agent states, in the order of stream.agent.STATES.
enum State : uint8_t { LOGGED_OUT = 0, READY, BUSY, WRAP_UP, NOT_READY, N_STATES };
inline const char* const STATE_NAMES[N_STATES] = {"logged_out", "ready", "busy", "wrap_up", "not_ready"};

// One decoded event. Which fields a kind has is stream/events.py's; the others stay absent.
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
