// backends/memory/cmd_hashes.cc — hashes: the field primitives (listpack / hashtable accounting)
// and HSET/HMSET, HSETNX, HGET, HMGET, HGETALL, HINCRBY, HDEL, HLEN, HEXISTS.
#include <cinttypes>
#include <cstdio>

#include "store_internal.h"

namespace stormkv::memstore {

// hashTypeConvertListpack: a dict presized to the length (dictExpand), then every field added
// in listpack order.
template <class A>
void Store<A>::HashConvert(HashT& h) {
  h.enc = Enc::kHashtable;
  h.dict.Reset();
  auto& items = h.fields.items();
  h.dict.Expand(items.size(), [&](auto&& cb) { for (const auto& it : items) cb(it.dh); });
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].dh = DictHash(View(items[i].key));
    h.dict.BeforeAdd([&](auto&& cb) { for (size_t k = 0; k < i; ++k) cb(items[k].dh); });
    h.dict.Inserted(items[i]);
  }
}

// hashTypeSet: a field or value too long for a listpack converts first (HINCRBY's path; HSET
// converted already); on a hashtable a dictFind, then dictAdd for a new field.
template <class A>
bool Store<A>::HashSetField(EntryT& e, std::string_view f, std::string_view v) {
  HashT& h = *e.hash;
  if (h.enc == Enc::kListpack &&
      (f.size() > hash_max_listpack_value_ || v.size() > hash_max_listpack_value_)) {
    HashConvert(h);
  }
  uint32_t pos = h.fields.Find(f);
  bool added = false;
  if (h.enc == Enc::kHashtable) h.dict.Find();
  if (pos != kNoPos) {
    FieldValue<A>& item = h.fields[pos];
    h.lp_bytes += model::ListpackEntryBytes(v);
    h.lp_bytes -= model::ListpackEntryBytes(View(item.value));
    h.ht_bytes += Sds(v.size());
    h.ht_bytes -= Sds(item.value.size());
    h.usage_bytes += Sds(v.size());
    h.usage_bytes -= Sds(item.value.size());
    item.value.assign(v.data(), v.size());
  } else {
    FieldValue<A> item{String(f.data(), f.size(), alloc_), String(v.data(), v.size(), alloc_)};
    if (h.enc == Enc::kHashtable) {
      auto& items = h.fields.items();
      h.dict.BeforeAdd([&](auto&& cb) { for (const auto& it : items) cb(it.dh); });
      item.dh = DictHash(f);
    }
    uint32_t at = h.fields.Append(std::move(item));
    if (h.enc == Enc::kHashtable) h.dict.Inserted(h.fields[at]);
    h.lp_bytes += model::ListpackEntryBytes(f) + model::ListpackEntryBytes(v);
    h.ht_bytes += Je(model::kDictEntry) + Sds(f.size()) + Sds(v.size());
    h.usage_bytes += model::kDictEntry + Sds(f.size()) + Sds(v.size());
    if (h.enc == Enc::kListpack && h.fields.size() > hash_max_listpack_entries_) HashConvert(h);
    added = true;
  }
  e.enc = h.enc;
  SetValueCost(e, HashCost(h));
  return added;
}

// hashTypeDelete: dictDelete (a rehash step even when the field is missing), then dictResize
// when below 10% fill.
template <class A>
bool Store<A>::HashDelField(HashT& h, std::string_view f) {
  if (h.enc == Enc::kHashtable) h.dict.BeforeDelete();
  uint32_t pos = h.fields.Find(f);
  if (pos == kNoPos) return false;
  const FieldValue<A>& item = h.fields[pos];
  h.lp_bytes -= model::ListpackEntryBytes(View(item.key)) + model::ListpackEntryBytes(View(item.value));
  h.ht_bytes -= Je(model::kDictEntry) + Sds(item.key.size()) + Sds(item.value.size());
  h.usage_bytes -= model::kDictEntry + Sds(item.key.size()) + Sds(item.value.size());
  if (h.enc == Enc::kListpack) {
    h.fields.EraseOrdered(pos);
  } else {
    h.dict.Removed(h.fields[pos]);
    h.fields.EraseSwap(pos);
    auto& items = h.fields.items();
    h.dict.ResizeIfNeeded([&](auto&& cb) { for (const auto& it : items) cb(it.dh); });
  }
  return true;
}

template <class A>
Reply Store<A>::CmdHSet(const Command& a) {
  if (a.size() % 2 == 1) {
    return Reply::Error("ERR wrong number of arguments for '" +
                        std::string(EqNoCase(a[0], "hmset") ? "hmset" : "hset") + "' command");
  }
  auto [e, wrongtype] = FindWrite(a[1], ObjType::kHash);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) {
    e = &AddKey(a[1], ObjType::kHash);
    NewHash(*e);
  }
  HashT& h = *e->hash;
  if (h.enc == Enc::kListpack) {
    for (size_t j = 2; j < a.size(); ++j) {
      if (a[j].size() > hash_max_listpack_value_) {
        HashConvert(h);
        break;
      }
    }
  }
  int64_t created = 0;
  for (size_t j = 2; j + 1 < a.size(); j += 2) {
    if (HashSetField(*e, a[j], a[j + 1])) ++created;
  }
  if (EqNoCase(a[0], "hmset")) return Reply::Ok();
  return Reply::Integer(created);
}

template <class A>
Reply Store<A>::CmdHSetNx(const Command& a) {
  auto [e, wrongtype] = FindWrite(a[1], ObjType::kHash);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) {
    e = &AddKey(a[1], ObjType::kHash);
    NewHash(*e);
  }
  HashT& h = *e->hash;
  // hsetnxCommand: hashTypeExists first; only a new field may convert (hashTypeTryConversion).
  StepDict(*e);
  if (h.fields.Find(a[2]) != kNoPos) return Reply::Integer(0);
  if (h.enc == Enc::kListpack &&
      (a[2].size() > hash_max_listpack_value_ || a[3].size() > hash_max_listpack_value_)) {
    HashConvert(h);
    e->enc = h.enc;
    SetValueCost(*e, HashCost(h));
  }
  HashSetField(*e, a[2], a[3]);
  return Reply::Integer(1);
}

template <class A>
Reply Store<A>::CmdHGet(const Command& a) {
  auto [e, wrongtype] = FindRead(a[1], ObjType::kHash);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Nil();
  StepDict(*e);
  uint32_t pos = e->hash->fields.Find(a[2]);
  if (pos == kNoPos) return Reply::Nil();
  return Reply::Bulk(std::string(View(e->hash->fields[pos].value)));
}

template <class A>
Reply Store<A>::CmdHMGet(const Command& a) {
  auto [e, wrongtype] = FindRead(a[1], ObjType::kHash);
  if (wrongtype) return Err(kErrWrongType);
  std::vector<Reply> out;
  out.reserve(a.size() - 2);
  for (size_t j = 2; j < a.size(); ++j) {
    if (e) StepDict(*e);
    uint32_t pos = e ? e->hash->fields.Find(a[j]) : kNoPos;
    out.push_back(pos == kNoPos ? Reply::Nil()
                                : Reply::Bulk(std::string(View(e->hash->fields[pos].value))));
  }
  return Reply::Array(std::move(out));
}

template <class A>
Reply Store<A>::CmdHGetAll(const Command& a) {
  auto [e, wrongtype] = FindRead(a[1], ObjType::kHash);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Array({});
  std::vector<Reply> out;
  out.reserve(e->hash->fields.size() * 2);
  for (const auto& fv : e->hash->fields.items()) {
    out.push_back(Reply::Bulk(std::string(View(fv.key))));
    out.push_back(Reply::Bulk(std::string(View(fv.value))));
  }
  return Reply::Array(std::move(out));
}

template <class A>
Reply Store<A>::CmdHIncrBy(const Command& a) {
  int64_t by;
  if (!ParseLL(a[3], &by)) return Err(kErrNotInt);
  auto [e, wrongtype] = FindWrite(a[1], ObjType::kHash);
  if (wrongtype) return Err(kErrWrongType);
  int64_t value = 0;
  if (e != nullptr) {
    StepDict(*e);  // hashTypeGetValue
    uint32_t pos = e->hash->fields.Find(a[2]);
    if (pos != kNoPos && !ParseLL(View(e->hash->fields[pos].value), &value)) {
      return Err("ERR hash value is not an integer");
    }
  }
  if ((by < 0 && value < 0 && by < INT64_MIN - value) ||
      (by > 0 && value > 0 && by > INT64_MAX - value)) {
    return Err(kErrOverflow);
  }
  value += by;
  if (e == nullptr) {
    e = &AddKey(a[1], ObjType::kHash);
    NewHash(*e);
  }
  char buf[24];
  int n = std::snprintf(buf, sizeof buf, "%" PRId64, value);
  HashSetField(*e, a[2], std::string_view(buf, static_cast<size_t>(n)));
  return Reply::Integer(value);
}

template <class A>
Reply Store<A>::CmdHDel(const Command& a) {
  auto [e, wrongtype] = FindWrite(a[1], ObjType::kHash);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Integer(0);
  int64_t n = 0;
  for (size_t j = 2; j < a.size(); ++j) {
    if (HashDelField(*e->hash, a[j])) {
      ++n;
      if (e->hash->fields.empty()) break;
    }
  }
  DeleteIfEmpty(*e);
  return Reply::Integer(n);
}

template <class A>
Reply Store<A>::CmdHLen(const Command& a) {
  auto [e, wrongtype] = FindRead(a[1], ObjType::kHash);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Integer(0);
  return Reply::Integer(static_cast<int64_t>(e->hash->fields.size()));
}

template <class A>
Reply Store<A>::CmdHExists(const Command& a) {
  auto [e, wrongtype] = FindRead(a[1], ObjType::kHash);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Integer(0);
  StepDict(*e);
  return Reply::Integer(e->hash->fields.Find(a[2]) != kNoPos ? 1 : 0);
}

// The members defined here, for the two stores (per member, so that a unity batch of these
// files instantiates each once).
#define STORMKV_INSTANTIATE(A_)                                                             \
  template void Store<A_>::HashConvert(HashT& h);                                           \
  template bool Store<A_>::HashSetField(EntryT& e, std::string_view f, std::string_view v); \
  template bool Store<A_>::HashDelField(HashT& h, std::string_view f);                      \
  template Reply Store<A_>::CmdHSet(const Command& a);                                      \
  template Reply Store<A_>::CmdHSetNx(const Command& a);                                    \
  template Reply Store<A_>::CmdHGet(const Command& a);                                      \
  template Reply Store<A_>::CmdHMGet(const Command& a);                                     \
  template Reply Store<A_>::CmdHGetAll(const Command& a);                                   \
  template Reply Store<A_>::CmdHIncrBy(const Command& a);                                   \
  template Reply Store<A_>::CmdHDel(const Command& a);                                      \
  template Reply Store<A_>::CmdHLen(const Command& a);                                      \
  template Reply Store<A_>::CmdHExists(const Command& a);
STORMKV_INSTANTIATE(std::allocator<char>)
STORMKV_INSTANTIATE(shm::Allocator<char>)
#undef STORMKV_INSTANTIATE

}  // namespace stormkv::memstore
