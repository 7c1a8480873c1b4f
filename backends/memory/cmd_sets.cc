// backends/memory/cmd_sets.cc — sets: the member primitives (intset / hashtable accounting) and
// SADD, SREM, SISMEMBER, SCARD, SMEMBERS.

#include "store_internal.h"

namespace stormkv::memstore {

// setTypeConvert: a dict presized to the intset's length, then every member added in order.
template <class A>
void Store<A>::SetConvert(SetT& s) {
  s.enc = Enc::kHashtable;
  s.dict.Reset();
  auto& items = s.members.items();
  s.dict.Expand(items.size(), [&](auto&& cb) { for (const auto& it : items) cb(it.dh); });
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].dh = DictHash(View(items[i].key));
    s.dict.BeforeAdd([&](auto&& cb) { for (size_t k = 0; k < i; ++k) cb(items[k].dh); });
    s.dict.Inserted(items[i]);
  }
}

// setTypeAdd: an integer joins the intset (converting once it holds more than
// set-max-intset-entries); anything else converts it and is dictAdd'ed. On a hashtable,
// dictAddRaw takes its rehash step and may expand before it finds a duplicate.
template <class A>
bool Store<A>::SetAddMember(EntryT& e, std::string_view m) {
  SetT& s = *e.set;
  if (s.enc == Enc::kIntset) {
    int64_t v = 0;
    if (model::IsIntString(m, &v)) {
      if (s.members.Find(m) != kNoPos) return false;
      s.intset_width = std::max(s.intset_width, IntsetWidth(v));
      s.members.Append(Member<A>{String(m.data(), m.size(), alloc_)});
      s.ht_bytes += Je(model::kDictEntry) + Sds(m.size());
      s.usage_bytes += model::kDictEntry + Sds(m.size());
      if (s.members.size() > set_max_intset_entries_) SetConvert(s);
      e.enc = s.enc;
      SetValueCost(e, SetCost(s));
      return true;
    }
    SetConvert(s);
  }
  auto& items = s.members.items();
  s.dict.BeforeAdd([&](auto&& cb) { for (const auto& it : items) cb(it.dh); });
  bool added = false;
  if (s.members.Find(m) == kNoPos) {
    Member<A> item{String(m.data(), m.size(), alloc_)};
    item.dh = DictHash(m);
    uint32_t at = s.members.Append(std::move(item));
    s.dict.Inserted(s.members[at]);
    s.ht_bytes += Je(model::kDictEntry) + Sds(m.size());
    s.usage_bytes += model::kDictEntry + Sds(m.size());
    added = true;
  }
  e.enc = s.enc;
  SetValueCost(e, SetCost(s));
  return added;
}

// setTypeRemove: dictDelete (a step even when missing), then dictResize below 10% fill.
template <class A>
bool Store<A>::SetRemMember(SetT& s, std::string_view m) {
  if (s.enc == Enc::kHashtable) s.dict.BeforeDelete();
  uint32_t pos = s.members.Find(m);
  if (pos == kNoPos) return false;
  s.ht_bytes -= Je(model::kDictEntry) + Sds(m.size());
  s.usage_bytes -= model::kDictEntry + Sds(m.size());
  if (s.enc == Enc::kHashtable) s.dict.Removed(s.members[pos]);
  s.members.EraseSwap(pos);
  if (s.enc == Enc::kHashtable) {
    auto& items = s.members.items();
    s.dict.ResizeIfNeeded([&](auto&& cb) { for (const auto& it : items) cb(it.dh); });
  }
  return true;
}

template <class A>
Reply Store<A>::CmdSAdd(const Command& a) {
  auto [e, wrongtype] = FindWrite(a[1], ObjType::kSet);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) {
    e = &AddKey(a[1], ObjType::kSet);
    NewSet(*e, model::IsIntString(a[2]));
  }
  int64_t added = 0;
  for (size_t j = 2; j < a.size(); ++j) {
    if (SetAddMember(*e, a[j])) ++added;
  }
  return Reply::Integer(added);
}

template <class A>
Reply Store<A>::CmdSRem(const Command& a) {
  auto [e, wrongtype] = FindWrite(a[1], ObjType::kSet);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Integer(0);
  int64_t n = 0;
  for (size_t j = 2; j < a.size(); ++j) {
    if (SetRemMember(*e->set, a[j])) {
      ++n;
      if (e->set->members.empty()) break;
    }
  }
  DeleteIfEmpty(*e);
  return Reply::Integer(n);
}

template <class A>
Reply Store<A>::CmdSIsMember(const Command& a) {
  auto [e, wrongtype] = FindRead(a[1], ObjType::kSet);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Integer(0);
  StepDict(*e);
  return Reply::Integer(e->set->members.Find(a[2]) != kNoPos ? 1 : 0);
}

template <class A>
Reply Store<A>::CmdSCard(const Command& a) {
  auto [e, wrongtype] = FindRead(a[1], ObjType::kSet);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Integer(0);
  return Reply::Integer(static_cast<int64_t>(e->set->members.size()));
}

template <class A>
Reply Store<A>::CmdSMembers(const Command& a) {
  auto [e, wrongtype] = FindRead(a[1], ObjType::kSet);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Array({});
  const SetT& s = *e->set;
  std::vector<Reply> out;
  out.reserve(s.members.size());
  if (s.enc == Enc::kIntset) {
    std::vector<int64_t> ints;
    ints.reserve(s.members.size());
    for (const auto& m : s.members.items()) {
      int64_t v = 0;
      ParseLL(View(m.key), &v);
      ints.push_back(v);
    }
    std::sort(ints.begin(), ints.end());
    for (int64_t v : ints) out.push_back(Reply::Bulk(Int2Str(v)));
  } else {
    for (const auto& m : s.members.items()) out.push_back(Reply::Bulk(std::string(View(m.key))));
  }
  return Reply::Array(std::move(out));
}

// The members defined here, for the two stores (per member, so that a unity batch of these
// files instantiates each once).
#define STORMKV_INSTANTIATE(A_)                                         \
  template void Store<A_>::SetConvert(SetT& s);                         \
  template bool Store<A_>::SetAddMember(EntryT& e, std::string_view m); \
  template bool Store<A_>::SetRemMember(SetT& s, std::string_view m);   \
  template Reply Store<A_>::CmdSAdd(const Command& a);                  \
  template Reply Store<A_>::CmdSRem(const Command& a);                  \
  template Reply Store<A_>::CmdSIsMember(const Command& a);             \
  template Reply Store<A_>::CmdSCard(const Command& a);                 \
  template Reply Store<A_>::CmdSMembers(const Command& a);
STORMKV_INSTANTIATE(std::allocator<char>)
STORMKV_INSTANTIATE(shm::Allocator<char>)
#undef STORMKV_INSTANTIATE

}  // namespace stormkv::memstore
