#include "scripts/script_test_util.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <utility>

namespace stormkv::testing_scripts {
namespace {

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string JoinPairs(std::vector<std::pair<std::string, std::string>> pairs, bool sort) {
  if (sort) std::sort(pairs.begin(), pairs.end());
  std::string out = "{";
  for (const auto& [k, v] : pairs) out += Quote(k) + ":" + Quote(v) + ",";
  return out + "}";
}

}  // namespace

Result<std::map<std::string, DumpedKey>> DumpKeys(KvBackend& kv, const std::string& prefix) {
  std::map<std::string, DumpedKey> out;
  std::string pattern;
  for (char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '*';
  std::set<std::string> keys;
  Status st = kv.ScanAll(pattern, [&](const std::string& k) {
    keys.insert(k);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  for (const std::string& key : keys) {
    DumpedKey d;
    auto type = kv.Type(key);
    if (!type.ok()) return type.status();
    d.type = *type;
    if (d.type == "none") continue;
    if (d.type == "string") {
      auto v = kv.Get(key);
      if (!v.ok()) return v.status();
      d.value = v->has_value() ? Quote(**v) : "(nil)";
    } else if (d.type == "hash") {
      auto v = kv.HGetAll(key);
      if (!v.ok()) return v.status();
      d.value = JoinPairs(*v, true);
    } else if (d.type == "set") {
      auto v = kv.SMembers(key);
      if (!v.ok()) return v.status();
      std::sort(v->begin(), v->end());
      std::string s = "[";
      for (const auto& m : *v) s += Quote(m) + ",";
      d.value = s + "]";
    } else if (d.type == "zset") {
      auto v = kv.Run({"ZRANGEBYSCORE", key, "-inf", "+inf", "WITHSCORES"});
      if (!v.ok()) return v.status();
      d.value = v->ToString();
    } else {
      d.value = "(unsupported type)";
    }
    auto pttl = kv.Pttl(key);
    if (!pttl.ok()) return pttl.status();
    d.pttl = *pttl;
    // Due this very millisecond: Redis keeps it until the clock passes the deadline, the Redis
    // test harness's advance deletes it; either is right.
    if (d.pttl == 0) continue;
    out.emplace(key.substr(prefix.size()), std::move(d));
  }
  return out;
}

std::string DiffDumps(const std::map<std::string, DumpedKey>& a,
                      const std::map<std::string, DumpedKey>& b, int64_t ttl_tolerance_ms) {
  std::ostringstream out;
  for (const auto& [k, da] : a) {
    auto it = b.find(k);
    if (it == b.end()) {
      out << "key " << k << " only on the first side (" << da.type << " " << da.value << ")\n";
      continue;
    }
    const DumpedKey& db = it->second;
    if (da.type != db.type) out << "key " << k << ": type " << da.type << " vs " << db.type << "\n";
    if (da.value != db.value) {
      out << "key " << k << ": value\n  " << da.value << "\nvs\n  " << db.value << "\n";
    }
    const bool persistent_a = da.pttl < 0, persistent_b = db.pttl < 0;
    if (persistent_a != persistent_b || (persistent_a && da.pttl != db.pttl) ||
        std::llabs(da.pttl - db.pttl) > ttl_tolerance_ms) {
      out << "key " << k << ": pttl " << da.pttl << " vs " << db.pttl << "\n";
    }
  }
  for (const auto& [k, db] : b) {
    if (!a.count(k)) {
      out << "key " << k << " only on the second side (" << db.type << " " << db.value << ")\n";
    }
  }
  return out.str();
}

Result<Reply> RunTwin(KvBackend& kv, const Script& script, const std::vector<std::string>& keys,
                      const std::vector<std::string>& args) {
  RunContext ctx(kv);
  return script.native_twin()(ctx, keys, args);
}

MaxMemoryGuard::MaxMemoryGuard(KvBackend& kv) : kv_(kv) {
  auto mm = kv_.ConfigGet("maxmemory");
  auto policy = kv_.ConfigGet("maxmemory-policy");
  if (!mm.ok()) {
    status_ = mm.status();
  } else if (!policy.ok()) {
    status_ = policy.status();
  } else {
    maxmemory_ = mm->value_or("0");
    policy_ = policy->value_or("noeviction");
  }
}

MaxMemoryGuard::~MaxMemoryGuard() {
  if (!status_.ok()) return;
  Status a = kv_.ConfigSet("maxmemory", maxmemory_);
  Status b = kv_.ConfigSet("maxmemory-policy", policy_);
  if (!a.ok() || !b.ok()) {
    std::fprintf(stderr, "MaxMemoryGuard: could not restore maxmemory: %s / %s\n",
                 a.ToString().c_str(), b.ToString().c_str());
    std::abort();
  }
}

}  // namespace stormkv::testing_scripts
