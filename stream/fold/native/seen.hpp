// The ids a site has seen, for de-duplication, forgotten in blocks (stream/fold/site.py's `seen`).
//
// Ids are kept in arrival order in blocks of 256; a full block remembers the
// latest event time among its ids, and leaves (with all its ids) once that
// time is older than the dedup horizon. This is the reference core's rule to
// the id: the same ids are forgotten at the same moment, so a re-sent event
// is a duplicate in both or in neither.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "strings.hpp"

namespace fw {

constexpr int64_t NEVER = -(int64_t(1) << 62);  // before the first event: older than any

class SeenIds {
  public:
    static constexpr uint32_t BLOCK = 256;

    SeenIds() : slots_(1024), mask_(1023), n_(0), seq_(0), front_no_(0), cur_max_(NEVER) { cur_.reset(new Block()); }

    // Start loading the slot of an id with hash `h` (the fold asks a few events ahead:
    // the table is larger than the caches, and this load is most of an event's cost).
    void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & mask_]); }

    // Add `id` (its hash_bytes() is h) seen at `ts`; false if it was already seen (a duplicate:
    // nothing changes).
    bool add(const char* p, uint32_t n, int64_t ts, uint64_t h) {
        size_t i = h & mask_;
        while (true) {
            const Slot& s = slots_[i];
            if (s.ref == 0) break;
            if (s.hash == h && id_eq(s.ref - 1, p, n)) return false;
            i = (i + 1) & mask_;
        }
        Block& b = *cur_;
        b.off[b.n] = static_cast<uint32_t>(b.bytes.size());
        b.hashes[b.n] = h;
        b.bytes.append(p, n);
        ++b.n;
        b.off[b.n] = static_cast<uint32_t>(b.bytes.size());
        slots_[i] = Slot{h, seq_ + 1};
        ++seq_;
        ++n_;
        if (ts > cur_max_) cur_max_ = ts;
        if ((seq_ & (BLOCK - 1)) == 0) {
            b.max_ts = cur_max_;
            cur_max_ = NEVER;
            full_.push_back(std::move(cur_));
            cur_.reset(new Block());
            cur_->bytes.reserve(b.bytes.size() + 64);
        }
        if (n_ * 2 > slots_.size()) grow();
        return true;
    }

    // Forget the full blocks, oldest first, whose latest time is before `cutoff`.
    void expire(int64_t cutoff) {
        while (!full_.empty() && full_.front()->max_ts < cutoff) {
            const Block& b = *full_.front();
            uint64_t first = front_no_ * BLOCK;
            // Each id's slot is a load from a table larger than the caches: the slots of the
            // ids a few places on are asked for while this one goes.
            for (uint32_t k = 0; k < b.n && k < 8; ++k) prefetch(b.hashes[k]);
            for (uint32_t k = 0; k < b.n; ++k) {
                if (k + 8 < b.n) prefetch(b.hashes[k + 8]);
                erase(b.hashes[k], first + k);
            }
            full_.pop_front();
            ++front_no_;
        }
    }

    size_t size() const { return n_; }

  private:
    struct Block {
        std::string bytes;
        uint32_t off[BLOCK + 1];
        uint64_t hashes[BLOCK];
        uint32_t n = 0;
        int64_t max_ts = NEVER;
    };
    struct Slot {
        uint64_t hash = 0;
        uint64_t ref = 0;  // arrival number + 1; 0: empty
    };

    const Block& block_of(uint64_t seq) const {
        uint64_t no = seq / BLOCK;
        if (no - front_no_ < full_.size()) return *full_[no - front_no_];
        return *cur_;
    }
    bool id_eq(uint64_t seq, const char* p, uint32_t n) const {
        const Block& b = block_of(seq);
        uint32_t k = static_cast<uint32_t>(seq % BLOCK);
        uint32_t len = b.off[k + 1] - b.off[k];
        return len == n && (n == 0 || std::memcmp(b.bytes.data() + b.off[k], p, n) == 0);
    }
    void erase(uint64_t h, uint64_t seq) {
        size_t i = h & mask_;
        while (slots_[i].ref != seq + 1) {
            if (slots_[i].ref == 0) return;
            i = (i + 1) & mask_;
        }
        size_t j = i;
        while (true) {
            j = (j + 1) & mask_;
            const Slot& y = slots_[j];
            if (y.ref == 0) break;
            size_t home = y.hash & mask_;
            bool in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
            if (!in_range) {
                slots_[i] = y;
                i = j;
            }
        }
        slots_[i] = Slot{};
        --n_;
    }
    void grow() {
        std::vector<Slot> s(slots_.size() * 2);
        size_t m = s.size() - 1;
        for (const Slot& x : slots_) {
            if (x.ref == 0) continue;
            size_t i = x.hash & m;
            while (s[i].ref != 0) i = (i + 1) & m;
            s[i] = x;
        }
        slots_.swap(s);
        mask_ = m;
    }

    std::vector<Slot> slots_;
    size_t mask_;
    size_t n_;
    uint64_t seq_;       // ids added so far
    uint64_t front_no_;  // block number of full_.front()
    int64_t cur_max_;    // latest time in the block being filled
    std::deque<std::unique_ptr<Block>> full_;
    std::unique_ptr<Block> cur_;
};

}  // namespace fw
