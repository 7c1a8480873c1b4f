// Closing storms (pipeline.h): the final request of a storm lists the whole storm, is emitted
// once its window has closed, exactly once across replicas, by the periodic close call or by the
// alert that reopens the storm; claims, leases and the grace period.
#include <set>

#include "integration/fixture.h"

namespace stormkv::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::Webhook;

class StormCloseIT : public GatewayIT {
 protected:
  // A pattern storm of `name` in "shop": 15 pods, the storm opens at the 6th (10 aggregated).
  IngestResult Storm(const std::string& name = "PodCrash", int first = 0, int count = 15) {
    IngestResult r = Ingest(Webhook(PodAlerts(name, "shop", first, count)));
    EXPECT_OK(r.status);
    return r;
  }
  static const RemediationRequest* Provisional(const IngestResult& r) {
    for (const RemediationRequest& rr : r.requests) {
      if (rr.is_storm && !rr.storm_closed) return &rr;
    }
    return nullptr;
  }
  milliseconds Window() const { return options_.aggregation.inactivity_window; }
};

TEST_P(StormCloseIT, FinalRequestListsTheWholeStormOnceItsWindowCloses) {
  IngestResult r = Storm();
  const RemediationRequest* opened = Provisional(r);
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(opened->affected_resources.size(), 1u);
  const int64_t first_seen = NowMs();

  StormCloseResult early = pipeline().CloseDueStorms();
  ASSERT_OK(early.status);
  EXPECT_TRUE(early.requests.empty()) << "the storm is still open";

  Advance(seconds(30));
  ASSERT_OK(Ingest(Webhook(PodAlerts("PodCrash", "shop", 15, 3))).status);  // 3 more, 30 s later
  const int64_t last_seen = NowMs();
  Advance(Window() - milliseconds(1));
  StormCloseResult not_yet = pipeline().CloseDueStorms();
  ASSERT_OK(not_yet.status);
  EXPECT_TRUE(not_yet.requests.empty()) << "the inactivity window slides with every alert";

  Advance(milliseconds(1));
  StormCloseResult closed = pipeline().CloseDueStorms();
  ASSERT_OK(closed.status);
  ASSERT_EQ(closed.requests.size(), 1u);
  EXPECT_EQ(closed.closed, 1u);
  const RemediationRequest& rr = closed.requests[0];
  EXPECT_EQ(rr.name, opened->name) << "stable name: the final request updates the provisional one";
  EXPECT_TRUE(rr.is_storm);
  EXPECT_TRUE(rr.storm_closed);
  EXPECT_EQ(rr.storm_alert_count, 13);
  EXPECT_EQ(rr.deduplication.occurrence_count, 13);
  EXPECT_EQ(rr.deduplication.first_seen_ms, first_seen);
  EXPECT_EQ(rr.deduplication.last_seen_ms, last_seen);
  EXPECT_EQ(rr.signal_name, "PodCrash");
  EXPECT_EQ(rr.namespace_name, "shop");
  EXPECT_EQ(rr.severity, opened->severity);
  EXPECT_EQ(rr.signal_labels, opened->signal_labels);
  std::set<std::string> resources(rr.affected_resources.begin(), rr.affected_resources.end());
  EXPECT_EQ(resources.size(), 13u);
  for (int i = 5; i < 18; ++i) {
    EXPECT_TRUE(resources.count("shop:Pod:pod-" + std::to_string(i))) << i;
  }
  EXPECT_NE(RemediationRequestToJson(rr).find("\"stormClosed\":true"), std::string::npos);

  StormCloseResult again = pipeline().CloseDueStorms();
  ASSERT_OK(again.status);
  EXPECT_TRUE(again.requests.empty()) << "closed once";
  Result<std::vector<DueStorm>> open = pipeline().OpenStorms();
  ASSERT_OK(open);
  EXPECT_TRUE(open->empty());
}

TEST_P(StormCloseIT, OverflowAndMaxResourcesReachTheFinalRequest) {
  PipelineOptions o = DefaultOptions();
  o.aggregation.max_resources = 4;
  Reconfigure(o);
  Storm();  // 10 aggregated over 10 pods: 4 listed, 6 overflow
  Advance(Window());
  StormCloseResult closed = pipeline().CloseDueStorms();
  ASSERT_OK(closed.status);
  ASSERT_EQ(closed.requests.size(), 1u);
  EXPECT_EQ(closed.requests[0].affected_resources.size(), 4u);
  EXPECT_EQ(closed.requests[0].affected_resources_overflow, 6);
  EXPECT_EQ(closed.requests[0].storm_alert_count, 10);
}

TEST_P(StormCloseIT, TwoReplicasCloseEachStormExactlyOnce) {
  Storm("PodCrash");
  Storm("OOMKilled");
  Pipeline other(kv(), clock(), options_);
  Advance(Window());
  StormCloseResult a = other.CloseDueStorms();
  StormCloseResult b = pipeline().CloseDueStorms();
  ASSERT_OK(a.status);
  ASSERT_OK(b.status);
  EXPECT_EQ(a.requests.size() + b.requests.size(), 2u);
  std::set<std::string> names;
  for (const auto* r : {&a, &b}) {
    for (const RemediationRequest& rr : r->requests) names.insert(rr.name);
  }
  EXPECT_EQ(names.size(), 2u);
}

TEST_P(StormCloseIT, AnotherReplicasLiveClaimIsWaitedForThenTakenOver) {
  IngestResult r = Storm();
  const RemediationRequest* opened = Provisional(r);
  ASSERT_NE(opened, nullptr);
  Advance(Window());
  const int64_t first = opened->deduplication.first_seen_ms;
  // A replica claimed the storm and died before emitting it.
  Result<ClaimResult> claim =
      pipeline().closer().Claim("shop", "PodCrash", first, "dead-replica", minutes(5));
  ASSERT_OK(claim);
  ASSERT_EQ(claim->claim, CloseClaim::kClaimed);
  StormCloseResult busy = pipeline().CloseDueStorms();
  ASSERT_OK(busy.status);
  EXPECT_EQ(busy.busy, 1u);
  EXPECT_TRUE(busy.requests.empty());
  Advance(options_.close.claim_lease);
  StormCloseResult taken = pipeline().CloseDueStorms();
  ASSERT_OK(taken.status);
  ASSERT_EQ(taken.requests.size(), 1u) << "at least once: the dead claimer's lease ended";
  EXPECT_EQ(taken.requests[0].storm_alert_count, 10);
}

TEST_P(StormCloseIT, AnAlertAfterTheWindowClosesTheOldStormBeforeOpeningTheNext) {
  Storm();
  Advance(Window() + seconds(1));
  // Still a pattern storm (the pattern window is 2 min): the old storm is closed inline.
  IngestResult r = Ingest(Webhook(PodAlerts("PodCrash", "shop", 20, 2)));
  ASSERT_OK(r.status);
  ASSERT_EQ(r.requests.size(), 2u);
  EXPECT_TRUE(r.requests[0].storm_closed);
  EXPECT_EQ(r.requests[0].storm_alert_count, 10);
  EXPECT_FALSE(r.requests[1].storm_closed);
  EXPECT_NE(r.requests[0].name, r.requests[1].name) << "a new storm, a new first_seen";
  EXPECT_TRUE(r.decisions[0].storm_opened);
  EXPECT_EQ(r.decisions[1].storm_alert_count, 2);
  StormCloseResult none = pipeline().CloseDueStorms();
  ASSERT_OK(none.status);
  EXPECT_TRUE(none.requests.empty()) << "the old storm is closed once; the new one is open";
  Advance(Window());
  StormCloseResult next = pipeline().CloseDueStorms();
  ASSERT_OK(next.status);
  ASSERT_EQ(next.requests.size(), 1u);
  EXPECT_EQ(next.requests[0].name, r.requests[1].name);
  EXPECT_EQ(next.requests[0].storm_alert_count, 2);
}

TEST_P(StormCloseIT, AStormNobodyClosedWithinTheGraceIsReportedExpired) {
  Storm();
  Advance(Window() + options_.close.grace + seconds(1));
  StormCloseResult r = pipeline().CloseDueStorms();
  ASSERT_OK(r.status);
  EXPECT_TRUE(r.requests.empty());
  EXPECT_EQ(r.expired, 1u);
  Result<std::vector<DueStorm>> open = pipeline().OpenStorms();
  ASSERT_OK(open);
  EXPECT_TRUE(open->empty());
}

TEST_P(StormCloseIT, DueListsAreBucketedAndEveryKeyHasATtl) {
  for (int s = 0; s < 8; ++s) Storm("Alert" + std::to_string(s));
  std::set<std::string> buckets;
  for (const std::string& key : AllKeys()) {
    Result<int64_t> ttl = kv().Pttl(key);
    ASSERT_OK(ttl);
    EXPECT_GT(*ttl, 0) << key;
    if (schema_.FamilyOf(key) == family::kStormDue) buckets.insert(key);
  }
  EXPECT_GT(buckets.size(), 1u) << "storms spread over several due lists";
  EXPECT_EQ(CountKeys(family::kStormClose), 8);
}

TEST_P(StormCloseIT, ClosingDisabledKeepsTheOldBehaviour) {
  PipelineOptions o = DefaultOptions();
  o.close.enabled = false;
  Reconfigure(o);
  Storm();
  EXPECT_EQ(CountKeys(family::kStormClose), 0);
  EXPECT_EQ(CountKeys(family::kStormDue), 0);
  Advance(Window() + seconds(1));
  EXPECT_EQ(CountKeys(family::kStormAgg), 0) << "expires at its deadline";
  EXPECT_TRUE(pipeline().CloseDueStorms().requests.empty());
}

STORMKV_INSTANTIATE_GATEWAY_IT(StormCloseIT);

}  // namespace
}  // namespace stormkv::integration
