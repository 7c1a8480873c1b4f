#include "store.h"

namespace stormkv::memstore {
namespace {

struct PolicyName_ {
  const char* name;
  Policy policy;
};

constexpr PolicyName_ kPolicies[] = {
    {"noeviction", Policy::kNoEviction},         {"allkeys-lru", Policy::kAllkeysLru},
    {"volatile-lru", Policy::kVolatileLru},      {"allkeys-lfu", Policy::kAllkeysLfu},
    {"volatile-lfu", Policy::kVolatileLfu},      {"allkeys-random", Policy::kAllkeysRandom},
    {"volatile-random", Policy::kVolatileRandom}, {"volatile-ttl", Policy::kVolatileTtl},
};

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace

bool ParsePolicy(std::string_view name, Policy* out) {
  for (const auto& p : kPolicies) {
    if (EqualsNoCase(name, p.name)) {
      *out = p.policy;
      return true;
    }
  }
  return false;
}

std::string PolicyNames() {
  std::string out;
  for (const auto& p : kPolicies) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

std::string_view PolicyName(Policy p) {
  for (const auto& e : kPolicies) {
    if (e.policy == p) return e.name;
  }
  return "noeviction";
}

}  // namespace stormkv::memstore
