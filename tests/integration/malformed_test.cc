// Malformed input: every bad payload is rejected as a whole with a clear reason, and stores
// nothing — not even a rate-limit bucket.
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>

#include "integration/fixture.h"

namespace stormkv::integration {
namespace {

using testing::KubeEvent;
using testing::PodAlert;
using testing::TestAlert;
using testing::Webhook;

class MalformedIT : public GatewayIT {
 protected:
  void SetUp() override {
    GatewayIT::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PipelineOptions o = DefaultOptions();
    o.rate_limit_enabled = true;
    Reconfigure(o);
  }
  // Ingests `payload`, expects a rejection whose reason contains `fragment`, and no key at all.
  void ExpectRejected(const std::string& payload, const std::string& fragment,
                      SignalSource source = SignalSource::kAlertmanager) {
    IngestResult r = Ingest(payload, source, "client");
    EXPECT_TRUE(r.status.IsInvalidArgument()) << r.status;
    EXPECT_EQ(r.http_status, 400);
    ASSERT_EQ(r.decisions.size(), 1u);
    EXPECT_EQ(r.decisions[0].outcome, Outcome::kRejected);
    EXPECT_NE(r.decisions[0].reason.find(fragment), std::string::npos)
        << "reason \"" << r.decisions[0].reason << "\" lacks \"" << fragment << "\"";
    EXPECT_TRUE(r.requests.empty());
    EXPECT_EQ(CountKeys(), 0) << "a rejected payload stores nothing";
  }
  static std::string WithLabels(const std::string& labels_json) {
    return R"({"version":"4","alerts":[{"labels":)" + labels_json + "}]}";
  }
};

TEST_P(MalformedIT, BadJson) {
  ExpectRejected(R"({"alerts":[{"labels":{"alertname":"A"})", "invalid JSON");
}

TEST_P(MalformedIT, EmptyBody) { ExpectRejected("", "invalid JSON"); }

TEST_P(MalformedIT, NotAnObject) {
  ExpectRejected(R"([{"labels":{"alertname":"A"}}])", "expected a JSON object, got array");
}

TEST_P(MalformedIT, AlertsMissing) {
  ExpectRejected(R"({"version":"4","status":"firing"})", "alerts: missing");
}

TEST_P(MalformedIT, AlertsNotAnArray) {
  ExpectRejected(R"({"alerts":{"labels":{"alertname":"A"}}})", "alerts: expected an array");
}

TEST_P(MalformedIT, EmptyAlertList) { ExpectRejected(R"({"alerts":[]})", "empty alert list"); }

TEST_P(MalformedIT, LabelsNotAnObject) {
  ExpectRejected(WithLabels(R"("alertname=A")"), "alerts[0].labels: expected an object");
}

TEST_P(MalformedIT, MissingLabels) {
  ExpectRejected(R"({"alerts":[{"annotations":{"summary":"no labels"}}]})",
                 "alerts[0].labels: missing");
}

TEST_P(MalformedIT, MissingAlertname) {
  ExpectRejected(WithLabels(R"({"namespace":"ns","pod":"p"})"), "labels.alertname: missing");
}

TEST_P(MalformedIT, LabelValueOfWrongType) {
  ExpectRejected(WithLabels(R"({"alertname":"A","replicas":3})"),
                 "labels.replicas: expected a string, got number");
}

TEST_P(MalformedIT, HugeLabelValue) {
  TestAlert a;
  a.resource = std::string(5000, 'p');
  ExpectRejected(Webhook(a), "labels.pod: value is 5000 bytes, limit 1024");
}

TEST_P(MalformedIT, HugeAnnotation) {
  TestAlert a;
  a.annotations = {{"description", std::string(40000, 'd')}};
  ExpectRejected(Webhook(a), "annotations.description: value is 40000 bytes");
}

TEST_P(MalformedIT, TooManyLabels) {
  TestAlert a;
  for (int i = 0; i < 200; ++i) a.extra_labels["l" + std::to_string(i)] = "v";
  ExpectRejected(Webhook(a), "entries exceed the limit of 128");
}

TEST_P(MalformedIT, PayloadOverTheSizeCap) {
  PipelineOptions o = options_;
  o.limits.max_payload_bytes = 1 << 20;
  Reconfigure(o);
  std::vector<TestAlert> alerts;
  for (int i = 0; i < 200; ++i) {
    TestAlert a;
    a.resource = "p" + std::to_string(i);
    a.annotations = {{"description", std::string(8000, 'd')}};
    alerts.push_back(a);
  }
  const std::string body = Webhook(alerts);
  const std::string reason =
      "payload too large: " + std::to_string(body.size()) + " bytes > limit 1048576";
  // Alertmanager never retries a 4xx, so its oversized webhook is answered 503 (retryable);
  // other senders get 413. Either way nothing is stored, not even the rate-limit bucket.
  for (SignalSource source : {SignalSource::kAlertmanager, SignalSource::kKubernetesEvent}) {
    IngestResult r = Ingest(body, source, "client");
    EXPECT_TRUE(r.status.IsInvalidArgument()) << r.status;
    EXPECT_EQ(r.http_status, source == SignalSource::kAlertmanager ? 503 : 413);
    ASSERT_EQ(r.decisions.size(), 1u);
    EXPECT_EQ(r.decisions[0].outcome, Outcome::kRejected);
    EXPECT_EQ(r.decisions[0].reason, reason);
    EXPECT_TRUE(r.requests.empty());
    EXPECT_EQ(CountKeys(), 0) << "a rejected payload stores nothing";
  }
}

// A storm of 10,000 alerts (kube-prometheus shape, ~10 MB) in one webhook fits the default
// limits and is processed whole: every alert gets a decision, one storm request is emitted.
TEST_P(MalformedIT, TenThousandAlertStormWebhookIsProcessedWhole) {
  IngestResult r = Ingest(testing::StormWebhook(10000), SignalSource::kAlertmanager, "client");
  ASSERT_OK(r.status);
  EXPECT_EQ(r.http_status, 200);
  ASSERT_EQ(r.decisions.size(), 10000u);
  EXPECT_EQ(r.Count(Outcome::kRejected), 0u);
  EXPECT_EQ(r.Count(Outcome::kCreated) + r.Count(Outcome::kStormAggregated), 10000u);
  std::size_t storm_requests = 0;
  for (const RemediationRequest& rr : r.requests) storm_requests += rr.is_storm ? 1 : 0;
  EXPECT_EQ(storm_requests, 1u);
}

TEST_P(MalformedIT, TooManyAlerts) {
  PipelineOptions o = options_;
  o.limits.max_items = 20;
  Reconfigure(o);
  ExpectRejected(Webhook(PodAlerts("A", "ns", 0, 21)), "21 alerts exceed the limit of 20");
}

TEST_P(MalformedIT, DeeplyNested) {
  ExpectRejected(R"({"alerts":[{"labels":{"alertname":"A"},"x":)" + std::string(5000, '[') +
                     std::string(5000, ']') + "}]}",
                 "nesting deeper than");
}

TEST_P(MalformedIT, InvalidUtf8) {
  ExpectRejected(WithLabels("{\"alertname\":\"A\xff\xfe\"}"), "invalid JSON");
}

TEST_P(MalformedIT, OneBadAlertRejectsTheWholePayload) {
  nlohmann::json doc = nlohmann::json::parse(Webhook(PodAlerts("A", "ns", 0, 9)));
  doc["alerts"].push_back({{"labels", {{"pod", "no-name"}}}});
  ExpectRejected(doc.dump(), "alerts[9].labels.alertname: missing");
}

TEST_P(MalformedIT, BadTimestamp) {
  ExpectRejected(R"({"alerts":[{"labels":{"alertname":"A"},"startsAt":"last tuesday"}]})",
                 "alerts[0].startsAt: not an RFC 3339 timestamp");
}

TEST_P(MalformedIT, EventWithoutInvolvedObject) {
  ExpectRejected(R"({"apiVersion":"v1","kind":"Event","type":"Warning","reason":"BackOff"})",
                 "involvedObject: missing", SignalSource::kKubernetesEvent);
}

TEST_P(MalformedIT, EventWithBadCount) {
  ExpectRejected(R"({"apiVersion":"v1","type":"Warning","reason":"R","count":"many",
                     "involvedObject":{"kind":"Pod","name":"p","namespace":"ns"}})",
                 "count: expected a non-negative integer", SignalSource::kKubernetesEvent);
}

TEST_P(MalformedIT, EventPayloadSentAsAlertmanager) {
  ExpectRejected(KubeEvent("BackOff", "ns", "Pod", "p"), "alerts: missing");
}

TEST_P(MalformedIT, RejectionLeavesEarlierStateUntouched) {
  ASSERT_OK(Ingest(PodAlert("A", "ns", "p"), SignalSource::kAlertmanager, "client").status);
  // The first payload's rate-limit bucket lives about a millisecond (burst 1000 at 1000/s): on a
  // real server it may expire between the two snapshots, so it is left out of both. The rejected
  // payload comes from another client, whose bucket must not appear.
  auto without_bucket = [&](const std::string& snapshot) {
    const std::string bucket = schema_.Key(family::kRateLimit, "client") + "|";
    std::istringstream in(snapshot);
    std::string out;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(bucket, 0) != 0) out += line + "\n";
    }
    return out;
  };
  const std::string before = without_bucket(Snapshot());
  IngestResult r = Ingest(R"({"alerts":[{"labels":{"alertname":"A","pod":"p"}},17]})",
                          SignalSource::kAlertmanager, "rejected-client");
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kRejected);
  EXPECT_EQ(without_bucket(Snapshot()), before);
  EXPECT_EQ(Snapshot().find(schema_.Key(family::kRateLimit, "rejected-client")), std::string::npos)
      << "a rejected payload wrote a rate-limit bucket";
}

STORMKV_INSTANTIATE_GATEWAY_IT(MalformedIT);

}  // namespace
}  // namespace stormkv::integration
