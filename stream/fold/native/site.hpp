// The live state of one site, folded from its events on event time (stream/fold/site.py, natively).
//
// Pure: events and ticks in, sums out; no I/O, no clock, no Python. Each
// site has its own event-time clock; the watermark is the clock minus the
// lateness bound. Events older than the watermark are late (rejected);
// finished contacts are sealed once the watermark passes them and their legs
// go into the day and interval totals; ids are de-duplicated for an hour.
// Every rule, and the moment each one acts (housekeeping, sealing, expiry),
// is the reference core's, so both give the same figures and the same
// rejections for any input (tests/fold/test_native_core.py holds them equal).
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent.hpp"
#include "calendar.hpp"
#include "contact.hpp"
#include "event.hpp"
#include "seen.hpp"
#include "stats.hpp"
#include "strings.hpp"
#include "windows.hpp"

namespace fw {

constexpr int64_t HOUR_MS = 3600000;
constexpr int64_t HOUSEKEEP_EVERY = 60000;
constexpr int64_t FAR = int64_t(1) << 62;
// An agent's transitions are sealed into its day totals once this many pile up. Sealing
// changes no figure, whenever it happens; the reference core waits for 64, but short
// timelines keep a big floor's agents in the CPU caches (docs/measurements.md).
constexpr size_t AGENT_SEAL_AT = 16;

struct Limits {
    int64_t lateness = 60000;
    int64_t dedup_horizon = HOUR_MS;
    int64_t max_open = 24 * HOUR_MS;
    int64_t keep_days = -1;           // -1: keep all
    int64_t keep_interval_days = 2;   // -1: keep all
    int64_t dead_letters = 10000;
    int64_t max_ahead = 300000;  // site.py's "Wrong clocks"
    bool agent_intervals = false;  // keep agent sums per 15-minute interval (site.py's Limits)
};
// How far on in a batch a site's next event is looked for (site.py's AHEAD_LOOK).
constexpr size_t AHEAD_LOOK = 256;

// A queue's metric parameters (config.py's ResolvedQueue), asked of the config once per queue.
struct QParams {
    int64_t t_ms = 20000;
    int64_t short_ms = 5000;
    uint8_t variant = STANDARD;
    bool known = false;
};
struct QueueSource {
    void* ctx = nullptr;
    QParams (*get)(void* ctx, int32_t queue) = nullptr;
};

// Why an event was rejected: a contact anomaly (contact.hpp), or one of these.
enum Reject : uint8_t {
    R_LATE = N_ANOMALIES,  // "late: older than the lateness bound" (no kind prefix)
    R_ORPHAN,              // "<kind>: no offered event for this contact (orphan)"
    R_EXPIRED,             // "<kind>: contact never ended (expired)"
    R_CONTRA,              // "<kind>: contact contradicts itself (...)": Contact::contra 1, then 2
    R_CONTRA_ANSWER,
    R_AHEAD,        // "ahead: ..." (no kind prefix): past the reference's bound
    R_AHEAD_ALONE,  // past the clock's bound, and the site's next event is not
    N_REJECTS
};
inline const char* const REJECT_TEXT[N_REJECTS - N_ANOMALIES] = {
    "late: older than the lateness bound",
    "no offered event for this contact (orphan)",
    "contact never ended (expired)",
    "contact contradicts itself (answered, abandoned or ended before offered)",
    "contact contradicts itself (talk or service ended before answered)",
    "ahead: more than max_ahead_s past its message's time",
    "ahead: more than max_ahead_s past the site's clock, and its next event is not",
};
inline bool unprefixed(uint8_t why) { return why == R_LATE || why == R_AHEAD || why == R_AHEAD_ALONE; }

// A rejected event, whole, for the dead-letter output.
struct DeadEv {
    uint8_t kind = 0, state = 0, priority = 0;
    bool vip = false, wrap_up = false, has_queues = false, has_caller = false;
    int64_t ts = 0;
    std::string id, cid, caller;
    int32_t queue = -1, agent = -1, counter = -1, reason = -1;
    std::vector<int32_t> queues;
};
struct DeadRec {
    uint8_t why;
    DeadEv ev;
};

struct QueueRow {
    int32_t queue;
    QStats st;
};
using ByQueue = std::vector<QueueRow>;

inline QStats& stats_in(ByQueue& rows, int32_t q, uint8_t variant) {
    for (auto& r : rows)
        if (r.queue == q) return r.st;
    rows.push_back(QueueRow{q, QStats(variant)});
    return rows.back().st;
}

struct Handled {
    int64_t n = 0;
    int64_t ms = 0;
};
using Days = std::unordered_map<int32_t, ByQueue>;                                // date -> queue -> sums
using Intervals = std::map<int64_t, ByQueue>;                                     // interval start -> queue -> sums
using AgentHandled = std::vector<Handled>;                     // agent name id -> handled (n 0: none)
using AgentDays = std::unordered_map<int32_t, AgentHandled>;  // date -> agent -> handled

// One agent's handling in one queue (site.py's fold_agent_leg): handled, handle, talk, wrap-up ms.
struct AgentQueueSums {
    int32_t agent;
    int32_t queue;
    int64_t n = 0, handle = 0, talk = 0, wrap = 0;
};
using AgentIvals = std::map<int64_t, std::vector<AgentQueueSums>>;  // interval start (handling's end) -> rows
using AgentStateIvals = std::map<int64_t, std::vector<std::pair<int32_t, std::vector<std::pair<int64_t, int64_t>>>>>;

struct WaitRow {
    int32_t queue;
    int64_t n = 0, oldest = FAR, n_vip = 0, vip_oldest = FAR;
};

// A queue's legs now, for wait prediction (site.py's queue_now): waiting (offered, class) in the
// order served, and being handled (offered, answered) by answered time.
// Logged-in and ready agents of one primary skill (Site::primary_counts).
struct PrimaryCount {
    int32_t queue;
    int32_t logged_in;
    int32_t ready;
};

struct QueueLegs {
    int32_t queue;
    std::vector<std::pair<int64_t, int64_t>> waiting;
    std::vector<std::pair<int64_t, int64_t>> serving;
};

// How long an agent must have been in a state to be asked for (interface.py's StateAges):
// the state's bar, or a not-ready reason's own (reason -1: none given).
struct StateAge {
    bool wanted = false;
    double base = 0;
    std::vector<std::pair<int32_t, double>> by_reason;
};

// One queue's logged-in agents by state (core.state_counts), reasons by first use.
struct StateCounts {
    int32_t queue;
    int64_t ready = 0, busy = 0, wrap_up = 0, not_ready = 0, logged_in = 0;
    std::vector<std::pair<int32_t, int64_t>> reasons;  // reason (-1: unspecified) -> agents
};

// Count a waiting leg in its queue's row (site.py's add_waiting).
inline void add_waiting(std::vector<WaitRow>& acc, const Leg& leg) {
    WaitRow* a = nullptr;
    for (auto& w : acc)
        if (w.queue == leg.queue) a = &w;
    if (a == nullptr) {
        acc.push_back(WaitRow{leg.queue});
        a = &acc.back();
    }
    ++a->n;
    if (leg.offered < a->oldest) a->oldest = leg.offered;
    if (leg.vip || leg.priority > 0) {
        ++a->n_vip;
        if (leg.offered < a->vip_oldest) a->vip_oldest = leg.offered;
    }
}

struct DueEntry {
    int64_t t;
    uint64_t seq;
    uint8_t kind;
    SmallStr cid;
};
struct DueLater {
    bool operator()(const DueEntry& a, const DueEntry& b) const { return a.t != b.t ? a.t > b.t : a.seq > b.seq; }
};

class Site {
  public:
    Site(Interner* names, Limits lim, CalendarSource cal_src, QueueSource qsrc)
        : names_(names), lim_(lim), qsrc_(qsrc) {
        cal.set_source(cal_src);
        // Duplicates must be recognised at least as long as events can be late.
        if (lim_.dedup_horizon < lim_.lateness) lim_.dedup_horizon = lim_.lateness;
    }
    ~Site() {
        for (Contact* c = head_[CALL]; c;) {
            Contact* n = c->next;
            delete c;
            c = n;
        }
        for (Contact* c = head_[TICKET]; c;) {
            Contact* n = c->next;
            delete c;
            c = n;
        }
        for (Agent* a : agent_order) delete a;
    }
    Site(const Site&) = delete;
    Site& operator=(const Site&) = delete;

    // -- what the binding reads ------------------------------------------------
    int64_t clock() const { return clock_; }
    int64_t watermark() const { return wm_; }
    int64_t events = 0;
    int64_t duplicates = 0;
    int64_t dead_dropped = 0;
    // Rejections by reason and kind (LATE has no kind: counted under kind 0).
    int64_t rejected[N_REJECTS][N_KINDS] = {};
    std::vector<DeadRec> dead;   // not yet handed to Python
    int64_t dead_len = 0;        // the length of the site's dead-letter list (Python's part included)
    std::vector<int32_t> queues_seen;
    std::vector<Agent*> agent_order;  // first seen first (Python's dict order)
    Calendar cal;

    int64_t rejected_count(uint8_t why, uint8_t kind) const { return rejected[why][kind]; }
    // The time the events folded next were logged at (a Kafka message's timestamp), NEVER: unknown.
    void set_reference(int64_t ms) { ref_ = ms; }

    const QParams& qp(int32_t q) {
        if (static_cast<size_t>(q) >= qparams_.size()) qparams_.resize(q + 1);
        QParams& p = qparams_[q];
        if (!p.known) {
            p = qsrc_.get(qsrc_.ctx, q);
            p.known = true;
        }
        return p;
    }
    Agent* agent(int32_t name) const {
        return static_cast<size_t>(name) < agents_.size() ? agents_[name] : nullptr;
    }

    // -- folding -----------------------------------------------------------------

    // Fold evs[i..n) in arrival order; stop at the first event of another site
    // (same_site) or stamped after `until`. Returns the index it stopped at.
    size_t fold(const ParsedEv* evs, size_t i, size_t n, const SV* qbase, bool same_site, SV site, int64_t until) {
        // The id and contact tables are larger than the caches: their slots for the event
        // AHEAD places on are loaded while this one folds (the hashes kept for then).
        constexpr size_t AHEAD = 8, RING = 16;
        uint64_t id_hash[RING], cid_hash[RING];
        size_t pre = i;
        auto load = [&](size_t k) {
            const ParsedEv& e = evs[k];
            uint64_t h = hash_sv(e.id);
            id_hash[k % RING] = h;
            seen_.prefetch(h);
            if (e.kind != AGENT_STATE) {
                uint64_t hc = hash_sv(e.cid);
                cid_hash[k % RING] = hc;
                book_[is_call_kind(e.kind) ? CALL : TICKET].prefetch(hc);
            } else {
                cid_hash[k % RING] = 0;
                // An agent's timeline: its object and its latest transition.
                int32_t nm = names_->find(e.agent);
                if (nm >= 0 && static_cast<size_t>(nm) < agents_.size() && agents_[nm] != nullptr) {
                    Agent* a = agents_[nm];
                    __builtin_prefetch(a);
                    if (!a->trans.empty()) __builtin_prefetch(&a->trans.back());
                }
            }
        };
        while (pre < n && pre < i + AHEAD) load(pre++);
        // Past this an event is judged first (ahead()): the reference's bound, or the clock's.
        const int64_t ma = lim_.max_ahead;
        const bool follow = ref_ == NEVER;
        int64_t ahead_at = follow ? (clock_ == NEVER ? FAR : clock_ + ma) : ref_ + ma;
        while (i < n) {
            const ParsedEv& ev = evs[i];
            if (same_site && !sv_eq(ev.site, site)) break;
            if (ev.ts > ahead_at && ahead(evs, i, n, qbase, same_site, site)) {
                if (pre < n) load(pre++);
                ++i;
                continue;
            }
            if (ev.ts > until) break;
            if (pre < n) load(pre++);
            fold_one(ev, qbase, id_hash[i % RING], cid_hash[i % RING]);
            if (follow && clock_ != NEVER) ahead_at = clock_ + ma;
            ++i;
        }
        return i;
    }

    // evs[i] is past the bound: quarantine it (true) or let it move the clock (site.py's _ahead).
    bool ahead(const ParsedEv* evs, size_t i, size_t n, const SV* qbase, bool same_site, SV site) {
        const ParsedEv& ev = evs[i];
        if (ref_ != NEVER) {
            reject_parsed(ev, qbase, R_AHEAD);
            return true;
        }
        size_t end = std::min(n, i + 1 + AHEAD_LOOK);
        for (size_t j = i + 1; j < end; ++j) {
            if ((same_site && !sv_eq(evs[j].site, site)) || sv_eq(evs[j].id, ev.id)) continue;  // a copy says nothing
            if (evs[j].ts < ev.ts - lim_.max_ahead) {
                reject_parsed(ev, qbase, R_AHEAD_ALONE);
                return true;
            }
            return false;
        }
        return false;
    }

    // Fold one event, given the hashes of its id and contact id (fold() has them).
    void fold_one(const ParsedEv& ev, const SV* qbase, uint64_t id_hash, uint64_t cid_hash) {
        int64_t ts = ev.ts;
        if (!seen_.add(ev.id.p, ev.id.n, ts, id_hash)) {
            ++duplicates;
            return;
        }
        if (ts < wm_) {
            reject_parsed(ev, qbase, R_LATE);
            return;
        }
        ++events;
        if (ts > clock_) {
            clock_ = ts;
            int64_t wm = ts - lim_.lateness;
            wm_ = wm;
            if (wm >= next_hk_ || next_due_ < wm) catch_up(wm);
        }
        if (ev.kind == AGENT_STATE) {
            fold_agent(ev, qbase);
            return;
        }
        uint8_t kind = is_call_kind(ev.kind) ? CALL : TICKET;
        uint64_t h = cid_hash;
        Contact* c = book_[kind].find(ev.cid.p, ev.cid.n, h);
        if (c == nullptr) {
            c = new Contact(kind, ev.cid, h);
            book_insert(c);
            open_add(c);
            c->add(stored(ev));
            if (tracking_) refile(c);
            if (!c->legs.empty()) {
                saw_queues(c);
            } else {
                // An event before its contact's offer: wait for the offer until the watermark passes.
                push_due(c->last_ts, kind, c->cid);
            }
            return;
        }
        if (c->sealed) {
            reject_parsed(ev, qbase, A_ALREADY_CLOSED);
            return;
        }
        bool opens_leg = ev.kind == CALL_OFFERED || ev.kind == TICKET_ISSUED || ev.kind == CALL_TRANSFERRED ||
                         ev.kind == TICKET_TRANSFERRED;
        if (c->add(stored(ev)) || opens_leg) saw_queues(c);
        if (tracking_)
            refile(c);
        else if (!c->old_legs.empty())
            c->old_legs.clear();
        if (c->done || c->contra) push_due(c->last_ts, kind, c->cid);
    }

    // Move the event-time clock to `now` (an event's time or a tick).
    void advance(int64_t now) {
        if (now <= clock_) return;
        clock_ = now;
        catch_up(now - lim_.lateness);
    }

    // End of input: seal every finished contact (the watermark moves just past the clock).
    void flush() {
        if (clock_ == NEVER) return;
        catch_up(clock_ + 1);
    }

    // -- figures -----------------------------------------------------------------

    // Day, interval and agent-day totals, sealed plus open contacts (site.py's totals).
    // `dates` (or all when null) limits the days and agent days; `bounds` ([b0, b1) per
    // date) the intervals copied; open legs add wherever they fall, as in the reference.
    void totals(const std::vector<int32_t>* dates, const std::vector<std::pair<int64_t, int64_t>>* bounds,
                Days& out_days, Intervals& out_int, AgentDays& out_agents) {
        auto wanted = [&](int32_t d) { return dates == nullptr || std::find(dates->begin(), dates->end(), d) != dates->end(); };
        for (const auto& kv : days_)
            if (wanted(kv.first)) out_days[kv.first] = kv.second;
        for (const auto& kv : intervals_) {
            bool keep = bounds == nullptr;
            if (!keep)
                for (const auto& b : *bounds)
                    if (b.first <= kv.first && kv.first < b.second) keep = true;
            if (keep) out_int[kv.first] = kv.second;
        }
        for (const auto& kv : agent_days_)
            if (wanted(kv.first)) out_agents[kv.first] = kv.second;
        for (Contact* c : open_)
            for (const Leg& leg : c->legs) fold_leg(leg, out_days, out_int, &out_agents);
        if (dates != nullptr) {
            for (auto it = out_days.begin(); it != out_days.end();) {
                if (!wanted(it->first))
                    it = out_days.erase(it);
                else
                    ++it;
            }
        }
    }

    // Agent sums per interval, sealed plus open (site.py's agent_interval_totals): each agent's
    // ms per label (spans up to `now`) and each (agent, queue)'s handling.
    // Only intervals starting in [since, until).
    // since/until at +-2^62: unbounded. Both go to interval bounds (site.py's agent_interval_totals).
    void agent_interval_totals(int64_t now, int64_t since, int64_t until, AgentStateIvals& states, AgentIvals& handled) {
        if (!lim_.agent_intervals) return;
        constexpr int64_t UNBOUNDED = int64_t(1) << 62;
        if (since > -UNBOUNDED) {
            int64_t s0 = cal.interval_start(since);
            since = s0 < since ? s0 + INTERVAL_MS : s0;
        }
        if (until < UNBOUNDED) until = cal.interval_start(until - 1) + INTERVAL_MS;
        if (since >= until) return;
        handled.insert(agent_ivals_.lower_bound(since), agent_ivals_.lower_bound(until));
        AgentIvals opened;
        for (Contact* c : open_)
            for (const Leg& leg : c->legs) fold_agent_leg(leg, opened);
        for (auto it = opened.lower_bound(since); it != opened.end() && it->first < until; ++it) {
            auto& into = handled[it->first];
            for (const AgentQueueSums& r : it->second) {
                AgentQueueSums* mine = nullptr;
                for (auto& x : into)
                    if (x.agent == r.agent && x.queue == r.queue) {
                        mine = &x;
                        break;
                    }
                if (mine == nullptr) {
                    into.push_back(r);
                } else {
                    mine->n += r.n;
                    mine->handle += r.handle;
                    mine->talk += r.talk;
                    mine->wrap += r.wrap;
                }
            }
        }
        for (Agent* a : agent_order) {
            IvalLabels t = a->interval_totals(now, cal, since, until);
            for (auto& kv : t) states[kv.first].emplace_back(a->name, std::move(kv.second));
        }
    }

    // What a snapshot reads of totals(): one date's day, one interval and the date's agents'
    // handled counts, sealed plus open contacts, without copying the rest of the day.
    void day_interval(int32_t date, int64_t interval, ByQueue& day, ByQueue& ival, AgentHandled& agents) {
        auto d = days_.find(date);
        if (d != days_.end()) day = d->second;
        auto iv = intervals_.find(interval);
        if (iv != intervals_.end()) ival = iv->second;
        auto ag = agent_days_.find(date);
        if (ag != agent_days_.end()) agents = ag->second;
        // Open legs land where they fall; what falls on this date and interval is added.
        Days od;
        Intervals oi;
        AgentDays oa;
        for (Contact* c : open_)
            for (const Leg& leg : c->legs) fold_leg(leg, od, oi, &oa);
        auto merge = [](ByQueue& into, ByQueue& from) {
            for (auto& r : from) {
                bool found = false;
                for (auto& x : into)
                    if (x.queue == r.queue) {
                        x.st.merge(r.st);
                        found = true;
                        break;
                    }
                if (!found) into.push_back(QueueRow{r.queue, std::move(r.st)});
            }
        };
        auto od_it = od.find(date);
        if (od_it != od.end()) merge(day, od_it->second);
        auto oi_it = oi.find(interval);
        if (oi_it != oi.end()) merge(ival, oi_it->second);
        auto oa_it = oa.find(date);
        if (oa_it != oa.end()) {
            const AgentHandled& more = oa_it->second;
            if (agents.size() < more.size()) agents.resize(more.size());
            for (size_t k = 0; k < more.size(); ++k) {
                agents[k].n += more[k].n;
                agents[k].ms += more[k].ms;
            }
        }
    }

    // Per window (minutes ascending), per queue: legs offered in (now - m, now]; AHT by handling end.
    // out[w] holds the cumulative sums of the rings up to window w (site.py's sliding).
    void sliding(int64_t now, const std::vector<int64_t>& minutes, bool percentiles, std::vector<ByQueue>& out) {
        size_t nw = minutes.size();
        std::vector<int64_t> starts(nw);
        for (size_t k = 0; k < nw; ++k) starts[k] = now - minutes[k] * 60000;
        std::vector<ByQueue> rings(nw);
        int64_t oldest = starts[nw - 1];
        for (uint8_t kind = CALL; kind <= TICKET; ++kind) {
            for (Contact* c = head_[kind]; c; c = c->next) {
                if (c->last_ts < oldest) continue;
                for (const Leg& leg : c->legs) fold_sliding(leg, starts, rings, now, percentiles);
            }
        }
        out.assign(nw, ByQueue());
        ByQueue acc;
        for (size_t k = 0; k < nw; ++k) {
            for (auto& r : rings[k]) {
                bool found = false;
                for (auto& a : acc) {
                    if (a.queue == r.queue) {
                        a.st.merge(r.st);
                        found = true;
                        break;
                    }
                }
                if (!found) acc.push_back(QueueRow{r.queue, r.st});
            }
            out[k] = acc;
        }
    }

    // Per queue: legs waiting now, the oldest one's offer, VIPs waiting (site.py's waiting).
    std::vector<WaitRow> waiting() const {
        std::vector<WaitRow> acc;
        for (Contact* c : open_)
            for (const Leg& leg : c->legs)
                if (leg.waiting()) add_waiting(acc, leg);
        return acc;
    }

    // Per queue: legs waiting and being handled now (site.py's queue_now).
    std::vector<QueueLegs> queue_now() const {
        std::vector<QueueLegs> acc;
        for (Contact* c : open_)
            for (const Leg& leg : c->legs) {
                if (leg.abandoned != NONE || leg.transferred != NONE) continue;
                QueueLegs* a = nullptr;
                for (auto& r : acc)
                    if (r.queue == leg.queue) a = &r;
                if (a == nullptr) {
                    acc.push_back(QueueLegs{leg.queue, {}, {}});
                    a = &acc.back();
                }
                if (leg.answered == NONE)
                    a->waiting.emplace_back(leg.offered, leg.priority > 0 ? leg.priority : (leg.vip ? 1 : 0));
                else if (leg.handle_end == NONE)
                    a->serving.emplace_back(leg.offered, leg.answered);
            }
        for (auto& r : acc) {
            std::sort(r.waiting.begin(), r.waiting.end(), [](const auto& x, const auto& y) {
                return x.second != y.second ? x.second > y.second : x.first < y.first;
            });
            std::sort(r.serving.begin(), r.serving.end(), [](const auto& x, const auto& y) {
                return x.second != y.second ? x.second < y.second : x.first < y.first;
            });
        }
        return acc;
    }

    // The agent with what the watermark passed sealed first (site.py's _sealed_agent).
    Agent* sealed_agent(int32_t name) {
        Agent* a = agent(name);
        if (a != nullptr && a->trans.size() > 2) a->seal(wm_, cal);
        return a;
    }

    size_t open_count() const { return open_.size(); }

    // -- live readings ----------------------------------------------------------------
    //
    // Off until a reader asks (Site::track; interface.py's keep_live): then every contact
    // change refiles its legs in the windows' buckets, and every agent event refiles the
    // agent in the per-queue state counts, the skills and the list of agents in the
    // listed states (windows.hpp). The figures are the same as by a scan.

    bool tracking() const { return tracking_; }

    // Start keeping the live readings (buckets of bucket_ms; agents in the states of
    // watched_mask listed), with everything the site holds filed now.
    void track(int64_t bucket_ms, uint32_t watched_mask) {
        if (tracking_) return;
        tracking_ = true;
        win_ = Windows(bucket_ms);
        watched_mask_ = watched_mask;
        for (uint8_t kind = CALL; kind <= TICKET; ++kind)
            for (Contact* c = head_[kind]; c; c = c->next) refile(c);
        for (Agent* a : agent_order) refile_agent(a);
    }
    int64_t bucket_ms() const { return win_.bucket_ms(); }

    // The windows of nb[w] buckets ending at `now` (a bucket edge), per queue; buckets older
    // than the longest window kept (span buckets) are forgotten first.
    void window_sums(int64_t now, const std::vector<int64_t>& nb, int64_t span, std::vector<ByQueue>& out) {
        int64_t k_now = now / win_.bucket_ms();
        win_.advance(k_now, span);
        std::vector<std::vector<std::pair<int32_t, QStats>>> sums;
        win_.sums(k_now, nb, sums);
        out.assign(sums.size(), ByQueue());
        for (size_t w = 0; w < sums.size(); ++w) {
            for (auto& p : sums[w]) {
                p.second.variant = qp(p.first).variant;
                out[w].push_back(QueueRow{p.first, std::move(p.second)});
            }
        }
    }

    // waiting(), from the contacts known to have had a waiting leg (a handful, not all open ones).
    std::vector<WaitRow> waiting_tracked() {
        std::vector<WaitRow> acc;
        size_t keep = 0;
        for (size_t i = 0; i < waiters_.size(); ++i) {
            Contact* c = waiters_[i];
            bool any = false;
            if (c->open_at >= 0) {
                for (const Leg& leg : c->legs) {
                    if (!leg.waiting()) continue;
                    any = true;
                    add_waiting(acc, leg);
                }
            }
            if (any)
                waiters_[keep++] = c;
            else
                c->waiter = false;
        }
        waiters_.resize(keep);
        return acc;
    }

    // Per queue, its logged-in agents by state (kept as agents change); the skills any agent has;
    // the logged-in agents in a listed state.
    const std::vector<StateCounts>& queue_counts() const { return counts_; }
    const std::vector<int32_t>& skills() const { return skill_list_; }
    const std::vector<Agent*>& listed() const { return watched_; }
    // Whether the agent has been in its state for longer than its bar (the reason's own, else
    // the state's), or is one of `also` (sorted ids).
    static bool past(const Agent* a, int64_t now, const StateAge* ages, const std::vector<int32_t>& also) {
        const StateAge& lv = ages[a->trans.back().state];
        if (!lv.wanted) return std::binary_search(also.begin(), also.end(), a->name);
        double t = static_cast<double>(now - a->state_since()) / 1000.0;
        double level = lv.base;
        for (const auto& r : lv.by_reason)
            if (r.first == a->trans.back().reason) level = r.second;
        return t > level || std::binary_search(also.begin(), also.end(), a->name);
    }
    // The listed agents past their bar, or in `also`; in no order.
    void listed_past(int64_t now, const StateAge* ages, const std::vector<int32_t>& also, std::vector<Agent*>& out) const {
        out.clear();
        for (Agent* a : watched_)
            if (past(a, now, ages, also)) out.push_back(a);
    }
    // Keep, of `agents`, those past their bar or in `also`, in their order.
    static void filter_past(int64_t now, const StateAge* ages, const std::vector<int32_t>& also, std::vector<Agent*>& agents) {
        size_t keep = 0;
        for (Agent* a : agents)
            if (past(a, now, ages, also)) agents[keep++] = a;
        agents.resize(keep);
    }


    // The counters staffed by a logged-in agent, with that agent's state (the later agent wins).
    void staffed(std::vector<std::pair<int32_t, uint8_t>>& out) const {
        out.clear();
        for (const Agent* a : agent_order) {
            if (a->counter < 0) continue;
            uint8_t st = a->trans.back().state;
            if (st == LOGGED_OUT) continue;
            bool found = false;
            for (auto& s : out)
                if (s.first == a->counter) {
                    s.second = st;
                    found = true;
                }
            if (!found) out.emplace_back(a->counter, st);
        }
    }

    // The agents by queue and state by a scan, without a row per agent: per queue the
    // logged-in agents by state (an agent once in each of its distinct skills), every
    // skill of any agent (logged out included, as Floor._queue_names counts them), and the
    // counters staffed by a logged-in agent with that agent's state (the later agent wins).
    // Per primary skill (an agent's first), its logged-in and ready agents as (queue, logged in,
    // ready), queues in first-counted order (site.py's primary_counts).
    void primary_counts(std::vector<PrimaryCount>& out) const {
        out.clear();
        for (const Agent* a : agent_order) {
            const Trans& t = a->trans.back();
            if (t.state == LOGGED_OUT || a->queues.empty()) continue;
            PrimaryCount* c = nullptr;
            for (auto& x : out)
                if (x.queue == a->queues[0]) c = &x;
            if (c == nullptr) {
                out.push_back(PrimaryCount{a->queues[0], 0, 0});
                c = &out.back();
            }
            ++c->logged_in;
            if (t.state == READY) ++c->ready;
        }
    }

    void agent_overview(std::vector<StateCounts>& counts, std::vector<int32_t>& skills,
                        std::vector<std::pair<int32_t, uint8_t>>& staffed) {
        counts.clear();
        skills.clear();
        staffed.clear();
        std::vector<int32_t> distinct;
        for (const Agent* a : agent_order) {
            const Trans& t = a->trans.back();
            distinct.clear();
            for (int32_t q : a->queues)
                if (std::find(distinct.begin(), distinct.end(), q) == distinct.end()) distinct.push_back(q);
            for (int32_t q : distinct) {
                if (static_cast<size_t>(q) >= skill_mark_.size()) skill_mark_.resize(q + 1, 0);
                if (skill_mark_[q] != overview_no_ + 1) {
                    skill_mark_[q] = overview_no_ + 1;
                    skills.push_back(q);
                }
            }
            if (t.state == LOGGED_OUT) continue;
            for (int32_t q : distinct) {
                StateCounts* c = nullptr;
                for (auto& x : counts)
                    if (x.queue == q) c = &x;
                if (c == nullptr) {
                    counts.push_back(StateCounts{q});
                    c = &counts.back();
                }
                ++c->logged_in;
                switch (t.state) {
                    case READY: ++c->ready; break;
                    case BUSY: ++c->busy; break;
                    case WRAP_UP: ++c->wrap_up; break;
                    case NOT_READY: {
                        ++c->not_ready;
                        bool found = false;
                        for (auto& r : c->reasons)
                            if (r.first == t.reason) {
                                ++r.second;
                                found = true;
                            }
                        if (!found) c->reasons.emplace_back(t.reason, 1);
                        break;
                    }
                    default: break;
                }
            }
            if (a->counter >= 0) {
                bool found = false;
                for (auto& s : staffed)
                    if (s.first == a->counter) {
                        s.second = t.state;
                        found = true;
                    }
                if (!found) staffed.emplace_back(a->counter, t.state);
            }
        }
        ++overview_no_;
    }

  private:
    // -- contacts ------------------------------------------------------------------

    CEv stored(const ParsedEv& ev) {
        CEv e(ev.ts, ev.id, ev.kind);
        switch (ev.kind) {
            case CALL_OFFERED:
            case TICKET_ISSUED:
                e.queue = names_->intern(ev.queue);
                e.priority = ev.priority;
                e.vip = ev.vip;
                if (ev.caller.present()) e.caller.reset(new std::string(ev.caller.p, ev.caller.n));
                break;
            case CALL_TRANSFERRED:
                e.queue = names_->intern(ev.queue);
                e.wrap_up = ev.wrap_up;
                break;
            case TICKET_TRANSFERRED:
                e.queue = names_->intern(ev.queue);
                break;
            case CALL_ANSWERED:
            case WRAP_UP_ENDED:
                e.agent = names_->intern_opt(ev.agent);
                break;
            case TICKET_CALLED:
                e.agent = names_->intern_opt(ev.agent);
                e.counter = names_->intern(ev.counter);
                break;
            case CALL_ENDED:
                e.wrap_up = ev.wrap_up;
                break;
            default:
                break;
        }
        return e;
    }

    void book_insert(Contact* c) {
        book_[c->kind].insert(c);
        c->prev = tail_[c->kind];
        c->next = nullptr;
        if (tail_[c->kind])
            tail_[c->kind]->next = c;
        else
            head_[c->kind] = c;
        tail_[c->kind] = c;
    }
    void book_erase(Contact* c) {
        book_[c->kind].erase(c);
        if (c->prev)
            c->prev->next = c->next;
        else
            head_[c->kind] = c->next;
        if (c->next)
            c->next->prev = c->prev;
        else
            tail_[c->kind] = c->prev;
    }
    void open_add(Contact* c) {
        c->open_at = static_cast<int32_t>(open_.size());
        open_.push_back(c);
    }
    void open_discard(Contact* c) {
        if (c->open_at < 0) return;
        Contact* last = open_.back();
        open_[c->open_at] = last;
        last->open_at = c->open_at;
        open_.pop_back();
        c->open_at = -1;
    }

    void saw_queues(const Contact* c) {
        for (const Leg& leg : c->legs) see_queue(leg.queue);
    }
    void see_queue(int32_t q) {
        if (static_cast<size_t>(q) >= seen_queue_.size()) seen_queue_.resize(q + 1, false);
        if (!seen_queue_[q]) {
            seen_queue_[q] = true;
            queues_seen.push_back(q);
        }
    }

    void push_due(int64_t t, uint8_t kind, const SmallStr& cid) {
        ++seq_;
        if (t >= due_last_ || due_head_ == due_.size()) {
            due_.push_back(DueEntry{t, seq_, kind, cid});
            due_last_ = t;
        } else {
            heap_.push_back(DueEntry{t, seq_, kind, cid});
            std::push_heap(heap_.begin(), heap_.end(), DueLater());
        }
        if (t < next_due_) next_due_ = t;
    }

    // Set the watermark to `wm`: seal what it passed, housekeep when due (site.py's _catch_up).
    void catch_up(int64_t wm) {
        wm_ = wm;
        while (true) {
            DueEntry e;
            bool from_list = due_head_ < due_.size();
            bool from_heap = !heap_.empty();
            if (from_list && (!from_heap || due_[due_head_].t < heap_.front().t ||
                              (due_[due_head_].t == heap_.front().t && due_[due_head_].seq < heap_.front().seq))) {
                if (due_[due_head_].t >= wm) break;
                e = std::move(due_[due_head_]);
                ++due_head_;
            } else if (from_heap && heap_.front().t < wm) {
                std::pop_heap(heap_.begin(), heap_.end(), DueLater());
                e = std::move(heap_.back());
                heap_.pop_back();
            } else {
                break;
            }
            Contact* c = book_[e.kind].find(e.cid.data(), e.cid.size(), hash_bytes(e.cid.data(), e.cid.size()));
            if (c == nullptr || c->sealed) continue;
            if (c->last_ts >= wm)
                push_due(c->last_ts, e.kind, c->cid);
            else if (c->contra)
                drop(c, static_cast<uint8_t>(R_CONTRA + c->contra - 1));  // nothing can come now to explain it
            else if (c->done)
                seal(c);
            else if (c->legs.empty())
                drop(c, R_ORPHAN);
        }
        if (due_head_ > 4096 && due_head_ * 2 > due_.size()) {
            due_.erase(due_.begin(), due_.begin() + due_head_);
            due_head_ = 0;
        }
        int64_t nxt = FAR;
        if (due_head_ < due_.size()) {
            nxt = due_[due_head_].t;
            if (!heap_.empty() && heap_.front().t < nxt) nxt = heap_.front().t;
        } else if (!heap_.empty()) {
            nxt = heap_.front().t;
        }
        next_due_ = nxt;
        if (wm >= next_hk_) housekeep(wm);
    }

    void seal(Contact* c) {
        c->sealed = true;
        open_discard(c);
        // A sealed contact never changes again: its legs go into the totals now. (The
        // reference core keeps them aside until figures are asked for, then adds them;
        // sums are the same in any order, and it adds them before any trim could cut
        // where they land, so the totals are the same at every moment.)
        for (const Leg& leg : c->legs) fold_leg(leg, days_, intervals_, &agent_days_);
        if (lim_.agent_intervals)
            for (const Leg& leg : c->legs) fold_agent_leg(leg, agent_ivals_);
        for (const AnomalyRec& a : c->anomalies) reject_stored(c, c->events[a.ev], a.what);
        sealed_q_.push_back(c);
        // The events are no longer needed once sealed; the legs keep the figures.
        std::vector<CEv>().swap(c->events);
        std::vector<AnomalyRec>().swap(c->anomalies);
    }

    void drop(Contact* c, uint8_t why) {
        if (tracking_) {
            // The site lets it go unfinished: what it filed goes too.
            for (Leg& lg : c->legs) unfile_leg(lg);
            for (Leg& lg : c->old_legs) unfile_leg(lg);
        }
        if (c->waiter) unwait(c);
        open_discard(c);
        book_erase(c);
        c->dropped = true;
        for (const CEv& e : c->events) reject_stored(c, e, why);
        delete c;
    }

    void count_reject(uint8_t why, uint8_t kind) { ++rejected[why][unprefixed(why) ? 0 : kind]; }

    bool keep_dead() {
        if (dead_len < lim_.dead_letters) {
            ++dead_len;
            return true;
        }
        ++dead_dropped;
        return false;
    }

    void reject_parsed(const ParsedEv& ev, const SV* qbase, uint8_t why) {
        count_reject(why, ev.kind);
        if (!keep_dead()) return;
        DeadRec r{why, DeadEv()};
        DeadEv& d = r.ev;
        d.kind = ev.kind;
        d.ts = ev.ts;
        d.id.assign(ev.id.p, ev.id.n);
        if (ev.cid.present()) d.cid.assign(ev.cid.p, ev.cid.n);
        d.queue = names_->intern_opt(ev.queue);
        d.agent = names_->intern_opt(ev.agent);
        d.counter = names_->intern_opt(ev.counter);
        d.reason = names_->intern_opt(ev.reason);
        d.state = ev.state;
        d.priority = ev.priority;
        d.vip = ev.vip;
        d.wrap_up = ev.wrap_up;
        if (ev.caller.present()) {
            d.has_caller = true;
            d.caller.assign(ev.caller.p, ev.caller.n);
        }
        d.has_queues = ev.has_queues;
        for (uint32_t k = 0; k < ev.q_n; ++k) d.queues.push_back(names_->intern(qbase[ev.q_off + k]));
        dead.push_back(std::move(r));
    }

    void reject_stored(const Contact* c, const CEv& e, uint8_t why) {
        count_reject(why, e.kind);
        if (!keep_dead()) return;
        DeadRec r{why, DeadEv()};
        DeadEv& d = r.ev;
        d.kind = e.kind;
        d.ts = e.ts;
        d.id.assign(e.id.data(), e.id.size());
        d.cid.assign(c->cid.data(), c->cid.size());
        d.queue = e.queue;
        d.agent = e.agent;
        d.counter = e.counter;
        d.priority = e.priority;
        d.vip = e.vip;
        d.wrap_up = e.wrap_up;
        if (e.caller) {
            d.has_caller = true;
            d.caller = *e.caller;
        }
        dead.push_back(std::move(r));
    }

    // -- the live windows' filing ------------------------------------------------------

    void refile(Contact* c) {
        if (!c->old_legs.empty()) {
            // A replay (an event out of order) rebuilt the legs: the old ones' records go.
            for (Leg& lg : c->old_legs) unfile_leg(lg);
            c->old_legs.clear();
        }
        for (Leg& lg : c->legs) refile_leg(lg, c);
    }

    void unfile_leg(Leg& lg) {
        if (!lg.f.filed) return;
        win_.file(lg.f.k, lg.queue, lg.f.what, lg.f.ms, -1);
        if (lg.f.hk != NO_RECORD) win_.file(lg.f.hk, lg.queue, C_HANDLED, lg.f.hms, -1);
        lg.f.filed = false;
    }

    // File what the leg adds to the windows now, in place of what it filed before:
    // a main record in the bucket of its offer, and once
    // handled, a handled record in the bucket its handling ended.
    void refile_leg(Leg& lg, Contact* c) {
        LegRecord r = record_of(lg, qp(lg.queue), ALL);
        int64_t k = win_.bucket_of(lg.offered);
        uint8_t what = r.what;
        int64_t ms = r.ms, hms = r.hms;
        int64_t hk = r.handled_at != NONE ? win_.bucket_of(r.handled_at) : NO_RECORD;
        if (what == C_WAITING && !c->waiter) {
            c->waiter = true;
            waiters_.push_back(c);
        }
        LegFiling& f = lg.f;
        if (f.filed) {
            if (f.k != k || f.what != what || f.ms != ms) {
                win_.file(f.k, lg.queue, f.what, f.ms, -1);
                win_.file(k, lg.queue, what, ms, 1);
            } else if (f.hk == hk && f.hms == hms) {
                return;  // an event that moved nothing in the windows (a hold, a talk end)
            }
            if (f.hk != hk || f.hms != hms) {
                if (f.hk != NO_RECORD) win_.file(f.hk, lg.queue, C_HANDLED, f.hms, -1);
                if (hk != NO_RECORD) win_.file(hk, lg.queue, C_HANDLED, hms, 1);
            }
        } else {
            win_.file(k, lg.queue, what, ms, 1);
            if (hk != NO_RECORD) win_.file(hk, lg.queue, C_HANDLED, hms, 1);
            f.filed = true;
        }
        f.k = k;
        f.what = what;
        f.ms = ms;
        f.hk = hk;
        f.hms = hms;
    }

    void unwait(Contact* c) {
        auto it = std::find(waiters_.begin(), waiters_.end(), c);
        if (it != waiters_.end()) {
            *it = waiters_.back();
            waiters_.pop_back();
        }
        c->waiter = false;
    }

    StateCounts& counts_of(int32_t q) {
        if (static_cast<size_t>(q) >= count_at_.size()) count_at_.resize(q + 1, -1);
        if (count_at_[q] < 0) {
            count_at_[q] = static_cast<int32_t>(counts_.size());
            counts_.push_back(StateCounts{q});
        }
        return counts_[count_at_[q]];
    }

    static void count_state(StateCounts& c, uint8_t state, int32_t reason, int sign) {
        switch (state) {
            case READY: c.ready += sign; break;
            case BUSY: c.busy += sign; break;
            case WRAP_UP: c.wrap_up += sign; break;
            case NOT_READY: {
                c.not_ready += sign;
                for (size_t i = 0; i < c.reasons.size(); ++i) {
                    if (c.reasons[i].first == reason) {
                        c.reasons[i].second += sign;
                        if (c.reasons[i].second == 0) c.reasons.erase(c.reasons.begin() + i);
                        return;
                    }
                }
                c.reasons.emplace_back(reason, sign);
                break;
            }
            default: break;
        }
    }

    void skill(int32_t q, int sign) {
        if (static_cast<size_t>(q) >= skill_n_.size()) skill_n_.resize(q + 1, 0);
        skill_n_[q] += sign;
        if (sign > 0 && skill_n_[q] == 1) {
            skill_list_.push_back(q);
        } else if (sign < 0 && skill_n_[q] == 0) {
            skill_list_.erase(std::find(skill_list_.begin(), skill_list_.end(), q));
        }
    }

    // Count the agent where it is now, in place of where it was counted.
    void refile_agent(Agent* a) {
        const Trans& t = a->trans.back();
        qbuf_.clear();
        for (int32_t q : a->queues)
            if (std::find(qbuf_.begin(), qbuf_.end(), q) == qbuf_.end()) qbuf_.push_back(q);
        if (a->filed) {
            if (a->f_state == t.state && a->f_reason == t.reason && a->f_distinct == qbuf_) return;
            for (int32_t q : a->f_distinct) {
                skill(q, -1);
                if (a->f_state != LOGGED_OUT) {
                    StateCounts& c = counts_of(q);
                    --c.logged_in;
                    count_state(c, a->f_state, a->f_reason, -1);
                }
            }
        }
        for (int32_t q : qbuf_) {
            skill(q, 1);
            if (t.state != LOGGED_OUT) {
                StateCounts& c = counts_of(q);
                ++c.logged_in;
                count_state(c, t.state, t.reason, 1);
            }
        }
        a->filed = true;
        a->f_state = t.state;
        a->f_reason = t.reason;
        a->f_distinct = qbuf_;
        bool watch = t.state != LOGGED_OUT && ((watched_mask_ >> t.state) & 1);
        if (watch && a->watched_at < 0) {
            a->watched_at = static_cast<int32_t>(watched_.size());
            watched_.push_back(a);
        } else if (!watch && a->watched_at >= 0) {
            Agent* last = watched_.back();
            watched_[a->watched_at] = last;
            last->watched_at = a->watched_at;
            watched_.pop_back();
            a->watched_at = -1;
        }
    }

    // -- agents ----------------------------------------------------------------------

    void fold_agent(const ParsedEv& ev, const SV* qbase) {
        int32_t nm = names_->intern(ev.agent);
        Agent* a = agent(nm);
        if (a == nullptr) {
            a = new Agent(nm);
            a->keep_ivals = lim_.agent_intervals;
            if (static_cast<size_t>(nm) >= agents_.size()) agents_.resize(nm + 1, nullptr);
            agents_[nm] = a;
            agent_order.push_back(a);
        }
        qbuf_.clear();
        for (uint32_t k = 0; k < ev.q_n; ++k) qbuf_.push_back(names_->intern(qbase[ev.q_off + k]));
        a->add(ev.ts, ev.id, ev.state, names_->intern_opt(ev.reason), qbuf_.data(), static_cast<uint32_t>(qbuf_.size()),
               ev.has_queues, names_->intern_opt(ev.counter));
        if (tracking_) refile_agent(a);
        if (a->trans.size() > AGENT_SEAL_AT) a->seal(wm_, cal);
    }

    // -- totals ------------------------------------------------------------------------

    void fold_leg(const Leg& leg, Days& days, Intervals& intervals, AgentDays* agent_days) {
        int32_t q = leg.queue;
        QParams p = qp(q);
        int64_t offered = leg.offered;
        int32_t d = cal.date_of(offered);
        int64_t i0 = cal.interval_start(offered);
        QStats& ds = stats_in(days[d], q, p.variant);
        QStats& ist = stats_in(intervals[i0], q, p.variant);
        LegRecord r = record_of(leg, p, ALL);
        ds.add_outcome(r.what, r.ms);
        ist.add_outcome(r.what, r.ms);
        if (r.handled_at != NONE) {
            ds.add_handled(r.hms);
            // Intervals take handle time when the handling ended (metrics.md: AHT).
            stats_in(intervals[cal.interval_start(r.handled_at)], q, p.variant).add_handled(r.hms);
            if (agent_days != nullptr && leg.agent >= 0) {
                AgentHandled& ah = (*agent_days)[d];
                if (static_cast<size_t>(leg.agent) >= ah.size()) ah.resize(leg.agent + 1);
                Handled& h = ah[leg.agent];
                ++h.n;
                h.ms += r.hms;
            }
        }
    }

    // What a leg adds to a window, as it stands at `now` (metrics.md, "Windows"): its main
    // record, counted at its offer (offered, and the outcome it reached by `now`), and once its
    // handling ended by `now`, its handled record. The one rule of the day and interval
    // totals (now = ALL: a sealed contact), the scanned windows and the live buckets.
    struct LegRecord {
        uint8_t what = C_WAITING;
        int64_t ms = 0;  // the wait of an answered or abandoned leg
        int64_t handled_at = NONE;
        int64_t hms = 0;  // its handle time
    };
    static constexpr int64_t ALL = INT64_MAX;
    static LegRecord record_of(const Leg& leg, const QParams& p, int64_t now) {
        LegRecord r;
        if (leg.answered != NONE && leg.answered <= now) {
            r.ms = leg.answered - leg.offered;
            r.what = QStats::answered_as(r.ms, p.t_ms);
            if (leg.handle_end != NONE && leg.handle_end <= now) {
                r.handled_at = leg.handle_end;
                r.hms = leg.handle_end - leg.answered;
            }
        } else if (leg.abandoned != NONE && leg.abandoned <= now) {
            r.ms = leg.abandoned - leg.offered;
            r.what = QStats::abandoned_as(r.ms, p.short_ms);
        } else if (leg.transferred != NONE && leg.transferred <= now) {
            r.what = C_TRANSFERRED;
        }
        return r;
    }

    void fold_agent_leg(const Leg& leg, AgentIvals& table) {
        if (leg.handle_end == NONE || leg.answered == NONE || leg.agent < 0) return;
        int64_t he = leg.handle_end;
        int64_t te = leg.talk_end != NONE ? leg.talk_end : he;
        auto& rows = table[cal.interval_start(he)];
        AgentQueueSums* r = nullptr;
        for (auto& x : rows)
            if (x.agent == leg.agent && x.queue == leg.queue) {
                r = &x;
                break;
            }
        if (r == nullptr) {
            rows.push_back(AgentQueueSums{leg.agent, leg.queue});
            r = &rows.back();
        }
        ++r->n;
        r->handle += he - leg.answered;
        r->talk += te - leg.answered;
        r->wrap += he - te;
    }

    void fold_sliding(const Leg& leg, const std::vector<int64_t>& starts, std::vector<ByQueue>& rings, int64_t now,
                      bool percentiles) {
        QParams p = qp(leg.queue);
        LegRecord r = record_of(leg, p, now);
        if (leg.offered <= now) {
            QStats* qs = ring_stats(rings, starts, leg.offered, leg.queue, p.variant);
            if (qs != nullptr) qs->add_outcome(r.what, r.ms, percentiles);
        }
        if (r.handled_at != NONE) {
            QStats* qs = ring_stats(rings, starts, r.handled_at, leg.queue, p.variant);
            if (qs != nullptr) qs->add_handled(r.hms);
        }
    }

    static QStats* ring_stats(std::vector<ByQueue>& rings, const std::vector<int64_t>& starts, int64_t t, int32_t q,
                              uint8_t variant) {
        size_t i = 0, n = starts.size();
        while (i < n && t <= starts[i]) ++i;
        if (i == n) return nullptr;
        return &stats_in(rings[i], q, variant);
    }

    // -- housekeeping --------------------------------------------------------------------

    void housekeep(int64_t wm) {
        next_hk_ = wm + HOUSEKEEP_EVERY;
        // Contacts leave memory an hour after the watermark passed them (sliding windows).
        int64_t horizon = wm - HOUR_MS;
        while (!sealed_q_.empty() && sealed_q_.front()->last_ts < horizon) {
            Contact* c = sealed_q_.front();
            sealed_q_.pop_front();
            if (sealed_q_.size() > 4) __builtin_prefetch(sealed_q_[4]);
            if (c->waiter) unwait(c);
            book_erase(c);
            delete c;
        }
        // Forget ids older than the dedup horizon, a block at a time.
        seen_.expire(wm - lim_.dedup_horizon);
        int64_t stale = wm - lim_.max_open;
        if (stale > expiry_floor_) {
            std::vector<Contact*> gone;
            for (Contact* c : open_)
                if (c->last_ts < stale) gone.push_back(c);
            // Oldest first, then calls before tickets, by id (site.py's _expiry_order).
            std::sort(gone.begin(), gone.end(), [](const Contact* a, const Contact* b) {
                if (a->last_ts != b->last_ts) return a->last_ts < b->last_ts;
                if (a->kind != b->kind) return a->kind < b->kind;
                return a->cid.cmp(b->cid) < 0;
            });
            for (Contact* c : gone) drop(c, R_EXPIRED);
            // Until the next scan can drop something, skip it: an open contact keeps
            // its last_ts (it only grows); one opened later starts at or after this watermark.
            int64_t floor = wm;
            if (!open_.empty()) {
                floor = open_[0]->last_ts;
                for (Contact* c : open_) floor = std::min(floor, c->last_ts);
            }
            expiry_floor_ = floor;
            if (wm < expiry_floor_) expiry_floor_ = wm;
        }
        if (lim_.keep_days >= 0 || lim_.keep_interval_days >= 0) trim(wm);
    }

    void trim(int64_t wm) {
        int64_t start = cal.day(wm).start;
        if (lim_.keep_interval_days >= 0) {
            int64_t cut = start - lim_.keep_interval_days * 24 * HOUR_MS;
            intervals_.erase(intervals_.begin(), intervals_.lower_bound(cut));
            if (lim_.agent_intervals) {
                agent_ivals_.erase(agent_ivals_.begin(), agent_ivals_.lower_bound(cut));
                for (Agent* a : agent_order) a->ivals.erase(a->ivals.begin(), a->ivals.lower_bound(cut));
            }
        }
        if (lim_.keep_days >= 0) {
            int64_t cut_start = cal.day(start - lim_.keep_days * 24 * HOUR_MS).start;
            // A date is before the cut date exactly when its local midnight is.
            for (auto it = days_.begin(); it != days_.end();) {
                if (date_start(it->first) < cut_start) {
                    agent_days_.erase(it->first);
                    it = days_.erase(it);
                } else {
                    ++it;
                }
            }
        }
    }

  public:
    // The local midnight of an interned date, as the calendar met it (for trims).
    std::unordered_map<int32_t, int64_t> date_starts;

  private:
    int64_t date_start(int32_t date) const {
        auto it = date_starts.find(date);
        return it == date_starts.end() ? NEVER : it->second;
    }

    Interner* names_;
    Limits lim_;
    QueueSource qsrc_;
    std::vector<QParams> qparams_;
    int64_t clock_ = NEVER;
    int64_t wm_ = NEVER;
    int64_t ref_ = NEVER;  // set_reference
    int64_t next_hk_ = NEVER;
    int64_t expiry_floor_ = NEVER;

    SeenIds seen_;
    PtrTable<Contact> book_[2];
    Contact* head_[2] = {nullptr, nullptr};
    Contact* tail_[2] = {nullptr, nullptr};
    std::vector<Contact*> open_;

    std::vector<DueEntry> due_;
    size_t due_head_ = 0;
    int64_t due_last_ = NEVER;
    std::vector<DueEntry> heap_;
    uint64_t seq_ = 0;
    int64_t next_due_ = FAR;
    std::deque<Contact*> sealed_q_;

    std::vector<Agent*> agents_;  // by name id (names are interned: small integers)
    std::vector<int32_t> qbuf_;
    std::vector<bool> seen_queue_;
    std::vector<uint32_t> skill_mark_;  // skills listed by the overview numbered overview_no_ + 1
    uint32_t overview_no_ = 0;

    // The live readings (track()).
    bool tracking_ = false;
    Windows win_;
    uint32_t watched_mask_ = 0;
    std::vector<Contact*> waiters_;
    std::vector<StateCounts> counts_;
    std::vector<int32_t> count_at_;  // queue -> its index in counts_, -1: none yet
    std::vector<int64_t> skill_n_;   // queue -> agents having it
    std::vector<int32_t> skill_list_;
    std::vector<Agent*> watched_;

    Days days_;
    Intervals intervals_;
    AgentDays agent_days_;
    AgentIvals agent_ivals_;  // under lim_.agent_intervals
};

}  // namespace fw
