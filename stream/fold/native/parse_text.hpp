// The decoder's lexical pieces: JSON whitespace, strings, literals, integers.
//
// Each piece takes only the plain form of its token (a string without
// escapes, an integer without sign, fraction or exponent) and says "no"
// (nullptr) to everything else; the caller then declines the whole event and
// msgspec decides. So nothing here has to reproduce msgspec's handling of the
// rare forms, only recognise them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "event.hpp"

// Word-at-a-time scans read eight bytes as one little-endian integer.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && (defined(__GNUC__) || defined(__clang__))
#define FW_SWAR 1
#else
#define FW_SWAR 0
#endif

namespace fw {
namespace pj {

constexpr uint64_t ONES = 0x0101010101010101ULL;
constexpr uint64_t HIGHS = 0x8080808080808080ULL;

inline bool is_ws(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

inline const char* skip_ws(const char* p, const char* end) {
    // Between tokens there is mostly nothing to skip: one compare says so.
    while (p != end && static_cast<unsigned char>(*p) <= ' ' && is_ws(static_cast<unsigned char>(*p))) ++p;
    return p;
}

// The N bytes at p are those of lit (N known at compile time): overlapping
// word compares against constants, where memcmp may be a library call.
template <size_t N>
inline bool eq_bytes(const char* p, const char* lit) {
    static_assert(N >= 1, "empty literal");
    if constexpr (N > 16) {
        return eq_bytes<16>(p, lit) && eq_bytes<N - 16>(p + 16, lit + 16);
    } else if constexpr (N >= 8) {
        uint64_t a, b, c, d;
        std::memcpy(&a, p, 8);
        std::memcpy(&b, lit, 8);
        std::memcpy(&c, p + N - 8, 8);
        std::memcpy(&d, lit + N - 8, 8);
        return ((a ^ b) | (c ^ d)) == 0;
    } else if constexpr (N >= 4) {
        uint32_t a, b, c, d;
        std::memcpy(&a, p, 4);
        std::memcpy(&b, lit, 4);
        std::memcpy(&c, p + N - 4, 4);
        std::memcpy(&d, lit + N - 4, 4);
        return ((a ^ b) | (c ^ d)) == 0;
    } else if constexpr (N >= 2) {
        uint16_t a, b, c, d;
        std::memcpy(&a, p, 2);
        std::memcpy(&b, lit, 2);
        std::memcpy(&c, p + N - 2, 2);
        std::memcpy(&d, lit + N - 2, 2);
        return ((a ^ b) | (c ^ d)) == 0;
    } else {
        return *p == *lit;
    }
}

// [p, end) starts with the string literal lit (without its terminating NUL).
template <size_t N>
inline bool has_lit(const char* p, const char* end, const char (&lit)[N]) {
    return static_cast<size_t>(end - p) >= N - 1 && eq_bytes<N - 1>(p, lit);
}

// The bytes at p (known to be readable) start with the string literal lit.
template <size_t N>
inline bool eq_lit(const char* p, const char (&lit)[N]) {
    return eq_bytes<N - 1>(p, lit);
}

// The first byte in [p, end) a string scan must look at: '"', '\\', a control
// byte (< 0x20) or a non-ASCII byte (>= 0x80); end if none.
inline const char* find_special(const char* p, const char* end) {
#if defined(__SSE2__)
    // Sixteen bytes per step: most ids and names end in the first block. A
    // signed compare with 0x20 flags control bytes and non-ASCII bytes at once.
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)), _mm_cmplt_epi8(x, space));
        unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(m));
        if (bits) return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
#if FW_SWAR
    // Eight bytes per step (the tail of the input, or no SSE2). Each test
    // borrows only out of a byte that matches it, so the lowest flagged byte
    // is always a true match (higher flags may be borrows' artefacts and are
    // never read).
    while (end - p >= 8) {
        uint64_t x;
        std::memcpy(&x, p, 8);
        uint64_t q = x ^ (ONES * '"');
        uint64_t b = x ^ (ONES * '\\');
        uint64_t m = (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x) | x) & HIGHS;
        if (m) return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    for (; p != end; ++p) {
        unsigned char c = static_cast<unsigned char>(*p);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return p;
    }
    return end;
}

// The length of the well-formed UTF-8 sequence at u (avail bytes readable), or
// 0: a stray continuation byte, an overlong form, a surrogate (U+D800..DFFF),
// a code point past U+10FFFF or a sequence cut short. Python would not decode
// any of these, and msgspec rejects them.
inline int utf8_seq(const unsigned char* u, ptrdiff_t avail) {
    unsigned c = u[0];
    if (c < 0xC2) return 0;  // 0x80..0xBF continuation, 0xC0/0xC1 overlong
    if (c < 0xE0) return (avail >= 2 && (u[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (avail < 3) return 0;
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80;  // E0 80..9F: overlong
        unsigned hi = c == 0xED ? 0x9F : 0xBF;  // ED A0..BF: surrogates
        return (u[1] >= lo && u[1] <= hi && (u[2] & 0xC0) == 0x80) ? 3 : 0;
    }
    if (c < 0xF5) {
        if (avail < 4) return 0;
        unsigned lo = c == 0xF0 ? 0x90 : 0x80;  // F0 80..8F: overlong
        unsigned hi = c == 0xF4 ? 0x8F : 0xBF;  // F4 90..: past U+10FFFF
        return (u[1] >= lo && u[1] <= hi && (u[2] & 0xC0) == 0x80 && (u[3] & 0xC0) == 0x80) ? 4 : 0;
    }
    return 0;
}

// A JSON string without escapes. p is just past the opening quote. Gives the
// content in s, its length in code points (Python's len) in cps, and the
// pointer past the closing quote; nullptr for an escape, a control byte
// (invalid JSON), malformed UTF-8 or a missing closing quote.
inline const char* scan_string(const char* p, const char* end, SV& s, uint32_t& cps) {
    const char* start = p;
    size_t cont = 0;  // continuation bytes: code points = bytes - continuation bytes
    for (;;) {
        p = find_special(p, end);
        if (p == end) return nullptr;
        unsigned char c = static_cast<unsigned char>(*p);
        if (c == '"') break;
        if (c < 0x80) return nullptr;  // '\\' or a control byte
        int k = utf8_seq(reinterpret_cast<const unsigned char*>(p), end - p);
        if (k == 0) return nullptr;
        p += k;
        cont += static_cast<size_t>(k - 1);
    }
    size_t n = static_cast<size_t>(p - start);
    if (n > 0xFFFFFFFFu) return nullptr;  // SV holds 32-bit lengths; no field of ours is that long
    s.p = start;
    s.n = static_cast<uint32_t>(n);
    cps = static_cast<uint32_t>(n - cont);
    return p + 1;
}

// A non-negative JSON integer in its plain form: digits, no leading zero
// (unless it is "0"), at most max_digits digits. Whatever follows the
// digits ('.', 'e', another digit after a leading "0") is left for the
// caller's structural check, which declines it.
inline const char* scan_uint(const char* p, const char* end, unsigned max_digits, uint64_t& v) {
    if (p == end) return nullptr;
    unsigned d = static_cast<unsigned char>(*p) - '0';
    if (d > 9) return nullptr;
    if (d == 0) {
        v = 0;
        return p + 1;
    }
    v = d;
    ++p;
    unsigned n = 1;
    while (p != end && (d = static_cast<unsigned char>(*p) - '0') <= 9) {
        if (++n > max_digits) return nullptr;
        v = v * 10 + d;
        ++p;
    }
    return p;
}

}  // namespace pj
}  // namespace fw
