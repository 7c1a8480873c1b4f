// lua_bench: one script run through the Lua engine, against a context that answers every
// redis.call with +OK (so the numbers are the engine's own cost, not a store's).
//   BM_ReturnOne         `return 1` by sha (RunCached): the engine's floor.
//   BM_ReturnOneEvalsha  the same through Execute({"EVALSHA", sha, "0"}) and a host.
//   BM_ReturnOneEval     EVAL of the body (SHA-1 of the body on every call, then the cache).
//   BM_ArgsAndCall       2 keys, 3 args, one redis.call: KEYS/ARGV building and a call.
#include <benchmark/benchmark.h>

#include "stormkv/lua_engine.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

class OkContext : public ScriptContext {
 public:
  Result<Reply> Call(const Command&) override { return Reply::Ok(); }
};

class OkHost : public LuaScriptHost {
 public:
  Result<ScriptContext*> BeginScript(const LuaScriptFlags&, bool) override { return &ctx; }
  void EndScript(const Status&) override {}
  OkContext ctx;
};

void BM_ReturnOne(benchmark::State& state) {
  LuaEngine engine;
  OkContext ctx;
  std::string sha = *engine.Load("return 1");
  std::vector<std::string> none;
  for (auto _ : state) {
    Reply r = engine.RunCached(sha, none, none, ctx);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReturnOne);

void BM_ReturnOneEvalsha(benchmark::State& state) {
  LuaEngine engine;
  OkHost host;
  Command argv{"EVALSHA", *engine.Load("return 1"), "0"};
  for (auto _ : state) {
    Reply r = engine.Execute(argv, host);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReturnOneEvalsha);

void BM_ReturnOneEval(benchmark::State& state) {
  LuaEngine engine;
  OkHost host;
  Command argv{"EVAL", "return 1", "0"};
  for (auto _ : state) {
    Reply r = engine.Execute(argv, host);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReturnOneEval);

void BM_ArgsAndCall(benchmark::State& state) {
  LuaEngine engine;
  OkContext ctx;
  std::string sha = *engine.Load("return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])");
  std::vector<std::string> keys{"dedup:{fp}:abc", "other"};
  std::vector<std::string> args{"1700000000000", "300000", "ref-1"};
  for (auto _ : state) {
    Reply r = engine.RunCached(sha, keys, args, ctx);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ArgsAndCall);

}  // namespace
}  // namespace stormkv

BENCHMARK_MAIN();
