// backends/memory/commands_impl.h — Store<A> command implementations (Redis 7.0 semantics).
#ifndef STORMKV_BACKENDS_MEMORY_COMMANDS_IMPL_H_
#define STORMKV_BACKENDS_MEMORY_COMMANDS_IMPL_H_

#include <cinttypes>

#include "glob.h"
#include "store_impl.h"

namespace stormkv::memstore {

template <class A>
const std::vector<typename Store<A>::CmdSpec>& Store<A>::Commands() {
  using S = Store<A>;
  static const std::vector<CmdSpec> kCommands = {
      {"get", 2, 0, &S::CmdGet},
      {"set", -3, kWrite | kDenyOom, &S::CmdSet},
      {"del", -2, kWrite, &S::CmdDel},
      {"unlink", -2, kWrite, &S::CmdDel},
      {"exists", -2, 0, &S::CmdExists},
      {"type", 2, 0, &S::CmdType},
      {"incr", 2, kWrite | kDenyOom, &S::CmdIncr},
      {"decr", 2, kWrite | kDenyOom, &S::CmdDecr},
      {"incrby", 3, kWrite | kDenyOom, &S::CmdIncrBy},
      {"decrby", 3, kWrite | kDenyOom, &S::CmdDecrBy},
      {"expire", -3, kWrite, &S::CmdExpire},
      {"pexpire", -3, kWrite, &S::CmdPExpire},
      {"expireat", -3, kWrite, &S::CmdExpireAt},
      {"pexpireat", -3, kWrite, &S::CmdPExpireAt},
      {"ttl", 2, 0, &S::CmdTtl},
      {"pttl", 2, 0, &S::CmdPttl},
      {"persist", 2, kWrite, &S::CmdPersist},
      {"hset", -4, kWrite | kDenyOom | kAddsElements, &S::CmdHSet},
      {"hmset", -4, kWrite | kDenyOom | kAddsElements, &S::CmdHSet},
      {"hsetnx", 4, kWrite | kDenyOom | kAddsElements, &S::CmdHSetNx},
      {"hget", 3, 0, &S::CmdHGet},
      {"hmget", -3, 0, &S::CmdHMGet},
      {"hgetall", 2, 0, &S::CmdHGetAll},
      {"hincrby", 4, kWrite | kDenyOom | kAddsElements, &S::CmdHIncrBy},
      {"hdel", -3, kWrite, &S::CmdHDel},
      {"hlen", 2, 0, &S::CmdHLen},
      {"hexists", 3, 0, &S::CmdHExists},
      {"sadd", -3, kWrite | kDenyOom | kAddsElements, &S::CmdSAdd},
      {"srem", -3, kWrite, &S::CmdSRem},
      {"sismember", 3, 0, &S::CmdSIsMember},
      {"scard", 2, 0, &S::CmdSCard},
      {"smembers", 2, 0, &S::CmdSMembers},
      {"zadd", -4, kWrite | kDenyOom | kAddsElements, &S::CmdZAdd},
      {"zrem", -3, kWrite, &S::CmdZRem},
      {"zcard", 2, 0, &S::CmdZCard},
      {"zscore", 3, 0, &S::CmdZScore},
      {"zrangebyscore", -4, 0, &S::CmdZRangeByScore},
      {"zremrangebyscore", 4, kWrite, &S::CmdZRemRangeByScore},
      {"scan", -2, 0, &S::CmdScan},
      {"dbsize", 1, 0, &S::CmdDbSize},
      {"flushdb", -1, kWrite, &S::CmdFlushDb},
      {"flushall", -1, kWrite, &S::CmdFlushDb},
      {"time", 1, 0, &S::CmdTime},
      {"ping", -1, 0, &S::CmdPing},
      {"echo", 2, 0, &S::CmdEcho},
      {"memory", -2, 0, &S::CmdMemory},
      {"object", -2, 0, &S::CmdObject},
      {"info", -1, 0, &S::CmdInfo},
      {"config", -2, kNoScript, &S::CmdConfig},
  };
  return kCommands;
}

// ---------------------------------------------------------------- strings

// One incremental-rehash step on the value's dict (what dictFind does in Redis).
template <class A>
void Store<A>::StepDict(EntryT& e) {
  DictModel* d = nullptr;
  if (e.type == ObjType::kHash && e.hash->enc == Enc::kHashtable) d = &e.hash->dict;
  if (e.type == ObjType::kSet && e.set->enc == Enc::kHashtable) d = &e.set->dict;
  if (e.type == ObjType::kZset && e.zset->enc == Enc::kSkiplist) d = &e.zset->dict;
  if (d == nullptr || d->old_slots == 0) return;
  d->Step();
  if (d->old_slots == 0) {
    if (e.type == ObjType::kHash) SetValueCost(e, HashCost(*e.hash));
    if (e.type == ObjType::kSet) SetValueCost(e, SetCost(*e.set));
    if (e.type == ObjType::kZset) SetValueCost(e, ZsetCost(*e.zset));
  }
}

template <class A>
Reply Store<A>::CmdGet(const Command& a) {
  EntryT* e = LookupRead(a[1]);
  if (e == nullptr) return Reply::Nil();
  if (e->type != ObjType::kString) return Err(kErrWrongType);
  return Reply::Bulk(std::string(View(e->str)));
}

template <class A>
Reply Store<A>::CmdSet(const Command& a) {
  enum : unsigned { kNx = 1, kXx = 2, kGet = 4, kKeepTtl = 8, kEx = 16, kPx = 32, kExat = 64, kPxat = 128 };
  unsigned flags = 0;
  const std::string* expire = nullptr;
  for (size_t j = 3; j < a.size(); ++j) {
    std::string_view opt = a[j];
    bool has_next = j + 1 < a.size();
    if (EqNoCase(opt, "nx") && !(flags & kXx)) {
      flags |= kNx;
    } else if (EqNoCase(opt, "xx") && !(flags & kNx)) {
      flags |= kXx;
    } else if (EqNoCase(opt, "get")) {
      flags |= kGet;
    } else if (EqNoCase(opt, "keepttl") && !(flags & (kEx | kPx | kExat | kPxat))) {
      flags |= kKeepTtl;
    } else if (EqNoCase(opt, "ex") && !(flags & (kKeepTtl | kPx | kExat | kPxat)) && has_next) {
      flags |= kEx;
      expire = &a[++j];
    } else if (EqNoCase(opt, "px") && !(flags & (kKeepTtl | kEx | kExat | kPxat)) && has_next) {
      flags |= kPx;
      expire = &a[++j];
    } else if (EqNoCase(opt, "exat") && !(flags & (kKeepTtl | kEx | kPx | kPxat)) && has_next) {
      flags |= kExat;
      expire = &a[++j];
    } else if (EqNoCase(opt, "pxat") && !(flags & (kKeepTtl | kEx | kPx | kExat)) && has_next) {
      flags |= kPxat;
      expire = &a[++j];
    } else {
      return Err(kErrSyntax);
    }
  }
  int64_t when = 0;
  if (expire != nullptr) {
    if (!ParseLL(*expire, &when)) return Err(kErrNotInt);
    bool seconds = flags & (kEx | kExat);
    if (when <= 0 || (seconds && when > INT64_MAX / 1000)) {
      return Err("ERR invalid expire time in 'set' command");
    }
    if (seconds) when *= 1000;
    if (flags & (kEx | kPx)) {
      if (__builtin_add_overflow(when, now_ms_, &when)) {
        return Err("ERR invalid expire time in 'set' command");
      }
    }
  }
  Reply reply = Reply::Ok();
  if (flags & kGet) {
    EntryT* old = LookupRead(a[1]);
    if (old == nullptr) {
      reply = Reply::Nil();
    } else if (old->type != ObjType::kString) {
      return Err(kErrWrongType);
    } else {
      reply = Reply::Bulk(std::string(View(old->str)));
    }
  }
  EntryT* e = LookupWrite(a[1]);
  if (((flags & kNx) && e != nullptr) || ((flags & kXx) && e == nullptr)) {
    return (flags & kGet) ? reply : Reply::Nil();
  }
  if (e == nullptr) {
    e = &AddKey(a[1], ObjType::kString);
  } else {
    if (e->type != ObjType::kString) {
      FreeValue(*e);
      e->type = ObjType::kString;
    }
    if (!(flags & kKeepTtl)) RemoveExpire(*e);
  }
  SetString(*e, a[2]);
  if (expire != nullptr) {
    SetExpire(*e, when);
  }
  return reply;
}

template <class A>
Reply Store<A>::CmdDel(const Command& a) {
  int64_t n = 0;
  for (size_t j = 1; j < a.size(); ++j) {
    uint32_t slot = FindSlot(a[j]);
    if (slot == kNoPos) continue;
    if (IsExpired(entries_[slot])) {
      ExpireSlot(slot);
      continue;
    }
    DeleteSlot(slot);
    ++n;
  }
  return Reply::Integer(n);
}

template <class A>
Reply Store<A>::CmdExists(const Command& a) {
  int64_t n = 0;
  for (size_t j = 1; j < a.size(); ++j) {
    if (Lookup(a[j], true, false) != nullptr) ++n;
  }
  return Reply::Integer(n);
}

inline const char* TypeName(ObjType t) {
  switch (t) {
    case ObjType::kString: return "string";
    case ObjType::kHash: return "hash";
    case ObjType::kSet: return "set";
    case ObjType::kZset: return "zset";
    default: return "none";
  }
}

template <class A>
Reply Store<A>::CmdType(const Command& a) {
  EntryT* e = Lookup(a[1], true, false);
  return Reply::StatusText(e ? TypeName(e->type) : "none");
}

template <class A>
Reply Store<A>::IncrDecr(const Command& a, int64_t by) {
  EntryT* e = LookupWrite(a[1]);
  int64_t value = 0;
  if (e != nullptr) {
    if (e->type != ObjType::kString) return Err(kErrWrongType);
    if (!ParseLL(View(e->str), &value)) return Err(kErrNotInt);
  }
  if ((by < 0 && value < 0 && by < INT64_MIN - value) ||
      (by > 0 && value > 0 && by > INT64_MAX - value)) {
    return Err(kErrOverflow);
  }
  value += by;
  if (e == nullptr) e = &AddKey(a[1], ObjType::kString);
  char buf[24];
  int n = std::snprintf(buf, sizeof buf, "%" PRId64, value);
  SetString(*e, std::string_view(buf, static_cast<size_t>(n)));
  return Reply::Integer(value);
}

template <class A>
Reply Store<A>::CmdIncr(const Command& a) { return IncrDecr(a, 1); }
template <class A>
Reply Store<A>::CmdDecr(const Command& a) { return IncrDecr(a, -1); }

template <class A>
Reply Store<A>::CmdIncrBy(const Command& a) {
  int64_t by;
  if (!ParseLL(a[2], &by)) return Err(kErrNotInt);
  return IncrDecr(a, by);
}

template <class A>
Reply Store<A>::CmdDecrBy(const Command& a) {
  int64_t by;
  if (!ParseLL(a[2], &by)) return Err(kErrNotInt);
  if (by == INT64_MIN) return Err("ERR decrement would overflow");
  return IncrDecr(a, -by);
}

// ---------------------------------------------------------------- expiry

template <class A>
Reply Store<A>::ExpireGeneric(const Command& a, int64_t basetime, bool seconds) {
  enum : unsigned { kNx = 1, kXx = 2, kGt = 4, kLt = 8 };
  unsigned flags = 0;
  for (size_t j = 3; j < a.size(); ++j) {
    std::string_view opt = a[j];
    if (EqNoCase(opt, "nx")) {
      flags |= kNx;
    } else if (EqNoCase(opt, "xx")) {
      flags |= kXx;
    } else if (EqNoCase(opt, "gt")) {
      flags |= kGt;
    } else if (EqNoCase(opt, "lt")) {
      flags |= kLt;
    } else {
      return Reply::Error("ERR Unsupported option " + std::string(a[j].c_str()));
    }
  }
  if ((flags & kNx) && (flags & (kXx | kGt | kLt))) {
    return Err("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if ((flags & kGt) && (flags & kLt)) {
    return Err("ERR GT and LT options at the same time are not compatible");
  }
  int64_t when;
  if (!ParseLL(a[2], &when)) return Err(kErrNotInt);
  std::string bad = "ERR invalid expire time in '" + std::string(seconds ? "" : "p") +
                    (basetime == 0 ? "expireat" : "expire") + "' command";
  if (seconds) {
    if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) return Reply::Error(bad);
    when *= 1000;
  }
  if (when > INT64_MAX - basetime) return Reply::Error(bad);
  when += basetime;
  EntryT* e = LookupWrite(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  if (flags) {
    int64_t cur = e->expire_ms;
    bool has = cur != kNoExpire;
    if ((flags & kNx) && has) return Reply::Integer(0);
    if ((flags & kXx) && !has) return Reply::Integer(0);
    if ((flags & kGt) && (!has || when <= cur)) return Reply::Integer(0);
    if ((flags & kLt) && has && when >= cur) return Reply::Integer(0);
  }
  if (when <= now_ms_) {
    DeleteEntry(*e);
    return Reply::Integer(1);
  }
  SetExpire(*e, when);
  return Reply::Integer(1);
}

template <class A>
Reply Store<A>::CmdExpire(const Command& a) { return ExpireGeneric(a, now_ms_, true); }
template <class A>
Reply Store<A>::CmdPExpire(const Command& a) { return ExpireGeneric(a, now_ms_, false); }
template <class A>
Reply Store<A>::CmdExpireAt(const Command& a) { return ExpireGeneric(a, 0, true); }
template <class A>
Reply Store<A>::CmdPExpireAt(const Command& a) { return ExpireGeneric(a, 0, false); }

template <class A>
Reply Store<A>::TtlGeneric(const Command& a, bool ms) {
  EntryT* e = Lookup(a[1], true, false);
  if (e == nullptr) return Reply::Integer(-2);
  if (e->expire_ms == kNoExpire) return Reply::Integer(-1);
  int64_t ttl = e->expire_ms - now_ms_;
  if (ttl < 0) ttl = 0;
  return Reply::Integer(ms ? ttl : (ttl + 500) / 1000);
}

template <class A>
Reply Store<A>::CmdTtl(const Command& a) { return TtlGeneric(a, false); }
template <class A>
Reply Store<A>::CmdPttl(const Command& a) { return TtlGeneric(a, true); }

template <class A>
Reply Store<A>::CmdPersist(const Command& a) {
  EntryT* e = LookupWrite(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  return Reply::Integer(RemoveExpire(*e) ? 1 : 0);
}

// ---------------------------------------------------------------- hashes

template <class A>
Reply Store<A>::CmdHSet(const Command& a) {
  if (a.size() % 2 == 1) {
    return Reply::Error("ERR wrong number of arguments for '" + std::string(EqNoCase(a[0], "hmset") ? "hmset" : "hset") + "' command");
  }
  EntryT* e = LookupWrite(a[1]);
  if (e != nullptr && e->type != ObjType::kHash) return Err(kErrWrongType);
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
  EntryT* e = LookupWrite(a[1]);
  if (e != nullptr && e->type != ObjType::kHash) return Err(kErrWrongType);
  if (e == nullptr) {
    e = &AddKey(a[1], ObjType::kHash);
    NewHash(*e);
  }
  HashT& h = *e->hash;
  if (h.enc == Enc::kListpack &&
      (a[2].size() > hash_max_listpack_value_ || a[3].size() > hash_max_listpack_value_)) {
    HashConvert(h);
    e->enc = h.enc;
    SetValueCost(*e, HashCost(h));
  }
  if (h.fields.Find(a[2]) != kNoPos) return Reply::Integer(0);
  HashSetField(*e, a[2], a[3]);
  return Reply::Integer(1);
}

template <class A>
Reply Store<A>::CmdHGet(const Command& a) {
  EntryT* e = LookupRead(a[1]);
  if (e == nullptr) return Reply::Nil();
  if (e->type != ObjType::kHash) return Err(kErrWrongType);
  StepDict(*e);
  uint32_t pos = e->hash->fields.Find(a[2]);
  if (pos == kNoPos) return Reply::Nil();
  return Reply::Bulk(std::string(View(e->hash->fields[pos].value)));
}

template <class A>
Reply Store<A>::CmdHMGet(const Command& a) {
  EntryT* e = LookupRead(a[1]);
  if (e != nullptr && e->type != ObjType::kHash) return Err(kErrWrongType);
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
  EntryT* e = LookupRead(a[1]);
  if (e == nullptr) return Reply::Array({});
  if (e->type != ObjType::kHash) return Err(kErrWrongType);
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
  EntryT* e = LookupWrite(a[1]);
  if (e != nullptr && e->type != ObjType::kHash) return Err(kErrWrongType);
  int64_t value = 0;
  if (e != nullptr) {
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
  EntryT* e = LookupWrite(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  if (e->type != ObjType::kHash) return Err(kErrWrongType);
  int64_t n = 0;
  for (size_t j = 2; j < a.size(); ++j) {
    if (HashDelField(*e->hash, a[j])) {
      ++n;
      if (e->hash->fields.empty()) break;
    }
  }
  if (e->hash->fields.empty()) {
    DeleteEntry(*e);
  } else {
    SetValueCost(*e, HashCost(*e->hash));
  }
  return Reply::Integer(n);
}

template <class A>
Reply Store<A>::CmdHLen(const Command& a) {
  EntryT* e = LookupRead(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  if (e->type != ObjType::kHash) return Err(kErrWrongType);
  return Reply::Integer(static_cast<int64_t>(e->hash->fields.size()));
}

template <class A>
Reply Store<A>::CmdHExists(const Command& a) {
  EntryT* e = LookupRead(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  if (e->type != ObjType::kHash) return Err(kErrWrongType);
  StepDict(*e);
  return Reply::Integer(e->hash->fields.Find(a[2]) != kNoPos ? 1 : 0);
}

// ---------------------------------------------------------------- sets

template <class A>
Reply Store<A>::CmdSAdd(const Command& a) {
  EntryT* e = LookupWrite(a[1]);
  if (e != nullptr && e->type != ObjType::kSet) return Err(kErrWrongType);
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
  EntryT* e = LookupWrite(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  if (e->type != ObjType::kSet) return Err(kErrWrongType);
  int64_t n = 0;
  for (size_t j = 2; j < a.size(); ++j) {
    if (SetRemMember(*e->set, a[j])) {
      ++n;
      if (e->set->members.empty()) break;
    }
  }
  if (e->set->members.empty()) {
    DeleteEntry(*e);
  } else {
    SetValueCost(*e, SetCost(*e->set));
  }
  return Reply::Integer(n);
}

template <class A>
Reply Store<A>::CmdSIsMember(const Command& a) {
  EntryT* e = LookupRead(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  if (e->type != ObjType::kSet) return Err(kErrWrongType);
  StepDict(*e);
  return Reply::Integer(e->set->members.Find(a[2]) != kNoPos ? 1 : 0);
}

template <class A>
Reply Store<A>::CmdSCard(const Command& a) {
  EntryT* e = LookupRead(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  if (e->type != ObjType::kSet) return Err(kErrWrongType);
  return Reply::Integer(static_cast<int64_t>(e->set->members.size()));
}

template <class A>
Reply Store<A>::CmdSMembers(const Command& a) {
  EntryT* e = LookupRead(a[1]);
  if (e == nullptr) return Reply::Array({});
  if (e->type != ObjType::kSet) return Err(kErrWrongType);
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

// ---------------------------------------------------------------- sorted sets

template <class A>
Reply Store<A>::CmdZAdd(const Command& a) {
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
  size_t idx = 2;
  for (; idx < a.size(); ++idx) {
    std::string_view o = a[idx];
    if (EqNoCase(o, "nx")) nx = true;
    else if (EqNoCase(o, "xx")) xx = true;
    else if (EqNoCase(o, "ch")) ch = true;
    else if (EqNoCase(o, "incr")) incr = true;
    else if (EqNoCase(o, "gt")) gt = true;
    else if (EqNoCase(o, "lt")) lt = true;
    else break;
  }
  size_t elements = a.size() - idx;
  if (elements % 2 != 0 || elements == 0) return Err(kErrSyntax);
  elements /= 2;
  if (nx && xx) return Err("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return Err("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (incr && elements > 1) return Err("ERR INCR option supports a single increment-element pair");
  std::vector<double> scores(elements);
  for (size_t j = 0; j < elements; ++j) {
    if (!ParseDouble(a[idx + j * 2], &scores[j])) return Err(kErrNotFloat);
  }
  EntryT* e = LookupWrite(a[1]);
  if (e != nullptr && e->type != ObjType::kZset) return Err(kErrWrongType);
  int64_t added = 0, updated = 0, processed = 0;
  double last_score = 0;
  if (e == nullptr) {
    if (xx) return incr ? Reply::Nil() : Reply::Integer(0);
    e = &AddKey(a[1], ObjType::kZset);
    NewZset(*e, zset_max_listpack_entries_ == 0 || a[idx + 1].size() > zset_max_listpack_value_);
  }
  ZsetT& z = *e->zset;
  for (size_t j = 0; j < elements; ++j) {
    double score = scores[j];
    std::string_view m = a[idx + 1 + j * 2];
    uint32_t pos = z.members.Find(m);
    if (pos != kNoPos) {
      if (nx) continue;
      double cur = z.members[pos].score;
      if (incr) {
        score += cur;
        if (std::isnan(score)) {
          SetValueCost(*e, ZsetCost(z));
          return Err("ERR resulting score is not a number (NaN)");
        }
      }
      if ((lt && score >= cur) || (gt && score <= cur)) continue;
      last_score = score;
      ++processed;
      if (score != cur) {
        uint8_t level = z.members[pos].level;
        ZsetRemoveAt(z, pos);
        ZsetInsert(z, m, score);
        if (z.enc == Enc::kSkiplist) {
          // zslUpdateScore keeps the node (and its level); undo the random level just drawn.
          uint32_t np = z.members.Find(m);
          uint8_t drawn = z.members[np].level;
          uint64_t d_new = model::kZslNodeBase + model::kZslLevel * drawn;
          uint64_t d_old = model::kZslNodeBase + model::kZslLevel * level;
          z.sl_bytes = z.sl_bytes - Je(d_new) + Je(d_old);
          z.usage_bytes = z.usage_bytes - Je(d_new) + Je(d_old);
          z.members[np].level = level;
        }
        ++updated;
      }
    } else if (!xx) {
      if (z.enc == Enc::kListpack &&
          (z.members.size() + 1 > zset_max_listpack_entries_ || m.size() > zset_max_listpack_value_)) {
        ZsetConvert(z);
      }
      ZsetInsert(z, m, score);
      last_score = score;
      ++processed;
      ++added;
    }
  }
  e->enc = z.enc;
  SetValueCost(*e, ZsetCost(z));
  if (incr) return processed ? Reply::Bulk(FormatDouble(last_score)) : Reply::Nil();
  return Reply::Integer(ch ? added + updated : added);
}

template <class A>
Reply Store<A>::CmdZRem(const Command& a) {
  EntryT* e = LookupWrite(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  if (e->type != ObjType::kZset) return Err(kErrWrongType);
  ZsetT& z = *e->zset;
  int64_t n = 0;
  for (size_t j = 2; j < a.size(); ++j) {
    uint32_t pos = z.members.Find(a[j]);
    if (pos == kNoPos) continue;
    ZsetRemoveAt(z, pos);
    ++n;
    if (z.members.empty()) break;
  }
  if (z.members.empty()) {
    DeleteEntry(*e);
  } else {
    SetValueCost(*e, ZsetCost(z));
  }
  return Reply::Integer(n);
}

template <class A>
Reply Store<A>::CmdZCard(const Command& a) {
  EntryT* e = LookupRead(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  if (e->type != ObjType::kZset) return Err(kErrWrongType);
  return Reply::Integer(static_cast<int64_t>(e->zset->members.size()));
}

template <class A>
Reply Store<A>::CmdZScore(const Command& a) {
  EntryT* e = LookupRead(a[1]);
  if (e == nullptr) return Reply::Nil();
  if (e->type != ObjType::kZset) return Err(kErrWrongType);
  StepDict(*e);
  uint32_t pos = e->zset->members.Find(a[2]);
  if (pos == kNoPos) return Reply::Nil();
  return Reply::Bulk(FormatDouble(e->zset->members[pos].score));
}

struct ScoreRange {
  double min = 0, max = 0;
  bool minex = false, maxex = false;
};

inline bool ParseRangeItem(const std::string& s, double* v, bool* ex) {
  if (!s.empty() && s[0] == '(') {
    char* end = nullptr;
    *v = std::strtod(s.c_str() + 1, &end);
    if (*end != '\0' || std::isnan(*v)) return false;
    *ex = true;
    return true;
  }
  *ex = false;
  return ParseDouble(s, v);
}

inline bool ParseScoreRange(const std::string& min, const std::string& max, ScoreRange* r) {
  return ParseRangeItem(min, &r->min, &r->minex) && ParseRangeItem(max, &r->max, &r->maxex);
}

inline bool InRange(const ScoreRange& r, double v) {
  bool gte = r.minex ? v > r.min : v >= r.min;
  bool lte = r.maxex ? v < r.max : v <= r.max;
  return gte && lte;
}

template <class A>
Reply Store<A>::CmdZRangeByScore(const Command& a) {
  bool withscores = false;
  int64_t offset = 0, limit = -1;
  for (size_t j = 4; j < a.size(); ++j) {
    size_t left = a.size() - j - 1;
    if (EqNoCase(a[j], "withscores")) {
      withscores = true;
    } else if (EqNoCase(a[j], "limit") && left >= 2) {
      if (!ParseLL(a[j + 1], &offset) || !ParseLL(a[j + 2], &limit)) return Err(kErrNotInt);
      j += 2;
    } else {
      return Err(kErrSyntax);
    }
  }
  ScoreRange range;
  if (!ParseScoreRange(a[2], a[3], &range)) return Err(kErrMinMax);
  EntryT* e = LookupRead(a[1]);
  if (e == nullptr) return Reply::Array({});
  if (e->type != ObjType::kZset) return Err(kErrWrongType);
  const ZsetT& z = *e->zset;
  std::vector<Reply> out;
  if (range.min > range.max || (range.min == range.max && (range.minex || range.maxex))) {
    return Reply::Array({});
  }
  if (offset < 0 || (offset > 0 && static_cast<size_t>(offset) >= z.ranks.size())) {
    return Reply::Array({});
  }
  auto it = std::lower_bound(z.ranks.begin(), z.ranks.end(), range.min,
                             [](const ZRank& r, double v) { return r.score < v; });
  while (it != z.ranks.end() && !InRange(range, it->score) && it->score <= range.min) ++it;
  for (; it != z.ranks.end() && offset > 0 && InRange(range, it->score); ++it) --offset;
  for (; it != z.ranks.end() && limit != 0 && InRange(range, it->score); ++it) {
    out.push_back(Reply::Bulk(std::string(View(z.members[it->mpos].key))));
    if (withscores) out.push_back(Reply::Bulk(FormatDouble(it->score)));
    if (limit > 0) --limit;
  }
  return Reply::Array(std::move(out));
}

template <class A>
Reply Store<A>::CmdZRemRangeByScore(const Command& a) {
  ScoreRange range;
  if (!ParseScoreRange(a[2], a[3], &range)) return Err(kErrMinMax);
  EntryT* e = LookupWrite(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  if (e->type != ObjType::kZset) return Err(kErrWrongType);
  ZsetT& z = *e->zset;
  if (range.min > range.max || (range.min == range.max && (range.minex || range.maxex))) {
    return Reply::Integer(0);
  }
  std::vector<uint32_t> victims;
  auto it = std::lower_bound(z.ranks.begin(), z.ranks.end(), range.min,
                             [](const ZRank& r, double v) { return r.score < v; });
  for (; it != z.ranks.end() && (InRange(range, it->score) || it->score <= range.min); ++it) {
    if (InRange(range, it->score)) victims.push_back(it->mpos);
  }
  // Remove by member name: positions move as members are swap-removed.
  std::vector<std::string> names;
  names.reserve(victims.size());
  for (uint32_t p : victims) names.emplace_back(View(z.members[p].key));
  for (const std::string& m : names) ZsetRemoveAt(z, z.members.Find(m));
  if (z.enc == Enc::kSkiplist) z.dict.Resize(z.members.size());
  int64_t n = static_cast<int64_t>(names.size());
  if (z.members.empty()) {
    DeleteEntry(*e);
  } else {
    SetValueCost(*e, ZsetCost(z));
  }
  return Reply::Integer(n);
}

// ---------------------------------------------------------------- keyspace & server

template <class A>
Reply Store<A>::CmdScan(const Command& a) {
  const std::string& cs = a[1];
  if (cs.empty() || std::isspace(static_cast<unsigned char>(cs[0]))) return Err("ERR invalid cursor");
  char* end = nullptr;
  errno = 0;
  unsigned long long cursor = std::strtoull(cs.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return Err("ERR invalid cursor");
  int64_t count = 10;
  std::string_view pattern;
  bool use_pattern = false;
  const std::string* type = nullptr;
  for (size_t i = 2; i < a.size();) {
    size_t j = a.size() - i;
    if (EqNoCase(a[i], "count") && j >= 2) {
      if (!ParseLL(a[i + 1], &count)) return Err(kErrNotInt);
      if (count < 1) return Err(kErrSyntax);
      i += 2;
    } else if (EqNoCase(a[i], "match") && j >= 2) {
      pattern = a[i + 1];
      use_pattern = !(pattern.size() == 1 && pattern[0] == '*');
      i += 2;
    } else if (EqNoCase(a[i], "type") && j >= 2) {
      type = &a[i + 1];
      i += 2;
    } else {
      return Err(kErrSyntax);
    }
  }
  std::vector<Reply> keys;
  uint64_t pos = cursor;
  uint64_t visited = 0;
  const uint64_t max_visit = static_cast<uint64_t>(count) * 10;
  while (pos < entries_.size() && static_cast<int64_t>(keys.size()) < count && visited < max_visit) {
    uint32_t slot = static_cast<uint32_t>(pos++);
    ++visited;
    EntryT& e = entries_[slot];
    if (e.type == ObjType::kFree) continue;
    if (IsExpired(e)) {
      ExpireSlot(slot);
      continue;
    }
    if (use_pattern && !GlobMatch(pattern, View(e.key))) continue;
    if (type != nullptr && !EqNoCase(*type, TypeName(e.type))) continue;
    keys.push_back(Reply::Bulk(std::string(View(e.key))));
  }
  uint64_t next = pos >= entries_.size() ? 0 : pos;
  std::vector<Reply> out;
  out.push_back(Reply::Bulk(std::to_string(next)));
  out.push_back(Reply::Array(std::move(keys)));
  return Reply::Array(std::move(out));
}

template <class A>
Reply Store<A>::CmdDbSize(const Command&) {
  return Reply::Integer(static_cast<int64_t>(live_));
}

template <class A>
Reply Store<A>::CmdFlushDb(const Command& a) {
  if (a.size() > 2 || (a.size() == 2 && !EqNoCase(a[1], "async") && !EqNoCase(a[1], "sync"))) {
    return Err(kErrSyntax);
  }
  FlushAll();
  return Reply::Ok();
}

template <class A>
Reply Store<A>::CmdTime(const Command&) {
  std::vector<Reply> out;
  out.push_back(Reply::Bulk(std::to_string(now_us_ / 1000000)));
  out.push_back(Reply::Bulk(std::to_string(now_us_ % 1000000)));
  return Reply::Array(std::move(out));
}

template <class A>
Reply Store<A>::CmdPing(const Command& a) {
  if (a.size() > 2) return Err("ERR wrong number of arguments for 'ping' command");
  if (a.size() == 2) return Reply::Bulk(a[1]);
  return Reply::StatusText("PONG");
}

template <class A>
Reply Store<A>::CmdEcho(const Command& a) {
  return Reply::Bulk(a[1]);
}

template <class A>
Reply Store<A>::CmdMemory(const Command& a) {
  if (EqNoCase(a[1], "usage")) {
    if (a.size() < 3) return Err("ERR wrong number of arguments for 'memory|usage' command");
    int64_t samples = 5;
    for (size_t j = 3; j < a.size(); ++j) {
      if (EqNoCase(a[j], "samples") && j + 1 < a.size()) {
        if (!ParseLL(a[j + 1], &samples)) return Err(kErrNotInt);
        if (samples < 0) return Err(kErrSyntax);
        if (samples == 0) samples = INT64_MAX;
        ++j;
      } else {
        return Err(kErrSyntax);
      }
    }
    uint32_t slot = FindSlot(a[2]);
    if (slot == kNoPos) return Reply::Nil();
    return Reply::Integer(MemoryUsage(entries_[slot], samples));
  }
  return Reply::Error("ERR unknown subcommand '" + std::string(a[1].c_str()).substr(0, 128) +
                      "'. Try MEMORY HELP.");
}

inline const char* EncodingName(Enc e) {
  switch (e) {
    case Enc::kInt: return "int";
    case Enc::kEmbstr: return "embstr";
    case Enc::kRaw: return "raw";
    case Enc::kListpack: return "listpack";
    case Enc::kHashtable: return "hashtable";
    case Enc::kIntset: return "intset";
    case Enc::kSkiplist: return "skiplist";
  }
  return "unknown";
}

template <class A>
Reply Store<A>::CmdObject(const Command& a) {
  if (EqNoCase(a[1], "encoding")) {
    if (a.size() != 3) return Err("ERR wrong number of arguments for 'object|encoding' command");
    uint32_t slot = FindSlot(a[2]);
    if (slot == kNoPos || IsExpired(entries_[slot])) return Reply::Nil();
    return Reply::Bulk(EncodingName(entries_[slot].enc));
  }
  return Reply::Error("ERR unknown subcommand '" + std::string(a[1].c_str()).substr(0, 128) +
                      "'. Try OBJECT HELP.");
}

inline std::string BytesToHuman(uint64_t n) {
  char buf[64];
  double d = static_cast<double>(n);
  if (n < 1024) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "B", n);
  } else if (n < 1024ull * 1024) {
    std::snprintf(buf, sizeof buf, "%.2fK", d / 1024);
  } else if (n < 1024ull * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.2fM", d / (1024.0 * 1024));
  } else if (n < 1024ull * 1024 * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.2fG", d / (1024.0 * 1024 * 1024));
  } else {
    std::snprintf(buf, sizeof buf, "%.2fT", d / (1024.0 * 1024 * 1024 * 1024));
  }
  return buf;
}

template <class A>
std::string Store<A>::InfoSection(std::string_view name) const {
  std::string s;
  auto add = [&](std::string_view k, const std::string& v) {
    s.append(k);
    s += ':';
    s += v;
    s += "\r\n";
  };
  auto num = [](auto v) { return std::to_string(v); };
  if (name == "server") {
    s = "# Server\r\n";
    add("redis_version", "7.0.15");
    add("redis_mode", "standalone");
    add("stormkv_backend", cfg_.shared ? "shm" : "memory");
    add("stormkv_allocator_profile", std::string(AllocatorProfileName(cfg_.allocator)));
    add("server_time_usec", num(now_us_));
    add("hz", "10");
  } else if (name == "memory") {
    const model::EmptyServerFigures fig = model::EmptyServer(cfg_.allocator);
    int64_t used = UsedMemory();
    int64_t overhead = fig.used_memory_overhead +
                       static_cast<int64_t>(live_ * model::kDictEntry + main_slots_ * 8 +
                                            live_ * model::kRobj +
                                            volatile_.size() * model::kDictEntry + expire_slots_ * 8);
    int64_t startup = fig.used_memory_startup;
    s = "# Memory\r\n";
    add("used_memory", num(used));
    add("used_memory_human", BytesToHuman(static_cast<uint64_t>(used)));
    add("used_memory_peak", num(peak_));
    add("used_memory_peak_human", BytesToHuman(static_cast<uint64_t>(peak_)));
    char perc[32];
    std::snprintf(perc, sizeof perc, "%.2f%%", peak_ ? 100.0 * used / peak_ : 0.0);
    add("used_memory_peak_perc", perc);
    add("used_memory_overhead", num(overhead));
    add("used_memory_startup", num(startup));
    add("used_memory_dataset", num(used - overhead));
    std::snprintf(perc, sizeof perc, "%.2f%%",
                  used > startup ? 100.0 * (used - overhead) / (used - startup) : 0.0);
    add("used_memory_dataset_perc", perc);
    add("maxmemory", num(cfg_.maxmemory));
    add("maxmemory_human", BytesToHuman(cfg_.maxmemory));
    add("maxmemory_policy", std::string(PolicyName(cfg_.policy)));
    add("mem_not_counted_for_evict", "0");
    add("mem_clients_normal", "0");
    add("mem_allocator", cfg_.allocator == AllocatorProfile::kDebian ? "jemalloc-5.3.0"
                                                                      : "jemalloc-5.2.1");
  } else if (name == "stats") {
    s = "# Stats\r\n";
    add("total_commands_processed", num(stat_commands_));
    add("expired_keys", num(stat_expired_));
    add("evicted_keys", num(stat_evicted_));
    add("keyspace_hits", num(stat_hits_));
    add("keyspace_misses", num(stat_misses_));
    add("total_error_replies", num(stat_error_replies_));
  } else if (name == "keyspace") {
    s = "# Keyspace\r\n";
    if (live_ > 0) {
      int64_t avg = 0;
      if (!volatile_.empty()) {
        __int128 n = static_cast<__int128>(volatile_.size());
        avg = static_cast<int64_t>(expire_sum_.get() / n) - now_ms_;
        if (avg < 0) avg = 0;
      }
      add("db0", "keys=" + num(live_) + ",expires=" + num(volatile_.size()) + ",avg_ttl=" + num(avg));
    }
  } else if (name == "errorstats") {
    s = "# Errorstats\r\n";
    if (err_err_) add("errorstat_ERR", "count=" + num(err_err_));
    if (err_oom_) add("errorstat_OOM", "count=" + num(err_oom_));
    if (err_wrongtype_) add("errorstat_WRONGTYPE", "count=" + num(err_wrongtype_));
  } else if (name == "stormkv") {
    s = "# Stormkv\r\n";
    add("stormkv_real_bytes", num(RealBytes()));
    add("stormkv_keys", num(live_));
    add("stormkv_modelled_dataset_bytes", num(dataset_));
  }
  return s;
}

template <class A>
Reply Store<A>::CmdInfo(const Command& a) {
  static constexpr std::string_view kDefault[] = {"server", "memory", "stats", "errorstats", "keyspace"};
  static constexpr std::string_view kAll[] = {"server", "memory", "stats", "errorstats", "keyspace", "stormkv"};
  std::vector<std::string_view> sections;
  auto add = [&](std::string_view n) {
    if (std::find(sections.begin(), sections.end(), n) == sections.end()) sections.push_back(n);
  };
  if (a.size() == 1) {
    for (auto n : kDefault) add(n);
  }
  for (size_t j = 1; j < a.size(); ++j) {
    std::string lower(a[j]);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "default") {
      for (auto n : kDefault) add(n);
    } else if (lower == "all" || lower == "everything") {
      for (auto n : kAll) add(n);
    } else {
      for (auto n : kAll) {
        if (n == lower) add(n);
      }
    }
  }
  std::string out;
  for (std::string_view n : sections) {
    if (!out.empty()) out += "\r\n";
    out += InfoSection(n);
  }
  return Reply::Bulk(std::move(out));
}

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_COMMANDS_IMPL_H_
