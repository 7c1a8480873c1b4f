// backends/memory/cmd_server.cc — server commands: TIME, PING, ECHO, MEMORY USAGE, OBJECT
// ENCODING, INFO, CONFIG GET/SET/RESETSTAT.
#include <cctype>
#include <cinttypes>
#include <cstdio>

#include "glob.h"
#include "store_internal.h"

namespace stormkv::memstore {

namespace {

enum class ConfKind { kMemory, kInt, kPolicy };

struct ConfDef {
  const char* name;
  const char* alias;  // or nullptr
  ConfKind kind;
  int64_t min;
  int64_t max;
};

constexpr ConfDef kConfDefs[] = {
    {"maxmemory", nullptr, ConfKind::kMemory, 0, 0},
    {"maxmemory-policy", nullptr, ConfKind::kPolicy, 0, 0},
    {"maxmemory-samples", nullptr, ConfKind::kInt, 1, 2147483647},
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", ConfKind::kInt, 0, INT64_MAX},
    {"hash-max-listpack-value", "hash-max-ziplist-value", ConfKind::kMemory, 0, 0},
    {"set-max-intset-entries", nullptr, ConfKind::kInt, 0, INT64_MAX},
    {"zset-max-listpack-entries", "zset-max-ziplist-entries", ConfKind::kInt, 0, INT64_MAX},
    {"zset-max-listpack-value", "zset-max-ziplist-value", ConfKind::kMemory, 0, 0},
    {"lfu-log-factor", nullptr, ConfKind::kInt, 0, 2147483647},
    {"lfu-decay-time", nullptr, ConfKind::kInt, 0, 2147483647},
};

}  // namespace

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

template <class A>
Reply Store<A>::CmdObject(const Command& a) {
  if (EqNoCase(a[1], "encoding")) {
    if (a.size() != 3) return Err("ERR wrong number of arguments for 'object|encoding' command");
    // lookupKeyReadWithFlags(LOOKUP_NOTOUCH): an expired key is deleted here.
    EntryT* e = Lookup(a[2], true, false);
    if (e == nullptr) return Reply::Nil();
    return Reply::Bulk(EncodingName(e->enc));
  }
  return Reply::Error("ERR unknown subcommand '" + std::string(a[1].c_str()).substr(0, 128) +
                      "'. Try OBJECT HELP.");
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
    add("redis_mode", cfg_.cluster_node ? "cluster" : "standalone");
    add("stormkv_backend", cfg_.shared ? "shm" : "memory");
    add("stormkv_allocator_profile", std::string(AllocatorProfileName(cfg_.allocator)));
    add("server_time_usec", num(now_us_));
    add("hz", "10");
  } else if (name == "memory") {
    const model::EmptyServerFigures fig = model::EmptyServer(cfg_.allocator);
    int64_t used = UsedMemory();
    int64_t overhead =
        fig.used_memory_overhead +
        static_cast<int64_t>(live_ * MainDictEntry() + main_slots_ * 8 + live_ * model::kRobj +
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
    add("mem_allocator",
        cfg_.allocator == AllocatorProfile::kDebian ? "jemalloc-5.3.0" : "jemalloc-5.2.1");
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
      add("db0",
          "keys=" + num(live_) + ",expires=" + num(volatile_.size()) + ",avg_ttl=" + num(avg));
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
  static constexpr std::string_view kDefault[] = {"server", "memory", "stats", "errorstats",
                                                  "keyspace"};
  static constexpr std::string_view kAll[] = {"server",     "memory",   "stats",
                                              "errorstats", "keyspace", "stormkv"};
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

// DEBUG: the two subcommands a test needs to drive a server's background work like the store's
// clock: PAUSE-CRON 0|1 (serverCron: db dict shrinking, active expiry) and SET-ACTIVE-EXPIRE 0|1.
template <class A>
Reply Store<A>::CmdDebug(const Command& a) {
  const bool known = EqNoCase(a[1], "pause-cron") || EqNoCase(a[1], "set-active-expire");
  if (!known) {
    return Reply::Error("ERR unknown subcommand '" + std::string(a[1]).substr(0, 128) +
                        "'. Try DEBUG HELP.");
  }
  int64_t on = 0;
  if (a.size() != 3 || !ParseLL(a[2], &on)) return Err(kErrSyntax);
  if (EqNoCase(a[1], "pause-cron")) {
    cron_paused_ = on != 0;
    last_cron_ms_ = now_ms_;
  } else {
    cfg_.active_expiry = on != 0;
  }
  return Reply::Ok();
}

template <class A>
Reply Store<A>::CmdConfig(const Command& a) {
  if (EqNoCase(a[1], "get")) return ConfigGet(a);
  if (EqNoCase(a[1], "set")) return ConfigSet(a);
  if (EqNoCase(a[1], "resetstat")) {
    if (a.size() != 2) return Err("ERR wrong number of arguments for 'config|resetstat' command");
    stat_commands_ = stat_expired_ = stat_evicted_ = stat_hits_ = stat_misses_ = 0;
    stat_error_replies_ = err_oom_ = err_wrongtype_ = err_err_ = err_other_ = 0;
    peak_ = UsedMemory();
    return Reply::Ok();
  }
  return Reply::Error("ERR unknown subcommand '" + std::string(a[1].c_str()).substr(0, 128) +
                      "'. Try CONFIG HELP.");
}

template <class A>
Reply Store<A>::ConfigGet(const Command& a) {
  if (a.size() < 3) return Err("ERR wrong number of arguments for 'config|get' command");
  auto value = [&](size_t i) -> std::string {
    switch (i) {
      case 0:
        return std::to_string(cfg_.maxmemory);
      case 1:
        return std::string(PolicyName(cfg_.policy));
      case 2:
        return std::to_string(maxmemory_samples_);
      case 3:
        return std::to_string(hash_max_listpack_entries_);
      case 4:
        return std::to_string(hash_max_listpack_value_);
      case 5:
        return std::to_string(set_max_intset_entries_);
      case 6:
        return std::to_string(zset_max_listpack_entries_);
      case 7:
        return std::to_string(zset_max_listpack_value_);
      case 8:
        return std::to_string(lfu_log_factor_);
      default:
        return std::to_string(lfu_decay_time_);
    }
  };
  constexpr size_t n = std::size(kConfDefs);
  // emitted[i]: 1 = canonical name emitted, 2 = alias emitted.
  std::vector<int> emitted(n, 0);
  std::vector<Reply> out;
  for (size_t j = 2; j < a.size(); ++j) {
    std::string_view pat = a[j];
    bool glob = pat.find_first_of("*?[") != std::string_view::npos;
    for (size_t i = 0; i < n; ++i) {
      const ConfDef& d = kConfDefs[i];
      if (!glob) {
        bool is_name = EqNoCase(pat, d.name);
        bool is_alias = d.alias && EqNoCase(pat, d.alias);
        int bit = is_name ? 1 : 2;
        if ((is_name || is_alias) && !(emitted[i] & bit)) {
          emitted[i] |= bit;
          out.push_back(Reply::Bulk(std::string(pat)));
          out.push_back(Reply::Bulk(value(i)));
        }
        continue;
      }
      if (!(emitted[i] & 1) && GlobMatch(pat, d.name, true)) {
        emitted[i] |= 1;
        out.push_back(Reply::Bulk(d.name));
        out.push_back(Reply::Bulk(value(i)));
      }
      if (d.alias && !(emitted[i] & 2) && GlobMatch(pat, d.alias, true)) {
        emitted[i] |= 2;
        out.push_back(Reply::Bulk(d.alias));
        out.push_back(Reply::Bulk(value(i)));
      }
    }
  }
  return Reply::Array(std::move(out));
}

template <class A>
Reply Store<A>::ConfigSet(const Command& a) {
  if (a.size() < 4 || a.size() % 2 != 0) {
    return Err("ERR wrong number of arguments for 'config|set' command");
  }
  constexpr size_t n = std::size(kConfDefs);
  std::vector<size_t> which;
  for (size_t j = 2; j < a.size(); j += 2) {
    size_t found = n;
    for (size_t i = 0; i < n; ++i) {
      if (EqNoCase(a[j], kConfDefs[i].name) ||
          (kConfDefs[i].alias && EqNoCase(a[j], kConfDefs[i].alias))) {
        found = i;
        break;
      }
    }
    if (found == n) {
      return Reply::Error("ERR Unknown option or number of arguments for CONFIG SET - '" +
                          std::string(a[j].c_str()) + "'");
    }
    if (std::find(which.begin(), which.end(), found) != which.end()) {
      return Reply::Error("ERR CONFIG SET failed (possibly related to argument '" +
                          std::string(a[j].c_str()) + "') - duplicate parameter");
    }
    which.push_back(found);
  }
  std::vector<uint64_t> values(which.size());
  for (size_t k = 0; k < which.size(); ++k) {
    const ConfDef& d = kConfDefs[which[k]];
    std::string_view v = a[2 + 2 * k + 1];
    std::string prefix =
        std::string("ERR CONFIG SET failed (possibly related to argument '") + d.name + "') - ";
    if (d.kind == ConfKind::kMemory) {
      if (!ParseMemory(v, &values[k]))
        return Reply::Error(prefix + "argument must be a memory value");
    } else if (d.kind == ConfKind::kInt) {
      int64_t iv;
      if (!ParseLL(v, &iv))
        return Reply::Error(prefix + "argument couldn't be parsed into an integer");
      if (iv < d.min || iv > d.max) {
        return Reply::Error(prefix + "argument must be between " + std::to_string(d.min) + " and " +
                            std::to_string(d.max) + " inclusive");
      }
      values[k] = static_cast<uint64_t>(iv);
    } else {
      Policy p;
      if (!ParsePolicy(v, &p)) {
        return Reply::Error(prefix +
                            "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
                            "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, "
                            "allkeys-random, noeviction");
      }
      values[k] = static_cast<uint64_t>(p);
    }
  }
  for (size_t k = 0; k < which.size(); ++k) {
    uint64_t v = values[k];
    switch (which[k]) {
      case 0:
        cfg_.maxmemory = v;
        break;
      case 1:
        cfg_.policy = static_cast<Policy>(v);
        pool_size_ = 0;
        break;
      case 2:
        maxmemory_samples_ = v;
        break;
      case 3:
        hash_max_listpack_entries_ = v;
        break;
      case 4:
        hash_max_listpack_value_ = v;
        break;
      case 5:
        set_max_intset_entries_ = v;
        break;
      case 6:
        zset_max_listpack_entries_ = v;
        break;
      case 7:
        zset_max_listpack_value_ = v;
        break;
      case 8:
        lfu_log_factor_ = v;
        break;
      default:
        lfu_decay_time_ = v;
        break;
    }
  }
  return Reply::Ok();
}

// The members defined here, for the two stores (per member, so that a unity batch of these
// files instantiates each once).
#define STORMKV_INSTANTIATE(A_)                                             \
  template Reply Store<A_>::CmdTime(const Command&);                        \
  template Reply Store<A_>::CmdPing(const Command& a);                      \
  template Reply Store<A_>::CmdEcho(const Command& a);                      \
  template Reply Store<A_>::CmdMemory(const Command& a);                    \
  template Reply Store<A_>::CmdObject(const Command& a);                    \
  template std::string Store<A_>::InfoSection(std::string_view name) const; \
  template Reply Store<A_>::CmdInfo(const Command& a);                      \
  template Reply Store<A_>::CmdDebug(const Command& a);                     \
  template Reply Store<A_>::CmdConfig(const Command& a);                    \
  template Reply Store<A_>::ConfigGet(const Command& a);                    \
  template Reply Store<A_>::ConfigSet(const Command& a);
STORMKV_INSTANTIATE(std::allocator<char>)
STORMKV_INSTANTIATE(shm::Allocator<char>)
#undef STORMKV_INSTANTIATE

}  // namespace stormkv::memstore
