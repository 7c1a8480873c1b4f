// A fresh-server store (MemoryBackendOptions::fresh_server): what a new Redis 7.0 allocates as a
// workload begins — a latency histogram per command name on its first call (subcommands apart,
// commands a script calls too), the script cache per script. Measured end to end against fresh
// servers by `stormkv simulate` (README, memory model); here the accounting itself.
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "stormkv/memory_backend.h"
#include "stormkv/memory_model.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

std::unique_ptr<KvBackend> FreshStore() {
  MemoryBackendOptions o;
  o.clock = std::make_shared<ManualClock>();
  o.fresh_server = true;
  return NewMemoryBackend(o).value();
}

TEST(FreshServer, StartsAtTheFreshFigureAndAddsOneHistogramPerCommandName) {
  std::unique_ptr<KvBackend> kv = FreshStore();
  const int64_t fresh = model::FreshServerUsedMemory(AllocatorProfile::kDebian);
  EXPECT_EQ(fresh, 914672);
  ASSERT_OK_AND_ASSIGN(int64_t u0, kv->UsedMemory());  // INFO's histogram comes after INFO
  EXPECT_EQ(u0, fresh);
  ASSERT_OK_AND_ASSIGN(int64_t u1, kv->UsedMemory());
  EXPECT_EQ(u1, fresh + model::kLatencyHistogramBytes);
  ASSERT_OK(kv->Run({"GET", "missing"}).status());
  ASSERT_OK(kv->Run({"GET", "missing"}).status());
  ASSERT_OK(kv->Run({"MEMORY", "USAGE", "missing"}).status());
  ASSERT_OK(kv->Run({"memory", "usage", "missing"}).status());  // same name, any case
  ASSERT_OK(kv->Run({"CONFIG", "GET", "maxmemory"}).status());
  ASSERT_OK_AND_ASSIGN(int64_t u2, kv->UsedMemory());
  EXPECT_EQ(u2, fresh + 4 * model::kLatencyHistogramBytes) << "info, get, memory|usage, config|get";
}

TEST(FreshServer, AScriptAddsItsCacheEntryOnceAndTheCommandsItCalls) {
  std::unique_ptr<KvBackend> kv = FreshStore();
  Script s("fresh_server_test_incr", "return redis.call('INCR', KEYS[1])",
           [](ScriptContext& ctx, const std::vector<std::string>& keys,
              const std::vector<std::string>&) { return ctx.Call({"INCR", keys[0]}); });
  ASSERT_OK(kv->Run({"PING"}).status());
  ASSERT_OK(kv->UsedMemory().status());
  ASSERT_OK_AND_ASSIGN(int64_t before, kv->UsedMemory());
  ASSERT_OK(kv->Eval(s, {"counter"}, {}).status());
  ASSERT_OK_AND_ASSIGN(int64_t once, kv->UsedMemory());
  ASSERT_OK(kv->Eval(s, {"counter"}, {}).status());
  ASSERT_OK_AND_ASSIGN(int64_t twice, kv->UsedMemory());
  const int64_t key = 32 + 16 + 8 * 4;  // dictEntry, sds "counter", 4 buckets; 1..2 is shared
  const int64_t script = model::ScriptCacheBytes(s.lua().size(), 0, AllocatorProfile::kDebian);
  EXPECT_EQ(once - before, 3 * model::kLatencyHistogramBytes + script + key)
      << "evalsha, script|load, incr + the cache entry + the key";
  EXPECT_EQ(twice, once);
}

}  // namespace
}  // namespace stormkv
