// A site's local calendar for the native core: local days and 15-minute intervals on epoch ms.
//
// Time zones stay in Python (zoneinfo, stream/fold/calendar.py): the core asks a
// CalendarSource once per local day it meets and keeps the answer (the day's
// bounds, date, UTC offset, and whether that offset holds all day). Only on a
// day with a DST change does an interval start need the source again.
#pragma once

#include <cstdint>

namespace fw {

constexpr int64_t INTERVAL_MS = 15 * 60 * 1000;

struct DayInfo {
    int64_t start = 0;  // local midnight, epoch ms
    int64_t end = -1;   // the next local midnight
    int64_t offset = 0; // UTC offset at the start, ms
    int32_t date = -1;  // the local date (YYYY-MM-DD), interned
    bool uniform = true;
};

// What the core asks of the time zone (implemented by the Python binding).
struct CalendarSource {
    void* ctx = nullptr;
    DayInfo (*load)(void* ctx, int64_t ms) = nullptr;
    int64_t (*interval_start)(void* ctx, int64_t ms) = nullptr;  // on a day whose offset changes
};

inline int64_t floor_mod(int64_t a, int64_t m) {
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

class Calendar {
  public:
    explicit Calendar(CalendarSource src = {}) : src_(src) {}
    void set_source(CalendarSource src) { src_ = src; }

    // The local day holding `ms` (the last two days met are kept: legs around midnight alternate).
    const DayInfo& day(int64_t ms) {
        if (cur_.start <= ms && ms < cur_.end) return cur_;
        if (prev_.start <= ms && ms < prev_.end) {
            DayInfo t = cur_;
            cur_ = prev_;
            prev_ = t;
            return cur_;
        }
        prev_ = cur_;
        cur_ = src_.load(src_.ctx, ms);
        return cur_;
    }
    int32_t date_of(int64_t ms) { return day(ms).date; }
    int64_t interval_start(int64_t ms) {
        const DayInfo& d = day(ms);
        if (d.uniform) return ms - floor_mod(ms + d.offset, INTERVAL_MS);
        return src_.interval_start(src_.ctx, ms);
    }

  private:
    CalendarSource src_;
    DayInfo cur_, prev_;
};

}  // namespace fw
