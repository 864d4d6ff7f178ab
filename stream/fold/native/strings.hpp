// Byte strings for the native core: owned small strings, a hash, an interner
// and an open-addressing table of objects keyed by their own bytes.
//
// Names (sites, queues, agents, counters, reasons, dates) are few and
// repeated millions of times, so they are interned once into small integers;
// ids (events, calls, tickets) are many and short-lived, so they are kept as
// small owned strings (no allocation up to 36 bytes) in hash tables.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "event.hpp"

namespace fw {

inline uint64_t mum(uint64_t a, uint64_t b) {
    __uint128_t r = static_cast<__uint128_t>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// A fast 64-bit hash of bytes; never 0 (0 marks an empty slot).
inline uint64_t hash_bytes(const char* p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xA0761D6478BD642Full);
    while (n >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        h = mum(h ^ w, 0xE7037ED1A0B428DBull);
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    if (n) std::memcpy(&w, p, n);
    h = mum(h ^ w, 0x8EBC6AF09C88C6E3ull);
    return h | 1;
}

inline uint64_t hash_sv(SV s) { return hash_bytes(s.p, s.n); }

// Python's str order (code points) is UTF-8's byte order, then shorter first.
inline int cmp_bytes(const char* a, uint32_t an, const char* b, uint32_t bn) {
    int c = std::memcmp(a, b, an < bn ? an : bn);
    if (c) return c;
    return an < bn ? -1 : (an > bn ? 1 : 0);
}

// Owned bytes, inline up to INLINE bytes (ids are short), on the heap beyond.
class SmallStr {
  public:
    static constexpr uint32_t INLINE = 36;

    SmallStr() : n_(0) { buf_[0] = 0; }
    SmallStr(const char* p, uint32_t n) : n_(0) { assign(p, n); }
    explicit SmallStr(SV s) : n_(0) { assign(s.p, s.n); }
    SmallStr(const SmallStr& o) : n_(0) { assign(o.data(), o.n_); }
    SmallStr(SmallStr&& o) noexcept : n_(o.n_) {
        if (o.n_ > INLINE) {
            heap_ = o.heap_;
            o.n_ = 0;
        } else {
            std::memcpy(buf_, o.buf_, o.n_);
        }
    }
    SmallStr& operator=(const SmallStr& o) {
        if (this != &o) assign(o.data(), o.n_);
        return *this;
    }
    SmallStr& operator=(SmallStr&& o) noexcept {
        if (this != &o) {
            release();
            n_ = o.n_;
            if (o.n_ > INLINE) {
                heap_ = o.heap_;
                o.n_ = 0;
            } else {
                std::memcpy(buf_, o.buf_, o.n_);
            }
        }
        return *this;
    }
    ~SmallStr() { release(); }

    void assign(const char* p, uint32_t n) {
        release();
        if (n > INLINE) {
            heap_ = new char[n];
            std::memcpy(heap_, p, n);
        } else if (n) {
            std::memcpy(buf_, p, n);
        }
        n_ = n;
    }
    const char* data() const { return n_ > INLINE ? heap_ : buf_; }
    uint32_t size() const { return n_; }
    SV sv() const { return SV{data(), n_}; }
    bool eq(const char* p, uint32_t n) const { return n == n_ && (n == 0 || std::memcmp(data(), p, n) == 0); }
    bool eq(SV s) const { return eq(s.p, s.n); }
    int cmp(const char* p, uint32_t n) const { return cmp_bytes(data(), n_, p, n); }
    int cmp(const SmallStr& o) const { return cmp_bytes(data(), n_, o.data(), o.n_); }

  private:
    void release() {
        if (n_ > INLINE) delete[] heap_;
        n_ = 0;
    }
    uint32_t n_;
    union {
        char buf_[INLINE];
        char* heap_;
    };
};

// Names as small integers: the same bytes always get the same id, for the life of the floor.
class Interner {
  public:
    Interner() : slots_(64, -1), mask_(63) {}

    int32_t intern(const char* p, uint32_t n) {
        uint64_t h = hash_bytes(p, n);
        size_t i = h & mask_;
        while (true) {
            int32_t id = slots_[i];
            if (id < 0) break;
            if (hashes_[id] == h && names_[id].size() == n && std::memcmp(names_[id].data(), p, n) == 0) return id;
            i = (i + 1) & mask_;
        }
        int32_t id = static_cast<int32_t>(names_.size());
        names_.emplace_back(p, n);
        hashes_.push_back(h);
        slots_[i] = id;
        if (names_.size() * 2 > slots_.size()) grow();
        return id;
    }
    int32_t intern(SV s) { return intern(s.p ? s.p : "", s.n); }
    // The id of a name interned before, -1 if it never was (nothing is added).
    int32_t find(SV s) const {
        const char* p = s.p ? s.p : "";
        uint64_t h = hash_bytes(p, s.n);
        size_t i = h & mask_;
        while (true) {
            int32_t id = slots_[i];
            if (id < 0) return -1;
            if (hashes_[id] == h && names_[id].size() == s.n && std::memcmp(names_[id].data(), p, s.n) == 0) return id;
            i = (i + 1) & mask_;
        }
    }
    // -1 when absent (null)
    int32_t intern_opt(SV s) { return s.present() ? intern(s.p, s.n) : -1; }
    const std::string& name(int32_t id) const { return names_[id]; }
    size_t size() const { return names_.size(); }

  private:
    void grow() {
        std::vector<int32_t> s(slots_.size() * 2, -1);
        size_t m = s.size() - 1;
        for (int32_t id = 0; id < static_cast<int32_t>(names_.size()); ++id) {
            size_t i = hashes_[id] & m;
            while (s[i] >= 0) i = (i + 1) & m;
            s[i] = id;
        }
        slots_.swap(s);
        mask_ = m;
    }
    std::vector<std::string> names_;
    std::vector<uint64_t> hashes_;
    std::vector<int32_t> slots_;
    size_t mask_;
};

// An open-addressing (linear probing) table of T*, keyed by T's own bytes.
// T has `uint64_t hash` and `bool key_eq(const char*, uint32_t) const`.
// Not owning: the caller creates and frees the objects.
template <class T>
class PtrTable {
  public:
    PtrTable() : slots_(16, nullptr), mask_(15), n_(0) {}

    void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & mask_]); }

    T* find(const char* p, uint32_t n, uint64_t h) const {
        size_t i = h & mask_;
        while (true) {
            T* x = slots_[i];
            if (x == nullptr) return nullptr;
            if (x->hash == h && x->key_eq(p, n)) return x;
            i = (i + 1) & mask_;
        }
    }
    void insert(T* x) {
        if ((n_ + 1) * 2 > slots_.size()) grow();
        size_t i = x->hash & mask_;
        while (slots_[i] != nullptr) i = (i + 1) & mask_;
        slots_[i] = x;
        ++n_;
    }
    // Remove x (by identity); backward-shift deletion keeps probe chains whole.
    void erase(T* x) {
        size_t i = x->hash & mask_;
        while (slots_[i] != x) {
            if (slots_[i] == nullptr) return;
            i = (i + 1) & mask_;
        }
        size_t j = i;
        while (true) {
            j = (j + 1) & mask_;
            T* y = slots_[j];
            if (y == nullptr) break;
            size_t home = y->hash & mask_;
            // y may move into the hole at i if its home is not in (i, j].
            bool in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
            if (!in_range) {
                slots_[i] = y;
                i = j;
            }
        }
        slots_[i] = nullptr;
        --n_;
    }
    size_t size() const { return n_; }

  private:
    void grow() {
        std::vector<T*> s(slots_.size() * 2, nullptr);
        size_t m = s.size() - 1;
        for (T* x : slots_) {
            if (x == nullptr) continue;
            size_t i = x->hash & m;
            while (s[i] != nullptr) i = (i + 1) & m;
            s[i] = x;
        }
        slots_.swap(s);
        mask_ = m;
    }
    std::vector<T*> slots_;
    size_t mask_;
    size_t n_;
};

}  // namespace fw
