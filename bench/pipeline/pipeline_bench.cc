// pipeline_bench — the gateway pipeline end to end: alerts per second from Alertmanager webhook
// bytes to decisions and RemediationRequests, per backend and webhook size.
//
//   build/bin/pipeline_bench                                          # memory and shm
//   STORMKV_REDIS_URL=redis://127.0.0.1:6390/0 build/bin/pipeline_bench   # and real Redis
//   (STORMKV_REDIS_URL=redis-cluster://host:port,... runs the redis cases on a Redis Cluster)
//
// The Redis server named by STORMKV_REDIS_URL must be disposable: every case starts with FLUSHDB.
//
//  * BM_Ingest/<backend>/<alerts>: Pipeline::Ingest of version-4 webhooks holding <alerts> alerts
//    each (1, 100, 1000), plus Pipeline::CloseDueStorms every 10 webhooks, on a virtual clock
//    that moves 100 ms per webhook. A webhook is one Alertmanager group (one alertname in one
//    namespace, one pod per alert, kube-state-metrics-sized labels and annotations) and every
//    webhook is delivered twice, as Alertmanager re-sends a firing group: half the alerts are new
//    (for 100 and 1,000 alerts: storms), half duplicates. items_per_second = alerts/s end to end,
//    payload parsing included; us_per_alert the same as time per alert. Any failed, rejected or
//    rate-limited decision ends the case with an error: the bench measures only real work.
//    Redis cases use wall-clock time (the server is another process).
//    Pipeline::Ingest runs batched (pipeline.h "Batching": a few pipelined round trips per
//    webhook); BM_IngestSequential/<redis>/<alerts> runs the same alert by alert (batch =
//    false, label backend=redis-sequential), so one run shows what batching buys on Redis.
//  * BM_Parse/<alerts>: ParseAlertmanagerWebhook alone on the same webhooks.
// Labels: backend=<memory|shm|redis|redis-sequential> alerts=<n> (bench_report reads them).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "stormkv/clock.h"
#include "stormkv/gateway/alertmanager.h"
#include "stormkv/gateway/json_out.h"
#include "stormkv/gateway/pipeline.h"
#include "stormkv/memory_backend.h"
#include "stormkv/redis_backend.h"
#include "stormkv/redis_cluster_backend.h"
#include "stormkv/shm_backend.h"

namespace stormkv {
namespace {

enum BackendArg { kMemory = 0, kShm = 1, kRedis = 2 };
const char* BackendName(int64_t b) { return b == kMemory ? "memory" : b == kShm ? "shm" : "redis"; }

std::string RedisUrl() {
  const char* url = std::getenv("STORMKV_REDIS_URL");
  return url ? url : "";
}

constexpr const char* kAlertnames[] = {"KubePodCrashLooping", "KubePodNotReady",
                                       "KubeContainerWaiting", "KubeDeploymentReplicasMismatch",
                                       "CPUThrottlingHigh", "KubeJobFailed",
                                       "TargetDown", "NodeFilesystemSpaceFillingUp"};

void Str(std::string* o, std::string_view s) { jsonout::AppendString(o, s, jsonout::Dialect::kNlohmann); }

// Group `g` of the run as Alertmanager POSTs it: `n` alerts of one alertname in one namespace.
std::string Webhook(int64_t g, int64_t n) {
  std::string ns = "team-" + std::to_string(g % 50);
  std::string alertname = kAlertnames[(g / 50) % 8];
  std::string o;
  o.reserve(static_cast<size_t>(n) * 900 + 512);
  o += "{\"alerts\":[";
  for (int64_t i = 0; i < n; ++i) {
    std::string pod = "api-" + std::to_string(g) + "-" + std::to_string(i) + "-7c9f8d6b5-x2k4q";
    if (i) o.push_back(',');
    o += "{\"annotations\":{\"description\":";
    Str(&o, "Pod " + ns + "/" + pod + " (container app) is in waiting state (reason: \"CrashLoopBackOff\") "
            "for more than 15 minutes.");
    o += ",\"runbook_url\":\"https://runbooks.prometheus-operator.dev/runbooks/kubernetes/"
         "kubepodcrashlooping\",\"summary\":\"Pod is crash looping.\"},"
         "\"endsAt\":\"0001-01-01T00:00:00Z\",\"fingerprint\":";
    Str(&o, std::to_string(1000000007ull * static_cast<uint64_t>(g) + static_cast<uint64_t>(i)));
    o += ",\"generatorURL\":\"http://prometheus-k8s-0:9090/graph?g0.expr=max_over_time%28kube_pod_"
         "container_status_waiting_reason%5B5m%5D%29+%3E%3D+1&g0.tab=1\",\"labels\":{\"alertname\":";
    Str(&o, alertname);
    o += ",\"container\":\"app\",\"endpoint\":\"http\",\"instance\":\"10.244.1.17:8080\","
         "\"job\":\"kube-state-metrics\",\"namespace\":";
    Str(&o, ns);
    o += ",\"pod\":";
    Str(&o, pod);
    o += ",\"prometheus\":\"monitoring/k8s\",\"reason\":\"CrashLoopBackOff\","
         "\"service\":\"kube-state-metrics\",\"severity\":\"warning\",\"uid\":";
    Str(&o, "5f0c" + std::to_string(g) + "-" + std::to_string(i));
    o += "},\"startsAt\":\"2024-05-01T12:00:00.000Z\",\"status\":\"firing\"}";
  }
  o += "],\"commonAnnotations\":{},\"commonLabels\":{\"alertname\":";
  Str(&o, alertname);
  o += ",\"namespace\":";
  Str(&o, ns);
  o += "},\"externalURL\":\"http://alertmanager-main-0:9093\",\"groupKey\":";
  Str(&o, "{}:{alertname=\"" + alertname + "\", namespace=\"" + ns + "\"}");
  o += ",\"groupLabels\":{\"alertname\":";
  Str(&o, alertname);
  o += ",\"namespace\":";
  Str(&o, ns);
  o += "},\"receiver\":\"stormkv-gateway\",\"status\":\"firing\",\"truncatedAlerts\":0,\"version\":\"4\"}";
  return o;
}

// About 20,000 alerts of distinct webhooks (each delivered twice), built before timing.
std::vector<std::string> Webhooks(int64_t alerts) {
  int64_t groups = std::max<int64_t>(4, 20000 / alerts);
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(groups) * 2);
  for (int64_t g = 0; g < groups; ++g) {
    std::string w = Webhook(g, alerts);
    out.push_back(w);
    out.push_back(std::move(w));
  }
  return out;
}

// A backend and the virtual clock its pipeline runs on (the shm segment has its own).
struct Backend {
  std::unique_ptr<KvBackend> kv;
  std::shared_ptr<const Clock> clock;
  std::function<void(std::chrono::microseconds)> advance;
  std::string error;
};

Backend Open(int64_t which) {
  Backend b;
  if (which == kMemory || which == kRedis) {
    auto manual = std::make_shared<ManualClock>();
    b.clock = manual;
    b.advance = [manual](std::chrono::microseconds d) { manual->Advance(d); };
  }
  if (which == kMemory) {
    MemoryBackendOptions o;
    o.clock = b.clock;
    b.kv = NewMemoryBackend(o).value();
  } else if (which == kShm) {
    ShmBackendOptions o;
    o.name = "stormkv-plbench-" + std::to_string(::getpid());
    o.open = ShmBackendOptions::OpenMode::kCreate;
    o.size = int64_t{512} << 20;
    o.remove_on_close = true;
    auto kv = NewShmBackend(o);
    if (!kv.ok()) {
      b.error = kv.status().ToString();
      return b;
    }
    std::shared_ptr<ShmClock> shm_clock = (*kv)->clock();
    b.clock = shm_clock;
    b.advance = [shm_clock](std::chrono::microseconds d) { shm_clock->Advance(d); };
    b.kv = std::move(kv).value();
  } else {
    if (RedisUrl().empty()) {
      b.error = "STORMKV_REDIS_URL is not set";
      return b;
    }
    RedisOptions o;
    o.url = RedisUrl();
    auto kv = NewRedisBackendFromUrl(o.url, o);
    if (!kv.ok()) {
      b.error = kv.status().ToString();
      return b;
    }
    b.kv = std::move(kv).value();
  }
  return b;
}

void Ingest(benchmark::State& state, bool batch) {
  const int64_t which = state.range(0), alerts = state.range(1);
  const std::vector<std::string> webhooks = Webhooks(alerts);
  Backend b = Open(which);
  if (!b.kv) {
    state.SkipWithError(b.error.c_str());
    return;
  }
  auto reset = [&]() -> bool {
    Status st = b.kv->FlushDb();
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    return st.ok();
  };
  if (!reset()) return;
  PipelineOptions po;
  po.batch = batch;
  auto pipeline = std::make_unique<Pipeline>(*b.kv, b.clock, po);
  size_t next = 0;
  int64_t processed = 0;
  for (auto _ : state) {
    if (next == webhooks.size()) {  // a fresh store for the next lap of the same webhooks
      state.PauseTiming();
      next = 0;
      bool ok = reset();
      pipeline = std::make_unique<Pipeline>(*b.kv, b.clock, po);
      state.ResumeTiming();
      if (!ok) return;
    }
    IngestResult r = pipeline->Ingest(webhooks[next], SignalSource::kAlertmanager, "am-0");
    if (!r.status.ok() || r.Count(Outcome::kFailed) || r.Count(Outcome::kRejected) ||
        r.Count(Outcome::kRateLimited)) {
      state.SkipWithError(("ingest: " + r.status.ToString()).c_str());
      return;
    }
    benchmark::DoNotOptimize(r.requests.data());
    processed += static_cast<int64_t>(r.decisions.size());
    b.advance(std::chrono::milliseconds(100));
    if (++next % 10 == 0) {
      StormCloseResult c = pipeline->CloseDueStorms();
      if (!c.status.ok()) {
        state.SkipWithError(("close: " + c.status.ToString()).c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(processed);
  state.counters["us_per_alert"] = benchmark::Counter(
      static_cast<double>(processed) * 1e-6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(std::string("backend=") + BackendName(which) + (batch ? "" : "-sequential") +
                 " alerts=" + std::to_string(alerts));
  // The state the case left (a Redis under test is disposable, not left full).
  if (Status st = b.kv->FlushDb(); !st.ok()) state.SkipWithError(st.ToString().c_str());
}

void BM_Ingest(benchmark::State& state) { Ingest(state, /*batch=*/true); }
// The same alert by alert (PipelineOptions::batch = false: 4-5 round trips per new alert), as
// the gateway ran before per-payload batching.
void BM_IngestSequential(benchmark::State& state) { Ingest(state, /*batch=*/false); }

void BM_Parse(benchmark::State& state) {
  const int64_t alerts = state.range(0);
  const std::string webhook = Webhook(7, alerts);
  int64_t parsed = 0;
  for (auto _ : state) {
    auto r = ParseAlertmanagerWebhook(webhook, ManualClock::kDefaultStartMs);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    parsed += static_cast<int64_t>(r->size());
    benchmark::DoNotOptimize(r->data());
  }
  state.SetItemsProcessed(parsed);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(webhook.size()));
  state.counters["us_per_alert"] = benchmark::Counter(
      static_cast<double>(parsed) * 1e-6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel("backend=none alerts=" + std::to_string(alerts) + " op=parse");
}

void IngestArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"backend", "alerts"});
  for (int64_t be : {kMemory, kShm}) {
    for (int64_t n : {1, 100, 1000}) b->Args({be, n});
  }
}
void RedisArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"backend", "alerts"});
  for (int64_t n : {1, 100, 1000}) b->Args({kRedis, n});
}

BENCHMARK(BM_Ingest)->Apply(IngestArgs)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Ingest)->Name("BM_Ingest")->Apply(RedisArgs)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IngestSequential)->Apply(RedisArgs)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Parse)->ArgName("alerts")->Arg(1)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace stormkv

BENCHMARK_MAIN();
