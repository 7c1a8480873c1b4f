#include "stormkv/gateway/pipeline.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "gateway/payloads.h"
#include "stormkv/forwarding_backend.h"
#include "stormkv/gateway/fingerprint.h"
#include "stormkv/memory_backend.h"

namespace stormkv {
namespace {

using testing::KubeEvent;
using testing::PodAlert;
using testing::TestAlert;
using testing::Webhook;
using testing::StormWebhook;

// Fails operation number `n` (1-based): only that one, or (FailFrom) every later one too.
class FailNthBackend : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  void FailOnly(int64_t n, Status s) { Arm(n, false, std::move(s)); }
  void FailFrom(int64_t n, Status s) { Arm(n, true, std::move(s)); }
  Result<Reply> Run(const Command& argv) override {
    if (Fail()) return status_;
    return ForwardingBackend::Run(argv);
  }
  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override {
    if (Fail()) return status_;
    return ForwardingBackend::Eval(script, keys, args);
  }

 private:
  void Arm(int64_t n, bool sticky, Status s) {
    n_ = n;
    sticky_ = sticky;
    ops_ = 0;
    status_ = std::move(s);
  }
  bool Fail() {
    ++ops_;
    return n_ > 0 && (sticky_ ? ops_ >= n_ : ops_ == n_);
  }
  int64_t n_ = 0;
  int64_t ops_ = 0;
  bool sticky_ = false;
  Status status_;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MemoryBackendOptions o;
    o.clock = clock_;
    kv_ = NewMemoryBackend(o).value();
    ASSERT_NE(kv_, nullptr);
  }
  Pipeline Make(PipelineOptions o = {}) { return Pipeline(*kv_, clock_, std::move(o)); }
  int64_t Keys() { return kv_->DbSize().value_or(-1); }

  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::unique_ptr<KvBackend> kv_;
};

TEST_F(PipelineTest, NewAlertCreatesOneRequest) {
  Pipeline p = Make();
  IngestResult r = p.Ingest(PodAlert("HighMemoryUsage", "production", "api-server-7d9f"));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.http_status, 200);
  ASSERT_EQ(r.decisions.size(), 1u);
  const AlertDecision& d = r.decisions[0];
  EXPECT_EQ(d.outcome, Outcome::kCreated);
  EXPECT_EQ(d.fingerprint, "439738bf3e7ce3be4f784f00e75f006faefb295489cd7284b659a7be7e23998b");
  EXPECT_EQ(d.remediation_request, "rr-439738bf3e7ce3be");
  EXPECT_EQ(d.occurrence_count, 1);
  EXPECT_EQ(d.first_seen_ms, clock_->NowMs());
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].name, "rr-439738bf3e7ce3be");
  EXPECT_EQ(r.requests[0].received_time_ms, clock_->NowMs());
  EXPECT_FALSE(r.requests[0].is_storm);
}

TEST_F(PipelineTest, DuplicateUpdatesCountAndEmitsNothing) {
  Pipeline p = Make();
  const std::string payload = PodAlert("A", "ns", "p");
  ASSERT_OK(p.Ingest(payload).status);
  clock_->Advance(std::chrono::seconds(30));
  IngestResult r = p.Ingest(payload);
  ASSERT_OK(r.status);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kDuplicate);
  EXPECT_EQ(r.decisions[0].occurrence_count, 2);
  EXPECT_EQ(r.decisions[0].last_seen_ms - r.decisions[0].first_seen_ms, 30000);
  EXPECT_EQ(r.decisions[0].remediation_request, RemediationRequestName(r.decisions[0].fingerprint));
  EXPECT_TRUE(r.requests.empty());
}

TEST_F(PipelineTest, RejectedPayloadStoresNothing) {
  Pipeline p = Make();
  for (const std::string& bad :
       {std::string("{"), std::string(R"({"alerts":[]})"),
        std::string(R"({"alerts":[{"labels":{"alertname":"A","pod":"p"}},{"labels":{}}]})"),
        // A number beyond double range is bad input (400), not a gateway failure (500).
        std::string(R"({"alerts":[{"labels":{"alertname":"A"}}],"x":1e999})"),
        std::string(R"({"alerts":[{"labels":{"alertname":"A","n":-1e400}}]})")}) {
    IngestResult r = p.Ingest(bad);
    EXPECT_TRUE(r.status.IsInvalidArgument()) << r.status;
    EXPECT_EQ(r.http_status, 400);
    ASSERT_EQ(r.decisions.size(), 1u);
    EXPECT_EQ(r.decisions[0].outcome, Outcome::kRejected);
    EXPECT_FALSE(r.decisions[0].reason.empty());
    EXPECT_TRUE(r.requests.empty());
    EXPECT_EQ(Keys(), 0) << "not even a rate-limit bucket for " << bad;
  }
}

TEST_F(PipelineTest, ResolvedAndNormalAreIgnoredWithoutWrites) {
  Pipeline p = Make();
  TestAlert resolved;
  resolved.status = "resolved";
  IngestResult r = p.Ingest(Webhook(resolved));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kIgnored);
  EXPECT_NE(r.decisions[0].reason.find("resolved"), std::string::npos);
  r = p.Ingest(KubeEvent("Pulled", "ns", "Pod", "p", "Normal"), SignalSource::kKubernetesEvent);
  ASSERT_OK(r.status);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kIgnored);
  EXPECT_EQ(Keys(), 0);
}

TEST_F(PipelineTest, KubernetesWarningCreates) {
  Pipeline p = Make();
  IngestResult r =
      p.Ingest(KubeEvent("BackOff", "default", "Pod", "web-1"), SignalSource::kKubernetesEvent);
  ASSERT_OK(r.status);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kCreated);
  EXPECT_EQ(r.decisions[0].fingerprint,
            "62e988a94058329b0d6a6da529f5b36866248d4c0104f09d01f9ee5e21d707a0");
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].signal_type, "kubernetes-event");
}

TEST_F(PipelineTest, PatternStormAggregatesFromTheSixthResource) {
  Pipeline p = Make();
  std::vector<TestAlert> alerts;
  for (int i = 0; i < 15; ++i) {
    TestAlert a;
    a.name = "PodCrash";
    a.resource = "pod-" + std::to_string(i);
    alerts.push_back(a);
  }
  IngestResult r = p.Ingest(Webhook(alerts));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.Count(Outcome::kCreated), 5u);
  EXPECT_EQ(r.Count(Outcome::kStormAggregated), 10u);
  const AlertDecision& opener = r.decisions[5];
  EXPECT_TRUE(opener.storm_opened);
  EXPECT_EQ(opener.storm_type, StormType::kPattern);
  ASSERT_EQ(r.requests.size(), 6u);
  const RemediationRequest& storm = r.requests[5];
  EXPECT_TRUE(storm.is_storm);
  EXPECT_EQ(storm.storm_type, "pattern");
  EXPECT_EQ(storm.storm_window, "1m");
  EXPECT_EQ(storm.name, opener.remediation_request);
  EXPECT_EQ(r.decisions[14].remediation_request, storm.name);
  EXPECT_EQ(r.decisions[14].storm_alert_count, 10);

  NormalizedSignal s;
  s.name = "PodCrash";
  s.namespace_name = "production";
  s.resource = {"Pod", "pod-5"};
  s.severity = "critical";
  ASSERT_OK_AND_ASSIGN(auto rr, p.StormRequest(s));
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->name, storm.name);
  EXPECT_EQ(rr->storm_alert_count, 10);
  ASSERT_EQ(rr->affected_resources.size(), 10u);
  EXPECT_EQ(rr->affected_resources[0], "production:Pod:pod-10");
}

TEST_F(PipelineTest, RateLimitAnswers503ForAlertmanagerAnd429Otherwise) {
  PipelineOptions o;
  o.rate_limit.burst = 2;
  o.rate_limit.rate = 1;
  o.rate_limit.period = std::chrono::minutes(1);
  Pipeline p = Make(o);
  ASSERT_OK(p.Ingest(PodAlert("A", "ns", "p1"), SignalSource::kAlertmanager, "am").status);
  ASSERT_OK(p.Ingest(PodAlert("A", "ns", "p2"), SignalSource::kAlertmanager, "am").status);
  IngestResult r = p.Ingest(PodAlert("A", "ns", "p3"), SignalSource::kAlertmanager, "am");
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.retry_after_seconds, 60);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kRateLimited);
  EXPECT_EQ(r.decisions[0].retry_after_ms, 60000);
  IngestResult other =
      p.Ingest(KubeEvent("R", "ns", "Pod", "p"), SignalSource::kKubernetesEvent, "kube");
  ASSERT_OK(other.status);  // clients are isolated
  p.Ingest(KubeEvent("R", "ns", "Pod", "p2"), SignalSource::kKubernetesEvent, "kube");
  other = p.Ingest(KubeEvent("R", "ns", "Pod", "p3"), SignalSource::kKubernetesEvent, "kube");
  EXPECT_EQ(other.http_status, 429);
}

TEST_F(PipelineTest, BackendDownFailsClearlyAndWritesNothing) {
  FaultInjectionBackend faulty(kv_.get());
  faulty.FailAll(Status::Unavailable("injected: connection refused"));
  Pipeline p(faulty, clock_, {});
  TestAlert a, b;
  b.resource = "api-1";
  IngestResult r = p.Ingest(Webhook({a, b}));
  EXPECT_TRUE(r.status.IsUnavailable()) << r.status;
  EXPECT_EQ(r.http_status, 503);
  ASSERT_EQ(r.decisions.size(), 2u);
  for (const AlertDecision& d : r.decisions) {
    EXPECT_EQ(d.outcome, Outcome::kFailed);
    EXPECT_TRUE(d.status.IsUnavailable());
    EXPECT_NE(d.reason.find("connection refused"), std::string::npos) << d.reason;
  }
  EXPECT_TRUE(r.requests.empty());
  EXPECT_EQ(Keys(), 0);
}

TEST_F(PipelineTest, FailureAfterDedupAbandonsTheRecordSoTheRetryResumesIt) {
  FailNthBackend faulty(kv_.get());
  PipelineOptions o;
  o.rate_limit_enabled = false;
  Pipeline p(faulty, clock_, o);
  const Status oom = Status::OutOfMemory("OOM command not allowed when used memory > 'maxmemory'.");
  // Op 1 = dedup Begin (passes), op 2 = storm detection (fails), op 3 = abandon.
  faulty.FailOnly(2, oom);
  IngestResult r = p.Ingest(PodAlert("A", "ns", "p"));
  EXPECT_TRUE(r.status.IsOutOfMemory()) << r.status;
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kFailed);
  EXPECT_EQ(r.decisions[0].reason.find("abandon"), std::string::npos) << r.decisions[0].reason;
  EXPECT_TRUE(r.requests.empty());
  const std::string key = p.dedup().KeyFor(r.decisions[0].fingerprint);
  ASSERT_OK_AND_ASSIGN(auto owner, kv_->HGet(key, "p"));
  ASSERT_OK_AND_ASSIGN(auto since, kv_->HGet(key, "pt"));
  EXPECT_TRUE(owner.has_value() && !since.has_value()) << "the record is kept, abandoned";
  IngestResult retry = p.Ingest(PodAlert("A", "ns", "p"));
  ASSERT_OK(retry.status);
  EXPECT_EQ(retry.decisions[0].outcome, Outcome::kCreated) << "a retry is not a duplicate";
  EXPECT_EQ(retry.decisions[0].occurrence_count, 1) << "and not counted twice";
  ASSERT_EQ(retry.requests.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto p_field, kv_->HGet(key, "p"));
  EXPECT_FALSE(p_field.has_value()) << "finished after the retry";

  // The backend stays down: the abandon fails too, and the decision says what that means.
  faulty.FailFrom(2, oom);
  r = p.Ingest(PodAlert("B", "ns", "p"));
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kFailed);
  EXPECT_NE(r.decisions[0].reason.find("abandoning the unfinished dedup record failed too"),
            std::string::npos)
      << r.decisions[0].reason;
}

TEST_F(PipelineTest, LaterAlertsNotAttemptedAfterAFailure) {
  FailNthBackend faulty(kv_.get());
  PipelineOptions o;
  o.rate_limit_enabled = false;
  o.batch = false;  // alert by alert (batched: pipeline.h "Batching", tests/integration)
  Pipeline p(faulty, clock_, o);
  TestAlert a, b, c;
  b.resource = "api-1";
  c.resource = "api-2";
  // Alert 0 takes ops 1-3 (dedup, detection, done); alert 1's dedup (op 4) fails.
  faulty.FailOnly(4, Status::Unavailable("injected: connection reset"));
  IngestResult r = p.Ingest(Webhook({a, b, c}));
  EXPECT_TRUE(r.status.IsUnavailable());
  EXPECT_NE(r.status.message().find("alert 1"), std::string::npos) << r.status;
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kCreated);
  EXPECT_EQ(r.decisions[1].outcome, Outcome::kFailed);
  EXPECT_EQ(r.decisions[2].outcome, Outcome::kFailed);
  EXPECT_NE(r.decisions[2].reason.find("not attempted"), std::string::npos);
  EXPECT_EQ(r.requests.size(), 1u);
}

// The busy wait (another delivery's unfinished record) runs on the injected clock: with a
// ManualClock it takes busy_wait of virtual time and no real sleeping.
TEST_F(PipelineTest, BusyWaitFollowsTheInjectedClock) {
  PipelineOptions o;
  o.busy_wait = std::chrono::seconds(3);
  Pipeline p(*kv_, clock_, o);
  const std::string payload = PodAlert("HighMemoryUsage", "production", "api-0");
  // Another delivery of the same alert is being processed: its record is unfinished.
  Result<DedupResult> other = p.dedup().Begin(
      ComputeFingerprint("HighMemoryUsage", "production", {"Pod", "api-0"}), "rr-x", "other");
  ASSERT_OK(other);
  ASSERT_EQ(other->state, DedupState::kNew);
  const int64_t before_ms = clock_->NowMs();
  const auto real_start = std::chrono::steady_clock::now();
  IngestResult r = p.Ingest(payload);
  const auto real_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - real_start)
                           .count();
  EXPECT_TRUE(r.status.IsUnavailable()) << r.status;
  EXPECT_EQ(r.http_status, 503);
  EXPECT_NE(r.decisions[0].reason.find("still being processed"), std::string::npos)
      << r.decisions[0].reason;
  EXPECT_GE(clock_->NowMs() - before_ms, 2900) << "waited on the virtual clock";
  EXPECT_LE(clock_->NowMs() - before_ms, 3000);
  EXPECT_LT(real_ms, 1000) << "a virtual wait does not sleep";
}

TEST_F(PipelineTest, DecisionJson) {
  Pipeline p = Make();
  IngestResult r = p.Ingest(PodAlert("A", "ns", "p"));
  nlohmann::json j = nlohmann::json::parse(AlertDecisionToJson(r.decisions[0]));
  EXPECT_EQ(j["outcome"], "created");
  EXPECT_EQ(j["index"], 0);
  EXPECT_EQ(j["remediationRequest"], r.decisions[0].remediation_request);
  EXPECT_EQ(j["occurrenceCount"], 1);
  EXPECT_FALSE(j.contains("reason"));
}

TEST(DetectSignalSourceTest, Detects) {
  auto detect = [](std::string_view payload) { return DetectSignalSource(payload).value(); };
  EXPECT_EQ(detect(PodAlert("A", "n", "p")), SignalSource::kAlertmanager);
  EXPECT_EQ(detect(KubeEvent("R", "n", "Pod", "p")), SignalSource::kKubernetesEvent);
  EXPECT_EQ(detect(KubeEvent("R", "n", "Pod", "p", "Warning", true)),
            SignalSource::kKubernetesEvent);
  EXPECT_FALSE(detect("{").has_value());
  EXPECT_FALSE(detect("{}").has_value());
}

// An oversized payload is not a format problem: detection says what is wrong.
TEST(DetectSignalSourceTest, OversizedPayloadGivesTheRealReason) {
  const std::string storm = StormWebhook(2000);
  AdapterLimits limits;
  limits.max_payload_bytes = 1 << 20;
  Result<std::optional<SignalSource>> r = DetectSignalSource(storm, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_EQ(r.status().message(),
            "payload too large: " + std::to_string(storm.size()) + " bytes > limit 1048576");
  EXPECT_EQ(DetectSignalSource(storm).value(), SignalSource::kAlertmanager);
  EXPECT_EQ(OversizedPayloadHttpStatus(SignalSource::kAlertmanager), 503);
  EXPECT_EQ(OversizedPayloadHttpStatus(SignalSource::kKubernetesEvent), 413);
}

// Nesting past the cap is named with the byte where it goes too deep, whether the text then
// parses or not; at the cap, detection goes on.
TEST(DetectSignalSourceTest, TooDeepNestingGivesTheRealReason) {
  AdapterLimits limits;
  limits.max_json_depth = 4;
  const std::string deep = R"({"alerts":[{"labels":{"x":[1]}}]})";  // 5 deep; '[' at byte 26
  const std::string at_cap = R"({"alerts":[{"labels":{"x":1}}]})";
  for (const std::string& payload : {deep, deep.substr(0, deep.size() - 3) + ",,"}) {
    Result<std::optional<SignalSource>> r = DetectSignalSource(payload, limits);
    ASSERT_FALSE(r.ok()) << payload;
    EXPECT_EQ(r.status().message(), "payload: JSON nesting deeper than 4 at byte 26") << payload;
    EXPECT_EQ(r.status().message(), CheckPayloadEnvelope(payload, limits).message());
  }
  EXPECT_EQ(DetectSignalSource(at_cap, limits).value(), SignalSource::kAlertmanager);
  EXPECT_EQ(DetectSignalSource(deep).value(), SignalSource::kAlertmanager);  // default cap
  EXPECT_FALSE(DetectSignalSource(at_cap.substr(0, 20), limits).value().has_value());
}

}  // namespace
}  // namespace stormkv
