// Deduplication and TTL: one record per fingerprint, refreshed on duplicates, gone after 5 min.
#include "integration/fixture.h"
#include "stormkv/gateway/fingerprint.h"

namespace stormkv::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::KubeEvent;
using testing::TestAlert;
using testing::Webhook;

class DedupIT : public GatewayIT {};

TEST_P(DedupIT, FirstAlertIsCreated) {
  IngestResult r = Alert("HighMemoryUsage", "production", "api-server-7d9f");
  ASSERT_OK(r.status);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kCreated);
  EXPECT_EQ(r.decisions[0].occurrence_count, 1);
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].name, "rr-439738bf3e7ce3be");
  EXPECT_EQ(CountKeys(family::kDedup), 1);
}

TEST_P(DedupIT, SecondIdenticalAlertIsDuplicate) {
  ASSERT_OK(Alert("A", "ns", "p").status);
  IngestResult r = Alert("A", "ns", "p");
  ASSERT_OK(r.status);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kDuplicate);
  EXPECT_EQ(r.decisions[0].occurrence_count, 2);
  EXPECT_TRUE(r.requests.empty());
  EXPECT_EQ(CountKeys(family::kDedup), 1);
}

TEST_P(DedupIT, CountAccumulatesOverManyDuplicates) {
  IngestResult r;
  for (int i = 0; i < 25; ++i) r = Alert("A", "ns", "p");
  ASSERT_OK(r.status);
  EXPECT_EQ(r.decisions[0].occurrence_count, 25);
}

TEST_P(DedupIT, FirstSeenStaysAndLastSeenMoves) {
  const int64_t t0 = NowMs();
  ASSERT_OK(Alert("A", "ns", "p").status);
  Advance(seconds(40));
  IngestResult r = Alert("A", "ns", "p");
  Advance(seconds(50));
  r = Alert("A", "ns", "p");
  EXPECT_EQ(r.decisions[0].first_seen_ms, t0);
  EXPECT_EQ(r.decisions[0].last_seen_ms, t0 + 90000);
  EXPECT_EQ(r.decisions[0].occurrence_count, 3);
}

TEST_P(DedupIT, ExpiryAfterFiveMinutesMakesItNew) {
  ASSERT_OK(Alert("A", "ns", "p").status);
  Advance(minutes(5) + milliseconds(1));
  EXPECT_EQ(CountKeys(family::kDedup), 0);
  IngestResult r = Alert("A", "ns", "p");
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kCreated);
  EXPECT_EQ(r.decisions[0].occurrence_count, 1);
  EXPECT_EQ(r.decisions[0].first_seen_ms, NowMs());
}

TEST_P(DedupIT, JustBeforeExpiryStillDuplicate) {
  ASSERT_OK(Alert("A", "ns", "p").status);
  Advance(minutes(5) - seconds(1));
  EXPECT_EQ(Alert("A", "ns", "p").decisions[0].outcome, Outcome::kDuplicate);
}

TEST_P(DedupIT, DuplicateRefreshesTheTtl) {
  ASSERT_OK(Alert("A", "ns", "p").status);
  Advance(minutes(4));
  EXPECT_EQ(Alert("A", "ns", "p").decisions[0].outcome, Outcome::kDuplicate);
  Advance(minutes(4));  // 8 min after the first, 4 after the refresh
  IngestResult r = Alert("A", "ns", "p");
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kDuplicate);
  EXPECT_EQ(r.decisions[0].occurrence_count, 3);
}

TEST_P(DedupIT, RecordTtlIsFiveMinutes) {
  IngestResult r = Alert("A", "ns", "p");
  ASSERT_OK_AND_ASSIGN(int64_t pttl,
                       kv().Pttl(pipeline().dedup().KeyFor(r.decisions[0].fingerprint)));
  EXPECT_GT(pttl, 299000);
  EXPECT_LE(pttl, 300000);
}

TEST_P(DedupIT, ConfiguredTtlIsHonoured) {
  PipelineOptions o = DefaultOptions();
  o.dedup.ttl = minutes(1);
  Reconfigure(o);
  ASSERT_OK(Alert("A", "ns", "p").status);
  Advance(seconds(61));
  EXPECT_EQ(Alert("A", "ns", "p").decisions[0].outcome, Outcome::kCreated);
}

TEST_P(DedupIT, DifferentPodsAreDifferentFingerprints) {
  IngestResult a = Alert("A", "ns", "p1");
  IngestResult b = Alert("A", "ns", "p2");
  EXPECT_EQ(b.decisions[0].outcome, Outcome::kCreated);
  EXPECT_NE(a.decisions[0].fingerprint, b.decisions[0].fingerprint);
  EXPECT_EQ(CountKeys(family::kDedup), 2);
}

TEST_P(DedupIT, NamespacesAreIsolated) {
  ASSERT_OK(Alert("A", "team-a", "p").status);
  EXPECT_EQ(Alert("A", "team-b", "p").decisions[0].outcome, Outcome::kCreated);
  EXPECT_EQ(Alert("A", "team-a", "p").decisions[0].outcome, Outcome::kDuplicate);
}

TEST_P(DedupIT, NonIdentifyingLabelsDoNotChangeTheFingerprint) {
  TestAlert a;
  a.extra_labels = {{"instance", "10.0.0.1:8080"}, {"job", "kube-state-metrics"}};
  TestAlert b = a;
  b.extra_labels = {{"instance", "10.0.0.2:8080"}};
  b.severity = "warning";
  b.annotations = {{"summary", "different text"}};
  ASSERT_OK(Ingest(Webhook(a)).status);
  EXPECT_EQ(Ingest(Webhook(b)).decisions[0].outcome, Outcome::kDuplicate);
}

TEST_P(DedupIT, PodLabelWinsOverDeployment) {
  TestAlert a;
  a.extra_labels = {{"deployment", "api"}};
  IngestResult r = Ingest(Webhook(a));
  EXPECT_EQ(r.decisions[0].resource, (ResourceRef{"Pod", "api-0"}));
  EXPECT_EQ(r.decisions[0].fingerprint,
            ComputeFingerprint("HighMemoryUsage", "production", {"Pod", "api-0"}));
}

TEST_P(DedupIT, DuplicateReportsTheFirstRequestName) {
  IngestResult first = Alert("A", "ns", "p");
  IngestResult dup = Alert("A", "ns", "p");
  EXPECT_EQ(dup.decisions[0].remediation_request, first.requests[0].name);
}

TEST_P(DedupIT, SameAlertTwiceInOnePayload) {
  TestAlert a;
  IngestResult r = Ingest(Webhook({a, a}));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kCreated);
  EXPECT_EQ(r.decisions[1].outcome, Outcome::kDuplicate);
  EXPECT_EQ(r.requests.size(), 1u);
}

TEST_P(DedupIT, EveryAlertOfAWebhookIsProcessed) {
  IngestResult r = Ingest(Webhook(PodAlerts("A", "ns", 0, 4)));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.Count(Outcome::kCreated), 4u) << "the reference processed only the first alert";
  EXPECT_EQ(CountKeys(family::kDedup), 4);
}

TEST_P(DedupIT, ResolvedAlertLeavesTheRecordAlone) {
  ASSERT_OK(Alert("A", "ns", "p").status);
  const std::string before = Snapshot();
  TestAlert resolved;
  resolved.name = "A";
  resolved.ns = "ns";
  resolved.resource = "p";
  resolved.status = "resolved";
  IngestResult r = Ingest(Webhook(resolved));
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kIgnored);
  EXPECT_EQ(Snapshot(), before);
}

TEST_P(DedupIT, KubernetesEventShapesShareDedup) {
  ASSERT_EQ(IngestEvent(KubeEvent("BackOff", "default", "Pod", "web-1")).decisions[0].outcome,
            Outcome::kCreated);
  IngestResult r = IngestEvent(KubeEvent("BackOff", "default", "Pod", "web-1", "Warning", true));
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kDuplicate);
  EXPECT_EQ(r.decisions[0].occurrence_count, 2);
}

TEST_P(DedupIT, AlertAndEventWithSameKeyShareAFingerprint) {
  // "reason:namespace:kind:name" and "alertname:namespace:kind:name" use one formula.
  ASSERT_OK(Alert("BackOff", "default", "web-1").status);
  EXPECT_EQ(IngestEvent(KubeEvent("BackOff", "default", "Pod", "web-1")).decisions[0].outcome,
            Outcome::kDuplicate);
}

TEST_P(DedupIT, StateDrainsCompletelyAfterTheTtls) {
  ASSERT_OK(Ingest(Webhook(PodAlerts("A", "ns", 0, 8))).status);
  ASSERT_OK(Alert("B", "ns2", "x").status);
  EXPECT_GT(CountKeys(), 0);
  Advance(minutes(6));
  EXPECT_EQ(CountKeys(), 0) << "every gateway key must carry a TTL";
}

STORMKV_INSTANTIATE_GATEWAY_IT(DedupIT);

}  // namespace
}  // namespace stormkv::integration
