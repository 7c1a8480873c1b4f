// scripts_bench — the gateway's atomic scripts: cost per call, storm-size scaling, bytes per storm.
//
//   build/bin/scripts_bench                                   # memory backend only
//   STORMKV_REDIS_URL=redis://127.0.0.1:6390/0 build/bin/scripts_bench   # and real Redis
//
// The Redis server named by STORMKV_REDIS_URL must be disposable: every case starts with
// FLUSHDB. A bad Status ends the case with SkipWithError.
//
//  * BM_Script/<backend>/<script>: one Eval of a gateway script with prepared arguments (the
//    aggregation scripts add alerts of a 15-resource storm); BM_Ping is the Eval floor. Backend
//    memory-lua: the memory backend running each script's Lua text on its embedded engine
//    (ScriptMode::kLua) instead of the native twin.
//  * BM_Service/<backend>/<service>: the same through the service (key building, argument
//    formatting, reply decoding; full-crd also builds its document template per alert).
//  * BM_StormScaling/<backend>/<layout>/<resources>: one alert into a storm that already lists
//    `resources` resources (prefilled directly).
// Redis cases use wall-clock time and add server_us: the server's own µs per EVALSHA (INFO
// commandstats), which neither the network nor the client machine's load inflates.
//  * BM_StormBytes/<backend>/<layout>: 200 storms of 15 resources each; counters bytes_memusage
//    (MEMORY USAGE of one storm key) and bytes_used_delta (used_memory delta per storm).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "stormkv/gateway/dedup.h"
#include "stormkv/gateway/rate_limiter.h"
#include "stormkv/gateway/scripts.h"
#include "stormkv/gateway/storm_aggregator.h"
#include "stormkv/gateway/storm_detector.h"
#include "stormkv/lua_sources.h"
#include "stormkv/memory_backend.h"
#include "stormkv/redis_backend.h"

namespace stormkv {
namespace {

enum BackendArg { kMemory = 0, kRedis = 1, kMemoryLua = 2 };

std::string RedisUrl() {
  const char* url = std::getenv("STORMKV_REDIS_URL");
  return url ? url : "";
}

struct BenchBackend {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<KvBackend> kv;
};

// A fresh, empty backend, or nullopt after SkipWithError.
std::optional<BenchBackend> Open(benchmark::State& state, int64_t which) {
  BenchBackend b;
  if (which == kMemory || which == kMemoryLua) {
    MemoryBackendOptions o;
    o.clock = b.clock;
    if (which == kMemoryLua) o.script_mode = ScriptMode::kLua;
    b.kv = NewMemoryBackend(o).value();
    return b;
  }
  RedisOptions o;
  o.url = RedisUrl();
  auto kv = NewRedisBackend(o);
  if (!kv.ok()) {
    state.SkipWithError(kv.status().ToString().c_str());
    return std::nullopt;
  }
  b.kv = std::move(kv).value();
  Status st = b.kv->FlushDb();
  if (!st.ok()) {
    state.SkipWithError(st.ToString().c_str());
    return std::nullopt;
  }
  return b;
}

// Redis only: resets INFO commandstats, so ServerUsPerEval() covers what follows.
void ResetServerStats(KvBackend& kv, int64_t backend) {
  if (backend == kRedis) (void)kv.Run({"CONFIG", "RESETSTAT"});
}

// Redis only: the server's own time per EVALSHA since ResetServerStats (usec_per_call of INFO
// commandstats), independent of the network and of the client's load; 0 elsewhere.
double ServerUsPerEval(KvBackend& kv, int64_t backend) {
  if (backend != kRedis) return 0;
  auto info = kv.Info("commandstats");
  if (!info.ok()) return 0;
  auto it = info->find("cmdstat_evalsha");
  if (it == info->end()) return 0;
  auto pos = it->second.find("usec_per_call=");
  if (pos == std::string::npos) return 0;
  return std::atof(it->second.c_str() + pos + 14);
}

bool Check(benchmark::State& state, const Status& st) {
  if (st.ok()) return true;
  state.SkipWithError(st.ToString().c_str());
  return false;
}

const Script& PingScript() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("ping", std::string(LuaSource("ping")),
             [](ScriptContext&, const std::vector<std::string>&,
                const std::vector<std::string>& args) -> Result<Reply> {
               return Reply::Bulk(args.empty() ? "" : args[0]);
             }));
  return s;
}

std::string PodName(int i) { return "Pod/payments-api-7d9c8b" + std::to_string(i) + "-x2x4z"; }

// A realistic kube-prometheus KubePodCrashLooping alert.
StormAlert RealisticAlert(int pod) {
  StormAlert a;
  a.ns = "payments";
  a.alertname = "KubePodCrashLooping";
  a.storm_type = StormType::kPattern;
  a.resource = PodName(pod);
  const std::string name = a.resource.substr(4);
  a.fingerprint = Sha256Hex("KubePodCrashLooping:payments:Pod:" + name);
  a.severity = "warning";
  a.labels = {{"alertname", "KubePodCrashLooping"},
              {"container", "api"},
              {"endpoint", "http"},
              {"instance", "10.42.3.17:8080"},
              {"job", "kube-state-metrics"},
              {"namespace", "payments"},
              {"pod", name},
              {"prometheus", "monitoring/kube-prometheus-stack-prometheus"},
              {"reason", "CrashLoopBackOff"},
              {"service", "kube-prometheus-stack-kube-state-metrics"},
              {"severity", "warning"},
              {"uid", "3f1c9a52-8e1d-4b7a-9c55-" + std::to_string(100000000000 + pod)}};
  a.annotations = {
      {"description", "Pod payments/" + name +
                          " (api) is in waiting state (reason: \"CrashLoopBackOff\")."},
      {"runbook_url",
       "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping"},
      {"summary", "Pod is crash looping."}};
  return a;
}

// ---- per-call cost of each script ----------------------------------------------------------

struct PreparedCall {
  std::vector<std::string> keys, args;
};

// Prepared calls of `id`, cycling over 15 resources / 1024 fingerprints / 100 clients.
std::vector<PreparedCall> Prepare(ScriptId id, int64_t now) {
  std::vector<PreparedCall> calls;
  const std::string n = std::to_string(now);
  KeySchema ks;
  for (int i = 0; i < 1024; ++i) {
    const std::string res = PodName(i % 15);
    switch (id) {
      case ScriptId::kDedup:
        calls.push_back({{ks.Key(family::kDedup, "fp-" + std::to_string(i))},
                         {n, "300000", "rr-" + std::to_string(i)}});
        break;
      case ScriptId::kStormDetect:
        calls.push_back({{ks.Key(family::kStormRate, "payments", {"KubePodCrashLooping"}),
                          ks.Key(family::kStormPattern, "payments", {"KubePodCrashLooping"})},
                         {n, "60000", "120000", res, "1000", "10", "5"}});
        break;
      case ScriptId::kRateLimit:
        calls.push_back({{ks.Key(family::kRateLimit, "client-" + std::to_string(i % 100))},
                         {n, "1", "1000000000", "1"}});
        break;
      case ScriptId::kDedupFinish:
        // Marking done a record that is not (or no longer) unfinished by this attempt: the
        // HGET-only path; the Pipeline's done after a Begin adds one HDEL.
        calls.push_back({{ks.Key(family::kDedup, "fp-" + std::to_string(i))},
                         {"0123456789abcdef", "done"}});
        break;
      case ScriptId::kStormClose:
        // A replica claiming (then renewing its claim on) the close of one of 64 storms: HMGET,
        // HSET, PEXPIRE.
        calls.push_back({{ks.StormKey(family::kStormClose, "payments-" + std::to_string(i % 64),
                                      "KubePodCrashLooping")},
                         {n, "claim", "1714564800000", "360000", "replica-1", "30000"}});
        break;
      default: {
        PreparedCall c{{ks.Key(family::kStormAgg, "payments", {"KubePodCrashLooping"})},
                       {n, "60000", "300000", "1000", res, "pattern"}};
        if (id == ScriptId::kStormAggFullCrd) {
          // The service's template, built once here.
          c.args.push_back(std::string());
        }
        calls.push_back(std::move(c));
        break;
      }
    }
  }
  return calls;
}

std::string BackendName(int64_t backend) {
  return backend == kMemory ? "memory" : backend == kMemoryLua ? "memory-lua" : "redis";
}

// The label bench_report classifies a case by: "case=<kind> backend=<memory|memory-lua|redis> ...".
std::string Label(std::string_view kind, int64_t backend, std::string_view rest = "") {
  std::string label = "case=" + std::string(kind) + " backend=" + BackendName(backend);
  if (!rest.empty()) label += " " + std::string(rest);
  return label;
}

void BM_Script(benchmark::State& state, int64_t backend, ScriptId id) {
  state.SetLabel(Label("script", backend, "script=" + std::string(ScriptName(id))));
  auto b = Open(state, backend);
  if (!b) return;
  std::vector<PreparedCall> calls = Prepare(id, b->clock->NowMs());
  if (id == ScriptId::kStormAggFullCrd) {
    // Take the template from a real document: open the storm through the service, read it back.
    AggregationOptions o;
    o.layout = Layout::kFullCrd;
    StormAggregator agg(*b->kv, b->clock, KeySchema(), o);
    auto r = agg.Add(RealisticAlert(0));
    if (!Check(state, r.status())) return;
    auto doc = agg.Get("payments", "KubePodCrashLooping");
    if (!Check(state, doc.status())) return;
    for (auto& c : calls) c.args.back() = (*doc)->document;
    if (!Check(state, b->kv->FlushDb())) return;
  }
  const Script& script = GatewayScript(id);
  ResetServerStats(*b->kv, backend);
  std::size_t i = 0;
  for (auto _ : state) {
    const PreparedCall& c = calls[i++ & 1023];
    auto r = b->kv->Eval(script, c.keys, c.args);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  if (backend == kRedis) state.counters["server_us"] = ServerUsPerEval(*b->kv, backend);
}

void BM_Ping(benchmark::State& state, int64_t backend) {
  state.SetLabel(Label("script", backend, "script=ping"));
  auto b = Open(state, backend);
  if (!b) return;
  const Script& ping = PingScript();
  const std::vector<std::string> keys, args = {"x"};
  for (auto _ : state) {
    auto r = b->kv->Eval(ping, keys, args);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- the same through the services ---------------------------------------------------------

enum ServiceArg { kDedupSvc, kDetectSvc, kAggFullCrd, kAggJsonMeta, kAggCompact, kLimitSvc };

void BM_Service(benchmark::State& state, int64_t backend, ServiceArg which) {
  auto b = Open(state, backend);
  if (!b) return;
  KvBackend& kv = *b->kv;
  Deduplicator dedup(kv, b->clock, KeySchema());
  StormDetector detector(kv, b->clock, KeySchema());
  RateLimitOptions lo;
  lo.burst = 1000000000;
  lo.rate = 1000000000;
  RateLimiter limiter(kv, b->clock, KeySchema(), lo);
  AggregationOptions ao;
  ao.layout = which == kAggFullCrd   ? Layout::kFullCrd
              : which == kAggJsonMeta ? Layout::kJsonMeta
                                      : Layout::kCompact;
  StormAggregator agg(kv, b->clock, KeySchema(), ao);
  std::vector<StormAlert> alerts;
  std::vector<std::string> fps;
  for (int i = 0; i < 15; ++i) alerts.push_back(RealisticAlert(i));
  for (int i = 0; i < 1024; ++i) fps.push_back(Sha256Hex("fp" + std::to_string(i)));
  std::size_t i = 0;
  for (auto _ : state) {
    Status st;
    switch (which) {
      case kDedupSvc:
        st = dedup.Record(fps[i & 1023], "rr-0123456789abcdef").status();
        break;
      case kDetectSvc:
        st = detector.Observe("payments", "KubePodCrashLooping", alerts[i % 15].resource).status();
        break;
      case kLimitSvc:
        st = limiter.Allow("client-" + std::to_string(i % 100)).status();
        break;
      default:
        st = agg.Add(alerts[i % 15]).status();
        break;
    }
    ++i;
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- storm-size scaling --------------------------------------------------------------------

// Writes a storm listing `n` resources directly in `layout`'s format (as n alerts would have).
Status Prefill(KvBackend& kv, const std::shared_ptr<ManualClock>& clock, Layout layout, int n,
               const std::string& key) {
  const std::string now = std::to_string(clock->NowMs());
  if (layout == Layout::kCompact) {
    std::vector<Command> batch;
    batch.push_back({"HSET", key, "#n", std::to_string(n), "#f", now, "#l", now, "#p", "pattern",
                     "#o", "0"});
    Command cmd = {"HSET", key};
    for (int i = 0; i < n; ++i) {
      cmd.push_back(PodName(i));
      cmd.push_back("1");
      if (cmd.size() >= 2 + 2 * 1000 || i == n - 1) {
        batch.push_back(cmd);
        cmd = {"HSET", key};
      }
    }
    batch.push_back({"PEXPIRE", key, "60000"});
    for (auto& r : kv.RunBatch(batch)) STORMKV_RETURN_IF_ERROR(r.status());
    return Status::Ok();
  }
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < n; ++i) list.push_back(PodName(i));
  nlohmann::json doc;
  if (layout == Layout::kJsonMeta) {
    doc = {{"alert_count", n},        {"first_seen", clock->NowMs()},
           {"last_seen", clock->NowMs()}, {"overflow", 0},
           {"pattern", "pattern"},   {"resources", list}};
  } else {
    AggregationOptions o;
    o.layout = layout;
    StormAggregator agg(kv, clock, KeySchema(), o);
    STORMKV_RETURN_IF_ERROR(agg.Add(RealisticAlert(0)).status());
    auto rec = agg.Get("payments", "KubePodCrashLooping");
    STORMKV_RETURN_IF_ERROR(rec.status());
    doc = nlohmann::json::parse((*rec)->document);
    doc["spec"]["affectedResources"] = list;
    doc["spec"]["stormAlertCount"] = n;
    doc["spec"]["deduplication"]["occurrenceCount"] = n;
  }
  auto text = CanonicalJson(doc.dump());
  STORMKV_RETURN_IF_ERROR(text.status());
  SetOptions so;
  so.ttl = std::chrono::milliseconds(60000);
  auto set = kv.Set(key, *text, so);
  return set.status();
}

void BM_StormScaling(benchmark::State& state, int64_t backend, Layout layout, int n) {
  state.SetLabel(Label("scaling", backend, "layout=" + std::string(LayoutName(layout))));
  auto b = Open(state, backend);
  if (!b) return;
  AggregationOptions o;
  o.layout = layout;
  o.max_resources = 20000;
  StormAggregator agg(*b->kv, b->clock, KeySchema(), o);
  if (!Check(state, Prefill(*b->kv, b->clock, layout, n, agg.KeyFor("payments",
                                                                    "KubePodCrashLooping")))) {
    return;
  }
  std::vector<PreparedCall> calls;
  const Script& script = GatewayScript(AggregationScript(layout));
  std::string tmpl;
  if (layout == Layout::kFullCrd) {
    // The template argument, as the service would send it.
    auto rec = agg.Get("payments", "KubePodCrashLooping");
    if (!Check(state, rec.status())) return;
    nlohmann::json doc = nlohmann::json::parse((*rec)->document);
    doc["spec"]["affectedResources"] = nlohmann::json::array();
    tmpl = doc.dump();
  }
  for (int i = 0; i < 1024; ++i) {
    PreparedCall c{{agg.KeyFor("payments", "KubePodCrashLooping")},
                   {std::to_string(b->clock->NowMs()), "60000", "300000", "20000",
                    PodName((i * 7919) % n), "pattern"}};
    if (layout == Layout::kFullCrd) c.args.push_back(tmpl);
    calls.push_back(std::move(c));
  }
  ResetServerStats(*b->kv, backend);
  std::size_t i = 0;
  for (auto _ : state) {
    const PreparedCall& c = calls[i++ & 1023];
    auto r = b->kv->Eval(script, c.keys, c.args);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    if (r->elements().size() != 6 || r->elements()[2].integer() != n) {
      state.SkipWithError(("storm lost its resources: " + r->ToString()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["resources"] = n;
  if (backend == kRedis) state.counters["server_us"] = ServerUsPerEval(*b->kv, backend);
}

// ---- bytes per 15-resource storm -----------------------------------------------------------

// Before reading used_memory on Redis (as memory_entities_bench does): after writes, give
// serverCron time to finish rehashing the dicts; and read on a fresh connection, because a
// long-lived one holds a query buffer (up to 16 KB) that the server frees whenever it likes —
// without this, 200 storms showed 728 B each instead of the 804 B Redis really holds.
void SettleForMeasuring(KvBackend& kv, int64_t backend, bool after_writes) {
  if (backend != kRedis) return;
  if (after_writes) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  if (RedisBackend* r = AsRedisBackend(&kv)) r->CloseIdleConnections();
}

void BM_StormBytes(benchmark::State& state, int64_t backend, Layout layout) {
  state.SetLabel(Label("storm-bytes", backend, "layout=" + std::string(LayoutName(layout))));
  auto b = Open(state, backend);
  if (!b) return;
  constexpr int kStorms = 200;
  AggregationOptions o;
  o.layout = layout;
  StormAggregator agg(*b->kv, b->clock, KeySchema(), o);
  std::vector<StormAlert> alerts;
  for (int i = 0; i < 15; ++i) alerts.push_back(RealisticAlert(i));
  double memusage = 0, delta = 0, value_bytes = 0;
  // Load the script (and fill the connection pool) before measuring.
  if (!Check(state, agg.Add(alerts[0]).status())) return;
  for (auto _ : state) {
    state.PauseTiming();
    if (!Check(state, b->kv->FlushDb())) break;
    SettleForMeasuring(*b->kv, backend, false);
    auto before = b->kv->UsedMemory();
    if (!Check(state, before.status())) break;
    state.ResumeTiming();
    for (int s = 0; s < kStorms; ++s) {
      for (StormAlert a : alerts) {
        a.ns = "payments-" + std::to_string(s);
        auto r = agg.Add(a);
        if (!Check(state, r.status())) return;
      }
    }
    state.PauseTiming();
    SettleForMeasuring(*b->kv, backend, true);
    auto after = b->kv->UsedMemory();
    if (!Check(state, after.status())) break;
    const std::string key = agg.KeyFor("payments-7", "KubePodCrashLooping");
    auto mu = b->kv->MemoryUsage(key);
    if (!Check(state, mu.status())) break;
    if (layout != Layout::kCompact) {
      auto v = b->kv->Get(key);
      if (!Check(state, v.status())) break;
      value_bytes = static_cast<double>(v->value_or("").size());
    }
    memusage = static_cast<double>(mu->value_or(0));
    delta = static_cast<double>(*after - *before) / kStorms;
    state.ResumeTiming();
  }
  state.counters["bytes_memusage"] = memusage;
  state.counters["bytes_used_delta"] = delta;
  state.counters["json_bytes"] = value_bytes;
}

void Register(bool redis) {
  std::vector<int64_t> backends = {kMemory};
  if (redis) backends.push_back(kRedis);
  for (int64_t be : backends) {
    const std::string bn = be == kMemory ? "memory" : "redis";
    // Redis: the client waits on the network, so rates are per wall-clock second.
    const bool real_time = be == kRedis;
    auto timing = [real_time](benchmark::internal::Benchmark* bm) {
      if (real_time) bm->UseRealTime();
      return bm;
    };
    timing(benchmark::RegisterBenchmark(("BM_Ping/" + bn).c_str(), BM_Ping, be));
    for (ScriptId id : kAllScriptIds) {
      timing(benchmark::RegisterBenchmark(
          ("BM_Script/" + bn + "/" + std::string(ScriptName(id))).c_str(), BM_Script, be, id));
    }
    const char* services[] = {"dedup",         "storm_detect", "agg_full-crd",
                              "agg_json-meta", "agg_compact",  "rate_limit"};
    for (int s = 0; s < 6; ++s) {
      timing(benchmark::RegisterBenchmark(("BM_Service/" + bn + "/" + services[s]).c_str(),
                                          BM_Service, be, static_cast<ServiceArg>(s)));
    }
    for (Layout layout : kAllLayouts) {
      const std::string ln(LayoutName(layout));
      for (int n : {10, 100, 1000, 10000}) {
        timing(benchmark::RegisterBenchmark(
            ("BM_StormScaling/" + bn + "/" + ln + "/" + std::to_string(n)).c_str(),
            BM_StormScaling, be, layout, n));
      }
      benchmark::RegisterBenchmark(("BM_StormBytes/" + bn + "/" + ln).c_str(), BM_StormBytes, be,
                                   layout)
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    }
  }
  // The scripts as Lua on the embedded engine, beside their twins (the memory cases above).
  benchmark::RegisterBenchmark("BM_Ping/memory-lua", BM_Ping, int64_t{kMemoryLua});
  for (ScriptId id : kAllScriptIds) {
    benchmark::RegisterBenchmark(("BM_Script/memory-lua/" + std::string(ScriptName(id))).c_str(),
                                 BM_Script, int64_t{kMemoryLua}, id);
  }
}

}  // namespace
}  // namespace stormkv

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  stormkv::Register(!stormkv::RedisUrl().empty());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
