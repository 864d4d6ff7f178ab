// RFC 3339 event times as epoch milliseconds, exactly as stream.contracts.events gives them.
//
// The reference is msgspec's datetime decoding followed by ts_to_ms (which
// floors to the millisecond). What msgspec 0.23 does, checked in
// tests/contracts/test_native_decode.py:
//   - YYYY-MM-DD, then 'T', 't' or ' ', then HH:MM:SS; every field exactly two
//     (year four) digits; year 0001..9999, real calendar days, hour <= 23,
//     second <= 59 (no leap second);
//   - an optional fraction of one or more digits, rounded to the microsecond
//     half up on the seventh digit alone (the digits after it do not count);
//     a carry moves the time on, and one past 9999-12-31T23:59:59.999999 is
//     an error;
//   - a required offset: 'Z', 'z', or a sign and HH:MM or HHMM with
//     hour <= 23, minute <= 59 ("-00:00" is UTC).
// Anything else it takes (or rejects) this code declines, and msgspec decides.
#pragma once

#include <cstdint>

namespace fw {
namespace pj {

inline bool two_digits(const char* s, int& v) {
    unsigned a = static_cast<unsigned char>(s[0]) - '0', b = static_cast<unsigned char>(s[1]) - '0';
    if (a > 9 || b > 9) return false;
    v = static_cast<int>(a * 10 + b);
    return true;
}

inline bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

inline int days_in_month(int y, int m) {
    static const int DIM[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : DIM[m - 1];
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian, as Python's date).
inline int64_t days_from_epoch(int y, int m, int d) {
    static const int BEFORE[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t yp = y - 1;
    int64_t ordinal = 365 * yp + yp / 4 - yp / 100 + yp / 400 + BEFORE[m - 1] + (m > 2 && is_leap(y)) + d;
    return ordinal - 719163;  // date(1970, 1, 1).toordinal()
}

// The RFC 3339 text [s, s + n) (a JSON string's content) as epoch ms; false: declined.
inline bool rfc3339_ms(const char* s, uint32_t n, int64_t& ms) {
    if (n < 20) return false;  // YYYY-MM-DDTHH:MM:SSZ is the shortest
    int c1, c2, mo, d, h, mi, sec;
    if (!two_digits(s, c1) || !two_digits(s + 2, c2) || s[4] != '-' || !two_digits(s + 5, mo) || s[7] != '-' ||
        !two_digits(s + 8, d) || !(s[10] == 'T' || s[10] == 't' || s[10] == ' ') || !two_digits(s + 11, h) ||
        s[13] != ':' || !two_digits(s + 14, mi) || s[16] != ':' || !two_digits(s + 17, sec))
        return false;
    int y = c1 * 100 + c2;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59) return false;

    uint32_t i = 19;
    int64_t us = 0;
    if (s[i] == '.') {
        ++i;
        uint32_t first = i;
        while (i < n && static_cast<unsigned>(static_cast<unsigned char>(s[i]) - '0') <= 9u) {
            unsigned dg = static_cast<unsigned char>(s[i]) - '0';
            uint32_t k = i - first;  // 0-based digit position
            if (k < 6)
                us = us * 10 + dg;
            else if (k == 6 && dg >= 5)
                us += 1;  // the six kept digits are all in us by now
            ++i;
        }
        uint32_t nd = i - first;
        if (nd == 0) return false;
        if (nd < 6) {
            // Fewer than six digits: scale up; no rounding digit was seen.
            for (uint32_t k = nd; k < 6; ++k) us *= 10;
        }
    }
    if (i >= n) return false;  // no offset: msgspec wants one (Meta(tz=True))

    int64_t off = 0;  // seconds east of UTC
    char z = s[i];
    if (z == 'Z' || z == 'z') {
        if (i + 1 != n) return false;
    } else if (z == '+' || z == '-') {
        int oh, om;
        if (n - i == 6) {
            if (!two_digits(s + i + 1, oh) || s[i + 3] != ':' || !two_digits(s + i + 4, om)) return false;
        } else if (n - i == 5) {
            if (!two_digits(s + i + 1, oh) || !two_digits(s + i + 3, om)) return false;
        } else {
            return false;
        }
        if (oh > 23 || om > 59) return false;
        off = (oh * 60 + om) * 60;
        if (z == '-') off = -off;
    } else {
        return false;
    }

    // A rounding carry out of 23:59:59.999999 on the last day msgspec can hold is its error.
    if (us == 1000000 && y == 9999 && mo == 12 && d == 31 && h == 23 && mi == 59 && sec == 59) return false;
    int64_t secs = days_from_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    // us is in [0, 1e6], so flooring the microseconds to ms is integer division.
    ms = secs * 1000 + us / 1000;
    return true;
}

}  // namespace pj
}  // namespace fw
