// Memory: a production-scale workload stays under the 256 MB budget on every backend, with its
// figures printed; every gateway key carries a TTL; the budget fixture catches drift.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "integration/fixture.h"
#include "stormkv/redis_backend.h"

namespace stormkv::integration {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::TestAlert;
using testing::Webhook;

NormalizedSignal MakeSignal(std::string name, std::string ns, std::string pod, int64_t now_ms) {
  NormalizedSignal s;
  s.labels = {{"alertname", name}, {"namespace", ns}, {"pod", pod}, {"severity", "critical"}};
  s.name = std::move(name);
  s.namespace_name = std::move(ns);
  s.resource = {"Pod", std::move(pod)};
  s.severity = "critical";
  s.starts_at_ms = s.received_at_ms = now_ms;
  return s;
}

class MemoryIT : public GatewayIT {
 protected:
  NormalizedSignal Signal(std::string name, std::string ns, std::string pod) {
    return MakeSignal(std::move(name), std::move(ns), std::move(pod), NowMs());
  }
};

TEST_P(MemoryIT, ProductionScaleStaysUnderBudget) {
  constexpr int kGroups = 20000;       // (namespace, alert name) pairs below every threshold
  constexpr int kPodsPerGroup = 5;     // 20,000 x 5 = 100,000 fingerprints
  constexpr int kStorms = 1000;        // storms ...
  constexpr int kStormResources = 50;  // ... of 50 aggregated resources (after the 5 before them)
  ASSERT_OK_AND_ASSIGN(int64_t used_before, InfoMemoryField(kv(), "used_memory"));
  const auto t0 = std::chrono::steady_clock::now();
  // Signals go in already adapted (IngestSignals): the adapters have their own tests; this
  // scenario is about the state the gateway keeps. Four replicas (threads) share the work; each
  // group and each storm belongs to one replica, so its alerts arrive in order.
  constexpr int kReplicas = 4;
  pipeline();
  std::mutex mu;
  std::map<Outcome, int64_t> plain, storms;
  auto replica = [&](int r) {
    std::vector<NormalizedSignal> batch;
    auto flush = [&](std::map<Outcome, int64_t>* counts) {
      IngestResult res = pipeline().IngestSignals(std::move(batch));
      batch.clear();
      EXPECT_OK(res.status);
      std::lock_guard<std::mutex> lock(mu);
      for (const AlertDecision& d : res.decisions) (*counts)[d.outcome] += 1;
    };
    for (int g = r; g < kGroups; g += kReplicas) {
      for (int p = 0; p < kPodsPerGroup; ++p) {
        batch.push_back(Signal("Alert" + std::to_string(g / 100),
                               "ns-" + std::to_string(g % 100) + "-" + std::to_string(g / 10000),
                               "app-" + std::to_string(g) + "-" + std::to_string(p)));
      }
      if (batch.size() >= 500) flush(&plain);
    }
    if (!batch.empty()) flush(&plain);
    for (int s = r; s < kStorms; s += kReplicas) {
      for (int p = 0; p < 5 + kStormResources; ++p) {
        batch.push_back(Signal("StormAlert" + std::to_string(s % 10),
                               "storm-ns-" + std::to_string(s / 10), "web-" + std::to_string(p)));
      }
      if (batch.size() >= 500) flush(&storms);
    }
    if (!batch.empty()) flush(&storms);
  };
  std::vector<std::thread> threads;
  for (int r = 0; r < kReplicas; ++r) threads.emplace_back(replica, r);
  for (std::thread& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  EXPECT_EQ(plain[Outcome::kCreated], kGroups * kPodsPerGroup);
  EXPECT_EQ(storms[Outcome::kCreated], kStorms * 5);
  EXPECT_EQ(storms[Outcome::kStormAggregated], kStorms * kStormResources);
  ASSERT_OK_AND_ASSIGN(int64_t used, InfoMemoryField(kv(), "used_memory"));
  ASSERT_OK_AND_ASSIGN(int64_t peak, InfoMemoryField(kv(), "used_memory_peak"));
  std::map<std::string, FamilyUsage> families = FamiliesAtEnd();
  EXPECT_EQ(families["dedup"].keys, kGroups * kPodsPerGroup + kStorms * (5 + kStormResources));
  EXPECT_EQ(families["storm-agg"].keys, kStorms);
  EXPECT_LT(peak, kBudgetBytes);
  BudgetLedger::Get().AddScenario("production-scale used_memory growth", backend_name(),
                                  used - used_before);
  std::ostringstream os;
  os << "[ figures  ] " << backend_name() << ": production scale: " << kGroups * kPodsPerGroup
     << " fingerprints + " << kStorms << " storms x " << kStormResources << " resources ("
     << kGroups * kPodsPerGroup + kStorms * 55 << " alerts, " << secs << " s)\n"
     << "             used_memory " << used << " (+" << used - used_before << "), peak " << peak
     << " = " << (100.0 * static_cast<double>(peak) / kBudgetBytes) << "% of the " << kBudgetBytes
     << "-byte budget\n";
  PrintFamilyReport("             memory by key family (MEMORY USAGE):", families, os);
  std::cout << os.str() << std::flush;
}

TEST_P(MemoryIT, ReferenceTriageStormSizes) {
  // The triage claimed 10-50 KB per storm CRD; DESIGN.md measured ~2-4 KB (full) vs ~340 B.
  std::map<Layout, int64_t> bytes;
  for (Layout layout : kAllLayouts) {
    PipelineOptions o = DefaultOptions();
    o.aggregation.layout = layout;
    Reconfigure(o);
    const std::string ns = "layout-" + std::string(LayoutName(layout));
    ASSERT_OK(Ingest(Webhook(PodAlerts("PodCrash", ns, 0, 20))).status);  // 15 in the storm
    ASSERT_OK_AND_ASSIGN(auto usage,
                         kv().MemoryUsage(pipeline().aggregator().KeyFor(ns, "PodCrash")));
    ASSERT_TRUE(usage.has_value());
    bytes[layout] = *usage;
  }
  std::printf(
      "[ figures  ] %s: 15-resource storm record: full-crd %lld B, json-meta %lld B, "
      "compact %lld B\n",
      backend_name().c_str(), static_cast<long long>(bytes[Layout::kFullCrd]),
      static_cast<long long>(bytes[Layout::kJsonMeta]),
      static_cast<long long>(bytes[Layout::kCompact]));
  EXPECT_LT(bytes[Layout::kFullCrd], 10 * 1024) << "not 10-50 KB";
  EXPECT_LE(bytes[Layout::kCompact] * 5, bytes[Layout::kFullCrd]);
  EXPECT_LT(bytes[Layout::kCompact], 1024);
}

TEST_P(MemoryIT, IntegrationRunShapeNeedsAboutAMegabyte) {
  // ~92 tests' worth of state: mostly single alerts, some 15-pod storms, some duplicates.
  ASSERT_OK_AND_ASSIGN(int64_t used_before, InfoMemoryField(kv(), "used_memory"));
  for (int t = 0; t < 92; ++t) {
    const std::string ns = "it-" + std::to_string(t);
    if (t % 8 == 0) {
      ASSERT_OK(Ingest(Webhook(PodAlerts("PodCrash", ns, 0, 15))).status);
    } else {
      ASSERT_OK(Ingest(Webhook(PodAlerts("HighMemoryUsage", ns, 0, 3))).status);
      ASSERT_OK(Ingest(Webhook(PodAlerts("HighMemoryUsage", ns, 0, 1))).status);
    }
  }
  ASSERT_OK_AND_ASSIGN(int64_t used, InfoMemoryField(kv(), "used_memory"));
  std::printf("[ figures  ] %s: a 92-test integration run's state: %lld bytes\n",
              backend_name().c_str(), static_cast<long long>(used - used_before));
  EXPECT_LT(used - used_before, 2 * 1024 * 1024) << "the whole test state is ~1 MB, not 2 GB";
}

TEST_P(MemoryIT, EveryGatewayKeyHasATtl) {
  PipelineOptions o = DefaultOptions();
  o.rate_limit_enabled = true;
  // A bucket lives until it is full again: 60 s here, so that on Redis (where TTLs run in real
  // time) it is still there when the loop below looks at it.
  o.rate_limit.burst = 10;
  o.rate_limit.rate = 1;
  o.rate_limit.period = minutes(1);
  Reconfigure(o);
  ASSERT_OK(
      Ingest(Webhook(PodAlerts("PodCrash", "a", 0, 12)), SignalSource::kAlertmanager, "c1").status);
  ASSERT_OK(
      Ingest(testing::KubeEvent("BackOff", "b", "Pod", "x"), SignalSource::kKubernetesEvent, "c2")
          .status);
  std::vector<std::string> keys = AllKeys();
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(CountKeys(family::kRateLimit), 2);
  for (const std::string& key : keys) {
    ASSERT_OK_AND_ASSIGN(int64_t pttl, kv().Pttl(key));
    EXPECT_NE(pttl, -1) << key << " has no TTL";  // -2: gone meanwhile, which is fine
  }
}

TEST_P(MemoryIT, BudgetDriftIsDetected) {
  ASSERT_OK(CheckBudgetConfig(kv()));
  ASSERT_OK(kv().ConfigSet("maxmemory", "1mb"));  // what the reference's helper did
  Status drift = CheckBudgetConfig(kv());
  EXPECT_FALSE(drift.ok());
  EXPECT_NE(drift.message().find("maxmemory is 1048576"), std::string::npos) << drift;
  ASSERT_OK(ApplyBudget(kv()));  // restore, or TearDown fails this test
  EXPECT_OK(CheckBudgetConfig(kv()));
}

TEST_P(MemoryIT, FlushDbDoesNotResetTheBudget) {
  ASSERT_OK(Ingest(Webhook(PodAlerts("A", "ns", 0, 3))).status);
  ASSERT_OK(kv().FlushDb());
  EXPECT_OK(CheckBudgetConfig(kv()));  // server-wide config survives FLUSHDB
}

STORMKV_INSTANTIATE_GATEWAY_IT(MemoryIT);

// The same scenario on the embedded store and on the backend under test (real Redis): their
// used_memory growth must agree within 5%. Parameterised by the Redis backend's name so that
// ctest gives it the Redis label and lock.
class CrossBackendIT : public ::testing::TestWithParam<std::string> {
 protected:
  // 10,000 fingerprints + 100 storms x 50 resources; returns used_memory growth.
  static Result<int64_t> Scenario(TestBackend& tb) {
    PipelineOptions o;
    o.rate_limit_enabled = false;
    Pipeline p(*tb.kv, tb.clock, o);
    const int64_t now = tb.clock->NowMs();
    // Warm up (Redis loads every script once, which grows its memory once), then start clean.
    std::vector<NormalizedSignal> warm;
    for (int i = 0; i < 6; ++i)
      warm.push_back(MakeSignal("Warm", "w", "p" + std::to_string(i), now));
    STORMKV_RETURN_IF_ERROR(p.IngestSignals(std::move(warm)).status);
    STORMKV_RETURN_IF_ERROR(tb.kv->FlushDb());
    Result<int64_t> before = InfoMemoryField(*tb.kv, "used_memory");
    if (!before.ok()) return before.status();
    std::vector<NormalizedSignal> batch;
    for (int g = 0; g < 2000; ++g) {
      for (int i = 0; i < 5; ++i) {
        batch.push_back(MakeSignal("Alert" + std::to_string(g / 50), "ns-" + std::to_string(g % 50),
                                   "app-" + std::to_string(g) + "-" + std::to_string(i), now));
      }
    }
    for (int s = 0; s < 100; ++s) {
      for (int i = 0; i < 55; ++i) {
        batch.push_back(
            MakeSignal("Storm" + std::to_string(s), "storm-ns", "web-" + std::to_string(i), now));
      }
    }
    for (std::size_t i = 0; i < batch.size(); i += 1000) {
      std::vector<NormalizedSignal> part(batch.begin() + i,
                                         batch.begin() + std::min(batch.size(), i + 1000));
      STORMKV_RETURN_IF_ERROR(p.IngestSignals(std::move(part)).status);
    }
    if (RedisBackend* redis = AsRedisBackend(tb.kv.get())) redis->CloseIdleConnections();
    Result<int64_t> after = InfoMemoryField(*tb.kv, "used_memory");
    if (!after.ok()) return after.status();
    return *after - *before;
  }
};

TEST_P(CrossBackendIT, SameScenarioSameUsedMemory) {
  std::optional<TestBackend> memory, other;
  STORMKV_SETUP_BACKEND("memory", memory);
  STORMKV_SETUP_BACKEND(GetParam(), other);
  ASSERT_OK(ApplyBudget(*memory->kv));
  ASSERT_OK(CheckBudgetConfig(*other->kv));
  // errorstat_OOM lives as long as the server: compare against its count before the scenario.
  ASSERT_OK_AND_ASSIGN(int64_t ooms_before, OomErrorCount(*other->kv));
  ASSERT_OK_AND_ASSIGN(int64_t mem_growth, Scenario(*memory));
  ASSERT_OK_AND_ASSIGN(int64_t other_growth, Scenario(*other));
  const double diff =
      std::abs(static_cast<double>(mem_growth - other_growth)) / static_cast<double>(other_growth);
  std::printf(
      "[ figures  ] same scenario (10,000 fingerprints + 100 storms x 50): used_memory "
      "growth memory %lld, %s %lld: %.2f%% apart\n",
      static_cast<long long>(mem_growth), GetParam().c_str(), static_cast<long long>(other_growth),
      100.0 * diff);
  BudgetLedger::Get().AddScenario("cross-backend used_memory growth", "memory", mem_growth);
  BudgetLedger::Get().AddScenario("cross-backend used_memory growth", GetParam(), other_growth);
  EXPECT_LT(diff, 0.05) << "the embedded store must predict Redis's used_memory within 5%";
  EXPECT_OK(CheckBudgetConfig(*other->kv));
  ASSERT_OK_AND_ASSIGN(int64_t ooms, OomErrorCount(*other->kv));
  EXPECT_EQ(ooms - ooms_before, 0) << "OOM errors during the scenario";
  if (other->cleanup) other->cleanup();
}

INSTANTIATE_TEST_SUITE_P(All, CrossBackendIT, ::testing::Values(std::string("redis")),
                         ::stormkv::BackendParamName);

}  // namespace
}  // namespace stormkv::integration
