// backends/memory/cluster_keys.cc — key positions and slots of commands on the embedded cluster.
#include "cluster_keys.h"

#include <charconv>
#include <string_view>
#include <unordered_map>

#include "stormkv/key_schema.h"

namespace stormkv::memstore {

namespace {

enum class Kind { kFirst, kAll, kPairs, kFirstTwo, kSecond, kScript, kKeyless, kFanOut, kSelect,
                  kCluster, kMemory };

const std::unordered_map<std::string_view, Kind>& Table() {
  static const auto* table = new std::unordered_map<std::string_view, Kind>{
      {"del", Kind::kAll},          {"unlink", Kind::kAll},       {"exists", Kind::kAll},
      {"touch", Kind::kAll},        {"mget", Kind::kAll},         {"watch", Kind::kAll},
      {"sinter", Kind::kAll},       {"sunion", Kind::kAll},       {"sdiff", Kind::kAll},
      {"sinterstore", Kind::kAll},  {"sunionstore", Kind::kAll},  {"sdiffstore", Kind::kAll},
      {"mset", Kind::kPairs},       {"msetnx", Kind::kPairs},     {"rename", Kind::kFirstTwo},
      {"renamenx", Kind::kFirstTwo}, {"smove", Kind::kFirstTwo},  {"rpoplpush", Kind::kFirstTwo},
      {"lmove", Kind::kFirstTwo},   {"copy", Kind::kFirstTwo},    {"object", Kind::kSecond},
      {"memory", Kind::kMemory},    {"eval", Kind::kScript},      {"evalsha", Kind::kScript},
      {"eval_ro", Kind::kScript},   {"evalsha_ro", Kind::kScript}, {"select", Kind::kSelect},
      {"cluster", Kind::kCluster},  {"dbsize", Kind::kFanOut},    {"flushdb", Kind::kFanOut},
      {"flushall", Kind::kFanOut},  {"scan", Kind::kFanOut},      {"info", Kind::kFanOut},
      {"config", Kind::kFanOut},    {"script", Kind::kFanOut},    {"debug", Kind::kFanOut},
      {"keys", Kind::kFanOut},      {"ping", Kind::kKeyless},     {"time", Kind::kKeyless},
      {"echo", Kind::kKeyless},     {"hello", Kind::kKeyless},    {"auth", Kind::kKeyless},
      {"client", Kind::kKeyless},   {"command", Kind::kKeyless},  {"quit", Kind::kKeyless},
      {"reset", Kind::kKeyless},    {"multi", Kind::kKeyless},    {"exec", Kind::kKeyless},
      {"discard", Kind::kKeyless},  {"unwatch", Kind::kKeyless},  {"asking", Kind::kKeyless},
      {"readonly", Kind::kKeyless}, {"readwrite", Kind::kKeyless}, {"randomkey", Kind::kKeyless},
      {"lastsave", Kind::kKeyless}, {"role", Kind::kKeyless},     {"wait", Kind::kKeyless},
      {"latency", Kind::kKeyless},  {"slowlog", Kind::kKeyless},  {"function", Kind::kKeyless},
  };
  return *table;
}

}  // namespace

std::string LowerName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

CommandKeys KeysOf(const Command& argv) {
  CommandKeys out;
  if (argv.empty()) {
    out.route = ClusterRoute::kKeyless;
    return out;
  }
  const std::string name = LowerName(argv[0]);
  auto it = Table().find(name);
  const Kind kind = it == Table().end() ? Kind::kFirst : it->second;
  const std::size_t n = argv.size();
  switch (kind) {
    case Kind::kFirst:
      if (n > 1) out.positions.push_back(1);
      break;
    case Kind::kAll:
      for (std::size_t i = 1; i < n; ++i) out.positions.push_back(i);
      break;
    case Kind::kPairs:
      for (std::size_t i = 1; i < n; i += 2) out.positions.push_back(i);
      break;
    case Kind::kFirstTwo:
      for (std::size_t i = 1; i < n && i <= 2; ++i) out.positions.push_back(i);
      break;
    case Kind::kSecond:
      if (n > 2 && LowerName(argv[1]) != "help") out.positions.push_back(2);
      break;
    case Kind::kMemory:
      if (n > 2 && LowerName(argv[1]) == "usage") {
        out.positions.push_back(2);
      } else {
        out.route = ClusterRoute::kKeyless;
      }
      break;
    case Kind::kScript: {
      out.route = ClusterRoute::kScript;
      if (n < 3) break;
      long long numkeys = -1;
      const std::string& s = argv[2];
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), numkeys);
      if (ec != std::errc() || p != s.data() + s.size() || numkeys < 0 ||
          static_cast<unsigned long long>(numkeys) > n - 3) {
        break;
      }
      for (std::size_t i = 0; i < static_cast<std::size_t>(numkeys); ++i) {
        out.positions.push_back(3 + i);
      }
      break;
    }
    case Kind::kKeyless:
      out.route = ClusterRoute::kKeyless;
      break;
    case Kind::kFanOut:
      out.route = ClusterRoute::kFanOut;
      break;
    case Kind::kSelect:
      out.route = ClusterRoute::kSelect;
      break;
    case Kind::kCluster:
      out.route = ClusterRoute::kCluster;
      break;
  }
  return out;
}

int SlotOfKeys(const Command& argv, const std::vector<std::size_t>& positions) {
  int slot = -1;
  for (std::size_t pos : positions) {
    const int s = HashSlot(argv[pos]);
    if (slot == -1) {
      slot = s;
    } else if (s != slot) {
      return -2;
    }
  }
  return slot;
}

int SlotOfKeyList(const std::vector<std::string>& keys) {
  int slot = -1;
  for (const std::string& k : keys) {
    const int s = HashSlot(k);
    if (slot == -1) {
      slot = s;
    } else if (s != slot) {
      return -2;
    }
  }
  return slot;
}

}  // namespace stormkv::memstore
