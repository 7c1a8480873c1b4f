// shm_bench — gateway script calls per second with 1, 2 and 4 workers sharing one store.
//
//   build/bin/shm_bench                                              # memory and shm
//   STORMKV_REDIS_URL=redis://127.0.0.1:6390/0 build/bin/shm_bench   # and real Redis
//
// BM_ScriptCalls/<backend>/<script>/workers:<n>: every worker makes kCallsPerWorker service calls
// (Deduplicator::Record or StormAggregator::Add, compact layout: one script call each) after a
// start barrier; the time is the wall time from the barrier to the last worker's end.
//  * memory: `workers` threads of this process on one in-process store (its mutex);
//  * shm: `workers` forked processes, each attached by name to one shared segment (its robust
//    process-shared lock) — what gateway replicas on one host would do;
//  * redis: `workers` forked processes, each with its own connection to STORMKV_REDIS_URL (the
//    server must be disposable: FLUSHDB first); SkipWithError when the variable is unset.
// Counter calls_per_s: script calls of all workers per wall-clock second.
// BM_Command/<backend>/<command>: one command (or dedup script call) at a time from one thread.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "stormkv/gateway/dedup.h"
#include "stormkv/gateway/scripts.h"
#include "stormkv/gateway/storm_aggregator.h"
#include "stormkv/memory_backend.h"
#include "stormkv/redis_backend.h"
#include "stormkv/script.h"
#include "stormkv/shm_backend.h"

namespace stormkv {
namespace {

constexpr int kCallsPerWorker = 5000;
enum BackendArg { kMemory = 0, kShm = 1, kRedis = 2 };
enum ScriptArg { kDedup = 0, kStormAgg = 1 };

std::string RedisUrl() {
  const char* url = std::getenv("STORMKV_REDIS_URL");
  return url ? url : "";
}

std::string Key(std::string_view prefix, int64_t i) {
  std::string k(prefix);
  k.append(std::to_string(i));
  return k;
}

// One worker's calls: `calls` service calls, returning how many failed.
int64_t Work(KvBackend& kv, std::shared_ptr<const Clock> clock, int script, int worker, int calls) {
  KeySchema schema;
  int64_t errors = 0;
  if (script == kDedup) {
    Deduplicator dedup(kv, clock, schema);
    std::vector<std::string> fps;
    for (int i = 0; i < 1000; ++i) fps.push_back(Sha256Hex(Key(Key("w", worker) + "-", i)));
    for (int i = 0; i < calls; ++i) {
      if (!dedup.Record(fps[static_cast<size_t>(i % 1000)], "rr").ok()) ++errors;
    }
  } else {
    StormAggregator agg(kv, clock, schema);
    std::vector<std::string> storms, pods;
    for (int i = 0; i < 50; ++i) storms.push_back(Key("Alert", i));
    for (int i = 0; i < 15; ++i) pods.push_back(Key("Pod/payments-api-7d9c8b-", i));
    for (int i = 0; i < calls; ++i) {
      StormAlert a;
      a.ns = "payments";
      a.alertname = storms[static_cast<size_t>(i % 50)];
      a.resource = pods[static_cast<size_t>((i / 50 + worker) % 15)];
      if (!agg.Add(a).ok()) ++errors;
    }
  }
  return errors;
}

// Runs `workers` forked processes: each calls open(), reports ready, waits for the start, works,
// reports done. Returns the wall seconds from start to the last done (negative on failure).
double RunProcesses(int workers, const std::function<std::unique_ptr<KvBackend>()>& open,
                    const std::function<std::shared_ptr<const Clock>(KvBackend&)>& clock_of,
                    int script) {
  int ready[2], go[2];
  if (::pipe(ready) != 0 || ::pipe(go) != 0) return -1;
  std::vector<pid_t> pids;
  for (int w = 0; w < workers; ++w) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      ::close(go[1]);
      std::unique_ptr<KvBackend> kv = open();
      char c = kv ? 'R' : 'E';
      (void)!::write(ready[1], &c, 1);
      if (!kv || ::read(go[0], &c, 1) != 1) ::_exit(1);
      int64_t errors = Work(*kv, clock_of(*kv), script, w, kCallsPerWorker);
      c = errors == 0 ? 'D' : 'X';
      (void)!::write(ready[1], &c, 1);
      kv.reset();  // detaches
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  ::close(ready[1]);
  ::close(go[0]);
  bool ok = true;
  for (int w = 0; w < workers; ++w) {
    char c = 0;
    if (::read(ready[0], &c, 1) != 1 || c != 'R') ok = false;
  }
  auto t0 = std::chrono::steady_clock::now();
  std::string start(static_cast<size_t>(workers), 'g');
  if (ok) (void)!::write(go[1], start.data(), start.size());
  for (int w = 0; ok && w < workers; ++w) {
    char c = 0;
    if (::read(ready[0], &c, 1) != 1 || c != 'D') ok = false;
  }
  auto t1 = std::chrono::steady_clock::now();
  ::close(ready[0]);
  ::close(go[1]);
  for (pid_t pid : pids) {
    if (!ok) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  return ok ? std::chrono::duration<double>(t1 - t0).count() : -1;
}

// The same with threads of this process on one backend.
double RunThreads(int workers, KvBackend& kv, std::shared_ptr<const Clock> clock, int script) {
  std::latch ready(workers), go(1), done(workers);
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> ts;
  for (int w = 0; w < workers; ++w) {
    ts.emplace_back([&, w] {
      ready.count_down();
      go.wait();
      errors += Work(kv, clock, script, w, kCallsPerWorker);
      done.count_down();
    });
  }
  ready.wait();
  auto t0 = std::chrono::steady_clock::now();
  go.count_down();
  done.wait();
  auto t1 = std::chrono::steady_clock::now();
  for (auto& t : ts) t.join();
  return errors == 0 ? std::chrono::duration<double>(t1 - t0).count() : -1;
}

void BM_ScriptCalls(benchmark::State& state, int backend, int script, int workers) {
  (void)GatewayScript(ScriptId::kDedup);  // registered before fork: every worker has them
  auto clock = std::make_shared<ManualClock>();

  std::unique_ptr<KvBackend> memory;
  std::unique_ptr<ShmBackend> shm;
  std::string shm_name = Key("stormkv-bench-", ::getpid());
  if (backend == kMemory) {
    MemoryBackendOptions o;
    o.clock = clock;
    memory = NewMemoryBackend(o).value();
  } else if (backend == kShm) {
    ShmBackendOptions o;
    o.name = shm_name;
    o.open = ShmBackendOptions::OpenMode::kCreate;
    o.size = int64_t{256} << 20;
    o.remove_on_close = true;
    auto kv = NewShmBackend(o);
    if (!kv.ok()) {
      state.SkipWithError(kv.status().ToString().c_str());
      return;
    }
    shm = std::move(*kv);
  } else {
    if (RedisUrl().empty()) {
      state.SkipWithError("STORMKV_REDIS_URL is not set");
      return;
    }
    RedisOptions o;
    o.url = RedisUrl();
    auto kv = NewRedisBackend(o);
    Status st = kv.ok() ? (*kv)->FlushDb() : kv.status();
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
  }

  double total_seconds = 0;
  int64_t total_calls = 0;
  for (auto _ : state) {
    double s;
    if (backend == kMemory) {
      s = RunThreads(workers, *memory, clock, script);
    } else if (backend == kShm) {
      s = RunProcesses(
          workers,
          [&]() -> std::unique_ptr<KvBackend> {
            ShmBackendOptions o;
            o.name = shm_name;
            auto kv = NewShmBackend(o);
            return kv.ok() ? std::move(*kv) : nullptr;
          },
          [](KvBackend& kv) -> std::shared_ptr<const Clock> {
            return static_cast<ShmBackend&>(kv).clock();
          },
          script);
    } else {
      s = RunProcesses(
          workers,
          []() -> std::unique_ptr<KvBackend> {
            RedisOptions o;
            o.url = RedisUrl();
            auto kv = NewRedisBackend(o);
            return kv.ok() ? std::move(*kv) : nullptr;
          },
          [clock](KvBackend&) -> std::shared_ptr<const Clock> { return clock; }, script);
    }
    if (s < 0) {
      state.SkipWithError("a worker failed (could not open the backend, or a call failed)");
      return;
    }
    state.SetIterationTime(s);
    total_seconds += s;
    total_calls += int64_t{kCallsPerWorker} * workers;
  }
  state.counters["workers"] = workers;
  state.counters["calls_per_s"] = static_cast<double>(total_calls) / total_seconds;
}

// One command at a time from this process: the per-call cost of the shm path (robust lock,
// write preparation, offset pointers) against the in-process store.
void BM_Command(benchmark::State& state, int backend, int which) {
  std::unique_ptr<KvBackend> kv;
  std::shared_ptr<const Clock> clock;
  if (backend == kMemory) {
    auto c = std::make_shared<ManualClock>();
    MemoryBackendOptions o;
    o.clock = c;
    kv = NewMemoryBackend(o).value();
    clock = c;
  } else {
    ShmBackendOptions o;
    o.name = Key("stormkv-bench-cmd-", ::getpid());
    o.open = ShmBackendOptions::OpenMode::kCreate;
    o.size = int64_t{256} << 20;
    o.remove_on_close = true;
    auto b = NewShmBackend(o);
    if (!b.ok()) {
      state.SkipWithError(b.status().ToString().c_str());
      return;
    }
    clock = (*b)->clock();
    kv = std::move(*b);
  }
  std::vector<Command> cmds;
  for (int i = 0; i < 4096; ++i) {
    std::string k = Key("key:", i);
    if (which == 0) cmds.push_back({"GET", k});
    if (which == 1) cmds.push_back({"SET", k, std::string(40, 'v'), "EX", "300"});
    if (which == 2) cmds.push_back({"HSET", Key("hash:", i % 64), Key("field", i), "v"});
  }
  for (int i = 0; i < 4096; ++i) (void)kv->Run({"SET", Key("key:", i), "v"});
  Deduplicator dedup(*kv, clock, KeySchema());
  std::vector<std::string> fps;
  for (int i = 0; i < 1024; ++i) fps.push_back(Sha256Hex(Key("fp-", i)));
  size_t i = 0;
  for (auto _ : state) {
    if (which == 3) {
      if (!dedup.Record(fps[i++ & 1023], "rr").ok()) {
        state.SkipWithError("dedup failed");
        return;
      }
    } else {
      Result<Reply> r = kv->Run(cmds[i++ & 4095]);
      if (!r.ok()) {
        state.SkipWithError(r.status().ToString().c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void Register() {
  const char* commands[] = {"get", "set_ex", "hset", "dedup_script"};
  for (int b : {kMemory, kShm}) {
    for (int c = 0; c < 4; ++c) {
      std::string name = std::string("BM_Command/") + (b == kMemory ? "memory/" : "shm/");
      name += commands[c];
      benchmark::RegisterBenchmark(name.c_str(), BM_Command, b, c)->UseRealTime();
    }
  }
  const char* backends[] = {"memory", "shm", "redis"};
  const char* scripts[] = {"dedup", "storm_agg_compact"};
  for (int b : {kMemory, kShm, kRedis}) {
    for (int s : {kDedup, kStormAgg}) {
      for (int w : {1, 2, 4}) {
        std::string name =
            std::string("BM_ScriptCalls/") + backends[b] + "/" + scripts[s] + "/workers:";
        name += std::to_string(w);
        benchmark::RegisterBenchmark(name.c_str(), BM_ScriptCalls, b, s, w)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
}

}  // namespace
}  // namespace stormkv

int main(int argc, char** argv) {
  stormkv::Register();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
