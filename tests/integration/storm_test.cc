// Storm detection: rate (> 10 alerts/min per alert name and namespace) and pattern (> 5 distinct
// resources in 2 min), inside and outside their windows, with configurable thresholds.
#include "integration/fixture.h"

namespace stormkv::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::KubeEvent;
using testing::TestAlert;
using testing::Webhook;

class StormIT : public GatewayIT {
 protected:
  // Only the rate detector can fire.
  void RateOnly(int64_t threshold = 10) {
    PipelineOptions o = DefaultOptions();
    o.storm.pattern_threshold = 1000000;
    o.storm.rate_threshold = threshold;
    Reconfigure(o);
  }
  // One alert per call, pods first..first+count-1; returns the decisions in order.
  std::vector<AlertDecision> OneByOne(const std::string& name, const std::string& ns, int first,
                                      int count) {
    std::vector<AlertDecision> out;
    for (const TestAlert& a : PodAlerts(name, ns, first, count)) {
      IngestResult r = Ingest(Webhook(a));
      EXPECT_OK(r.status);
      if (!r.decisions.empty()) out.push_back(r.decisions[0]);
    }
    return out;
  }
};

TEST_P(StormIT, FiveResourcesAreNotAPatternStorm) {
  IngestResult r = Ingest(Webhook(PodAlerts("PodCrash", "ns", 0, 5)));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.Count(Outcome::kCreated), 5u);
  EXPECT_EQ(CountKeys(family::kStormAgg), 0);
}

TEST_P(StormIT, SixthResourceStartsAPatternStorm) {
  std::vector<AlertDecision> d = OneByOne("PodCrash", "ns", 0, 6);
  ASSERT_EQ(d.size(), 6u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(d[i].outcome, Outcome::kCreated) << i;
  EXPECT_EQ(d[5].outcome, Outcome::kStormAggregated);
  EXPECT_EQ(d[5].storm_type, StormType::kPattern);
  EXPECT_TRUE(d[5].storm_opened);
}

TEST_P(StormIT, TenAlertsPerMinuteAreNotARateStorm) {
  RateOnly();
  std::vector<AlertDecision> d = OneByOne("A", "ns", 0, 10);
  for (const AlertDecision& x : d) EXPECT_EQ(x.outcome, Outcome::kCreated);
}

TEST_P(StormIT, EleventhAlertInAMinuteStartsARateStorm) {
  RateOnly();
  std::vector<AlertDecision> d = OneByOne("A", "ns", 0, 11);
  ASSERT_EQ(d.size(), 11u);
  EXPECT_EQ(d[9].outcome, Outcome::kCreated);
  EXPECT_EQ(d[10].outcome, Outcome::kStormAggregated);
  EXPECT_EQ(d[10].storm_type, StormType::kRate);
}

TEST_P(StormIT, RateWindowResetsAfterAMinute) {
  RateOnly();
  OneByOne("A", "ns", 0, 10);
  Advance(seconds(61));
  std::vector<AlertDecision> d = OneByOne("A", "ns", 10, 10);
  for (const AlertDecision& x : d) EXPECT_EQ(x.outcome, Outcome::kCreated);
}

TEST_P(StormIT, RateCountsInsideTheWindow) {
  RateOnly();
  OneByOne("A", "ns", 0, 6);
  Advance(seconds(50));
  std::vector<AlertDecision> d = OneByOne("A", "ns", 6, 5);
  EXPECT_EQ(d[3].outcome, Outcome::kCreated);
  EXPECT_EQ(d[4].outcome, Outcome::kStormAggregated) << "6 + 5 = 11 alerts within 50 s";
}

TEST_P(StormIT, PatternInsideTheTwoMinuteWindow) {
  OneByOne("A", "ns", 0, 5);
  Advance(seconds(110));
  std::vector<AlertDecision> d = OneByOne("A", "ns", 5, 1);
  EXPECT_EQ(d[0].outcome, Outcome::kStormAggregated);
  EXPECT_EQ(d[0].storm_type, StormType::kPattern);
}

TEST_P(StormIT, PatternOutsideTheWindowAgesOut) {
  OneByOne("A", "ns", 0, 5);
  Advance(seconds(121));
  std::vector<AlertDecision> d = OneByOne("A", "ns", 5, 5);
  for (const AlertDecision& x : d) EXPECT_EQ(x.outcome, Outcome::kCreated);
}

TEST_P(StormIT, PatternWindowSlides) {
  OneByOne("A", "ns", 0, 3);
  Advance(seconds(90));
  OneByOne("A", "ns", 3, 2);                                 // 5 distinct within the window
  Advance(seconds(40));                                      // the first 3 are now 130 s old
  std::vector<AlertDecision> d = OneByOne("A", "ns", 5, 3);  // 2 + 3 = 5 distinct
  for (const AlertDecision& x : d) EXPECT_EQ(x.outcome, Outcome::kCreated);
  d = OneByOne("A", "ns", 8, 1);  // the sixth distinct within 2 min
  EXPECT_EQ(d[0].outcome, Outcome::kStormAggregated);
}

TEST_P(StormIT, RateWinsWhenBothThresholdsCross) {
  PipelineOptions o = DefaultOptions();
  o.storm.rate_threshold = 3;
  o.storm.pattern_threshold = 3;
  Reconfigure(o);
  std::vector<AlertDecision> d = OneByOne("A", "ns", 0, 4);
  EXPECT_EQ(d[3].outcome, Outcome::kStormAggregated);
  EXPECT_EQ(d[3].storm_type, StormType::kRate);
}

TEST_P(StormIT, ThresholdsAreConfigurable) {
  PipelineOptions o = DefaultOptions();
  o.storm.pattern_threshold = 2;
  Reconfigure(o);
  std::vector<AlertDecision> d = OneByOne("A", "ns", 0, 3);
  EXPECT_EQ(d[1].outcome, Outcome::kCreated);
  EXPECT_EQ(d[2].outcome, Outcome::kStormAggregated);
}

TEST_P(StormIT, AlertNamesCountSeparately) {
  OneByOne("A", "ns", 0, 5);
  std::vector<AlertDecision> d = OneByOne("B", "ns", 0, 5);
  for (const AlertDecision& x : d) EXPECT_EQ(x.outcome, Outcome::kCreated);
}

TEST_P(StormIT, DuplicatesDoNotFeedTheDetector) {
  for (int i = 0; i < 30; ++i) {
    IngestResult r = Alert("A", "ns", "same-pod");
    EXPECT_NE(r.decisions[0].outcome, Outcome::kStormAggregated);
  }
  EXPECT_EQ(CountKeys(family::kStormAgg), 0);
}

TEST_P(StormIT, DetectorKeysCarryTheirWindowsAsTtl) {
  OneByOne("A", "ns", 0, 1);
  ASSERT_OK_AND_ASSIGN(int64_t rate, kv().Pttl(pipeline().detector().RateKey("ns", "A")));
  ASSERT_OK_AND_ASSIGN(int64_t pattern, kv().Pttl(pipeline().detector().PatternKey("ns", "A")));
  EXPECT_GT(rate, 0);
  EXPECT_LE(rate, 60000);
  EXPECT_GT(pattern, 60000);
  EXPECT_LE(pattern, 120000);
}

TEST_P(StormIT, ClusterScopedAlertsStormToo) {
  std::vector<TestAlert> nodes;
  for (int i = 0; i < 6; ++i) {
    TestAlert a;
    a.name = "NodeNotReady";
    a.ns = "";
    a.resource_label = "node";
    a.resource = "worker-" + std::to_string(i);
    nodes.push_back(a);
  }
  IngestResult r = Ingest(Webhook(nodes));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.Count(Outcome::kCreated), 5u);
  EXPECT_EQ(r.decisions[5].outcome, Outcome::kStormAggregated);
  EXPECT_EQ(r.decisions[5].resource, (ResourceRef{"Node", "worker-5"}));
}

TEST_P(StormIT, KubernetesWarningEventsStorm) {
  std::vector<AlertDecision> d;
  for (int i = 0; i < 7; ++i) {
    IngestResult r = IngestEvent(KubeEvent("BackOff", "shop", "Pod", "cart-" + std::to_string(i)));
    ASSERT_OK(r.status);
    d.push_back(r.decisions[0]);
  }
  EXPECT_EQ(d[4].outcome, Outcome::kCreated);
  EXPECT_EQ(d[5].outcome, Outcome::kStormAggregated);
  EXPECT_EQ(d[6].storm_alert_count, 2);
}

TEST_P(StormIT, NormalEventsNeverStorm) {
  for (int i = 0; i < 20; ++i) {
    IngestResult r =
        IngestEvent(KubeEvent("Pulled", "shop", "Pod", "cart-" + std::to_string(i), "Normal"));
    EXPECT_EQ(r.decisions[0].outcome, Outcome::kIgnored);
  }
  EXPECT_EQ(CountKeys(), 0);
}

STORMKV_INSTANTIATE_GATEWAY_IT(StormIT);

}  // namespace
}  // namespace stormkv::integration
