// One agent's (or counter clerk's) state timeline (stream/fold/agent.py).
//
// Transitions are kept sorted by (ts, id); one out of order is inserted where
// it belongs. Segments older than the watermark are sealed into per-day totals
// by state label ("busy", "not_ready:lunch") and their transitions dropped,
// so memory stays small however long the day. The rules, including when
// sealing happens, are the reference core's.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "calendar.hpp"
#include "event.hpp"
#include "seen.hpp"
#include "strings.hpp"

namespace fw {

struct Trans {
    int64_t ts;
    SmallStr id;
    uint8_t state;
    int32_t reason;  // interned, -1: none
};

// A state label: the state, with its reason for not_ready ("not_ready:<reason>").
inline int64_t label_of(uint8_t state, int32_t reason) {
    if (state == NOT_READY && reason >= 0) return (static_cast<int64_t>(reason) + 1) << 8 | state;
    return state;
}
inline uint8_t label_state(int64_t label) { return static_cast<uint8_t>(label & 0xFF); }
inline int32_t label_reason(int64_t label) { return static_cast<int32_t>((label >> 8) - 1); }  // -1: none

// ms per label for one local date.
struct DayLabels {
    int32_t date;
    std::vector<std::pair<int64_t, int64_t>> ms;  // (label, ms), first use first

    void add(int64_t label, int64_t d) {
        for (auto& p : ms) {
            if (p.first == label) {
                p.second += d;
                return;
            }
        }
        ms.emplace_back(label, d);
    }
};

inline DayLabels& day_labels(std::vector<DayLabels>& days, int32_t date) {
    for (auto& d : days)
        if (d.date == date) return d;
    days.push_back(DayLabels{date, {}});
    return days.back();
}

// Add [t0, t1) in `label` to `days`, split at local midnights so each day gets its share.
inline void add_span(std::vector<DayLabels>& days, Calendar& cal, int64_t label, int64_t t0, int64_t t1) {
    while (t0 < t1) {
        DayInfo d = cal.day(t0);
        int64_t seg_end = std::min(t1, d.end);
        day_labels(days, d.date).add(label, seg_end - t0);
        t0 = seg_end;
    }
}

// ms per label per 15-minute interval (interval start -> (label, ms), first use first).
using IvalLabels = std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>>;

// Add [t0, t1) in `label` to `ivals`, split at interval bounds (agent.py's _add_ival_span).
inline void add_ival_span(IvalLabels& ivals, Calendar& cal, int64_t label, int64_t t0, int64_t t1) {
    while (t0 < t1) {
        int64_t start = cal.interval_start(t0);
        int64_t seg_end = std::min(t1, start + INTERVAL_MS);
        auto& ms = ivals[start];
        bool found = false;
        for (auto& p : ms)
            if (p.first == label) {
                p.second += seg_end - t0;
                found = true;
                break;
            }
        if (!found) ms.emplace_back(label, seg_end - t0);
        t0 = seg_end;
    }
}

struct Agent {
    int32_t name;
    std::vector<Trans> trans;  // sorted by (ts, id); never empty once added to
    int64_t base_since = NONE_TS;
    std::vector<DayLabels> days;  // sealed
    std::vector<int32_t> queues;  // skills, as given (duplicates kept)
    int64_t qts = -1;
    int32_t counter = -1;
    int64_t cts = -1;
    uint64_t version = 0;  // changes with every event added (state, since, skills, counter may have)
    // What the live readings counted it as (site.hpp's agent filing): state, reason, distinct skills.
    bool filed = false;
    uint8_t f_state = LOGGED_OUT;
    int32_t f_reason = -1;
    std::vector<int32_t> f_distinct;
    int32_t watched_at = -1;  // position in the site's watched list
    // Sealed ms per interval and label, kept only when the site asks (Limits::agent_intervals).
    bool keep_ivals = false;
    IvalLabels ivals;

    static constexpr int64_t NONE_TS = INT64_MIN;

    explicit Agent(int32_t n) : name(n) {}

    // One agent_state event: time, id, state, reason; its skills and counter when given.
    void add(int64_t ts, SV id, uint8_t state, int32_t reason, const int32_t* qs, uint32_t nq, bool has_queues,
             int32_t ctr) {
        ++version;
        if (trans.empty() || ts > trans.back().ts || (ts == trans.back().ts && trans.back().id.cmp(id.p, id.n) < 0)) {
            trans.push_back(Trans{ts, SmallStr(id), state, reason});
        } else {
            // bisect_left on (ts, id): the first transition not before the new one.
            auto it = std::lower_bound(trans.begin(), trans.end(), 0, [&](const Trans& t, int) {
                return t.ts < ts || (t.ts == ts && t.id.cmp(id.p, id.n) < 0);
            });
            trans.insert(it, Trans{ts, SmallStr(id), state, reason});
        }
        if (has_queues && ts >= qts) {
            queues.assign(qs, qs + nq);
            qts = ts;
        }
        if (ctr >= 0 && ts >= cts) {
            counter = ctr;
            cts = ts;
        } else if (state == LOGGED_OUT && ts >= cts) {
            counter = -1;
            cts = ts;
        }
    }

    // Fold the segments that end before `watermark` into the day totals (agent.py's seal).
    void seal(int64_t watermark, Calendar& cal) {
        // trans[1..n] are the transitions older than the watermark.
        auto it = std::lower_bound(trans.begin() + 1, trans.end(), watermark,
                                   [](const Trans& t, int64_t w) { return t.ts < w; });
        int64_t n = (it - trans.begin()) - 1;
        if (n <= 0) return;
        int64_t t0 = trans[0].ts;
        uint8_t st = trans[0].state;
        int32_t rs = trans[0].reason;
        int64_t since = base_since != NONE_TS ? base_since : t0;
        for (int64_t i = 1; i <= n; ++i) {
            const Trans& e = trans[i];
            add_span(days, cal, label_of(st, rs), t0, e.ts);
            if (e.state != st || e.reason != rs) since = e.ts;
            t0 = e.ts;
            st = e.state;
            rs = e.reason;
        }
        base_since = since;
        if (keep_ivals)
            for (int64_t i = 1; i <= n; ++i)
                add_ival_span(ivals, cal, label_of(trans[i - 1].state, trans[i - 1].reason), trans[i - 1].ts, trans[i].ts);
        trans.erase(trans.begin(), trans.begin() + n);
    }

    // When the current run of the same state and reason began.
    int64_t state_since() const {
        size_t i = trans.size() - 1;
        const Trans* e = &trans[i];
        for (; i > 0; --i) {
            const Trans& prev = trans[i - 1];
            if (e->state != prev.state || e->reason != prev.reason) return e->ts;
            e = &prev;
        }
        return base_since != NONE_TS ? base_since : trans[0].ts;
    }

    // ms per interval and label, sealed plus the unsealed spans up to `now` (agent.py's interval_totals).
    // Only intervals starting in [since, until): spans are cut there (agent.py's interval_totals).
    IvalLabels interval_totals(int64_t now, Calendar& cal, int64_t since, int64_t until) const {
        if (!keep_ivals || since >= until) return {};
        IvalLabels out(ivals.lower_bound(since), ivals.lower_bound(until));
        for (size_t i = 0; i < trans.size(); ++i) {
            int64_t t0 = std::max(trans[i].ts, since);
            int64_t t1 = std::min(i + 1 < trans.size() ? trans[i + 1].ts : std::max(now, trans[i].ts), until);
            add_ival_span(out, cal, label_of(trans[i].state, trans[i].reason), t0, t1);
        }
        return out;
    }

    // ms per label on `date`, sealed plus the unsealed spans up to `now` (agent.py's day_total).
    std::vector<std::pair<int64_t, int64_t>> day_total(int64_t now, Calendar& cal, int32_t date) const {
        std::vector<DayLabels> out;
        for (const auto& d : days)
            if (d.date == date) out.push_back(d);
        if (out.empty()) out.push_back(DayLabels{date, {}});
        for (size_t i = 0; i < trans.size(); ++i) {
            int64_t t0 = trans[i].ts;
            int64_t t1 = i + 1 < trans.size() ? trans[i + 1].ts : std::max(now, t0);
            add_span(out, cal, label_of(trans[i].state, trans[i].reason), t0, t1);
        }
        for (auto& d : out)
            if (d.date == date) return d.ms;
        return {};
    }
};

}  // namespace fw
