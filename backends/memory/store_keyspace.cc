// backends/memory/store_keyspace.cc — Store<A>'s keyspace: lookup with lazy expiry, the typed
// lookup and delete-when-empty every command shares, adding and deleting keys, expiry (lazy and
// active), the main and expires dicts' modelled slots, FLUSHALL.

#include "store_internal.h"

namespace stormkv::memstore {

template <class A>
uint32_t Store<A>::FindSlot(std::string_view key) const {
  uint32_t h = static_cast<uint32_t>(HashBytes(key));
  return index_.Find(h, [&](uint32_t slot) { return View(entries_[slot].key) == key; });
}

template <class A>
Entry<A>* Store<A>::Lookup(std::string_view key, bool read, bool touch) {
  uint32_t slot = FindSlot(key);
  if (slot == kNoPos) {
    if (read) ++stat_misses_;
    return nullptr;
  }
  EntryT& e = entries_[slot];
  if (IsExpired(e)) {
    ExpireSlot(slot);
    if (read) ++stat_misses_;
    return nullptr;
  }
  if (read) ++stat_hits_;
  if (touch) Touch(e);
  return &e;
}

template <class A>
typename Store<A>::Found Store<A>::FindTyped(std::string_view key, ObjType type, bool read) {
  EntryT* e = Lookup(key, read, true);
  if (e == nullptr) return Found{};
  if (e->type != type) return Found{nullptr, true};
  return Found{e, false};
}

template <class A>
void Store<A>::DeleteIfEmpty(EntryT& e) {
  if (CollectionEmpty(e)) {
    DeleteEntry(e);
  } else {
    SetValueCost(e, CollectionCost(e));
  }
}

template <class A>
void Store<A>::Touch(EntryT& e) {
  if (cfg_.policy == Policy::kAllkeysLfu || cfg_.policy == Policy::kVolatileLfu) {
    UpdateLfu(e);
  } else {
    e.lru = static_cast<uint32_t>(now_ms_ / 1000);
  }
}

template <class A>
void Store<A>::GrowDict(uint64_t* slots, uint64_t used_before) {
  uint64_t old = *slots;
  if (old == 0) {
    *slots = 4;
  } else if (used_before >= old) {
    *slots = model::DictExpandSlots(used_before + 1);
  }
  dataset_ += static_cast<int64_t>(8 * (*slots - old));
}

template <class A>
Entry<A>& Store<A>::AddKey(std::string_view key, ObjType type) {
  GrowDict(&main_slots_, live_);
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back(alloc_);
  }
  EntryT& e = entries_[slot];
  e.key.assign(key.data(), key.size());
  e.key_hash = static_cast<uint32_t>(HashBytes(key));
  e.type = type;
  e.expire_ms = kNoExpire;
  e.value_cost = 0;
  e.vol_pos = kNoPos;
  e.lru = static_cast<uint32_t>(now_ms_ / 1000);
  e.lfu_minutes = static_cast<uint16_t>((now_ms_ / 60000) & 0xFFFF);
  e.lfu_counter = 5;
  index_.Insert(e.key_hash, slot);
  ++live_;
  dataset_ += static_cast<int64_t>(KeyCost(key.size()));
  return e;
}

template <class A>
void Store<A>::DeleteSlot(uint32_t slot) {
  EntryT& e = entries_[slot];
  if (e.expire_ms != kNoExpire) RemoveExpire(e);
  FreeValue(e);
  dataset_ -= static_cast<int64_t>(KeyCost(e.key.size()));
  index_.Erase(e.key_hash, slot);
  e.key.clear();
  if (e.key.capacity() > 64) e.key.shrink_to_fit();
  e.type = ObjType::kFree;
  ++e.gen;
  --live_;
  free_slots_.push_back(slot);
}

template <class A>
void Store<A>::ExpireSlot(uint32_t slot) {
  ++mutations_;
  DeleteSlot(slot);
  ++stat_expired_;
}

template <class A>
void Store<A>::SetExpire(EntryT& e, int64_t when_ms) {
  // setExpire: dictAddOrFind on the expires dict, which may expand it (used >= size) before it
  // finds that the key already has an expiry.
  GrowDict(&expire_slots_, volatile_.size());
  if (e.expire_ms == kNoExpire) {
    e.vol_pos = static_cast<uint32_t>(volatile_.size());
    volatile_.push_back(SlotOf(e));
    dataset_ += static_cast<int64_t>(Je(model::kDictEntry));
  } else {
    expire_sum_.add(-static_cast<__int128>(e.expire_ms));
  }
  e.expire_ms = when_ms;
  expire_sum_.add(when_ms);
}

template <class A>
bool Store<A>::RemoveExpire(EntryT& e) {
  if (e.expire_ms == kNoExpire) return false;
  uint32_t last = volatile_.back();
  volatile_[e.vol_pos] = last;
  entries_[last].vol_pos = e.vol_pos;
  volatile_.pop_back();
  dataset_ -= static_cast<int64_t>(Je(model::kDictEntry));
  expire_sum_.add(-static_cast<__int128>(e.expire_ms));
  e.expire_ms = kNoExpire;
  e.vol_pos = kNoPos;
  return true;
}

template <class A>
void Store<A>::FreeValue(EntryT& e) {
  switch (e.type) {
    case ObjType::kHash: {
      RebindAlloc<A, HashT> a(alloc_);
      std::allocator_traits<RebindAlloc<A, HashT>>::destroy(a, std::to_address(e.hash));
      a.deallocate(e.hash, 1);
      e.hash = nullptr;
      break;
    }
    case ObjType::kSet: {
      RebindAlloc<A, SetT> a(alloc_);
      std::allocator_traits<RebindAlloc<A, SetT>>::destroy(a, std::to_address(e.set));
      a.deallocate(e.set, 1);
      e.set = nullptr;
      break;
    }
    case ObjType::kZset: {
      RebindAlloc<A, ZsetT> a(alloc_);
      std::allocator_traits<RebindAlloc<A, ZsetT>>::destroy(a, std::to_address(e.zset));
      a.deallocate(e.zset, 1);
      e.zset = nullptr;
      break;
    }
    default:
      break;
  }
  e.str.clear();
  if (e.str.capacity() > 256) e.str.shrink_to_fit();
  dataset_ -= static_cast<int64_t>(e.value_cost);
  e.value_cost = 0;
}

template <class A>
void Store<A>::FlushAll() {
  for (EntryT& e : entries_) {
    if (e.type != ObjType::kFree) FreeValue(e);
  }
  entries_.clear();
  entries_.shrink_to_fit();
  free_slots_.clear();
  free_slots_.shrink_to_fit();
  volatile_.clear();
  volatile_.shrink_to_fit();
  index_.Clear();
  live_ = 0;
  dataset_ = 0;
  main_slots_ = 0;
  expire_slots_ = 0;
  expire_sum_ = WideSum();
  expire_cursor_ = 0;
  pool_size_ = 0;
}

template <class A>
void Store<A>::ShrinkDbDicts() {
  // tryResizeHashTables (serverCron, 10 times a second): shrink the main and expires dicts
  // below 10% fill.
  auto shrink = [&](uint64_t* slots, uint64_t used) {
    if (*slots > 4 && used * 100 / *slots < 10) {
      uint64_t n = model::DictExpandSlots(std::max<uint64_t>(used, 4));
      dataset_ -= static_cast<int64_t>(8 * (*slots - n));
      *slots = n;
    }
  };
  shrink(&main_slots_, live_);
  shrink(&expire_slots_, volatile_.size());
}

template <class A>
void Store<A>::ActiveExpire(int64_t cycles) {
  // Like activeExpireCycle: walk the volatile keys with a cursor in batches of 20; a cycle
  // ends when a batch finds <= 10% expired. At most one full pass per catch-up.
  size_t budget = volatile_.size() + 20;
  size_t examined = 0;
  for (int64_t c = 0; c < cycles; ++c) {
    for (int batch = 0; batch < 16; ++batch) {
      if (volatile_.empty()) return;
      size_t n = std::min<size_t>(20, volatile_.size());
      size_t expired = 0;
      for (size_t i = 0; i < n && !volatile_.empty(); ++i) {
        if (expire_cursor_ >= volatile_.size()) expire_cursor_ = 0;
        uint32_t slot = volatile_[expire_cursor_];
        if (IsExpired(entries_[slot])) {
          ExpireSlot(slot);
          ++expired;
        } else {
          ++expire_cursor_;
        }
        ++examined;
      }
      if (examined >= budget) return;
      if (expired * 10 <= n) break;
    }
  }
}

// The members defined here, for the two stores (per member, so that a unity batch of these
// files instantiates each once).
#define STORMKV_INSTANTIATE(A_)                                                               \
  template uint32_t Store<A_>::FindSlot(std::string_view key) const;                          \
  template Entry<A_>* Store<A_>::Lookup(std::string_view key, bool read, bool touch);         \
  template typename Store<A_>::Found Store<A_>::FindTyped(std::string_view key, ObjType type, \
                                                          bool read);                         \
  template void Store<A_>::DeleteIfEmpty(EntryT& e);                                          \
  template void Store<A_>::Touch(EntryT& e);                                                  \
  template void Store<A_>::GrowDict(uint64_t* slots, uint64_t used_before);                   \
  template Entry<A_>& Store<A_>::AddKey(std::string_view key, ObjType type);                  \
  template void Store<A_>::DeleteSlot(uint32_t slot);                                         \
  template void Store<A_>::ExpireSlot(uint32_t slot);                                         \
  template void Store<A_>::SetExpire(EntryT& e, int64_t when_ms);                             \
  template bool Store<A_>::RemoveExpire(EntryT& e);                                           \
  template void Store<A_>::FreeValue(EntryT& e);                                              \
  template void Store<A_>::FlushAll();                                                        \
  template void Store<A_>::ShrinkDbDicts();                                                   \
  template void Store<A_>::ActiveExpire(int64_t cycles);
STORMKV_INSTANTIATE(std::allocator<char>)
STORMKV_INSTANTIATE(shm::Allocator<char>)
#undef STORMKV_INSTANTIATE

}  // namespace stormkv::memstore
