// redis_bench — RedisBackend throughput against the server of STORMKV_REDIS_URL, or the cluster
// backend's when that URL is redis-cluster://host:port,... (NewRedisBackendFromUrl).
//
//   STORMKV_REDIS_URL=redis://127.0.0.1:6390/0 build/bin/redis_bench --benchmark_min_time=2
//   bench/redis/compare.sh PORT      # this, then redis-benchmark, and the ratios
//   bench/redis/cluster_compare.sh REDIS_PORT CLUSTER_URL   # one node vs the cluster
//
// The commands are redis-benchmark's (-t set,get,incr,hset,sadd without -r: one key each, 3-byte
// values), so the figures compare one for one with `redis-benchmark -c 1` (Unpipelined: one
// Run() per command, one connection) and `redis-benchmark -c 1 -P 64` (Pipelined: one
// RunBatch() of 64 commands per round trip). items_per_second is commands per second.
// Besides, SETEX (SET ... EX 300) and Script/INCR_PEXPIRE (EVALSHA of INCR + PEXPIRE, kv_bench's
// twin case) show the costs the gateway pays; redis-benchmark has no counterpart for them.
// Unset STORMKV_REDIS_URL: every benchmark stops with SkipWithError.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/test_scripts.h"
#include "stormkv/redis_backend.h"
#include "stormkv/redis_cluster_backend.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

constexpr int kPipeline = 64;

KvBackend* Backend(benchmark::State& state) {
  static std::unique_ptr<KvBackend> kv;
  static std::string error;
  if (kv == nullptr && error.empty()) {
    const char* url = std::getenv("STORMKV_REDIS_URL");
    if (url == nullptr) {
      error = "STORMKV_REDIS_URL is not set";
    } else {
      RedisOptions o;
      o.url = url;
      o.pool_size = 1;  // per master on a cluster
      Result<std::unique_ptr<KvBackend>> r = NewRedisBackendFromUrl(url, o);
      if (r.ok()) {
        kv = std::move(r).value();
      } else {
        error = r.status().ToString();
      }
    }
  }
  if (kv == nullptr) state.SkipWithError(error.c_str());
  return kv.get();
}

Command BenchCommand(const std::string& name) {
  if (name == "SET") return {"SET", "key:__rand_int__", "xxx"};
  if (name == "GET") return {"GET", "key:__rand_int__"};
  if (name == "INCR") return {"INCR", "counter:__rand_int__"};
  if (name == "HSET") return {"HSET", "myhash", "element:__rand_int__", "xxx"};
  if (name == "SETEX") return {"SET", "key:__rand_int__", "xxx", "EX", "300"};
  return {"SADD", "myset", "element:__rand_int__"};
}

// Runs `cmd` 2,000 times once per process and command, outside any timed region: the first case
// of a run (SET) otherwise pays for the cold connection and caches (measured 10-20% slower than
// SET ... EX, which does more).
void WarmUp(KvBackend* kv, const Command& cmd) {
  static std::set<std::string> warmed;
  if (!warmed.insert(cmd[0] + " " + std::to_string(cmd.size())).second) return;
  for (int i = 0; i < 2000; ++i) {
    if (!kv->Run(cmd).ok()) return;
  }
}

void BM_Unpipelined(benchmark::State& state, const std::string& name) {
  KvBackend* kv = Backend(state);
  if (kv == nullptr) return;
  const Command cmd = BenchCommand(name);
  state.SetLabel("op=" + name + " pipelined=no");
  if (name == "GET" && !kv->Run(BenchCommand("SET")).ok()) state.SkipWithError("SET failed");
  WarmUp(kv, cmd);
  for (auto _ : state) {
    Result<Reply> r = kv->Run(cmd);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Pipelined(benchmark::State& state, const std::string& name) {
  KvBackend* kv = Backend(state);
  if (kv == nullptr) return;
  const std::vector<Command> batch(kPipeline, BenchCommand(name));
  state.SetLabel("op=" + name + " pipelined=yes");
  if (name == "GET" && !kv->Run(BenchCommand("SET")).ok()) state.SkipWithError("SET failed");
  for (auto _ : state) {
    std::vector<Result<Reply>> r = kv->RunBatch(batch);
    if (!r.back().ok()) {
      state.SkipWithError(r.back().status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * kPipeline);
}

void BM_Script(benchmark::State& state) {
  KvBackend* kv = Backend(state);
  if (kv == nullptr) return;
  const Script& script = IncrPExpireScript();
  state.SetLabel("op=SCRIPT pipelined=no");
  const std::vector<std::string> keys = {"script:counter"};
  const std::vector<std::string> args = {"300000"};
  for (auto _ : state) {
    Result<Reply> r = kv->Eval(script, keys, args);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace
}  // namespace stormkv

int main(int argc, char** argv) {
  for (const char* name : {"SET", "GET", "INCR", "HSET", "SADD", "SETEX"}) {
    benchmark::RegisterBenchmark((std::string("Unpipelined/") + name).c_str(),
                                 stormkv::BM_Unpipelined, std::string(name))
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("Pipelined64/") + name).c_str(),
                                 stormkv::BM_Pipelined, std::string(name))
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("Script/INCR_PEXPIRE", stormkv::BM_Script)->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
