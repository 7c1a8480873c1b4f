// tests/common/backend_factories.h — the backends every per-backend suite runs on.
//
// Suites are value-parameterised over backend *names* (rocksdb's env_basic_test pattern):
//
//   INSTANTIATE_TEST_SUITE_P(All, MySuite, ::testing::ValuesIn(stormkv::AllBackendNames()),
//                            stormkv::BackendParamName);
//   void SetUp() override { STORMKV_SETUP_BACKEND(GetParam(), tb_); }
//
// "memory" always works; so does "memory-lua" (gtest name memory_lua): the same store running
// every registered script's Lua text on the embedded Lua engine instead of its native twin.
// "redis" uses STORMKV_REDIS_URL: unset -> the case is skipped with a
// message naming the variable (and fails instead when STORMKV_REQUIRE_REDIS=1, which
// tools/test.sh sets); set but unreachable -> the case fails with the connection error.
// The Redis server named by STORMKV_REDIS_URL must be disposable: each case starts with
// FLUSHDB of the URL's database.
// "redis-cluster" (gtest name suffix /redis_cluster) uses STORMKV_REDIS_CLUSTER_URL
// (redis-cluster://host:port,...), skipped or failed like "redis"; each case starts with FLUSHDB
// on every master and checks at cleanup that every master's maxmemory and policy are as found.
// Tests whose commands or scripts take several keys give them one hash tag ("{t}a", "{t}b").
// "shm" always works: the embedded store in a fresh POSIX shared-memory segment (512 MB, sparse)
// named stormkv-test-<pid>-<n>, removed when the backend closes and at cleanup; `clock` is a
// ManualClock kept equal to the segment's shared clock by `advance`.
// "memory-cluster" (gtest name suffix /memory_cluster, ctest label `memcluster`) always works:
// the embedded store as a 3-master cluster (MemoryBackendOptions::cluster_nodes = 3, strict
// script keys; stormkv/memory_cluster.h). Tests whose commands or scripts take several keys give
// them one hash tag ("{t}a", "{t}b").
// "served" always works: a fresh embedded store (ManualClock) behind an in-process `stormkv
// serve` server on a free loopback port, used through the RedisBackend (RESP over TCP).
#ifndef STORMKV_TESTS_COMMON_BACKEND_FACTORIES_H_
#define STORMKV_TESTS_COMMON_BACKEND_FACTORIES_H_

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stormkv/clock.h"
#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv {

// One backend, ready for one test case.
struct TestBackend {
  std::string name;                     // "memory", "memory-lua", "redis", "shm", "served",
                                        // "redis-cluster", "memory-cluster"
  std::shared_ptr<ManualClock> clock;   // the time scripts and services must use
  std::unique_ptr<KvBackend> kv;        // empty database
  // Moves time forward by `d` on this backend: the ManualClock, and on Redis every key's TTL
  // (stormkv/ttl_shift.h: PEXPIRE with the remainder; a due key gets PEXPIRE 1 and the call
  // waits the ~2 ms until Redis's clock passed it, so Redis expires it itself, never DEL).
  std::function<Status(std::chrono::milliseconds)> advance;
  // Runs at tear-down (e.g. removes a shared segment). May be empty.
  std::function<void()> cleanup;
};

struct MakeBackendOutcome {
  std::optional<TestBackend> backend;  // set on success
  std::string skip_reason;             // non-empty: skip this case with this message
  Status error;                        // non-ok: fail this case with this error
};

// Every backend name the suites are instantiated for.
std::vector<std::string> AllBackendNames();
// gtest parameter-name generator: the backend name itself.
std::string BackendParamName(const ::testing::TestParamInfo<std::string>& info);
// Creates a fresh backend by name.
MakeBackendOutcome MakeTestBackend(const std::string& name);

// The Redis test backend (tests/common/redis_harness.cc).
MakeBackendOutcome MakeRedisTestBackend();
// STORMKV_REDIS_URL, or "" when unset.
std::string TestRedisUrl();
// The Redis Cluster test backend (tests/common/redis_harness.cc).
MakeBackendOutcome MakeRedisClusterTestBackend();
// STORMKV_REDIS_CLUSTER_URL, or "" when unset.
std::string TestRedisClusterUrl();

}  // namespace stormkv

// In SetUp(): creates backend `name` into `out` (a std::optional<TestBackend>), or skips/fails.
#define STORMKV_SETUP_BACKEND(name, out)                                          \
  do {                                                                            \
    ::stormkv::MakeBackendOutcome stormkv_o_ = ::stormkv::MakeTestBackend(name);  \
    if (!stormkv_o_.skip_reason.empty()) GTEST_SKIP() << stormkv_o_.skip_reason;  \
    ASSERT_TRUE(stormkv_o_.error.ok()) << "backend " << (name) << ": " << stormkv_o_.error; \
    (out) = std::move(stormkv_o_.backend);                                        \
  } while (0)

#endif  // STORMKV_TESTS_COMMON_BACKEND_FACTORIES_H_
