// backends/memory/cmd_strings.cc — string commands: GET, SET, INCR/DECR[BY].

#include "store_internal.h"

namespace stormkv::memstore {

template <class A>
Reply Store<A>::CmdGet(const Command& a) {
  auto [e, wrongtype] = FindRead(a[1], ObjType::kString);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Nil();
  return Reply::Bulk(std::string(View(e->str)));
}

template <class A>
Reply Store<A>::CmdSet(const Command& a) {
  enum : unsigned {
    kNx = 1,
    kXx = 2,
    kGet = 4,
    kKeepTtl = 8,
    kEx = 16,
    kPx = 32,
    kExat = 64,
    kPxat = 128
  };
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
    auto [old, wrongtype] = FindRead(a[1], ObjType::kString);
    if (wrongtype) return Err(kErrWrongType);
    reply = old == nullptr ? Reply::Nil() : Reply::Bulk(std::string(View(old->str)));
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
Reply Store<A>::IncrDecr(const Command& a, int64_t by) {
  auto [e, wrongtype] = FindWrite(a[1], ObjType::kString);
  if (wrongtype) return Err(kErrWrongType);
  int64_t value = 0;
  if (e != nullptr && !ParseLL(View(e->str), &value)) return Err(kErrNotInt);
  if ((by < 0 && value < 0 && by < INT64_MIN - value) ||
      (by > 0 && value > 0 && by > INT64_MAX - value)) {
    return Err(kErrOverflow);
  }
  value += by;
  if (e == nullptr) e = &AddKey(a[1], ObjType::kString);
  SetInteger(*e, value);
  return Reply::Integer(value);
}

template <class A>
Reply Store<A>::CmdIncr(const Command& a) {
  return IncrDecr(a, 1);
}

template <class A>
Reply Store<A>::CmdDecr(const Command& a) {
  return IncrDecr(a, -1);
}

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

// The members defined here, for the two stores (per member, so that a unity batch of these
// files instantiates each once).
#define STORMKV_INSTANTIATE(A_)                                     \
  template Reply Store<A_>::CmdGet(const Command& a);               \
  template Reply Store<A_>::CmdSet(const Command& a);               \
  template Reply Store<A_>::IncrDecr(const Command& a, int64_t by); \
  template Reply Store<A_>::CmdIncr(const Command& a);              \
  template Reply Store<A_>::CmdDecr(const Command& a);              \
  template Reply Store<A_>::CmdIncrBy(const Command& a);            \
  template Reply Store<A_>::CmdDecrBy(const Command& a);
STORMKV_INSTANTIATE(std::allocator<char>)
STORMKV_INSTANTIATE(shm::Allocator<char>)
#undef STORMKV_INSTANTIATE

}  // namespace stormkv::memstore
