// A queue's additive sums over one window, and the wait histogram (stream/fold/stats.py, stream/fold/histogram.py).
//
// Sums only, never averages: the figures are computed from them at the end
// (in Python, by the same QueueStats.figures the reference core uses), so
// rolling up never averages averages. Bins are histogram.py's: 1 s to 10 min,
// 10 s to 1 h, 1 min to 6 h, one overflow bin.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

namespace fw {

constexpr int N_BINS = 600 + 300 + 300 + 1;

inline int bin_of(int64_t w) {
    if (w < 600000) return w > 0 ? static_cast<int>(w / 1000) : 0;
    if (w < 3600000) return 600 + static_cast<int>((w - 600000) / 10000);
    if (w < 21600000) return 900 + static_cast<int>((w - 3600000) / 60000);
    return N_BINS - 1;
}

enum Variant : uint8_t { STANDARD = 0, EXCLUDE_ABANDONS = 1 };

// What one record of a leg counts in a window: its offer with the outcome it reached (the
// main record, at the offer), or its handling (the handled record, when handling ended).
enum Counted : uint8_t { C_WAITING = 0, C_TRANSFERRED, C_ABANDONED, C_ABANDONED_SHORT, C_ANSWERED, C_ANSWERED_WITHIN, C_HANDLED };

struct QStats {
    int64_t offered = 0, answered = 0, abandoned = 0, short_abandoned = 0, transferred = 0;
    int64_t within = 0, wait_sum = 0, max_wait = -1, handled = 0, handle_sum = 0;
    int64_t abandon_wait_sum = 0;  // ms, abandoned contacts (patience estimation; stats.py holds the same)
    uint8_t variant = STANDARD;
    std::unique_ptr<uint32_t[]> hist;  // N_BINS counts, from the first answer counted with it

    QStats() = default;
    explicit QStats(uint8_t v) : variant(v) {}
    QStats(QStats&&) = default;
    QStats& operator=(QStats&&) = default;
    QStats(const QStats& o) { *this = o; }
    QStats& operator=(const QStats& o) {
        if (this == &o) return *this;
        offered = o.offered;
        answered = o.answered;
        abandoned = o.abandoned;
        short_abandoned = o.short_abandoned;
        transferred = o.transferred;
        within = o.within;
        wait_sum = o.wait_sum;
        abandon_wait_sum = o.abandon_wait_sum;
        max_wait = o.max_wait;
        handled = o.handled;
        handle_sum = o.handle_sum;
        variant = o.variant;
        if (o.hist) {
            hist.reset(new uint32_t[N_BINS]);
            std::memcpy(hist.get(), o.hist.get(), sizeof(uint32_t) * N_BINS);
        } else {
            hist.reset();
        }
        return *this;
    }

    const uint32_t* hist_data() const { return hist.get(); }

    // The one place a record enters the sums (sign -1 takes it back out): the day and
    // interval totals, the scanned windows and the live windows' buckets all count by it.
    // The largest wait and the histogram are the callers' (a bucket keeps its waits).
    void count(uint8_t what, int64_t ms, int sign) {
        if (what == C_HANDLED) {
            handled += sign;
            handle_sum += sign * ms;
            return;
        }
        offered += sign;  // C_WAITING: offered only
        if (what == C_TRANSFERRED) transferred += sign;
        if (what == C_ABANDONED || what == C_ABANDONED_SHORT) {
            abandoned += sign;
            abandon_wait_sum += sign * ms;
            short_abandoned += what == C_ABANDONED_SHORT ? sign : 0;
        } else if (what >= C_ANSWERED) {
            answered += sign;
            wait_sum += sign * ms;
            within += what == C_ANSWERED_WITHIN ? sign : 0;
        }
    }

    static uint8_t answered_as(int64_t wait, int64_t t_ms) { return wait <= t_ms ? C_ANSWERED_WITHIN : C_ANSWERED; }
    static uint8_t abandoned_as(int64_t wait, int64_t short_ms) { return wait < short_ms ? C_ABANDONED_SHORT : C_ABANDONED; }

    // An offered leg's outcome (offered counted here too, as the record does).
    void add_outcome(uint8_t what, int64_t wait, bool with_hist = true) {
        count(what, wait, 1);
        if (what < C_ABANDONED || what == C_HANDLED) return;
        if (wait > max_wait) max_wait = wait;
        if (what < C_ANSWERED || !with_hist) return;
        if (!hist) {
            hist.reset(new uint32_t[N_BINS]);
            std::memset(hist.get(), 0, sizeof(uint32_t) * N_BINS);
        }
        ++hist[bin_of(wait)];
    }
    void add_handled(int64_t h) { count(C_HANDLED, h, 1); }
    void merge(const QStats& o) {
        offered += o.offered;
        answered += o.answered;
        abandoned += o.abandoned;
        short_abandoned += o.short_abandoned;
        transferred += o.transferred;
        within += o.within;
        wait_sum += o.wait_sum;
        abandon_wait_sum += o.abandon_wait_sum;
        if (o.max_wait > max_wait) max_wait = o.max_wait;
        handled += o.handled;
        handle_sum += o.handle_sum;
        if (o.hist) {
            if (!hist) {
                hist.reset(new uint32_t[N_BINS]);
                std::memcpy(hist.get(), o.hist.get(), sizeof(uint32_t) * N_BINS);
            } else {
                for (int i = 0; i < N_BINS; ++i) hist[i] += o.hist[i];
            }
        }
        // A rollup of queues with different SL variants reports the standard one.
        if (variant != o.variant) variant = STANDARD;
    }
};

}  // namespace fw
