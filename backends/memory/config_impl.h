// backends/memory/config_impl.h — Store<A>::CmdConfig: CONFIG GET / SET / RESETSTAT.
#ifndef STORMKV_BACKENDS_MEMORY_CONFIG_IMPL_H_
#define STORMKV_BACKENDS_MEMORY_CONFIG_IMPL_H_

#include "commands_impl.h"

namespace stormkv::memstore {

enum class ConfKind { kMemory, kInt, kPolicy };

struct ConfDef {
  const char* name;
  const char* alias;  // or nullptr
  ConfKind kind;
  int64_t min;
  int64_t max;
};

inline constexpr ConfDef kConfDefs[] = {
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

// Redis memtoull(): digits + optional unit (b, k, kb, m, mb, g, gb; case-insensitive).
inline bool ParseMemory(std::string_view s, uint64_t* out) {
  if (!s.empty() && s[0] == '-') return false;
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  std::string_view unit = s.substr(i);
  uint64_t mul;
  if (unit.empty() || EqNoCase(unit, "b")) mul = 1;
  else if (EqNoCase(unit, "k")) mul = 1000;
  else if (EqNoCase(unit, "kb")) mul = 1024;
  else if (EqNoCase(unit, "m")) mul = 1000 * 1000;
  else if (EqNoCase(unit, "mb")) mul = 1024 * 1024;
  else if (EqNoCase(unit, "g")) mul = 1000ull * 1000 * 1000;
  else if (EqNoCase(unit, "gb")) mul = 1024ull * 1024 * 1024;
  else return false;
  uint64_t v = 0;
  for (size_t j = 0; j < i; ++j) {
    uint64_t d = static_cast<uint64_t>(s[j] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      v = UINT64_MAX;
      break;
    }
    v = v * 10 + d;
  }
  *out = (mul != 1 && v > UINT64_MAX / mul) ? UINT64_MAX : v * mul;
  return true;
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
      case 0: return std::to_string(cfg_.maxmemory);
      case 1: return std::string(PolicyName(cfg_.policy));
      case 2: return std::to_string(maxmemory_samples_);
      case 3: return std::to_string(hash_max_listpack_entries_);
      case 4: return std::to_string(hash_max_listpack_value_);
      case 5: return std::to_string(set_max_intset_entries_);
      case 6: return std::to_string(zset_max_listpack_entries_);
      case 7: return std::to_string(zset_max_listpack_value_);
      case 8: return std::to_string(lfu_log_factor_);
      default: return std::to_string(lfu_decay_time_);
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
      if (!ParseMemory(v, &values[k])) return Reply::Error(prefix + "argument must be a memory value");
    } else if (d.kind == ConfKind::kInt) {
      int64_t iv;
      if (!ParseLL(v, &iv)) return Reply::Error(prefix + "argument couldn't be parsed into an integer");
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
      case 0: cfg_.maxmemory = v; break;
      case 1:
        cfg_.policy = static_cast<Policy>(v);
        pool_size_ = 0;
        break;
      case 2: maxmemory_samples_ = v; break;
      case 3: hash_max_listpack_entries_ = v; break;
      case 4: hash_max_listpack_value_ = v; break;
      case 5: set_max_intset_entries_ = v; break;
      case 6: zset_max_listpack_entries_ = v; break;
      case 7: zset_max_listpack_value_ = v; break;
      case 8: lfu_log_factor_ = v; break;
      default: lfu_decay_time_ = v; break;
    }
  }
  return Reply::Ok();
}

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_CONFIG_IMPL_H_
