// backends/memory/cmd_sets.cc — sets: the member primitives (intset / hashtable accounting) and
// SADD, SREM, SISMEMBER, SCARD, SMEMBERS.

#include "store_internal.h"

namespace stormkv::memstore {

template <class A>
void Store<A>::SetConvert(SetT& s) {
  s.enc = Enc::kHashtable;
  s.dict.ExpandFresh(s.members.size());
}

template <class A>
bool Store<A>::SetAddMember(EntryT& e, std::string_view m) {
  SetT& s = *e.set;
  if (s.members.Find(m) != kNoPos) {
    if (s.enc == Enc::kHashtable) {
      s.dict.Add(s.members.size());  // dictAddRaw expands before it finds the duplicate
      SetValueCost(e, SetCost(s));
    }
    return false;
  }
  if (s.enc == Enc::kIntset) {
    int64_t v = 0;
    if (model::IsIntString(m, &v)) {
      s.intset_width = std::max(s.intset_width, IntsetWidth(v));
    } else {
      SetConvert(s);
    }
  }
  if (s.enc == Enc::kHashtable) s.dict.Add(s.members.size());
  s.members.Append(Member<A>{String(m.data(), m.size(), alloc_)});
  s.ht_bytes += Je(model::kDictEntry) + Sds(m.size());
  s.usage_bytes += model::kDictEntry + Sds(m.size());
  if (s.enc == Enc::kIntset && s.members.size() > set_max_intset_entries_) SetConvert(s);
  e.enc = s.enc;
  SetValueCost(e, SetCost(s));
  return true;
}

template <class A>
bool Store<A>::SetRemMember(SetT& s, std::string_view m) {
  uint32_t pos = s.members.Find(m);
  if (pos == kNoPos) {
    if (s.enc == Enc::kHashtable) s.dict.Step();
    return false;
  }
  s.ht_bytes -= Je(model::kDictEntry) + Sds(m.size());
  s.usage_bytes -= model::kDictEntry + Sds(m.size());
  s.members.EraseSwap(pos);
  if (s.enc == Enc::kHashtable) s.dict.Delete(s.members.size());
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
