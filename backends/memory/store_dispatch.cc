// backends/memory/store_dispatch.cc — Store<A> construction, the command table, dispatch (arity,
// script rules, OOM) and the script hooks.
#include <array>

#include "store_internal.h"

namespace stormkv::memstore {

template <class A>
Store<A>::Store(const StoreConfig& cfg, const A& alloc)
    : cfg_(cfg),
      alloc_(alloc),
      entries_(RebindAlloc<A, EntryT>(alloc)),
      free_slots_(RebindAlloc<A, uint32_t>(alloc)),
      volatile_(RebindAlloc<A, uint32_t>(alloc)),
      index_(alloc) {
  baseline_ = cfg.baseline_used_memory >= 0 ? cfg.baseline_used_memory
              : cfg.fresh_server               ? model::FreshServerUsedMemory(cfg.allocator)
                                               : model::EmptyServer(cfg.allocator).used_memory;
  if (cfg.cluster_node && cfg.baseline_used_memory < 0) {
    baseline_ += model::ClusterNodeEmptyBytes(cfg.allocator);
  }
  peak_ = baseline_;
  rng_ = cfg.seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  zsl_rng_.Seed(cfg.zset_level_seed);
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
      {"debug", -2, kNoScript, &S::CmdDebug},
  };
  return kCommands;
}

namespace {

// A hash of a command name that ignores ASCII case (bit 5 of every byte set: a-z and A-Z hash
// alike; other bytes may collide, which EqualsLowerName sorts out). FNV-1a.
inline uint32_t FoldHash(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ (c | 0x20u)) * 16777619u;
  return h;
}

// `name` (any case) equals `lower` (a lower-case command name; no strlen of it).
inline bool EqualsLowerName(std::string_view name, const char* lower) {
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (lower[i] == '\0' || c != lower[i]) return false;
  }
  return lower[name.size()] == '\0';
}

}  // namespace

// Once per command: open addressing on FoldHash (no copy of the name, no call out), probed
// until an empty slot.
template <class A>
const typename Store<A>::CmdSpec* Store<A>::LookupCommand(std::string_view name) {
  constexpr size_t kSlots = 256;  // a power of two, > 4x the commands
  static const auto* slots = [] {
    auto* t = new std::array<const CmdSpec*, kSlots>{};
    for (const CmdSpec& c : Commands()) {
      size_t i = FoldHash(c.name) & (kSlots - 1);
      while ((*t)[i] != nullptr) i = (i + 1) & (kSlots - 1);
      (*t)[i] = &c;
    }
    return t;
  }();
  if (name.size() > 24) return nullptr;  // every command name is shorter
  for (size_t i = FoldHash(name) & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
    const CmdSpec* spec = (*slots)[i];
    if (spec == nullptr) return nullptr;
    if (EqualsLowerName(name, spec->name)) return spec;
  }
}

template <class A>
uint32_t Store<A>::CommandFlags(std::string_view name) {
  const CmdSpec* spec = LookupCommand(name);
  return spec == nullptr ? 0 : spec->flags;
}

template <class A>
void Store<A>::Tick(int64_t now_us) {
  if (now_us > now_us_) now_us_ = now_us;
  now_ms_ = now_us_ / 1000;
  if (last_cron_ms_ < 0) {
    last_cron_ms_ = now_ms_;
    return;
  }
  if (cron_paused_) {
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
void Store<A>::Cron() {
  ShrinkDbDicts();
  UpdatePeak();
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
  if (cfg_.fresh_server) {
    // call() allocates the command's latency histogram after it ran; container commands have
    // one per subcommand.
    std::string name(spec->name);
    const bool container = name == "memory" || name == "object" || name == "config" ||
                           name == "script" || name == "client";
    if (container && argv.size() > 1) {
      name += '|';
      for (char c : std::string_view(argv[1])) name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    NoteCommand(name);
  }
  return r;
}

template <class A>
void Store<A>::NoteCommand(std::string_view name) {
  if (!cfg_.fresh_server) return;
  const uint32_t h = static_cast<uint32_t>(HashBytes(name)) | 1u;
  for (uint32_t i = 0; i < histogram_count_; ++i) {
    if (histograms_[i] == h) return;
  }
  if (histogram_count_ < histograms_.size()) histograms_[histogram_count_++] = h;
  server_overhead_ += model::kLatencyHistogramBytes;
  UpdatePeak();
}

template <class A>
void Store<A>::NoteScript(std::string_view sha1, size_t body_len) {
  if (!cfg_.fresh_server) return;
  const uint32_t h = static_cast<uint32_t>(HashBytes(sha1)) | 1u;
  for (uint32_t i = 0; i < script_count_; ++i) {
    if (scripts_[i] == h) return;
  }
  server_overhead_ += model::ScriptCacheBytes(body_len, script_count_, cfg_.allocator);
  if (script_count_ < scripts_.size()) scripts_[script_count_++] = h;
  UpdatePeak();
}

template <class A>
bool Store<A>::BeginScript(int64_t now_us, const ScriptStart& start) {
  Tick(now_us);
  const bool oom = cfg_.maxmemory != 0 && !PerformEvictions();
  if (oom && start.shebang && !start.read_only && !start.allow_oom) {
    // Redis 7.0 derives deny-oom for EVAL from the flags and rejects it before it runs.
    CountError(kErrOom);
    UpdatePeak();
    return false;
  }
  ++stat_commands_;  // the EVAL itself
  script_oom_ = oom && !start.read_only && !start.allow_oom;
  script_read_only_ = start.read_only;
  in_script_ = true;
  script_error_counted_ = false;
  script_dirty_ = false;
  return true;
}

template <class A>
Reply Store<A>::Call(const Command& argv) {
  if (script_hook_ != nullptr) {
    std::optional<Reply> answered = script_hook_(script_hook_ctx_, argv);
    if (answered) {
      if (answered->is_error()) CountError(answered->str());
      return std::move(*answered);
    }
  }
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

// The members defined here, for the two stores (per member, so that a unity batch of these
// files instantiates each once).
#define STORMKV_INSTANTIATE(A_)                                                                \
  template Store<A_>::Store(const StoreConfig& cfg, const A_& alloc);                          \
  template Store<A_>::~Store();                                                                \
  template uint64_t Store<A_>::NextRandom();                                                   \
  template bool Store<A_>::SharedIntegersAllowed() const;                                      \
  template const std::vector<typename Store<A_>::CmdSpec>& Store<A_>::Commands();              \
  template const typename Store<A_>::CmdSpec* Store<A_>::LookupCommand(std::string_view name); \
  template uint32_t Store<A_>::CommandFlags(std::string_view name);                            \
  template void Store<A_>::Tick(int64_t now_us);                                               \
  template void Store<A_>::NoteCommand(std::string_view name);                                 \
  template void Store<A_>::NoteScript(std::string_view sha1, size_t body_len);                                               \
  template void Store<A_>::Cron();                                                             \
  template void Store<A_>::CountError(std::string_view text);                                  \
  template Reply Store<A_>::Execute(const Command& argv, int64_t now_us);                      \
  template Reply Store<A_>::Dispatch(const Command& argv, CallMode mode);                      \
  template bool Store<A_>::BeginScript(int64_t now_us, const ScriptStart& start);              \
  template Reply Store<A_>::Call(const Command& argv);                                         \
  template void Store<A_>::EndScript(const Status& result);
STORMKV_INSTANTIATE(std::allocator<char>)
STORMKV_INSTANTIATE(shm::Allocator<char>)
#undef STORMKV_INSTANTIATE

}  // namespace stormkv::memstore
