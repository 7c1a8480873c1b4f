// backends/memory/store_integrity.cc — what the shared segment needs of Store<A>: capacity
// reservation before a write, the structure check, and the repair of derived accounting after an
// interrupted command.

#include "store_internal.h"

namespace stormkv::memstore {

template <class A>
void Store<A>::ReserveForWrite(const Command& argv, uint32_t flags) {
  ++mutations_;
  auto room = [](auto& v, size_t want) {
    if (v.capacity() < want) v.reserve(std::max(want, v.capacity() * 2));
  };
  if (free_slots_.empty()) room(entries_, std::max<size_t>(entries_.size() + 1, 16));
  index_.Reserve(live_ + 1);
  if (free_slots_.capacity() < entries_.capacity()) free_slots_.reserve(entries_.capacity());
  if (volatile_.capacity() < entries_.capacity()) volatile_.reserve(entries_.capacity());
  if (argv.size() < 3 || (flags & kAddsElements) == 0) return;
  uint32_t slot = FindSlot(argv[1]);
  if (slot == kNoPos) return;
  EntryT& e = entries_[slot];
  size_t extra = argv.size() - 2;
  // HSET/HMSET field value ..., ZADD [options] score member ...: at most one element per pair.
  if (EqNoCase(argv[0], "hset") || EqNoCase(argv[0], "hmset") || EqNoCase(argv[0], "zadd")) {
    extra = extra / 2 + 1;
  }
  switch (e.type) {
    case ObjType::kHash:
      e.hash->fields.ReserveExtra(extra);
      e.hash->dict.ReserveCounts(e.hash->fields.size() + extra);
      break;
    case ObjType::kSet:
      e.set->members.ReserveExtra(extra);
      e.set->dict.ReserveCounts(e.set->members.size() + extra);
      break;
    case ObjType::kZset:
      e.zset->members.ReserveExtra(extra);
      e.zset->dict.ReserveCounts(e.zset->members.size() + extra);
      room(e.zset->ranks, e.zset->ranks.size() + extra);
      break;
    default:
      break;
  }
}

template <class A>
std::string Store<A>::CheckIntegrity() const {
  auto where = [&](uint32_t slot, std::string_view what) {
    return "slot " + std::to_string(slot) + " (key '" +
           std::string(View(entries_[slot].key).substr(0, 64)) + "'): " + std::string(what);
  };
  size_t live = 0;
  size_t expiring = 0;
  __int128 expire_sum = 0;
  int64_t dataset = static_cast<int64_t>(8 * (main_slots_ + expire_slots_));
  for (uint32_t slot = 0; slot < entries_.size(); ++slot) {
    const EntryT& e = entries_[slot];
    if (e.type == ObjType::kFree) {
      if (e.expire_ms != kNoExpire || e.value_cost != 0) return where(slot, "free slot holds data");
      continue;
    }
    ++live;
    std::string_view key = View(e.key);
    if (e.key_hash != static_cast<uint32_t>(HashBytes(key))) return where(slot, "stale key hash");
    if (FindSlot(key) != slot) return where(slot, "the index does not lead to this slot");
    dataset += static_cast<int64_t>(KeyCost(key.size()) + e.value_cost);
    if (e.expire_ms != kNoExpire) {
      ++expiring;
      expire_sum += e.expire_ms;
      dataset += static_cast<int64_t>(Je(model::kDictEntry));
      if (e.vol_pos >= volatile_.size() || volatile_[e.vol_pos] != slot) {
        return where(slot, "missing from the expiry list");
      }
    } else if (e.vol_pos != kNoPos) {
      return where(slot, "persistent key with an expiry-list position");
    }
    switch (e.type) {
      case ObjType::kString:
        if (e.hash || e.set || e.zset) return where(slot, "string with a collection");
        break;
      case ObjType::kHash:
        if (!e.hash) return where(slot, "hash without its object");
        if (e.hash->fields.empty()) return where(slot, "empty hash");
        if (!e.hash->fields.IndexConsistent()) return where(slot, "hash field index out of date");
        if (e.value_cost != HashCost(*e.hash)) return where(slot, "hash cost out of date");
        break;
      case ObjType::kSet:
        if (!e.set) return where(slot, "set without its object");
        if (e.set->members.empty()) return where(slot, "empty set");
        if (!e.set->members.IndexConsistent()) return where(slot, "set member index out of date");
        if (e.value_cost != SetCost(*e.set)) return where(slot, "set cost out of date");
        break;
      case ObjType::kZset: {
        if (!e.zset) return where(slot, "sorted set without its object");
        const ZsetT& z = *e.zset;
        if (z.members.empty()) return where(slot, "empty sorted set");
        if (!z.members.IndexConsistent()) return where(slot, "sorted-set member index out of date");
        if (z.ranks.size() != z.members.size()) return where(slot, "sorted-set ranks out of date");
        for (size_t i = 0; i < z.ranks.size(); ++i) {
          const ZRank& r = z.ranks[i];
          if (r.mpos >= z.members.size() || z.members[r.mpos].score != r.score) {
            return where(slot, "sorted-set rank points to the wrong member");
          }
          if (i > 0) {
            const ZRank& p = z.ranks[i - 1];
            if (p.mpos >= z.members.size()) return where(slot, "sorted-set rank points nowhere");
            if (p.score > r.score || (p.score == r.score &&
                                      View(z.members[p.mpos].key) >= View(z.members[r.mpos].key))) {
              return where(slot, "sorted-set ranks out of order");
            }
          }
        }
        if (e.value_cost != ZsetCost(z)) return where(slot, "sorted-set cost out of date");
        break;
      }
      default:
        return where(slot, "unknown type");
    }
  }
  if (live != live_)
    return "key count " + std::to_string(live_) + " but " + std::to_string(live) + " live slots";
  if (index_.size() != live_)
    return "index holds " + std::to_string(index_.size()) + " keys, not " + std::to_string(live_);
  if (expiring != volatile_.size()) {
    return "expiry list holds " + std::to_string(volatile_.size()) + " keys, not " +
           std::to_string(expiring);
  }
  if (expire_sum != expire_sum_.get()) return "expiry sum out of date";
  if (free_slots_.size() != entries_.size() - live_) return "free-slot list out of date";
  for (uint32_t slot : free_slots_) {
    if (slot >= entries_.size() || entries_[slot].type != ObjType::kFree)
      return "free-slot list names a used slot";
  }
  if (dataset != dataset_) {
    return "modelled dataset is " + std::to_string(dataset_) + " bytes but the keys add up to " +
           std::to_string(dataset);
  }
  return "";
}

template <class A>
void Store<A>::RepairAccounting() {
  int64_t dataset = static_cast<int64_t>(8 * (main_slots_ + expire_slots_));
  WideSum expire_sum;
  for (EntryT& e : entries_) {
    if (e.type == ObjType::kFree) continue;
    if (e.type == ObjType::kHash && e.hash) {
      e.enc = e.hash->enc;
      e.value_cost = HashCost(*e.hash);
    } else if (e.type == ObjType::kSet && e.set) {
      e.enc = e.set->enc;
      e.value_cost = SetCost(*e.set);
    } else if (e.type == ObjType::kZset && e.zset) {
      e.enc = e.zset->enc;
      e.value_cost = ZsetCost(*e.zset);
    }
    dataset += static_cast<int64_t>(KeyCost(e.key.size()) + e.value_cost);
    if (e.expire_ms != kNoExpire) {
      dataset += static_cast<int64_t>(Je(model::kDictEntry));
      expire_sum.add(e.expire_ms);
    }
  }
  dataset_ = dataset;
  expire_sum_ = expire_sum;
  UpdatePeak();
}

// The members defined here, for the two stores (per member, so that a unity batch of these
// files instantiates each once).
#define STORMKV_INSTANTIATE(A_)                                                  \
  template void Store<A_>::ReserveForWrite(const Command& argv, uint32_t flags); \
  template std::string Store<A_>::CheckIntegrity() const;                        \
  template void Store<A_>::RepairAccounting();
STORMKV_INSTANTIATE(std::allocator<char>)
STORMKV_INSTANTIATE(shm::Allocator<char>)
#undef STORMKV_INSTANTIATE

}  // namespace stormkv::memstore
