// tests/scripts/script_test_util.h — helpers of the script suites: key-by-key dumps, a
// ScriptContext that forwards to KvBackend::Run, and a guard that restores maxmemory.
#ifndef STORMKV_TESTS_SCRIPTS_SCRIPT_TEST_UTIL_H_
#define STORMKV_TESTS_SCRIPTS_SCRIPT_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stormkv/kv_backend.h"
#include "stormkv/script.h"
#include "stormkv/status.h"

namespace stormkv::testing_scripts {

// One key as a dump sees it.
struct DumpedKey {
  std::string type;   // TYPE
  std::string value;  // GET / sorted HGETALL / sorted SMEMBERS / ZRANGEBYSCORE WITHSCORES
  int64_t pttl = -2;  // PTTL
};

// Every key of `kv` starting with `prefix`, keyed by the rest of its name; keys due to expire
// this very millisecond (PTTL 0) are left out.
Result<std::map<std::string, DumpedKey>> DumpKeys(KvBackend& kv, const std::string& prefix);

// Compares two dumps; TTLs may differ by `ttl_tolerance_ms` (-1 must equal -1). Returns "" when
// equal, else a description of every difference.
std::string DiffDumps(const std::map<std::string, DumpedKey>& a,
                      const std::map<std::string, DumpedKey>& b, int64_t ttl_tolerance_ms);

// A ScriptContext that runs each call as a separate KvBackend::Run (not atomic: for
// single-threaded checks of a twin's logic against the Lua text on the same server).
class RunContext final : public ScriptContext {
 public:
  explicit RunContext(KvBackend& kv) : kv_(kv) {}
  Result<Reply> Call(const Command& argv) override { return kv_.Run(argv); }

 private:
  KvBackend& kv_;
};

// Runs `script`'s native twin through `kv`'s primitives (see RunContext).
Result<Reply> RunTwin(KvBackend& kv, const Script& script, const std::vector<std::string>& keys,
                      const std::vector<std::string>& args);

// Restores maxmemory (and the policy) of `kv` when it goes out of scope.
class MaxMemoryGuard {
 public:
  explicit MaxMemoryGuard(KvBackend& kv);
  ~MaxMemoryGuard();
  MaxMemoryGuard(const MaxMemoryGuard&) = delete;
  MaxMemoryGuard& operator=(const MaxMemoryGuard&) = delete;
  const Status& status() const { return status_; }

 private:
  KvBackend& kv_;
  std::string maxmemory_;
  std::string policy_;
  Status status_;
};

}  // namespace stormkv::testing_scripts

#endif  // STORMKV_TESTS_SCRIPTS_SCRIPT_TEST_UTIL_H_
