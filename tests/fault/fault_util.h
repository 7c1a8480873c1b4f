// tests/fault/fault_util.h — helpers of the fault and security suites: key snapshots, a trigger
// that arms a FaultInjectionBackend at operation N, a backend that loses replies.
#ifndef STORMKV_TESTS_FAULT_FAULT_UTIL_H_
#define STORMKV_TESTS_FAULT_FAULT_UTIL_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "stormkv/forwarding_backend.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv::fault {

// The state of one key, comparable across backends and runs.
struct KeyState {
  std::string type;   // "string", "hash", "zset", "set"
  std::string value;  // string: the bytes; hash: "f=v\n" sorted; zset: "m=score\n" by member
  int64_t pttl = -2;  // as PTTL answers it
};

// Every key under `prefix` (SCAN with KeySchema::FamilyPattern), named without the prefix.
Result<std::map<std::string, KeyState>> Snapshot(KvBackend& kv, const std::string& prefix);

// A human-readable difference of two snapshots ("" when equal). Values compare exactly; TTLs
// within `ttl_slack_ms` (Redis counts real time between two runs). Keys whose name (without the
// prefix) starts with one of `value_free` compare by type and TTL only.
std::string Diff(const std::map<std::string, KeyState>& want,
                 const std::map<std::string, KeyState>& got, int64_t ttl_slack_ms,
                 const std::vector<std::string>& value_free = {});

// Counts the operations (Run, Eval, each command of a batch) passing through it into a
// FaultInjectionBackend, and arms that backend when operation number `at` (1-based) arrives, so
// that this operation — and with `persistent`, every later one until Heal() — fails.
class TriggerBackend : public ForwardingBackend {
 public:
  explicit TriggerBackend(FaultInjectionBackend* faults)
      : ForwardingBackend(faults), faults_(faults) {}

  void ArmAt(int64_t at, Status status, bool persistent);
  void Disarm();
  int64_t ops() const { return ops_.load(); }
  // Names of the operations run so far, by operation number (1-based): a script's name
  // (lower case, e.g. "dedup") or a plain command's (upper case as sent, e.g. "ZADD").
  std::vector<std::string> op_names() const;

  Result<Reply> Run(const Command& argv) override;
  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override;
  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override;

 private:
  void Count(const std::string& name);

  FaultInjectionBackend* faults_;
  mutable std::mutex mu_;
  int64_t at_ = 0;         // guarded by mu_
  Status status_;          // guarded by mu_
  bool persistent_ = false;  // guarded by mu_
  std::vector<std::string> names_;  // guarded by mu_
  std::atomic<int64_t> ops_{0};
};

// Runs operation number `at` (1-based; each command of a batch counts, as in TriggerBackend) on
// the target and then reports `status` instead of its reply (in a batch: of it and the later
// commands): a write that reached the server whose reply was lost (a command timeout, a reset after
// the server executed it). Every other operation passes through.
class ReplyLostBackend : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  void ArmAt(int64_t at, Status status);
  int64_t ops() const { return ops_.load(); }

  Result<Reply> Run(const Command& argv) override;
  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override;
  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override;

 private:
  bool Hit();
  std::mutex mu_;
  int64_t at_ = 0;  // guarded by mu_
  Status status_;   // guarded by mu_
  std::atomic<int64_t> ops_{0};
};

}  // namespace stormkv::fault

#endif  // STORMKV_TESTS_FAULT_FAULT_UTIL_H_
