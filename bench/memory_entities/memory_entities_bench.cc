// bench/memory_entities/memory_entities_bench.cc — bytes per gateway entity, as counters.
//
// Cases (benchmark names):
//   fingerprint/<backend>                       one dedup record per fingerprint (Deduplicator
//                                               Begin + Finish, as the Pipeline writes it)
//   storm/<layout>/<resources>/<backend>        one storm of 15 or 100 resources (StormAggregator,
//                                               alerts with request ids, as the Pipeline adds them)
//   rate_bucket/<backend>                       one GCRA bucket per client (RateLimiter)
// <backend> is "memory" (the embedded store: the bytes Redis 7.0 would use, from the model) or
// "redis" (real bytes of the server named by STORMKV_REDIS_URL, which must be disposable: every
// case starts with FLUSHDB). <layout> is full-crd, json-meta or compact.
//
// Each case writes `entities` entities into an empty database in one timed iteration and reports:
//   bytes_per_entity        (used_memory after - used_memory before) / entities   [INFO memory]
//   memory_usage_per_entity sum of MEMORY USAGE <key> SAMPLES 0 over every key / entities
//   keys_per_entity         DBSIZE / entities
//   ttl_keys_per_entity     keys with an expiry (each costs an expires-dict entry) / entities
//   entities                how many entities were written
//   items_per_second        service calls per second (wall clock) while writing (one per alert
//                           for storms)
// A bad Status ends the case with an error (never a silent zero).
//
// Measurement hygiene on Redis: every command and script used is warmed up first (Redis 7.0
// allocates a latency histogram per command name on first use, and loads scripts once); the
// server gets a few hundred ms after the writes so serverCron finishes rehashing the main and
// expires dicts; and used_memory is read on a fresh connection (idle pooled ones are closed
// first), since a long-lived connection holds query and reply buffers.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "stormkv/clock.h"
#include "stormkv/gateway/dedup.h"
#include "stormkv/gateway/layouts.h"
#include "stormkv/gateway/rate_limiter.h"
#include "stormkv/gateway/storm_aggregator.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/memory_backend.h"
#include "stormkv/redis_backend.h"
#include "stormkv/script.h"
#include "stormkv/status.h"

namespace stormkv {
namespace {

constexpr int64_t kFingerprints = 5000;
constexpr int64_t kRateBuckets = 5000;
// Storms per case: about 3,000-4,000 alerts each, enough to amortise a bucket-array doubling.
int64_t StormsFor(int64_t resources) { return resources <= 15 ? 200 : 40; }

struct Env {
  std::string name;
  std::shared_ptr<ManualClock> clock;
  std::unique_ptr<KvBackend> kv;
  bool real_redis = false;
};

Result<Env> MakeEnv(const std::string& backend) {
  Env env;
  env.name = backend;
  env.clock = std::make_shared<ManualClock>();
  if (backend == "memory") {
    MemoryBackendOptions options;
    options.clock = env.clock;
    Result<std::unique_ptr<KvBackend>> kv = NewMemoryBackend(options);
    if (!kv.ok()) return kv.status();
    env.kv = std::move(*kv);
    return env;
  }
  const char* url = std::getenv("STORMKV_REDIS_URL");
  if (url == nullptr || *url == '\0') {
    return Status::InvalidArgument(
        "STORMKV_REDIS_URL is not set (tools/bench.sh starts a server and sets it)");
  }
  RedisOptions options;
  options.url = url;
  options.pool_size = 1;
  auto kv = NewRedisBackend(options);
  if (!kv.ok()) return kv.status().WithContext("redis backend");
  env.kv = std::move(kv).value();
  env.real_redis = true;
  return env;
}

// A realistic Kubernetes alert of storm `storm`, on resource `resource` (0-based).
StormAlert MakeAlert(int64_t storm, int64_t resource) {
  StormAlert a;
  a.ns = "payments-prod";
  a.alertname = "KubePodCrashLooping" + std::to_string(storm);
  a.storm_type = StormType::kPattern;
  std::string pod = "payments-api-7d9c8b5f4-" + std::to_string(10000 + resource);
  a.resource = "Pod/" + pod;
  a.fingerprint = Sha256Hex(a.alertname + ":" + a.ns + ":Pod:" + pod);
  a.severity = "critical";
  a.labels = {{"alertname", a.alertname},
              {"container", "payments-api"},
              {"endpoint", "http"},
              {"job", "kube-state-metrics"},
              {"namespace", a.ns},
              {"pod", pod},
              {"prometheus", "monitoring/k8s"},
              {"reason", "CrashLoopBackOff"},
              {"severity", "critical"}};
  a.annotations = {
      {"description", "Pod " + a.ns + "/" + pod +
                          " (payments-api) is in waiting state (reason: \"CrashLoopBackOff\")."},
      {"runbook_url",
       "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping"},
      {"summary", "Pod is crash looping."}};
  return a;
}

// Runs every command and script the case uses once on a scratch key, then empties the database.
Status WarmUp(Env& env, const std::function<Status(KvBackend&)>& touch) {
  STORMKV_RETURN_IF_ERROR(env.kv->FlushDb());
  STORMKV_RETURN_IF_ERROR(touch(*env.kv));
  auto usage = env.kv->MemoryUsage("stormkv-warmup:none");
  if (!usage.ok()) return usage.status();
  auto size = env.kv->DbSize();
  if (!size.ok()) return size.status();
  STORMKV_RETURN_IF_ERROR(env.kv->ScanAll("*", [](const std::string&) { return Status::Ok(); }));
  auto used = env.kv->UsedMemory();
  if (!used.ok()) return used.status();
  return env.kv->FlushDb();
}

struct Measure {
  int64_t used = 0;
  int64_t memory_usage = 0;
  int64_t keys = 0;
  int64_t keys_with_ttl = 0;
};

Result<Measure> MeasureNow(Env& env, bool with_keys) {
  Measure m;
  if (env.real_redis) {
    if (with_keys) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    AsRedisBackend(env.kv.get())->CloseIdleConnections();
  }
  auto used = env.kv->UsedMemory();
  if (!used.ok()) return used.status().WithContext("INFO memory");
  m.used = *used;
  if (!with_keys) return m;
  KvBackend& kv = *env.kv;
  Status st = kv.ScanAll("*", [&](const std::string& key) {
    auto usage = kv.MemoryUsage(key);
    if (!usage.ok()) return usage.status().WithContext("MEMORY USAGE");
    if (!usage->has_value()) return Status::Ok();
    m.memory_usage += **usage;
    ++m.keys;
    auto pttl = kv.Pttl(key);
    if (!pttl.ok()) return pttl.status().WithContext("PTTL");
    if (*pttl >= 0) ++m.keys_with_ttl;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return m;
}

// One case: `write(kv, clock)` writes `entities` entities with `calls` service calls.
struct Case {
  std::string backend;
  // What bench_report classifies the case by (its label): "case=storm layout=compact
  // resources=15 backend=redis"; empty for cases the report reads by name.
  std::string label;
  int64_t entities = 0;
  int64_t calls = 0;
  std::function<Status(Env&)> warm;
  std::function<Status(Env&)> write;
};

void RunCase(benchmark::State& state, const Case& c) {
  if (!c.label.empty()) state.SetLabel(c.label);
  for (auto _ : state) {
    state.PauseTiming();
    auto env = MakeEnv(c.backend);
    if (!env.ok()) {
      state.SkipWithError(env.status().ToString().c_str());
      break;
    }
    Status st = WarmUp(*env, [&](KvBackend&) { return c.warm(*env); });
    if (!st.ok()) {
      state.SkipWithError(("warm-up: " + st.ToString()).c_str());
      break;
    }
    auto before = MeasureNow(*env, false);
    if (!before.ok()) {
      state.SkipWithError(before.status().ToString().c_str());
      break;
    }
    state.ResumeTiming();
    st = c.write(*env);
    state.PauseTiming();
    if (!st.ok()) {
      state.SkipWithError(("write: " + st.ToString()).c_str());
      break;
    }
    auto after = MeasureNow(*env, true);
    if (!after.ok()) {
      state.SkipWithError(after.status().ToString().c_str());
      break;
    }
    auto dbsize = env->kv->DbSize();
    if (!dbsize.ok()) {
      state.SkipWithError(dbsize.status().ToString().c_str());
      break;
    }
    const double n = static_cast<double>(c.entities);
    state.counters["entities"] = n;
    state.counters["bytes_per_entity"] = static_cast<double>(after->used - before->used) / n;
    state.counters["memory_usage_per_entity"] = static_cast<double>(after->memory_usage) / n;
    state.counters["keys_per_entity"] = static_cast<double>(*dbsize) / n;
    state.counters["ttl_keys_per_entity"] = static_cast<double>(after->keys_with_ttl) / n;
    st = env->kv->FlushDb();
    if (!st.ok()) {
      state.SkipWithError(("FLUSHDB: " + st.ToString()).c_str());
      break;
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * c.calls);
}

KeySchema BenchSchema() { return KeySchema(KeySchemaOptions{"stormkv:", 256}); }

Case FingerprintCase(const std::string& backend) {
  Case c;
  c.backend = backend;
  c.entities = kFingerprints;
  c.calls = kFingerprints;
  auto record = [](Env& env, int64_t from, int64_t n) -> Status {
    Deduplicator dedup(*env.kv, env.clock, BenchSchema());
    for (int64_t i = from; i < from + n; ++i) {
      // As the Pipeline stores it: written unfinished, then marked done.
      StormAlert a = MakeAlert(i, 0);
      auto r = dedup.Begin(a.fingerprint, "rr-" + a.fingerprint.substr(0, 16), "0123456789abcdef");
      if (!r.ok()) return r.status();
      if (r->is_duplicate) return Status::Internal("fingerprint " + a.fingerprint + " was new");
      auto done = dedup.Finish(a.fingerprint, "0123456789abcdef", DedupFinish::kDone);
      if (!done.ok()) return done.status();
    }
    return Status::Ok();
  };
  c.warm = [record](Env& env) { return record(env, -1, 1); };
  c.write = [record](Env& env) { return record(env, 0, kFingerprints); };
  return c;
}

Case StormCase(Layout layout, int64_t resources, const std::string& backend) {
  Case c;
  c.backend = backend;
  c.label = "case=storm layout=" + std::string(LayoutName(layout)) +
            " resources=" + std::to_string(resources) + " backend=" + backend;
  c.entities = StormsFor(resources);
  c.calls = c.entities * resources;
  auto add = [layout, resources](Env& env, int64_t from, int64_t storms) -> Status {
    AggregationOptions options;
    options.layout = layout;
    StormAggregator agg(*env.kv, env.clock, BenchSchema(), options);
    for (int64_t s = from; s < from + storms; ++s) {
      for (int64_t r = 0; r < resources; ++r) {
        StormAlert alert = MakeAlert(s, r);
        // As the Pipeline adds it: with the alert's request id (the storm keeps the last one).
        alert.request_id = alert.fingerprint.substr(0, 16) + ":" + std::to_string(env.clock->NowMs());
        auto result = agg.Add(alert);
        if (!result.ok()) return result.status();
        if (result->resource_count != r + 1) {
          return Status::Internal("storm " + std::to_string(s) + " lists " +
                                  std::to_string(result->resource_count) + " resources, want " +
                                  std::to_string(r + 1));
        }
      }
      env.clock->Advance(std::chrono::milliseconds(1));
    }
    return Status::Ok();
  };
  c.warm = [add](Env& env) { return add(env, -1, 1); };
  c.write = [add, n = c.entities](Env& env) { return add(env, 0, n); };
  return c;
}

// Bucket options chosen so that one spent unit keeps the key for 36 s (a rate of 100 per hour):
// long enough to outlive the measurement on a real server, where expiry follows real time.
Case RateBucketCase(const std::string& backend) {
  Case c;
  c.backend = backend;
  c.entities = kRateBuckets;
  c.calls = kRateBuckets;
  auto allow = [](Env& env, int64_t from, int64_t n) -> Status {
    RateLimitOptions options;
    options.burst = 100;
    options.rate = 100;
    options.period = std::chrono::hours(1);
    RateLimiter limiter(*env.kv, env.clock, BenchSchema(), options);
    for (int64_t i = from; i < from + n; ++i) {
      auto d = limiter.Allow("alertmanager-" + std::to_string(100000 + i));
      if (!d.ok()) return d.status();
      if (!d->allowed) return Status::Internal("first request of a client was denied");
    }
    return Status::Ok();
  };
  c.warm = [allow](Env& env) { return allow(env, -1, 1); };
  c.write = [allow](Env& env) { return allow(env, 0, kRateBuckets); };
  return c;
}

void Register(const std::string& name, Case c) {
  benchmark::RegisterBenchmark(name.c_str(),
                               [c = std::move(c)](benchmark::State& s) { RunCase(s, c); })
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

void RegisterAll() {
  for (const std::string backend : {"memory", "redis"}) {
    Register("fingerprint/" + backend, FingerprintCase(backend));
    for (Layout layout : kAllLayouts) {
      for (int64_t resources : {15, 100}) {
        Register("storm/" + std::string(LayoutName(layout)) + "/" + std::to_string(resources) +
                     "/" + backend,
                 StormCase(layout, resources, backend));
      }
    }
    Register("rate_bucket/" + backend, RateBucketCase(backend));
  }
}

}  // namespace
}  // namespace stormkv

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  stormkv::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
