// backends/memory/dict_model.h — DictSim<A>: the bucket arrays of one Redis 7.0 dict, exactly.
//
// Redis 7.0's dict (dict.c) keeps two tables while it rehashes incrementally: every dictFind,
// dictAddRaw and dictDelete on a rehashing dict first moves one bucket of the old table (a step
// skips at most 10 empty buckets and then moves one non-empty bucket with all its entries), and
// the old table is freed when its last entry moved. So how long a hash, set or sorted set keeps
// its old bucket array — which MEMORY USAGE and used_memory count — depends on which buckets its
// elements occupy: bucket = SipHash-1-2(element, server seed) & (size - 1).
//
// DictSim replays that bookkeeping from each element's hash: per bucket of the old table only
// an entry count (allocated while a rehash runs), per element its hash's low 32 bits and the
// rehash generation in which it was inserted (an element added during a rehash goes to the new
// table whatever its old bucket). Given the server's seed the sizes it reports are the server's,
// byte for byte; with another seed they follow the same distribution.
//
// The element containers stay the store's: calls that may start a rehash take `each`, a callable
// that calls its argument with the `dh` of every element the dict holds. Items carry `dh` (hash)
// and `dgen` (set by Inserted). The calls mirror dict.c: Find() for dictFind, BeforeAdd() + Inserted() for dictAddRaw,
// BeforeDelete() + Removed() for dictDelete, ResizeIfNeeded() for htNeedsResize + dictResize,
// Expand() for dictExpand. Plain integers and an allocator-aware vector: it can live in a
// shared segment. Not thread-safe (the store's mutex guards it).
#ifndef STORMKV_BACKENDS_MEMORY_DICT_MODEL_H_
#define STORMKV_BACKENDS_MEMORY_DICT_MODEL_H_

#include <boost/container/vector.hpp>
#include <cstdint>
#include <memory>

namespace stormkv::memstore {

template <class A>
class DictSim {
 public:
  explicit DictSim(const A& a) : counts_(CountAlloc(a)) {}

  // dictSlots(): buckets of both tables (what MEMORY USAGE multiplies by 8).
  uint64_t slots() const { return size0_ + size1_; }
  uint64_t size0() const { return size0_; }
  uint64_t size1() const { return size1_; }
  uint64_t used() const { return used0_ + used1_; }
  bool rehashing() const { return rehashidx_ >= 0; }

  // dictFind: one rehash step when the dict is non-empty and rehashing.
  void Find() {
    if (used() != 0 && rehashing()) Step();
  }

  // dictAddRaw up to its existence check: a rehash step, then _dictExpandIfNeeded (which runs
  // before Redis knows whether the key exists). Follow with Inserted() when the key was new.
  template <class Each>
  void BeforeAdd(Each&& each) {
    if (rehashing()) Step();
    if (rehashing()) return;
    if (size0_ == 0) {
      Expand(4, each);
    } else if (used0_ >= size0_) {
      Expand(used0_ + 1, each);
    }
  }
  // The element was linked: into the new table while rehashing, else the only one.
  template <class Item>
  void Inserted(Item& item) {
    if (rehashing()) {
      item.dgen = gen_;
      ++used1_;
    } else {
      item.dgen = 0;
      ++used0_;
    }
  }

  // dictDelete up to its search: a rehash step when non-empty and rehashing. Follow with
  // Removed() when the element existed.
  void BeforeDelete() { Find(); }
  template <class Item>
  void Removed(const Item& item) {
    if (!rehashing()) {
      --used0_;
      return;
    }
    uint64_t b = item.dh & (size0_ - 1);
    if (item.dgen == gen_ || static_cast<int64_t>(b) < rehashidx_) {
      --used1_;
    } else {
      --counts_[b];
      --used0_;
    }
  }

  // htNeedsResize + dictResize after a delete: below 10% fill, shrink to the smallest power of
  // two >= the element count (at least 4). Not while rehashing.
  template <class Each>
  void ResizeIfNeeded(Each&& each) {
    uint64_t size = slots(), n = used();
    if (!(size > 4 && n * 100 / size < 10)) return;
    if (rehashing()) return;
    Expand(used0_ < 4 ? 4 : used0_, each);
  }

  // dictExpand(n): refused while rehashing, below the element count, or to the current size.
  // An empty dict gets its first table; otherwise a rehash into the new size begins.
  template <class Each>
  bool Expand(uint64_t n, Each&& each) {
    if (rehashing() || used0_ > n) return false;
    uint64_t size = 4;
    while (size < n) size <<= 1;
    if (size == size0_) return false;
    if (size0_ == 0) {
      size0_ = size;
      return true;
    }
    size1_ = size;
    rehashidx_ = 0;
    ++gen_;
    counts_.assign(size0_, 0);
    const uint64_t mask = size0_ - 1;
    each([&](uint32_t dh) { ++counts_[dh & mask]; });
    return true;
  }

  // Forgets everything (a dict freed, or a fresh one after a conversion).
  void Reset() {
    size0_ = size1_ = used0_ = used1_ = 0;
    rehashidx_ = -1;
    counts_.clear();
  }
  // Room for the per-bucket counts of a table of up to next_pow2(n) buckets, so that a later
  // expand allocates nothing (shared segments reserve before a write).
  void ReserveCounts(uint64_t n) {
    uint64_t size = 4;
    while (size < n) size <<= 1;
    if (counts_.capacity() < size) counts_.reserve(size);
  }

  // _dictRehashStep.
  void Step() {
    if (!rehashing()) return;
    if (used0_ != 0) {
      int empty_visits = 10;
      while (counts_[rehashidx_] == 0) {
        ++rehashidx_;
        if (--empty_visits == 0) return;
      }
      uint32_t c = counts_[rehashidx_];
      counts_[rehashidx_] = 0;
      used0_ -= c;
      used1_ += c;
      ++rehashidx_;
    }
    if (used0_ == 0) Finish();
  }

 private:
  using CountAlloc = typename std::allocator_traits<A>::template rebind_alloc<uint32_t>;

  void Finish() {
    size0_ = size1_;
    used0_ += used1_;
    size1_ = 0;
    used1_ = 0;
    rehashidx_ = -1;
    counts_.clear();  // capacity kept: ReserveCounts() made it, the next expand reuses it
  }

  uint64_t size0_ = 0, size1_ = 0;
  uint64_t used0_ = 0, used1_ = 0;
  int64_t rehashidx_ = -1;
  uint32_t gen_ = 0;
  boost::container::vector<uint32_t, CountAlloc> counts_;  // entries per old-table bucket
};

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_DICT_MODEL_H_
