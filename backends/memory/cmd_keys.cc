// backends/memory/cmd_keys.cc — generic key commands: DEL/UNLINK, EXISTS, TYPE, [P]EXPIRE[AT],
// [P]TTL, PERSIST, SCAN, DBSIZE, FLUSHDB/FLUSHALL.
#include <cerrno>
#include <cstdlib>

#include "glob.h"
#include "store_internal.h"

namespace stormkv::memstore {

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

template <class A>
Reply Store<A>::CmdType(const Command& a) {
  EntryT* e = Lookup(a[1], true, false);
  return Reply::StatusText(e ? TypeName(e->type) : "none");
}

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
  auto bad = [&] {
    return Reply::Error("ERR invalid expire time in '" + std::string(seconds ? "" : "p") +
                        (basetime == 0 ? "expireat" : "expire") + "' command");
  };
  if (seconds) {
    if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) return bad();
    when *= 1000;
  }
  if (when > INT64_MAX - basetime) return bad();
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
Reply Store<A>::CmdExpire(const Command& a) {
  return ExpireGeneric(a, now_ms_, true);
}

template <class A>
Reply Store<A>::CmdPExpire(const Command& a) {
  return ExpireGeneric(a, now_ms_, false);
}

template <class A>
Reply Store<A>::CmdExpireAt(const Command& a) {
  return ExpireGeneric(a, 0, true);
}

template <class A>
Reply Store<A>::CmdPExpireAt(const Command& a) {
  return ExpireGeneric(a, 0, false);
}

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
Reply Store<A>::CmdTtl(const Command& a) {
  return TtlGeneric(a, false);
}

template <class A>
Reply Store<A>::CmdPttl(const Command& a) {
  return TtlGeneric(a, true);
}

template <class A>
Reply Store<A>::CmdPersist(const Command& a) {
  EntryT* e = LookupWrite(a[1]);
  if (e == nullptr) return Reply::Integer(0);
  return Reply::Integer(RemoveExpire(*e) ? 1 : 0);
}

template <class A>
Reply Store<A>::CmdScan(const Command& a) {
  const std::string& cs = a[1];
  if (cs.empty() || std::isspace(static_cast<unsigned char>(cs[0])))
    return Err("ERR invalid cursor");
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
  while (pos < entries_.size() && static_cast<int64_t>(keys.size()) < count &&
         visited < max_visit) {
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

// The members defined here, for the two stores (per member, so that a unity batch of these
// files instantiates each once).
#define STORMKV_INSTANTIATE(A_)                                                              \
  template Reply Store<A_>::CmdDel(const Command& a);                                        \
  template Reply Store<A_>::CmdExists(const Command& a);                                     \
  template Reply Store<A_>::CmdType(const Command& a);                                       \
  template Reply Store<A_>::ExpireGeneric(const Command& a, int64_t basetime, bool seconds); \
  template Reply Store<A_>::CmdExpire(const Command& a);                                     \
  template Reply Store<A_>::CmdPExpire(const Command& a);                                    \
  template Reply Store<A_>::CmdExpireAt(const Command& a);                                   \
  template Reply Store<A_>::CmdPExpireAt(const Command& a);                                  \
  template Reply Store<A_>::TtlGeneric(const Command& a, bool ms);                           \
  template Reply Store<A_>::CmdTtl(const Command& a);                                        \
  template Reply Store<A_>::CmdPttl(const Command& a);                                       \
  template Reply Store<A_>::CmdPersist(const Command& a);                                    \
  template Reply Store<A_>::CmdScan(const Command& a);                                       \
  template Reply Store<A_>::CmdDbSize(const Command&);                                       \
  template Reply Store<A_>::CmdFlushDb(const Command& a);
STORMKV_INSTANTIATE(std::allocator<char>)
STORMKV_INSTANTIATE(shm::Allocator<char>)
#undef STORMKV_INSTANTIATE

}  // namespace stormkv::memstore
