// The strict fast decoder of wire events (v1): JSON bytes -> ParsedEv, no allocation.
//
// It takes only what it can decode exactly as msgspec decodes it against
// stream.contracts.events.Event (the reference); everything else it declines, and the
// caller decodes that with msgspec, which accepts it or rejects it with its
// own message. So the native path never accepts an event msgspec rejects,
// never rejects one it accepts, and never decodes a value differently.
#pragma once

#include "event.hpp"

namespace fw {

// Decode the JSON object in [p, end) (JSON whitespace around it allowed).
// true: a valid event, in ev (strings are slices of [p, end); agent_state's
// queues are appended to `queues`, ev.q_off/q_n say where). false: declined
// (ev then holds nothing meaningful; queues is as it was). Allocates nothing
// but what `queues` needs to grow.
bool parse_event(const char* p, const char* end, ParsedEv& ev, std::vector<SV>& queues);

// Decode a JSON array of events in [p, end) (a Kafka batch; "[]" included),
// appending one ParsedEv per item to evs. All or nothing: false if any item
// (or the array) is declined, evs and queues then as they were; the caller
// decodes the whole batch with msgspec, which finds the bad items.
inline bool parse_array(const char* p, const char* end, std::vector<ParsedEv>& evs, std::vector<SV>& queues);

}  // namespace fw

#include "parse_impl.hpp"
