// Rate limiting: GCRA per client; Alertmanager callers get 503 + Retry-After, others 429.
#include "integration/fixture.h"

namespace stormkv::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::KubeEvent;
using testing::PodAlert;

class RateLimitIT : public GatewayIT {
 protected:
  // burst 5, then 1 payload per 20 s. (On Redis a bucket's TTL runs in real time: seconds of
  // margin keep a loaded machine from expiring it between two requests of a case.)
  void SetUp() override {
    GatewayIT::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PipelineOptions o = DefaultOptions();
    o.rate_limit_enabled = true;
    o.rate_limit.burst = 5;
    o.rate_limit.rate = 1;
    o.rate_limit.period = seconds(20);
    Reconfigure(o);
  }
  IngestResult Send(int i, const std::string& client = "am-1") {
    // Distinct alert names, so no storm forms: only the limiter decides.
    return Ingest(PodAlert("A" + std::to_string(i), "ns", "p"), SignalSource::kAlertmanager,
                  client);
  }
};

TEST_P(RateLimitIT, BurstIsAllowed) {
  for (int i = 0; i < 5; ++i) {
    IngestResult r = Send(i);
    ASSERT_OK(r.status);
    EXPECT_EQ(r.decisions[0].outcome, Outcome::kCreated);
  }
}

TEST_P(RateLimitIT, OverTheBurstAlertmanagerGets503) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(Send(i).status);
  IngestResult r = Send(5);
  EXPECT_EQ(r.http_status, 503) << "Alertmanager retries only 5xx";
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kRateLimited);
  EXPECT_FALSE(r.status.ok());
  EXPECT_TRUE(r.requests.empty());
}

TEST_P(RateLimitIT, RetryAfterIsWhenATokenReturns) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(Send(i).status);
  IngestResult r = Send(5);
  EXPECT_EQ(r.decisions[0].retry_after_ms, 20000);
  EXPECT_EQ(r.retry_after_seconds, 20);
  Advance(seconds(5));
  r = Send(5);
  EXPECT_EQ(r.decisions[0].retry_after_ms, 15000);
  EXPECT_EQ(r.retry_after_seconds, 15);
}

TEST_P(RateLimitIT, RefillAllowsAgain) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(Send(i).status);
  IngestResult denied = Send(5);
  ASSERT_EQ(denied.decisions[0].outcome, Outcome::kRateLimited);
  Advance(milliseconds(denied.decisions[0].retry_after_ms));
  EXPECT_EQ(Send(5).decisions[0].outcome, Outcome::kCreated);
  EXPECT_EQ(Send(6).decisions[0].outcome, Outcome::kRateLimited) << "one token per 20 s";
  Advance(seconds(100));
  for (int i = 7; i < 12; ++i) EXPECT_EQ(Send(i).decisions[0].outcome, Outcome::kCreated) << i;
}

TEST_P(RateLimitIT, ClientsAreIsolated) {
  for (int i = 0; i < 6; ++i) (void)Send(i, "am-1");
  EXPECT_EQ(Send(6, "am-1").decisions[0].outcome, Outcome::kRateLimited);
  EXPECT_EQ(Send(6, "am-2").decisions[0].outcome, Outcome::kCreated);
  EXPECT_EQ(CountKeys(family::kRateLimit), 2);
}

TEST_P(RateLimitIT, KubernetesCallersGet429) {
  IngestResult r;
  for (int i = 0; i < 6; ++i) {
    r = Ingest(KubeEvent("BackOff", "ns", "Pod", "p" + std::to_string(i)),
               SignalSource::kKubernetesEvent, "kube-watch");
  }
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kRateLimited);
}

TEST_P(RateLimitIT, RateLimitedPayloadTouchesNoAlertState) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(Send(i).status);
  const std::string before = Snapshot();
  IngestResult r =
      Ingest(testing::Webhook(PodAlerts("B", "other", 0, 8)), SignalSource::kAlertmanager, "am-1");
  EXPECT_EQ(r.Count(Outcome::kRateLimited), 8u);
  EXPECT_EQ(Snapshot(), before) << "a denied request spends nothing and records nothing";
}

TEST_P(RateLimitIT, BucketKeyExpiresWhenFullAgain) {
  ASSERT_OK(Send(0).status);
  EXPECT_EQ(CountKeys(family::kRateLimit), 1);
  Advance(seconds(20) + milliseconds(1));
  EXPECT_EQ(CountKeys(family::kRateLimit), 0) << "idle clients cost nothing";
}

TEST_P(RateLimitIT, PerSignalCostOption) {
  PipelineOptions o = options_;
  o.rate_limit_per_signal = true;
  Reconfigure(o);
  IngestResult r =
      Ingest(testing::Webhook(PodAlerts("A", "ns", 0, 4)), SignalSource::kAlertmanager, "am-1");
  ASSERT_OK(r.status);
  r = Ingest(testing::Webhook(PodAlerts("B", "ns", 0, 2)), SignalSource::kAlertmanager, "am-1");
  EXPECT_EQ(r.Count(Outcome::kRateLimited), 2u) << "4 + 2 > burst 5";
}

TEST_P(RateLimitIT, IgnoredOnlyPayloadDoesNotSpend) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(Send(i).status);
  IngestResult r = Ingest(KubeEvent("Pulled", "ns", "Pod", "p", "Normal"),
                          SignalSource::kKubernetesEvent, "am-1");
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kIgnored);
  EXPECT_EQ(r.http_status, 200);
}

STORMKV_INSTANTIATE_GATEWAY_IT(RateLimitIT);

}  // namespace
}  // namespace stormkv::integration
