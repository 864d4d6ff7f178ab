// One contact (a call or a hall ticket) as a state machine over its own events (stream/fold/contact.py).
//
// The state is a function of the set of the contact's events, applied in
// (ts, causal rank, id) order: an event in that order just applies; one out
// of order makes the contact replay its few events. A transfer ends the
// current leg and offers the contact anew to the target queue. This is the
// reference core's machine rule for rule, anomaly for anomaly, contradiction
// for contradiction (`contra`: events before the offer, or the talk before the answer).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "event.hpp"
#include "strings.hpp"
#include "windows.hpp"

namespace fw {

constexpr int64_t NONE = INT64_MIN;  // an unset time (Python's None)
enum ContactKind : uint8_t { CALL = 0, TICKET = 1 };

// Causal order of kinds at the same millisecond (contact.py's RANK), by Kind.
inline constexpr uint8_t RANK[N_KINDS] = {
    0,  // ticket_issued
    1,  // ticket_called
    5,  // ticket_completed
    4,  // ticket_no_show
    1,  // ticket_abandoned
    4,  // ticket_transferred
    0,  // call_offered
    1,  // call_answered
    1,  // call_abandoned
    2,  // call_held
    3,  // call_resumed
    4,  // call_ended
    4,  // call_transferred
    6,  // wrap_up_ended
    0,  // agent_state (not a contact event)
};

// Why an event contradicts its contact: the text after "<kind>: " in the rejection reason.
enum Anomaly : uint8_t {
    A_ALREADY_OFFERED = 0,
    A_NO_OFFER,
    A_ALREADY_CLOSED,
    A_NOT_WAITING,
    A_NOT_IN_TALK,
    A_NO_WRAP_UP,
    A_NOT_SERVED,
    A_TICKET_CLOSED,
    A_CANNOT_TRANSFER,
    N_ANOMALIES
};
inline const char* const ANOMALY_TEXT[N_ANOMALIES] = {
    "contact already offered",
    "no offered event for this contact",
    "contact already closed",
    "contact not waiting",
    "call not in talk",
    "no wrap-up pending",
    "ticket not being served",
    "ticket already closed",
    "contact cannot be transferred now",
};

// The part of a contact spent in one queue.
struct Leg {
    int32_t queue;
    int64_t offered;
    int32_t priority;
    bool vip;
    int64_t answered = NONE;
    int32_t agent = -1;    // interned, -1: none
    int32_t counter = -1;  // interned, -1: none
    int64_t abandoned = NONE;
    int64_t transferred = NONE;  // left the queue unanswered, to another queue
    int64_t talk_end = NONE;
    bool wrap = false;  // wrap-up pending after talk
    int64_t handle_end = NONE;
    int32_t holds = 0;
    LegFiling f;  // what the live windows hold for it (windows.hpp, Site::track)

    Leg(int32_t q, int64_t off, int32_t prio, bool v) : queue(q), offered(off), priority(prio), vip(v) {}
    bool waiting() const { return answered == NONE && abandoned == NONE && transferred == NONE; }
    bool done() const { return abandoned != NONE || transferred != NONE || (answered != NONE && handle_end != NONE); }
};

// An event a contact keeps until it is sealed (to replay, and to dead-letter).
struct CEv {
    int64_t ts;
    SmallStr id;
    int32_t queue = -1;  // queue or to_queue
    int32_t agent = -1;
    int32_t counter = -1;
    uint8_t kind;
    uint8_t rank;
    uint8_t priority = 0;
    bool vip = false;
    bool wrap_up = false;
    std::unique_ptr<std::string> caller;  // call_offered's, when given

    CEv(int64_t t, SV eid, uint8_t k) : ts(t), id(eid), kind(k), rank(RANK[k]) {}
};

struct AnomalyRec {
    uint8_t what;
    uint32_t ev;  // index in the contact's events
};

struct Contact {
    uint8_t kind;  // CALL or TICKET
    SmallStr cid;
    uint64_t hash;
    std::vector<CEv> events;
    std::vector<Leg> legs;
    std::vector<Leg> old_legs;  // the legs a replay replaced, until the site takes back what they filed
    int64_t last_ts = -1;
    std::vector<AnomalyRec> anomalies;
    bool done = false;
    bool sealed = false;
    bool dropped = false;
    bool waiter = false;  // in the site's list of contacts that may have a waiting leg (live readings)
    // Contradictions (contact.py): an event before any leg (early), an event of the talk
    // before leg early_leg's answer (-1: none); contra: why, once the offer or answer
    // follows (0: none; 1 before the offer, 2 before the answer: the site's R_CONTRA + contra - 1).
    bool early = false;
    int32_t early_leg = -1;
    uint8_t contra = 0;
    // The site's book, in insertion order (Python's dict order), and its open list.
    Contact* prev = nullptr;
    Contact* next = nullptr;
    int32_t open_at = -1;

    Contact(uint8_t k, SV id, uint64_t h) : kind(k), cid(id), hash(h) { events.reserve(4); }
    bool key_eq(const char* p, uint32_t n) const { return cid.eq(p, n); }

    // Add one (already de-duplicated) event; true when it came out of order and the contact replayed.
    bool add(CEv&& ev) {
        events.push_back(std::move(ev));
        CEv& e = events.back();
        if (events.size() == 1) {
            last_ts = e.ts;
            apply(e, 0);
            return false;
        }
        const CEv& last = events[events.size() - 2];
        if (e.ts > last.ts || (e.ts == last.ts && (e.rank > last.rank || (e.rank == last.rank && e.id.cmp(last.id) > 0)))) {
            last_ts = e.ts;
            apply(e, static_cast<uint32_t>(events.size() - 1));
            return false;
        }
        replay();
        return true;
    }

    void replay() {
        std::stable_sort(events.begin(), events.end(), [](const CEv& a, const CEv& b) {
            if (a.ts != b.ts) return a.ts < b.ts;
            if (a.rank != b.rank) return a.rank < b.rank;
            return a.id.cmp(b.id) < 0;
        });
        for (Leg& lg : legs) old_legs.push_back(lg);
        legs.clear();
        anomalies.clear();
        early = false;
        early_leg = -1;
        contra = 0;
        for (uint32_t i = 0; i < events.size(); ++i) apply(events[i], i);
        last_ts = events.back().ts;
    }

  private:
    void anomaly(uint8_t what, uint32_t ev) { anomalies.push_back(AnomalyRec{what, ev}); }

    void set_done() {
        for (const Leg& lg : legs) {
            if (!lg.done()) {
                done = false;
                return;
            }
        }
        done = true;
    }

    void no_leg(uint32_t ev) {
        anomaly(A_NO_OFFER, ev);
        early = true;
    }

    // An event of the talk (or service) on a leg not answered yet: a contradiction if the answer follows.
    void before_answer(const Leg* leg) {
        if (leg->waiting()) early_leg = static_cast<int32_t>(legs.size()) - 1;
    }

    // The checks every non-offer event starts with; nullptr: an anomaly was noted.
    Leg* open_leg(uint32_t ev) {
        if (legs.empty()) {
            no_leg(ev);
            return nullptr;
        }
        if (done) {
            anomaly(A_ALREADY_CLOSED, ev);
            return nullptr;
        }
        return &legs.back();
    }

    void apply(const CEv& e, uint32_t ev) {
        switch (e.kind) {
            case CALL_OFFERED:
            case TICKET_ISSUED:
                if (!legs.empty()) {
                    anomaly(A_ALREADY_OFFERED, ev);
                } else {
                    legs.emplace_back(e.queue, e.ts, e.priority, e.vip);
                    if (early && !contra) contra = 1;
                }
                done = false;
                return;
            case CALL_ANSWERED:
            case TICKET_CALLED: {
                Leg* leg = open_leg(ev);
                if (!leg) return;
                bool ticket = e.kind == TICKET_CALLED;
                if (leg->waiting()) {
                    leg->answered = e.ts;
                    leg->agent = e.agent;
                    if (ticket) leg->counter = e.counter;
                    if (early_leg == static_cast<int32_t>(legs.size()) - 1 && !contra) contra = 2;
                } else if (!(ticket && leg->answered != NONE)) {
                    // A ticket called again (a recall) keeps its first call; anything else is wrong.
                    anomaly(A_NOT_WAITING, ev);
                }
                set_done();
                return;
            }
            case CALL_ABANDONED:
            case TICKET_ABANDONED: {
                Leg* leg = open_leg(ev);
                if (!leg) return;
                if (leg->waiting())
                    leg->abandoned = e.ts;
                else
                    anomaly(A_NOT_WAITING, ev);
                set_done();
                return;
            }
            case CALL_ENDED: {
                Leg* leg = open_leg(ev);
                if (!leg) return;
                if (leg->answered != NONE && leg->talk_end == NONE) {
                    leg->talk_end = e.ts;
                    if (e.wrap_up)
                        leg->wrap = true;
                    else
                        leg->handle_end = e.ts;
                } else {
                    anomaly(A_NOT_IN_TALK, ev);
                    before_answer(leg);
                }
                set_done();
                return;
            }
            case WRAP_UP_ENDED: {
                if (legs.empty()) {
                    no_leg(ev);
                    return;
                }
                // Wrap-up may end after the contact is done (it is not part of the wait):
                // it ends the latest leg with wrap-up pending (for this agent, when named).
                bool found = false;
                for (size_t k = legs.size(); k-- > 0;) {
                    Leg& lg = legs[k];
                    if (lg.wrap && lg.handle_end == NONE && (e.agent < 0 || lg.agent < 0 || lg.agent == e.agent)) {
                        lg.handle_end = e.ts;
                        found = true;
                        break;
                    }
                }
                if (!found) anomaly(A_NO_WRAP_UP, ev);
                set_done();
                return;
            }
            case TICKET_COMPLETED: {
                Leg* leg = open_leg(ev);
                if (!leg) return;
                if (leg->answered != NONE && leg->abandoned == NONE && leg->handle_end == NONE) {
                    leg->handle_end = e.ts;
                } else {
                    anomaly(A_NOT_SERVED, ev);
                    before_answer(leg);
                }
                set_done();
                return;
            }
            case TICKET_NO_SHOW: {
                Leg* leg = open_leg(ev);
                if (!leg) return;
                if (leg->abandoned == NONE && leg->handle_end == NONE && leg->transferred == NONE) {
                    // Called and nobody came (or never called): an abandon at this moment.
                    leg->answered = NONE;
                    leg->agent = -1;
                    leg->abandoned = e.ts;
                } else {
                    anomaly(A_TICKET_CLOSED, ev);
                }
                set_done();
                return;
            }
            case CALL_HELD:
            case CALL_RESUMED: {
                Leg* leg = open_leg(ev);
                if (!leg) return;
                if (leg->answered != NONE && leg->talk_end == NONE) {
                    if (e.kind == CALL_HELD) ++leg->holds;
                } else {
                    anomaly(A_NOT_IN_TALK, ev);
                    before_answer(leg);
                }
                set_done();
                return;
            }
            case CALL_TRANSFERRED:
            case TICKET_TRANSFERRED: {
                Leg* leg = open_leg(ev);
                if (!leg) return;
                if (leg->waiting()) {
                    leg->transferred = e.ts;
                } else if (leg->answered != NONE && leg->handle_end == NONE && leg->talk_end == NONE) {
                    leg->talk_end = e.ts;
                    if (e.kind == CALL_TRANSFERRED && e.wrap_up)
                        leg->wrap = true;
                    else
                        leg->handle_end = e.ts;
                } else {
                    anomaly(A_CANNOT_TRANSFER, ev);
                    return;
                }
                int32_t prio = leg->priority;
                bool vip = leg->vip;
                legs.emplace_back(e.queue, e.ts, prio, vip);
                set_done();
                return;
            }
            default:
                return;
        }
    }
};

}  // namespace fw
