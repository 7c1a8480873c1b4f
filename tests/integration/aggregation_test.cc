// Storm aggregation: one record and one RemediationRequest per storm, resources listed once,
// sliding inactivity window, hard cap, resource cap with overflow, isolation.
#include <nlohmann/json.hpp>

#include "integration/fixture.h"
#include "stormkv/gateway/fingerprint.h"

namespace stormkv::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::TestAlert;
using testing::Webhook;

class AggregationIT : public GatewayIT {
 protected:
  // The signal fields StormRequest needs for a storm of `name` in `ns`.
  static NormalizedSignal Opening(const std::string& name, const std::string& ns,
                                  const std::string& pod) {
    NormalizedSignal s;
    s.name = name;
    s.namespace_name = ns;
    s.resource = {"Pod", pod};
    s.severity = "critical";
    s.fingerprint = ComputeFingerprint(name, ns, s.resource);
    return s;
  }
  std::optional<StormRecord> Record(const std::string& ns, const std::string& name) {
    Result<std::optional<StormRecord>> r = pipeline().aggregator().Get(ns, name);
    EXPECT_OK(r);
    return r.ok() ? *r : std::nullopt;
  }
  void UseLayout(Layout layout) {
    PipelineOptions o = DefaultOptions();
    o.aggregation.layout = layout;
    Reconfigure(o);
  }
  // 15 pods one payload; checks what every layout must agree on.
  void FifteenAlertsWith(Layout layout) {
    UseLayout(layout);
    IngestResult r = Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 15)));
    ASSERT_OK(r.status);
    EXPECT_EQ(r.Count(Outcome::kStormAggregated), 10u);
    std::optional<StormRecord> rec = Record("shop", "PodCrash");
    ASSERT_TRUE(rec.has_value());
    EXPECT_EQ(rec->alert_count, 10);
    EXPECT_EQ(rec->resources.size(), 10u);
    EXPECT_EQ(rec->pattern, "pattern");
    EXPECT_EQ(rec->overflow, 0);
  }
};

TEST_P(AggregationIT, FirstStormAlertOpensItAndEmitsOneRequest) {
  IngestResult r = Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 6)));
  ASSERT_OK(r.status);
  const AlertDecision& d = r.decisions[5];
  EXPECT_TRUE(d.storm_opened);
  EXPECT_EQ(d.storm_alert_count, 1);
  EXPECT_EQ(d.storm_resource_count, 1);
  ASSERT_EQ(r.requests.size(), 6u);
  const RemediationRequest& storm = r.requests[5];
  EXPECT_TRUE(storm.is_storm);
  EXPECT_EQ(storm.storm_type, "pattern");
  EXPECT_EQ(storm.storm_window, "1m");
  EXPECT_EQ(storm.storm_alert_count, 1);
  EXPECT_EQ(storm.affected_resources, std::vector<std::string>{"shop:Pod:pod-5"});
  EXPECT_EQ(storm.signal_fingerprint, ComputeStormFingerprint("PodCrash", "shop", NowMs()));
  EXPECT_EQ(storm.name, RemediationRequestName(storm.signal_fingerprint));
  EXPECT_EQ(CountKeys(family::kStormAgg), 1);
}

TEST_P(AggregationIT, FifteenAlertsInOneWindowGiveOneStorm) {
  IngestResult r = Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 15)));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.Count(Outcome::kCreated), 5u);
  EXPECT_EQ(r.Count(Outcome::kStormAggregated), 10u);
  std::size_t storms = 0;
  for (const RemediationRequest& rr : r.requests) storms += rr.is_storm;
  EXPECT_EQ(storms, 1u) << "one storm request, not ten";
  ASSERT_OK_AND_ASSIGN(auto rr, pipeline().StormRequest(Opening("PodCrash", "shop", "pod-5")));
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->storm_alert_count, 10);
  ASSERT_EQ(rr->affected_resources.size(), 10u);
  for (int i = 5; i < 15; ++i) {
    const std::string id = "shop:Pod:pod-" + std::to_string(i);
    EXPECT_NE(std::find(rr->affected_resources.begin(), rr->affected_resources.end(), id),
              rr->affected_resources.end())
        << id;
  }
  EXPECT_EQ(rr->name, r.requests[5].name);
}

TEST_P(AggregationIT, EveryAggregatedAlertNamesTheStormRequest) {
  IngestResult r = Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 12)));
  for (std::size_t i = 5; i < 12; ++i) {
    EXPECT_EQ(r.decisions[i].remediation_request, r.requests[5].name) << i;
  }
}

TEST_P(AggregationIT, DuplicateResourcesAreListedOnce) {
  PipelineOptions o = DefaultOptions();
  o.dedup.ttl = seconds(10);  // the same pods come back as new alerts within the storm
  Reconfigure(o);
  ASSERT_OK(Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 8))).status);
  Advance(seconds(11));
  IngestResult again = Ingest(Webhook(PodAlerts("PodCrash", "shop", 5, 3)));
  ASSERT_OK(again.status);
  EXPECT_EQ(again.Count(Outcome::kStormAggregated), 3u);
  EXPECT_FALSE(again.decisions[0].storm_opened);
  std::optional<StormRecord> rec = Record("shop", "PodCrash");
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->alert_count, 6);
  EXPECT_EQ(rec->resources.size(), 3u);
  if (rec->layout == Layout::kCompact) {
    for (const StormResource& res : rec->resources) EXPECT_EQ(res.alert_count, 2) << res.name;
  }
}

TEST_P(AggregationIT, ActivityKeepsTheWindowSliding) {
  IngestResult first = Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 7)));
  const std::string storm = first.decisions[6].remediation_request;
  // Every 50 s three new pods: the detector keeps seeing a storm, and each alert slides the
  // 1-minute inactivity window further, so the storm outlives its first minute.
  for (int step = 0; step < 4; ++step) {
    Advance(seconds(50));
    IngestResult r = Ingest(Webhook(PodAlerts("PodCrash", "shop", 7 + 3 * step, 3)));
    for (const AlertDecision& d : r.decisions) {
      EXPECT_EQ(d.outcome, Outcome::kStormAggregated) << "step " << step;
      EXPECT_FALSE(d.storm_opened) << "step " << step;
      EXPECT_EQ(d.remediation_request, storm);
    }
  }
  EXPECT_EQ(Record("shop", "PodCrash")->alert_count, 2 + 4 * 3);
}

TEST_P(AggregationIT, InactivityEndsTheStorm) {
  IngestResult first = Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 7)));
  const std::string storm1 = first.decisions[6].remediation_request;
  Advance(seconds(61));
  // Kept for its close (storm_closer.h: the grace period), but over.
  EXPECT_TRUE(Record("shop", "PodCrash").has_value()) << "kept until it is closed";
  // Still a pattern storm (the detector window is 2 min), but a new aggregation: the old one is
  // closed first (its final request), then the new one opens (its provisional request).
  IngestResult r = Ingest(Webhook(PodAlerts("PodCrash", "shop", 7, 1)));
  ASSERT_EQ(r.decisions[0].outcome, Outcome::kStormAggregated);
  EXPECT_TRUE(r.decisions[0].storm_opened);
  EXPECT_NE(r.decisions[0].remediation_request, storm1);
  ASSERT_EQ(r.requests.size(), 2u);
  EXPECT_EQ(r.requests[0].name, storm1);
  EXPECT_TRUE(r.requests[0].storm_closed);
  EXPECT_FALSE(r.requests[1].storm_closed);
}

TEST_P(AggregationIT, HardCapEndsALongStorm) {
  IngestResult first = Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 6)));
  const std::string storm = first.decisions[5].remediation_request;
  const int64_t start = NowMs();
  int pod = 6;
  bool reopened = false;
  for (int step = 1; step <= 12 && !reopened; ++step) {
    Advance(seconds(30));
    IngestResult r = Ingest(Webhook(PodAlerts("PodCrash", "shop", pod, 3)));
    pod += 3;
    ASSERT_EQ(r.decisions[0].outcome, Outcome::kStormAggregated) << "step " << step;
    if (r.decisions[0].storm_opened) {
      reopened = true;
      EXPECT_EQ(NowMs() - start, milliseconds(minutes(5)).count())
          << "reopened exactly at the hard cap";
      EXPECT_NE(r.decisions[0].remediation_request, storm);
    } else {
      EXPECT_EQ(r.decisions[0].remediation_request, storm);
    }
  }
  EXPECT_TRUE(reopened) << "a storm lasts at most 5 minutes";
}

TEST_P(AggregationIT, StormRecordTtlFollowsTheInactivityWindow) {
  ASSERT_OK(Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 6))).status);
  ASSERT_OK_AND_ASSIGN(int64_t pttl, kv().Pttl(pipeline().aggregator().KeyFor("shop", "PodCrash")));
  const int64_t grace = pipeline().options().close.grace.count();  // kept for its close
  EXPECT_GT(pttl, 55000 + grace);
  EXPECT_LE(pttl, 60000 + grace);
}

TEST_P(AggregationIT, ResourceCapCountsOverflow) {
  PipelineOptions o = DefaultOptions();
  o.aggregation.max_resources = 10;
  Reconfigure(o);
  IngestResult r = Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 30)));
  ASSERT_OK(r.status);
  const AlertDecision& last = r.decisions[29];
  EXPECT_EQ(last.storm_alert_count, 25);
  EXPECT_EQ(last.storm_resource_count, 10);
  EXPECT_EQ(last.storm_overflow, 15);
  ASSERT_OK_AND_ASSIGN(auto rr, pipeline().StormRequest(Opening("PodCrash", "shop", "pod-5")));
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->affected_resources.size(), 10u);
  EXPECT_EQ(rr->affected_resources_overflow, 15);
  nlohmann::json j = nlohmann::json::parse(RemediationRequestToJson(*rr));
  EXPECT_EQ(j["spec"]["affectedResourcesOverflow"], 15);
}

TEST_P(AggregationIT, MixedStormAndOrdinaryAlertsInOnePayload) {
  std::vector<TestAlert> alerts = PodAlerts("PodCrash", "shop", 0, 8);
  std::vector<TestAlert> others = PodAlerts("DiskFull", "shop", 0, 2);
  alerts.insert(alerts.begin() + 3, others.begin(), others.end());
  TestAlert node;
  node.name = "NodeNotReady";
  node.ns = "";
  node.resource_label = "node";
  node.resource = "worker-1";
  alerts.push_back(node);
  IngestResult r = Ingest(Webhook(alerts));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.Count(Outcome::kCreated), 5u + 2u + 1u);
  EXPECT_EQ(r.Count(Outcome::kStormAggregated), 3u);
  EXPECT_EQ(r.decisions[3].outcome, Outcome::kCreated);  // DiskFull in the middle
  EXPECT_EQ(r.requests.size(), 9u);
  EXPECT_EQ(CountKeys(family::kStormAgg), 1);
}

TEST_P(AggregationIT, NamespacesAreIsolated) {
  ASSERT_OK(Ingest(Webhook(PodAlerts("PodCrash", "team-a", 0, 8))).status);
  IngestResult b = Ingest(Webhook(PodAlerts("PodCrash", "team-b", 0, 5)));
  EXPECT_EQ(b.Count(Outcome::kCreated), 5u);
  EXPECT_FALSE(Record("team-b", "PodCrash").has_value());
  EXPECT_EQ(Record("team-a", "PodCrash")->alert_count, 3);
}

TEST_P(AggregationIT, AlertNamesAreIsolated) {
  ASSERT_OK(Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 8))).status);
  ASSERT_OK(Ingest(Webhook(PodAlerts("OOMKilled", "shop", 0, 7))).status);
  EXPECT_EQ(Record("shop", "PodCrash")->alert_count, 3);
  EXPECT_EQ(Record("shop", "OOMKilled")->alert_count, 2);
  EXPECT_EQ(CountKeys(family::kStormAgg), 2);
}

TEST_P(AggregationIT, StormRequestJsonIsWellFormed) {
  ASSERT_OK(Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 15))).status);
  ASSERT_OK_AND_ASSIGN(auto rr, pipeline().StormRequest(Opening("PodCrash", "shop", "pod-5")));
  ASSERT_TRUE(rr.has_value());
  const std::string text = RemediationRequestToJson(*rr);
  nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["kind"], "RemediationRequest");
  EXPECT_EQ(j["metadata"]["name"], rr->name);
  EXPECT_EQ(j["spec"]["isStorm"], true);
  EXPECT_EQ(j["spec"]["stormAlertCount"], 10);
  EXPECT_TRUE(j["spec"]["affectedResources"].is_array());
  EXPECT_EQ(j["spec"]["affectedResources"].size(), 10u);
  EXPECT_LT(text.size(), 4096u) << "a 10-pod storm request is a few KB, not 10-50 KB";
}

TEST_P(AggregationIT, FullCrdLayoutAgrees) { FifteenAlertsWith(Layout::kFullCrd); }
TEST_P(AggregationIT, JsonMetaLayoutAgrees) { FifteenAlertsWith(Layout::kJsonMeta); }
TEST_P(AggregationIT, CompactLayoutAgrees) { FifteenAlertsWith(Layout::kCompact); }

TEST_P(AggregationIT, CompactFifteenResourceStormIsSmall) {
  ASSERT_OK(Ingest(Webhook(PodAlerts("PodCrash", "shop", 0, 20))).status);
  ASSERT_OK_AND_ASSIGN(auto bytes,
                       kv().MemoryUsage(pipeline().aggregator().KeyFor("shop", "PodCrash")));
  ASSERT_TRUE(bytes.has_value());
  EXPECT_LT(*bytes, 1024) << "15 resources in a listpack hash";
  std::printf("[ figures  ] %s: compact storm record with 15 resources: %lld bytes\n",
              backend_name().c_str(), static_cast<long long>(*bytes));
}

TEST_P(AggregationIT, LabelsCannotForgeKeys) {
  TestAlert a;
  a.name = "Evil:{x}*";
  a.ns = "ns}:{dedup";
  a.resource = std::string(600, 'p') + ":{}";
  for (int i = 0; i < 6; ++i) {
    TestAlert b = a;
    b.resource += std::to_string(i);
    ASSERT_OK(Ingest(Webhook(b)).status);
  }
  for (const std::string& key : AllKeys()) {
    EXPECT_LE(key.size(), 700u) << key;
    std::string_view fam = KeySchema().FamilyOf(key);
    EXPECT_TRUE(fam == family::kDedup || fam == family::kStormRate ||
                fam == family::kStormPattern || fam == family::kStormAgg ||
                fam == family::kStormClose || fam == family::kStormDue)
        << key;
    EXPECT_EQ(std::count(key.begin(), key.end(), '{'), 1) << key;
  }
  EXPECT_EQ(CountKeys(family::kStormAgg), 1);
}

STORMKV_INSTANTIATE_GATEWAY_IT(AggregationIT);

}  // namespace
}  // namespace stormkv::integration
