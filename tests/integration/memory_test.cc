// Memory: a production-scale workload stays under the 256 MB budget on every backend, with its
// figures printed; every gateway key carries a TTL; the budget fixture catches drift.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "integration/fixture.h"

namespace stormkv::integration {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::TestAlert;
using testing::Webhook;

class MemoryIT : public GatewayIT {
 protected:
  NormalizedSignal Signal(std::string name, std::string ns, std::string pod) {
    NormalizedSignal s;
    s.labels = {{"alertname", name}, {"namespace", ns}, {"pod", pod}, {"severity", "critical"}};
    s.name = std::move(name);
    s.namespace_name = std::move(ns);
    s.resource = {"Pod", std::move(pod)};
    s.severity = "critical";
    s.starts_at_ms = s.received_at_ms = NowMs();
    return s;
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
  // scenario is about the state the gateway keeps.
  std::map<Outcome, int64_t> plain, storms;
  std::vector<NormalizedSignal> batch;
  auto flush = [&](std::map<Outcome, int64_t>* counts) {
    IngestResult r = pipeline().IngestSignals(std::move(batch));
    batch.clear();
    EXPECT_OK(r.status);
    for (const AlertDecision& d : r.decisions) (*counts)[d.outcome] += 1;
  };
  for (int g = 0; g < kGroups; ++g) {
    for (int p = 0; p < kPodsPerGroup; ++p) {
      batch.push_back(Signal("Alert" + std::to_string(g / 100),
                             "ns-" + std::to_string(g % 100) + "-" + std::to_string(g / 10000),
                             "app-" + std::to_string(g) + "-" + std::to_string(p)));
    }
    if (batch.size() >= 1000) flush(&plain);
  }
  if (!batch.empty()) flush(&plain);
  for (int s = 0; s < kStorms; ++s) {
    for (int p = 0; p < 5 + kStormResources; ++p) {
      batch.push_back(Signal("StormAlert" + std::to_string(s % 10),
                             "storm-ns-" + std::to_string(s / 10), "web-" + std::to_string(p)));
    }
    if (batch.size() >= 1000) flush(&storms);
  }
  if (!batch.empty()) flush(&storms);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

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
  os << "[ figures  ] " << backend_name() << ": production scale: "
     << kGroups * kPodsPerGroup << " fingerprints + " << kStorms << " storms x "
     << kStormResources << " resources (" << kGroups * kPodsPerGroup + kStorms * 55
     << " alerts, " << secs << " s)\n"
     << "             used_memory " << used << " (+" << used - used_before << "), peak " << peak
     << " = " << (100.0 * static_cast<double>(peak) / kBudgetBytes) << "% of the "
     << kBudgetBytes << "-byte budget\n";
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
  std::printf("[ figures  ] %s: 15-resource storm record: full-crd %lld B, json-meta %lld B, "
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
  Reconfigure(o);
  ASSERT_OK(Ingest(Webhook(PodAlerts("PodCrash", "a", 0, 12)), SignalSource::kAlertmanager, "c1")
                .status);
  ASSERT_OK(Ingest(testing::KubeEvent("BackOff", "b", "Pod", "x"), SignalSource::kKubernetesEvent,
                   "c2")
                .status);
  std::vector<std::string> keys = AllKeys();
  ASSERT_FALSE(keys.empty());
  for (const std::string& key : keys) {
    ASSERT_OK_AND_ASSIGN(int64_t pttl, kv().Pttl(key));
    EXPECT_GT(pttl, 0) << key << " has no TTL";
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

}  // namespace
}  // namespace stormkv::integration
