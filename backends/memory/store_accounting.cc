// backends/memory/store_accounting.cc — Store<A>'s modelled memory: the cost of each value in Redis
// 7.0's encodings, new collections, incremental rehash steps, MEMORY USAGE, and the estimate of
// the store's own heap (RealBytes).

#include <charconv>

#include "store_internal.h"

namespace stormkv::memstore {

template <class A>
void Store<A>::SetString(EntryT& e, std::string_view v) {
  e.str.assign(v.data(), v.size());
  uint64_t cost = model::StringValueCost(v, cfg_.allocator, SharedIntegersAllowed());
  if (v.size() <= 20 && model::IsIntString(v)) {
    e.enc = Enc::kInt;
  } else {
    e.enc = v.size() <= model::kEmbstrLimit ? Enc::kEmbstr : Enc::kRaw;
  }
  SetValueCost(e, cost);
}

template <class A>
void Store<A>::SetInteger(EntryT& e, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  const std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
  e.str.assign(text.data(), text.size());
  // The decimal text of an int64 is what Redis stores as an integer: SetString's encoding
  // without asking IsIntString again (StringValueCost still prices it, the one model).
  e.enc = Enc::kInt;
  SetValueCost(e, model::StringValueCost(text, cfg_.allocator, SharedIntegersAllowed()));
}

template <class A>
uint64_t Store<A>::HashCost(const HashT& h) const {
  if (h.enc == Enc::kListpack) return Je(model::kRobj) + Je(h.lp_bytes);
  return Je(model::kRobj) + Je(model::kDictStruct) + DictBytes(h.dict) + h.ht_bytes;
}

template <class A>
uint64_t Store<A>::SetCost(const SetT& s) const {
  if (s.enc == Enc::kIntset) {
    return Je(model::kRobj) + Je(model::kIntsetHeader + s.intset_width * s.members.size());
  }
  return Je(model::kRobj) + Je(model::kDictStruct) + DictBytes(s.dict) + s.ht_bytes;
}

template <class A>
uint64_t Store<A>::ZsetCost(const ZsetT& z) const {
  if (z.enc == Enc::kListpack) return Je(model::kRobj) + Je(z.lp_bytes);
  return Je(model::kRobj) + Je(model::kZsetStruct) + Je(model::kDictStruct) + DictBytes(z.dict) +
         Je(model::kZskiplistStruct) +
         Je(model::kZslNodeBase + model::kZslLevel * model::kZslMaxLevel) + z.sl_bytes;
}

template <class A>
uint64_t Store<A>::CollectionCost(const EntryT& e) const {
  switch (e.type) {
    case ObjType::kHash:
      return HashCost(*e.hash);
    case ObjType::kSet:
      return SetCost(*e.set);
    case ObjType::kZset:
      return ZsetCost(*e.zset);
    default:
      return e.value_cost;
  }
}

template <class A>
bool Store<A>::CollectionEmpty(const EntryT& e) const {
  switch (e.type) {
    case ObjType::kHash:
      return e.hash->fields.empty();
    case ObjType::kSet:
      return e.set->members.empty();
    case ObjType::kZset:
      return e.zset->members.empty();
    default:
      return false;
  }
}

template <class A>
uint64_t Store<A>::DictBytes(const DictSim<A>& d) const {
  return (d.size0() ? Je(8 * d.size0()) : 0) + (d.size1() ? Je(8 * d.size1()) : 0);
}

template <class A>
HashObj<A>& Store<A>::NewHash(EntryT& e) {
  RebindAlloc<A, HashT> a(alloc_);
  auto p = a.allocate(1);
  std::allocator_traits<RebindAlloc<A, HashT>>::construct(a, std::to_address(p), alloc_);
  e.hash = p;
  e.enc = Enc::kListpack;
  SetValueCost(e, HashCost(*p));
  return *p;
}

template <class A>
SetObj<A>& Store<A>::NewSet(EntryT& e, bool intset) {
  RebindAlloc<A, SetT> a(alloc_);
  auto p = a.allocate(1);
  std::allocator_traits<RebindAlloc<A, SetT>>::construct(a, std::to_address(p), alloc_);
  p->enc = intset ? Enc::kIntset : Enc::kHashtable;
  e.set = p;
  e.enc = p->enc;
  SetValueCost(e, SetCost(*p));
  return *p;
}

template <class A>
ZsetObj<A>& Store<A>::NewZset(EntryT& e, bool skiplist) {
  RebindAlloc<A, ZsetT> a(alloc_);
  auto p = a.allocate(1);
  std::allocator_traits<RebindAlloc<A, ZsetT>>::construct(a, std::to_address(p), alloc_);
  p->enc = skiplist ? Enc::kSkiplist : Enc::kListpack;
  e.zset = p;
  e.enc = p->enc;
  SetValueCost(e, ZsetCost(*p));
  return *p;
}

// One incremental-rehash step on the value's dict (what dictFind does in Redis).
template <class A>
void Store<A>::StepDict(EntryT& e) {
  DictSim<A>* d = nullptr;
  if (e.type == ObjType::kHash && e.hash->enc == Enc::kHashtable) d = &e.hash->dict;
  if (e.type == ObjType::kSet && e.set->enc == Enc::kHashtable) d = &e.set->dict;
  if (e.type == ObjType::kZset && e.zset->enc == Enc::kSkiplist) d = &e.zset->dict;
  if (d == nullptr || !d->rehashing()) return;
  d->Find();
  if (!d->rehashing()) SetValueCost(e, CollectionCost(e));
}

template <class A>
int64_t Store<A>::MemoryUsage(const EntryT& e, int64_t samples) const {
  const AllocatorProfile p = cfg_.allocator;
  int64_t usage = static_cast<int64_t>(Sds(e.key.size()) + MainDictEntry());
  auto sampled = [&](uint64_t fixed, size_t n, auto&& elem) -> int64_t {
    size_t k = std::min<uint64_t>(n, static_cast<uint64_t>(samples));
    uint64_t elesize = 0;
    for (size_t i = 0; i < k; ++i) elesize += elem(i);
    if (k == 0) return static_cast<int64_t>(fixed);
    // objectComputeSize: asize += (double)elesize / samples * dictSize — the sum is formed in
    // double and then truncated (not the average alone).
    return static_cast<int64_t>(static_cast<double>(fixed) +
                                static_cast<double>(elesize) / static_cast<double>(k) *
                                    static_cast<double>(n));
  };
  switch (e.type) {
    case ObjType::kString:
      usage += static_cast<int64_t>(model::StringValueUsage(View(e.str), p));
      break;
    case ObjType::kHash: {
      const HashT& h = *e.hash;
      if (h.enc == Enc::kListpack) {
        usage += static_cast<int64_t>(model::kRobj + Je(h.lp_bytes));
      } else {
        usage += sampled(model::kRobj + model::kDictStruct + 8 * h.dict.slots(),
                         h.fields.size(), [&](size_t i) {
                           return model::kDictEntry + Sds(h.fields[i].key.size()) +
                                  Sds(h.fields[i].value.size());
                         });
      }
      break;
    }
    case ObjType::kSet: {
      const SetT& s = *e.set;
      if (s.enc == Enc::kIntset) {
        usage += static_cast<int64_t>(model::kRobj +
                                      Je(model::kIntsetHeader + s.intset_width * s.members.size()));
      } else {
        usage +=
            sampled(model::kRobj + model::kDictStruct + 8 * s.dict.slots(), s.members.size(),
                    [&](size_t i) { return model::kDictEntry + Sds(s.members[i].key.size()); });
      }
      break;
    }
    case ObjType::kZset: {
      const ZsetT& z = *e.zset;
      if (z.enc == Enc::kListpack) {
        usage += static_cast<int64_t>(model::kRobj + Je(z.lp_bytes));
      } else {
        uint64_t fixed = model::kRobj + model::kZsetStruct + model::kZskiplistStruct +
                         model::kDictStruct + 8 * z.dict.slots() +
                         Je(model::kZslNodeBase + model::kZslLevel * model::kZslMaxLevel);
        usage += sampled(fixed, z.ranks.size(), [&](size_t i) {
          const ZMember<A>& zm = z.members[z.ranks[i].mpos];
          return Sds(zm.key.size()) + model::kDictEntry +
                 Je(model::kZslNodeBase + model::kZslLevel * zm.level);
        });
      }
      break;
    }
    default:
      break;
  }
  return usage;
}

template <class A>
uint64_t Store<A>::EntryRealBytes(const EntryT& e) const {
  uint64_t b = StringHeap(e.key) + StringHeap(e.str);
  switch (e.type) {
    case ObjType::kHash: {
      const HashT& h = *e.hash;
      b += MallocBlock(sizeof(HashT)) + MallocBlock(h.fields.RealBytes());
      for (const auto& fv : h.fields.items()) b += StringHeap(fv.key) + StringHeap(fv.value);
      break;
    }
    case ObjType::kSet: {
      const SetT& s = *e.set;
      b += MallocBlock(sizeof(SetT)) + MallocBlock(s.members.RealBytes());
      for (const auto& m : s.members.items()) b += StringHeap(m.key);
      break;
    }
    case ObjType::kZset: {
      const ZsetT& z = *e.zset;
      b += MallocBlock(sizeof(ZsetT)) + MallocBlock(z.members.RealBytes()) +
           MallocBlock(z.ranks.capacity() * sizeof(ZRank));
      for (const auto& m : z.members.items()) b += StringHeap(m.key);
      break;
    }
    default:
      break;
  }
  return b;
}

template <class A>
int64_t Store<A>::RealBytes() const {
  uint64_t b = sizeof(*this) + MallocBlock(entries_.capacity() * sizeof(EntryT)) +
               MallocBlock(free_slots_.capacity() * 4) + MallocBlock(volatile_.capacity() * 4) +
               MallocBlock(index_.capacity_bytes());
  for (const EntryT& e : entries_) b += EntryRealBytes(e);
  return static_cast<int64_t>(b);
}

// The members defined here, for the two stores (per member, so that a unity batch of these
// files instantiates each once).
#define STORMKV_INSTANTIATE(A_)                                                    \
  template void Store<A_>::SetString(EntryT& e, std::string_view v);               \
  template void Store<A_>::SetInteger(EntryT& e, int64_t v);                      \
  template uint64_t Store<A_>::HashCost(const HashT& h) const;                     \
  template uint64_t Store<A_>::SetCost(const SetT& s) const;                       \
  template uint64_t Store<A_>::ZsetCost(const ZsetT& z) const;                     \
  template uint64_t Store<A_>::CollectionCost(const EntryT& e) const;              \
  template bool Store<A_>::CollectionEmpty(const EntryT& e) const;                 \
  template uint64_t Store<A_>::DictBytes(const DictSim<A_>& d) const;               \
  template HashObj<A_>& Store<A_>::NewHash(EntryT& e);                             \
  template SetObj<A_>& Store<A_>::NewSet(EntryT& e, bool intset);                  \
  template ZsetObj<A_>& Store<A_>::NewZset(EntryT& e, bool skiplist);              \
  template void Store<A_>::StepDict(EntryT& e);                                    \
  template int64_t Store<A_>::MemoryUsage(const EntryT& e, int64_t samples) const; \
  template uint64_t Store<A_>::EntryRealBytes(const EntryT& e) const;              \
  template int64_t Store<A_>::RealBytes() const;
STORMKV_INSTANTIATE(std::allocator<char>)
STORMKV_INSTANTIATE(shm::Allocator<char>)
#undef STORMKV_INSTANTIATE

}  // namespace stormkv::memstore
