// kv_bench — throughput of the embedded store (memory backend) through KvBackend::Run / Eval.
//
//   build-h1/bin/kv_bench --benchmark_min_time=0.5
//
// Each benchmark runs with 1 and 2 threads on one shared store (one mutex). Commands are built
// before the timed loop; a bad Status stops the benchmark with SkipWithError.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "common/test_scripts.h"
#include "stormkv/memory_backend.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

constexpr size_t kKeys = 4096;  // per thread, power of two

std::unique_ptr<KvBackend>& SharedBackend() {
  static std::unique_ptr<KvBackend> kv;
  return kv;
}

void Setup(const benchmark::State& state) {
  if (state.thread_index() != 0) return;
  MemoryBackendOptions o;
  o.clock = std::make_shared<ManualClock>();
  SharedBackend() = NewMemoryBackend(o).value();
}

std::string Key(const benchmark::State& state, size_t i) {
  return "bench:{t" + std::to_string(state.thread_index()) + "}:" + std::to_string(i);
}

// `op` is the case's label for bench_report ("op=GET"): the command it measures.
template <typename MakeCmd>
void RunCommands(benchmark::State& state, const char* op, MakeCmd make, bool preload_strings) {
  Setup(state);
  state.SetLabel(std::string("op=") + op);
  std::vector<Command> cmds;
  cmds.reserve(kKeys);
  for (size_t i = 0; i < kKeys; ++i) cmds.push_back(make(state, i));
  KvBackend* kv = nullptr;
  size_t i = 0;
  for (auto _ : state) {
    if (kv == nullptr) {
      // First iteration: the barrier has passed, thread 0's setup is visible.
      kv = SharedBackend().get();
      if (preload_strings) {
        state.PauseTiming();
        for (size_t k = 0; k < kKeys; ++k) {
          auto r = kv->Run({"SET", Key(state, k), std::string(32, 'v')});
          if (!r.ok()) {
            state.SkipWithError(r.status().ToString().c_str());
            break;
          }
        }
        state.ResumeTiming();
      }
    }
    Result<Reply> r = kv->Run(cmds[i++ & (kKeys - 1)]);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Get(benchmark::State& state) {
  RunCommands(state, "GET", [](const benchmark::State& s, size_t i) { return Command{"GET", Key(s, i)}; },
              true);
}

void BM_SetEx(benchmark::State& state) {
  RunCommands(
      state, "SETEX",
      [](const benchmark::State& s, size_t i) {
        return Command{"SET", Key(s, i), std::string(32, 'v'), "EX", "300"};
      },
      false);
}

void BM_Incr(benchmark::State& state) {
  RunCommands(state, "INCR", [](const benchmark::State& s, size_t i) { return Command{"INCR", Key(s, i)}; },
              false);
}

void BM_HSet(benchmark::State& state) {
  RunCommands(
      state, "HSET",
      [](const benchmark::State& s, size_t i) {
        return Command{"HSET", Key(s, i % 64), "field:" + std::to_string(i / 64), "value"};
      },
      false);
}

void BM_SAdd(benchmark::State& state) {
  RunCommands(
      state, "SADD",
      [](const benchmark::State& s, size_t i) {
        return Command{"SADD", Key(s, i % 64), "Pod/pod-" + std::to_string(i / 64)};
      },
      false);
}

void BM_ScriptIncrPExpire(benchmark::State& state) {
  Setup(state);
  state.SetLabel("op=SCRIPT");
  const Script& script = IncrPExpireScript();
  std::vector<std::vector<std::string>> keys;
  for (size_t i = 0; i < kKeys; ++i) keys.push_back({Key(state, i)});
  const std::vector<std::string> args{"60000"};
  KvBackend* kv = nullptr;
  size_t i = 0;
  for (auto _ : state) {
    if (kv == nullptr) kv = SharedBackend().get();
    Result<Reply> r = kv->Eval(script, keys[i++ & (kKeys - 1)], args);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

#define STORMKV_KV_BENCH(fn) BENCHMARK(fn)->Threads(1)->Threads(2)->UseRealTime()
STORMKV_KV_BENCH(BM_Get);
STORMKV_KV_BENCH(BM_SetEx);
STORMKV_KV_BENCH(BM_Incr);
STORMKV_KV_BENCH(BM_HSet);
STORMKV_KV_BENCH(BM_SAdd);
STORMKV_KV_BENCH(BM_ScriptIncrPExpire);

}  // namespace
}  // namespace stormkv

BENCHMARK_MAIN();
