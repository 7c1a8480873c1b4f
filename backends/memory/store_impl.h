// backends/memory/store_impl.h — Store<A> definitions: dispatch, keyspace, accounting, expiry,
// eviction. Included only by the translation unit that instantiates the store.
#ifndef STORMKV_BACKENDS_MEMORY_STORE_IMPL_H_
#define STORMKV_BACKENDS_MEMORY_STORE_IMPL_H_

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "store.h"

namespace stormkv::memstore {

inline constexpr std::string_view kErrSyntax = "ERR syntax error";
inline constexpr std::string_view kErrNotInt = "ERR value is not an integer or out of range";
inline constexpr std::string_view kErrWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kErrNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kErrOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kErrMinMax = "ERR min or max is not a float";
inline constexpr std::string_view kErrOom = "OOM command not allowed when used memory > 'maxmemory'.";

inline Reply Err(std::string_view s) { return Reply::Error(std::string(s)); }

inline bool EqNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// Redis string2ll: strict decimal (no '+', no spaces, no leading zeros, no "-0").
inline bool ParseLL(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() == 1 && s[0] == '0') {
    *out = 0;
    return true;
  }
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (neg) {
    if (v > uint64_t{1} << 63) return false;
    *out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

// Redis getDoubleFromObject: strtod over the whole string, no leading space, no NaN, no
// overflow to +-HUGE_VAL / underflow to 0.
inline bool ParseDouble(std::string_view s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char buf[128];
  std::string big;
  const char* p;
  if (s.size() < sizeof buf) {
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    p = buf;
  } else {
    big.assign(s);
    p = big.c_str();
  }
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(p, &end);
  if (static_cast<size_t>(end - p) != s.size()) return false;
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || std::fpclassify(v) == FP_ZERO)) {
    return false;
  }
  if (std::isnan(v)) return false;
  *out = v;
  return true;
}

// Redis addReplyDouble text ("%.17g", "inf", "-inf").
inline std::string FormatDouble(double d) {
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%.17g", d);
  return std::string(buf, static_cast<size_t>(n));
}

// Redis d2string: how a score is written into a listpack.
inline std::string ScoreString(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d > -4503599627370495.0 && d < 4503599627370496.0 &&
      d == static_cast<double>(static_cast<long long>(d))) {
    return std::to_string(static_cast<long long>(d));
  }
  return FormatDouble(d);
}

inline std::string Int2Str(int64_t v) { return std::to_string(v); }

template <class A>
Store<A>::Store(const StoreConfig& cfg, const A& alloc)
    : cfg_(cfg),
      alloc_(alloc),
      entries_(RebindAlloc<A, EntryT>(alloc)),
      free_slots_(RebindAlloc<A, uint32_t>(alloc)),
      volatile_(RebindAlloc<A, uint32_t>(alloc)),
      index_(alloc) {
  baseline_ = cfg.baseline_used_memory >= 0 ? cfg.baseline_used_memory
                                            : model::EmptyServer(cfg.allocator).used_memory;
  peak_ = baseline_;
  rng_ = cfg.seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
}

template <class A>
Store<A>::~Store() {
  for (EntryT& e : entries_) {
    if (e.type != ObjType::kFree) FreeValue(e);
  }
}

template <class A>
uint64_t Store<A>::NextRandom() {
  uint64_t z = (rng_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

template <class A>
bool Store<A>::SharedIntegersAllowed() const {
  if (cfg_.maxmemory == 0) return true;
  switch (cfg_.policy) {
    case Policy::kAllkeysLru:
    case Policy::kVolatileLru:
    case Policy::kAllkeysLfu:
    case Policy::kVolatileLfu:
      return false;
    default:
      return true;
  }
}

// ---------------------------------------------------------------- dispatch

template <class A>
const typename Store<A>::CmdSpec* Store<A>::LookupCommand(std::string_view name) {
  static const auto* table = [] {
    auto* m = new std::unordered_map<std::string_view, const CmdSpec*>();
    for (const CmdSpec& c : Commands()) m->emplace(c.name, &c);
    return m;
  }();
  char buf[24];
  if (name.size() >= sizeof buf) return nullptr;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  auto it = table->find(std::string_view(buf, name.size()));
  return it == table->end() ? nullptr : it->second;
}

template <class A>
void Store<A>::Tick(int64_t now_us) {
  if (now_us > now_us_) now_us_ = now_us;
  now_ms_ = now_us_ / 1000;
  if (last_cron_ms_ < 0) {
    last_cron_ms_ = now_ms_;
    return;
  }
  int64_t elapsed = now_ms_ - last_cron_ms_;
  if (elapsed >= 100) {
    int64_t cycles = elapsed / 100;
    last_cron_ms_ += cycles * 100;
    if (cfg_.active_expiry) ActiveExpire(cycles);
    Cron();
  }
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
void Store<A>::Cron() {
  ShrinkDbDicts();
  UpdatePeak();
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

template <class A>
void Store<A>::CountError(std::string_view text) {
  ++stat_error_replies_;
  std::string_view code = text.substr(0, text.find(' '));
  if (code == "ERR") {
    ++err_err_;
  } else if (code == "WRONGTYPE") {
    ++err_wrongtype_;
  } else if (code == "OOM") {
    ++err_oom_;
  } else {
    ++err_other_;
  }
  if (in_script_) script_error_counted_ = true;
}

template <class A>
Reply Store<A>::Execute(const Command& argv, int64_t now_us) {
  Tick(now_us);
  Reply r = Dispatch(argv, CallMode::kClient);
  UpdatePeak();
  return r;
}

template <class A>
Reply Store<A>::Dispatch(const Command& argv, CallMode mode) {
  if (argv.empty()) {
    Reply r = Err("ERR unknown command '', with args beginning with: ");
    CountError(r.str());
    return r;
  }
  const CmdSpec* spec = LookupCommand(argv[0]);
  if (spec == nullptr) {
    std::string args;
    for (size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
      std::string_view a(argv[i].c_str());  // %s stops at NUL
      a = a.substr(0, 128 - args.size());
      args += '\'';
      args.append(a);
      args += "' ";
    }
    std::string name(std::string_view(argv[0].c_str()).substr(0, 128));
    std::string msg = "ERR unknown command '" + name + "', with args beginning with: " + args;
    for (char& c : msg) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    CountError(msg);
    return Reply::Error(std::move(msg));
  }
  int argc = static_cast<int>(argv.size());
  if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
    std::string msg = std::string("ERR wrong number of arguments for '") + spec->name + "' command";
    CountError(msg);
    return Reply::Error(std::move(msg));
  }
  if (mode == CallMode::kScript) {
    if (spec->flags & kNoScript) {
      CountError("ERR");
      return Err("ERR This Redis command is not allowed from script");
    }
    if (script_read_only_ && (spec->flags & kWrite)) {
      CountError("ERR");
      return Err("ERR Write commands are not allowed from read-only scripts.");
    }
    // Once a script has written, Redis lets it finish even when over maxmemory.
    if ((spec->flags & kDenyOom) && script_oom_ && !script_dirty_) {
      CountError(kErrOom);
      return Err(kErrOom);
    }
  } else if (cfg_.maxmemory != 0) {
    bool oom = !PerformEvictions();
    if (oom && (spec->flags & kDenyOom)) {
      CountError(kErrOom);
      return Err(kErrOom);
    }
  }
  // A write command that got past the checks makes the script dirty (scriptCall).
  if (spec->flags & kWrite) {
    ++mutations_;
    if (mode == CallMode::kScript) script_dirty_ = true;
  }
  ++stat_commands_;
  Reply r = (this->*(spec->handler))(argv);
  if (r.is_error()) CountError(r.str());
  return r;
}

template <class A>
void Store<A>::BeginScript(int64_t now_us, bool read_only) {
  Tick(now_us);
  ++stat_commands_;  // the EVAL itself
  script_oom_ = cfg_.maxmemory != 0 && !PerformEvictions();
  if (read_only) script_oom_ = false;
  script_read_only_ = read_only;
  in_script_ = true;
  script_error_counted_ = false;
  script_dirty_ = false;
}

template <class A>
Reply Store<A>::Call(const Command& argv) {
  return Dispatch(argv, CallMode::kScript);
}

template <class A>
void Store<A>::EndScript(const Status& result) {
  bool counted = script_error_counted_;
  in_script_ = false;
  script_oom_ = false;
  script_read_only_ = false;
  if (!result.ok() && !counted) CountError(result.message());
  UpdatePeak();
}

// ---------------------------------------------------------------- keyspace

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
  if (e.expire_ms == kNoExpire) {
    GrowDict(&expire_slots_, volatile_.size());
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

// ---------------------------------------------------------------- values & accounting

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
  return Je(model::kRobj) + Je(model::kZsetStruct) + Je(model::kDictStruct) +
         DictBytes(z.dict) + Je(model::kZskiplistStruct) +
         Je(model::kZslNodeBase + model::kZslLevel * model::kZslMaxLevel) + z.sl_bytes;
}

template <class A>
uint64_t Store<A>::DictBytes(const DictModel& d) const {
  return (d.slots ? Je(8 * d.slots) : 0) + (d.old_slots ? Je(8 * d.old_slots) : 0);
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


template <class A>
void Store<A>::HashConvert(HashT& h) {
  h.enc = Enc::kHashtable;
  h.dict.ExpandFresh(h.fields.size());
}

template <class A>
bool Store<A>::HashSetField(EntryT& e, std::string_view f, std::string_view v) {
  HashT& h = *e.hash;
  uint32_t pos = h.fields.Find(f);
  bool added = false;
  if (pos != kNoPos) {
    FieldValue<A>& item = h.fields[pos];
    if (h.enc == Enc::kHashtable) h.dict.Step();
    h.lp_bytes += model::ListpackEntryBytes(v);
    h.lp_bytes -= model::ListpackEntryBytes(View(item.value));
    h.ht_bytes += Sds(v.size());
    h.ht_bytes -= Sds(item.value.size());
    h.usage_bytes += Sds(v.size());
    h.usage_bytes -= Sds(item.value.size());
    item.value.assign(v.data(), v.size());
  } else {
    if (h.enc == Enc::kHashtable) h.dict.Add(h.fields.size());
    FieldValue<A> item{String(f.data(), f.size(), alloc_), String(v.data(), v.size(), alloc_)};
    h.fields.Append(std::move(item));
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

template <class A>
bool Store<A>::HashDelField(HashT& h, std::string_view f) {
  uint32_t pos = h.fields.Find(f);
  if (pos == kNoPos) return false;
  const FieldValue<A>& item = h.fields[pos];
  h.lp_bytes -= model::ListpackEntryBytes(View(item.key)) + model::ListpackEntryBytes(View(item.value));
  h.ht_bytes -= Je(model::kDictEntry) + Sds(item.key.size()) + Sds(item.value.size());
  h.usage_bytes -= model::kDictEntry + Sds(item.key.size()) + Sds(item.value.size());
  if (h.enc == Enc::kListpack) {
    h.fields.EraseOrdered(pos);
  } else {
    h.fields.EraseSwap(pos);
    h.dict.Delete(h.fields.size());
  }
  return true;
}

inline uint8_t IntsetWidth(int64_t v) {
  if (v >= -32768 && v <= 32767) return 2;
  if (v >= INT32_MIN && v <= INT32_MAX) return 4;
  return 8;
}

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
uint8_t Store<A>::RandomZslLevel() {
  int level = 1;
  while ((NextRandom() & 0xFFFF) < static_cast<uint64_t>(0.25 * 0xFFFF)) ++level;
  return static_cast<uint8_t>(std::min(level, model::kZslMaxLevel));
}

template <class A>
size_t Store<A>::ZRankFind(const ZsetT& z, double score, std::string_view m) const {
  auto it = std::lower_bound(z.ranks.begin(), z.ranks.end(), 0, [&](const ZRank& r, int) {
    if (r.score != score) return r.score < score;
    return View(z.members[r.mpos].key) < m;
  });
  return static_cast<size_t>(it - z.ranks.begin());
}

template <class A>
void Store<A>::ZsetInsert(ZsetT& z, std::string_view m, double score) {
  uint8_t level = 0;
  if (z.enc == Enc::kListpack && score == 0) score = 0.0;  // d2string writes -0 as "0"
  if (z.enc == Enc::kSkiplist) {
    level = RandomZslLevel();
    z.dict.Step();  // the dictFind before the insert
    z.dict.Add(z.members.size());
    uint64_t node = model::kZslNodeBase + model::kZslLevel * level;
    z.sl_bytes += Je(node) + Sds(m.size()) + Je(model::kDictEntry);
    z.usage_bytes += Je(node) + Sds(m.size()) + model::kDictEntry;
  } else {
    z.lp_bytes += model::ListpackEntryBytes(m) + model::ListpackEntryBytes(ScoreString(score));
  }
  size_t idx = ZRankFind(z, score, m);
  uint32_t mpos = z.members.Append(ZMember<A>{String(m.data(), m.size(), alloc_), score, level});
  z.ranks.insert(z.ranks.begin() + static_cast<std::ptrdiff_t>(idx), ZRank{score, mpos});
}

template <class A>
void Store<A>::ZsetRemoveAt(ZsetT& z, uint32_t mpos) {
  const ZMember<A>& zm = z.members[mpos];
  if (z.enc == Enc::kSkiplist) {
    z.dict.Step();
    uint64_t node = model::kZslNodeBase + model::kZslLevel * zm.level;
    z.sl_bytes -= Je(node) + Sds(zm.key.size()) + Je(model::kDictEntry);
    z.usage_bytes -= Je(node) + Sds(zm.key.size()) + model::kDictEntry;
  } else {
    z.lp_bytes -= model::ListpackEntryBytes(View(zm.key)) +
                  model::ListpackEntryBytes(ScoreString(zm.score));
  }
  size_t idx = ZRankFind(z, zm.score, View(zm.key));
  z.ranks.erase(z.ranks.begin() + static_cast<std::ptrdiff_t>(idx));
  uint32_t last = static_cast<uint32_t>(z.members.size() - 1);
  size_t moved_idx = 0;
  if (mpos != last) moved_idx = ZRankFind(z, z.members[last].score, View(z.members[last].key));
  z.members.EraseSwap(mpos);
  if (mpos != last) z.ranks[moved_idx].mpos = mpos;
}

template <class A>
void Store<A>::ZsetConvert(ZsetT& z) {
  z.enc = Enc::kSkiplist;
  z.dict = DictModel();
  z.sl_bytes = 0;
  z.usage_bytes = 0;
  uint64_t added = 0;
  for (const ZRank& r : z.ranks) {
    z.dict.Add(added++);
    ZMember<A>& zm = z.members[r.mpos];
    zm.level = RandomZslLevel();
    uint64_t node = model::kZslNodeBase + model::kZslLevel * zm.level;
    z.sl_bytes += Je(node) + Sds(zm.key.size()) + Je(model::kDictEntry);
    z.usage_bytes += Je(node) + Sds(zm.key.size()) + model::kDictEntry;
  }
}

template <class A>
int64_t Store<A>::MemoryUsage(const EntryT& e, int64_t samples) const {
  const AllocatorProfile p = cfg_.allocator;
  int64_t usage = static_cast<int64_t>(Sds(e.key.size()) + model::kDictEntry);
  auto sampled = [&](uint64_t fixed, size_t n, auto&& elem) -> int64_t {
    size_t k = std::min<uint64_t>(n, static_cast<uint64_t>(samples));
    uint64_t elesize = 0;
    for (size_t i = 0; i < k; ++i) elesize += elem(i);
    if (k == 0) return static_cast<int64_t>(fixed);
    return static_cast<int64_t>(fixed + static_cast<uint64_t>(static_cast<double>(elesize) / k * n));
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
        usage += sampled(model::kRobj + model::kDictStruct + 8 * h.dict.total_slots(), h.fields.size(),
                         [&](size_t i) {
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
        usage += sampled(model::kRobj + model::kDictStruct + 8 * s.dict.total_slots(), s.members.size(),
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
                         model::kDictStruct + 8 * z.dict.total_slots() +
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

// Heap bytes of one malloc'd block of `n` bytes (glibc: 8-byte header, 16-byte alignment,
// 32-byte minimum chunk).
inline uint64_t MallocBlock(uint64_t n) {
  if (n == 0) return 0;
  uint64_t c = (n + 8 + 15) & ~uint64_t{15};
  return c < 32 ? 32 : c;
}

template <class S>
uint64_t StringHeap(const S& s) {
  // boost::container::basic_string keeps short strings inline (no heap block).
  return s.capacity() > 22 ? MallocBlock(s.capacity() + 1) : 0;
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

// ---------------------------------------------------------------- eviction

template <class A>
uint8_t Store<A>::LfuDecayed(const EntryT& e) const {
  uint64_t now_min = static_cast<uint64_t>(now_ms_ / 60000) & 0xFFFF;
  uint64_t elapsed = now_min >= e.lfu_minutes ? now_min - e.lfu_minutes : 65535 - e.lfu_minutes + now_min;
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
                       cfg_.policy == Policy::kVolatileRandom || cfg_.policy == Policy::kVolatileTtl;
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

// ---------------------------------------------------------------- shared-segment support

template <class A>
uint32_t Store<A>::CommandFlags(std::string_view name) {
  const CmdSpec* spec = LookupCommand(name);
  return spec == nullptr ? 0 : spec->flags;
}

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
      break;
    case ObjType::kSet:
      e.set->members.ReserveExtra(extra);
      break;
    case ObjType::kZset:
      e.zset->members.ReserveExtra(extra);
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

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_STORE_IMPL_H_
