// Sliding windows kept as events fold: Site::sliding's sums, by buckets (Site::track).
//
// What a leg adds to a window is decided in one place (Site::record_of) and
// counted in one place (QStats::count), for the scan and for these buckets
// alike; here it is only kept. A reader that asks for the same windows often
// (the alert driver: the last 5 and 15 minutes, every 30 s of event time) would
// rescan the last hour of contacts each time, which costs more than folding the
// events in between (docs/measurements.md); so each leg files its records in
// buckets of `g` ms of event time, by the instant each counts at (offered;
// handling ended), and refiles when its contact changes. A window ending at a
// bucket edge is then the sum of its buckets: exactly what Site::sliding counts
// at that instant, every sum of it (tests hold them equal).
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <vector>

#include "seen.hpp"
#include "stats.hpp"

namespace fw {

constexpr int64_t NO_RECORD = NEVER;

inline int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// One queue's sums over one bucket (counted as every window's are: QStats::count), and its
// waits (for the largest, after removals too).
struct WinQ {
    int32_t queue;
    QStats st;  // its max_wait unused: maxw below
    std::vector<int64_t> waits;
    int64_t maxw = -1;
    bool max_stale = false;

    explicit WinQ(int32_t q) : queue(q) {}

    void add(uint8_t what, int64_t ms, int sign) {
        st.count(what, ms, sign);
        if (what == C_HANDLED || what < C_ABANDONED) return;  // no wait of its own
        if (sign > 0) {
            waits.push_back(ms);
            if (!max_stale && ms > maxw) maxw = ms;
        } else {
            auto it = std::find(waits.begin(), waits.end(), ms);
            if (it != waits.end()) {
                *it = waits.back();
                waits.pop_back();
            }
            if (ms == maxw) max_stale = true;
        }
    }
    int64_t max_wait() {
        if (max_stale) {
            // As QueueStats: -1 until a wait is larger (a negative wait never counts).
            maxw = -1;
            for (int64_t w : waits)
                if (w > maxw) maxw = w;
            max_stale = false;
        }
        return maxw;
    }
};

class Windows {
  public:
    explicit Windows(int64_t g = 30000) : g_(g) {}

    int64_t bucket_ms() const { return g_; }
    int64_t bucket_of(int64_t t) const { return ceil_div(t, g_); }

    // Count (sign 1) or uncount (-1) one record in bucket k of queue q, if that bucket is alive.
    void file(int64_t k, int32_t q, uint8_t what, int64_t ms, int sign) {
        if (k <= dead_) return;
        bucket(k, q).add(what, ms, sign);
    }

    // Forget the buckets no window can reach any more (the clock only grows).
    void advance(int64_t k_now, int64_t span) {
        int64_t dead = k_now - span;
        if (dead <= dead_) return;
        dead_ = dead;
        while (!buckets_.empty() && base_ <= dead_) {
            buckets_.pop_front();
            ++base_;
        }
        if (buckets_.empty()) base_ = dead_ + 1;
    }

    // Per window of `nb[w]` buckets ending at k_now (ascending), per queue: the sums, as QStats
    // (their SL variant left to the caller).
    void sums(int64_t k_now, const std::vector<int64_t>& nb, std::vector<std::vector<std::pair<int32_t, QStats>>>& out) {
        out.assign(nb.size(), {});
        std::vector<std::pair<int32_t, QStats>> acc;
        int64_t k = k_now;
        for (size_t w = 0; w < nb.size(); ++w) {
            int64_t lo = k_now - nb[w];
            for (; k > lo; --k) {
                if (k < base_ || k >= base_ + static_cast<int64_t>(buckets_.size())) continue;
                for (WinQ& b : buckets_[k - base_]) {
                    QStats* st = nullptr;
                    for (auto& a : acc)
                        if (a.first == b.queue) st = &a.second;
                    if (st == nullptr) {
                        acc.emplace_back(b.queue, QStats());
                        st = &acc.back().second;
                    }
                    st->merge(b.st);
                    int64_t mw = b.max_wait();
                    if (mw > st->max_wait) st->max_wait = mw;
                }
            }
            out[w] = acc;
        }
    }

  private:
    WinQ& bucket(int64_t k, int32_t q) {
        if (buckets_.empty()) {
            base_ = k;
            buckets_.emplace_back();
        }
        while (k < base_) {
            buckets_.emplace_front();
            --base_;
        }
        while (k >= base_ + static_cast<int64_t>(buckets_.size())) buckets_.emplace_back();
        std::vector<WinQ>& qs = buckets_[k - base_];
        for (WinQ& b : qs)
            if (b.queue == q) return b;
        qs.emplace_back(q);
        return qs.back();
    }

    int64_t g_;
    int64_t base_ = 0;     // bucket number of buckets_.front()
    int64_t dead_ = NEVER; // buckets at or below this can never be in a window again
    std::deque<std::vector<WinQ>> buckets_;
};

// A leg's records in the windows: the main one (offered; bucket, what, ms) and the handled one.
struct LegFiling {
    bool filed = false;
    int64_t k = 0;
    uint8_t what = 0;
    int64_t ms = 0;
    int64_t hk = NO_RECORD;
    int64_t hms = 0;
};

}  // namespace fw
