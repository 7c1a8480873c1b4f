// backends/memory/store_eviction.cc — Store<A>'s maxmemory eviction: LRU/LFU clocks, the eviction
// pool (Redis's EVPOOL_SIZE = 16), the eight policies.

#include "store_internal.h"

namespace stormkv::memstore {

template <class A>
uint8_t Store<A>::LfuDecayed(const EntryT& e) const {
  uint64_t now_min = static_cast<uint64_t>(now_ms_ / 60000) & 0xFFFF;
  uint64_t elapsed =
      now_min >= e.lfu_minutes ? now_min - e.lfu_minutes : 65535 - e.lfu_minutes + now_min;
  uint64_t periods = lfu_decay_time_ ? elapsed / lfu_decay_time_ : 0;
  uint64_t c = e.lfu_counter;
  if (periods) c = periods > c ? 0 : c - periods;
  return static_cast<uint8_t>(c);
}

template <class A>
void Store<A>::UpdateLfu(EntryT& e) {
  uint8_t c = LfuDecayed(e);
  if (c < 255) {
    double r = static_cast<double>(NextRandom() >> 11) / static_cast<double>(uint64_t{1} << 53);
    double base = c > 5 ? c - 5 : 0;
    double p = 1.0 / (base * static_cast<double>(lfu_log_factor_) + 1);
    if (r < p) ++c;
  }
  e.lfu_counter = c;
  e.lfu_minutes = static_cast<uint16_t>((now_ms_ / 60000) & 0xFFFF);
}

template <class A>
uint64_t Store<A>::EvictionScore(const EntryT& e) const {
  switch (cfg_.policy) {
    case Policy::kAllkeysLru:
    case Policy::kVolatileLru: {
      uint32_t now_s = static_cast<uint32_t>(now_ms_ / 1000);
      return now_s >= e.lru ? now_s - e.lru : 0;
    }
    case Policy::kAllkeysLfu:
    case Policy::kVolatileLfu:
      return 255 - LfuDecayed(e);
    case Policy::kVolatileTtl:
      return UINT64_MAX - static_cast<uint64_t>(e.expire_ms);
    default:
      return 0;
  }
}

template <class A>
void Store<A>::PoolPopulate(bool volatile_only) {
  size_t want = static_cast<size_t>(maxmemory_samples_);
  auto consider = [&](uint32_t slot) {
    const EntryT& e = entries_[slot];
    uint64_t idle = EvictionScore(e);
    // Insert sorted ascending by idle; when full, drop the smallest (pool_[0]).
    size_t k = 0;
    while (k < pool_size_ && pool_[k].idle < idle) ++k;
    if (k == 0 && pool_size_ == pool_.size()) return;
    if (pool_size_ < pool_.size()) {
      for (size_t j = pool_size_; j > k; --j) pool_[j] = pool_[j - 1];
      ++pool_size_;
    } else {
      --k;
      for (size_t j = 0; j < k; ++j) pool_[j] = pool_[j + 1];
    }
    pool_[k] = PoolEntry{idle, slot, e.gen};
  };
  if (volatile_only) {
    if (volatile_.empty()) return;
    size_t n = std::min(want, volatile_.size());
    size_t start = NextRandom() % volatile_.size();
    for (size_t i = 0; i < n; ++i) consider(volatile_[(start + i) % volatile_.size()]);
  } else {
    if (live_ == 0) return;
    size_t n = std::min(want, live_);
    size_t start = NextRandom() % entries_.size();
    size_t got = 0;
    for (size_t i = 0; i < entries_.size() && got < n; ++i) {
      uint32_t slot = static_cast<uint32_t>((start + i) % entries_.size());
      if (entries_[slot].type == ObjType::kFree) continue;
      consider(slot);
      ++got;
    }
  }
}

template <class A>
uint32_t Store<A>::PickEvictionVictim() {
  bool volatile_only = cfg_.policy == Policy::kVolatileLru || cfg_.policy == Policy::kVolatileLfu ||
                       cfg_.policy == Policy::kVolatileRandom ||
                       cfg_.policy == Policy::kVolatileTtl;
  if (cfg_.policy == Policy::kAllkeysRandom) {
    if (live_ == 0) return kNoPos;
    size_t start = NextRandom() % entries_.size();
    for (size_t i = 0; i < entries_.size(); ++i) {
      uint32_t slot = static_cast<uint32_t>((start + i) % entries_.size());
      if (entries_[slot].type != ObjType::kFree) return slot;
    }
    return kNoPos;
  }
  if (cfg_.policy == Policy::kVolatileRandom) {
    if (volatile_.empty()) return kNoPos;
    return volatile_[NextRandom() % volatile_.size()];
  }
  for (;;) {
    size_t source = volatile_only ? volatile_.size() : live_;
    if (source == 0) {
      pool_size_ = 0;
      return kNoPos;
    }
    PoolPopulate(volatile_only);
    while (pool_size_ > 0) {
      PoolEntry pe = pool_[--pool_size_];
      const EntryT& e = entries_[pe.slot];
      if (e.type == ObjType::kFree || e.gen != pe.gen) continue;
      if (volatile_only && e.expire_ms == kNoExpire) continue;
      return pe.slot;
    }
  }
}

template <class A>
bool Store<A>::PerformEvictions() {
  if (cfg_.maxmemory == 0 || static_cast<uint64_t>(UsedMemory()) <= cfg_.maxmemory) return true;
  if (cfg_.policy == Policy::kNoEviction) return false;
  int64_t to_free = UsedMemory() - static_cast<int64_t>(cfg_.maxmemory);
  int64_t freed = 0;
  while (freed < to_free) {
    uint32_t victim = PickEvictionVictim();
    if (victim == kNoPos) return false;
    int64_t before = UsedMemory();
    ++mutations_;
    DeleteSlot(victim);
    ++stat_evicted_;
    freed += before - UsedMemory();
  }
  return true;
}

// The members defined here, for the two stores (per member, so that a unity batch of these
// files instantiates each once).
#define STORMKV_INSTANTIATE(A_)                                      \
  template uint8_t Store<A_>::LfuDecayed(const EntryT& e) const;     \
  template void Store<A_>::UpdateLfu(EntryT& e);                     \
  template uint64_t Store<A_>::EvictionScore(const EntryT& e) const; \
  template void Store<A_>::PoolPopulate(bool volatile_only);         \
  template uint32_t Store<A_>::PickEvictionVictim();                 \
  template bool Store<A_>::PerformEvictions();
STORMKV_INSTANTIATE(std::allocator<char>)
STORMKV_INSTANTIATE(shm::Allocator<char>)
#undef STORMKV_INSTANTIATE

}  // namespace stormkv::memstore
