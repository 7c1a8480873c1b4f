// redis_bench — RedisBackend throughput against the server of STORMKV_REDIS_URL.
//
//   STORMKV_REDIS_URL=redis://127.0.0.1:6390/0 build/bin/redis_bench --benchmark_min_time=2
//   bench/redis/compare.sh PORT      # this, then redis-benchmark, and the ratios
//
// The commands are redis-benchmark's (-t set,get,incr,hset,sadd without -r: one key each, 3-byte
// values), so the figures compare one for one with `redis-benchmark -c 1` (Unpipelined: one
// Run() per command, one connection) and `redis-benchmark -c 1 -P 64` (Pipelined: one
// RunBatch() of 64 commands per round trip). items_per_second is commands per second.
// Unset STORMKV_REDIS_URL: every benchmark stops with SkipWithError.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "stormkv/redis_backend.h"

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
      o.pool_size = 1;
      Result<std::unique_ptr<KvBackend>> r = NewRedisBackend(o);
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
  return {"SADD", "myset", "element:__rand_int__"};
}

void BM_Unpipelined(benchmark::State& state, const std::string& name) {
  KvBackend* kv = Backend(state);
  if (kv == nullptr) return;
  const Command cmd = BenchCommand(name);
  if (name == "GET" && !kv->Run(BenchCommand("SET")).ok()) state.SkipWithError("SET failed");
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

}  // namespace
}  // namespace stormkv

int main(int argc, char** argv) {
  for (const char* name : {"SET", "GET", "INCR", "HSET", "SADD"}) {
    benchmark::RegisterBenchmark((std::string("Unpipelined/") + name).c_str(),
                                 stormkv::BM_Unpipelined, std::string(name))
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("Pipelined64/") + name).c_str(),
                                 stormkv::BM_Pipelined, std::string(name))
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
