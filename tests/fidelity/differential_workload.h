// tests/fidelity/differential_workload.h — the seeded command mix of differential_test.cc.
//
// Generator(seed) yields one Step at a time: a command and the keys it touches. Each of its keys
// has a preferred type (re-drawn when the key is deleted) that most commands on it follow; the
// rest overwrite it with another type or draw WRONGTYPE. Sizes and lengths are drawn on both sides
// of every encoding threshold of the seed's configuration (Config()).
#ifndef STORMKV_TESTS_FIDELITY_DIFFERENTIAL_WORKLOAD_H_
#define STORMKV_TESTS_FIDELITY_DIFFERENTIAL_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/kv_backend.h"

namespace stormkv::fidelity {

bool EqualsNoCase(std::string_view a, std::string_view b);
// "HSET h f v ..." with long arguments and long commands shortened, for failure messages.
std::string CommandText(const Command& c);

struct Step {
  Command cmd;
  std::vector<std::string> touched;  // keys whose encoding and MEMORY USAGE are compared
  int64_t short_ttl_ms = 0;          // > 0: the command gives touched[0] this TTL
};

class Generator {
 public:
  explicit Generator(uint64_t seed);

  // CONFIG SET of the seed's thresholds (defaults for even seeds, small ones for odd seeds).
  std::vector<Command> Config() const;
  // Every command the mix uses, once, on scratch keys (then FLUSHDB).
  std::vector<Command> WarmUp() const;
  Step Next();
  // Call after the step ran: remembers short TTLs (deadline measured from `now_us`).
  void Executed(const Step& s, int64_t now_us);
  // Wall-clock time (us) before which `keys` must not be touched: the latest short-TTL deadline
  // among them plus a margin, so both sides see the key expired. 0 when none.
  int64_t ExpiryBarrierUs(const std::vector<std::string>& keys);
  // Number of keys that may exist (for messages).
  int LiveKeysHint() const { return static_cast<int>(keys_.size()); }

 private:
  enum class Type { kString, kHash, kSet, kZset };
  struct Key {
    std::string name;
    Type type;
    int64_t deadline_us = 0;
  };

  uint64_t Rand();
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Rand() % n; }
  bool Chance(int percent) { return Below(100) < static_cast<uint64_t>(percent); }
  size_t Length();
  size_t AroundThreshold(size_t t);
  std::string Text(size_t n);
  std::string IntText();
  std::string StringValue();
  std::string Field(size_t pool);
  std::string HashValue();
  std::string Member(size_t pool);
  std::string ZMember(size_t pool);
  std::string Score();
  Type RandomType();
  Step KeyOp(Key& k);
  Step StringOp(Key& k);
  Step HashOp(Key& k);
  Step SetOp(Key& k);
  Step ZsetOp(Key& k);

  uint64_t state_;
  bool small_;
  size_t hash_entries_, hash_value_, intset_entries_, zset_entries_, zset_value_;
  std::vector<Key> keys_;
};

}  // namespace stormkv::fidelity

#endif  // STORMKV_TESTS_FIDELITY_DIFFERENTIAL_WORKLOAD_H_
