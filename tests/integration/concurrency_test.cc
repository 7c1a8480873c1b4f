// Concurrency: many gateway replicas (threads) ingesting at once against one backend.
#include <atomic>
#include <set>
#include <thread>

#include "integration/fixture.h"

namespace stormkv::integration {
namespace {

using testing::PodAlert;
using testing::Webhook;

class ConcurrencyIT : public GatewayIT {
 protected:
  // Runs fn(i) for i in [0, n) on n threads started together; returns the results in order.
  std::vector<IngestResult> Parallel(int n, const std::function<IngestResult(int)>& fn) {
    // A delivery waiting for another one of the same alert polls on the virtual clock; with a
    // hundred threads on two loaded cores the first delivery may need far more real time than
    // the default 1 s of (virtual) waiting buys. 20 s stays within the 30 s unfinished lease, so
    // the waiters still see the first delivery's work, never resume it.
    PipelineOptions o = options_;  // the case's own options, if it set any
    o.busy_wait = std::chrono::seconds(20);
    Reconfigure(o);  // created before the threads start
    std::vector<IngestResult> out(n);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < n) std::this_thread::yield();
        out[i] = fn(i);
      });
    }
    for (std::thread& t : threads) t.join();
    return out;
  }
  static std::size_t Count(const std::vector<IngestResult>& rs, Outcome o) {
    std::size_t n = 0;
    for (const IngestResult& r : rs) n += r.Count(o);
    return n;
  }
};

TEST_P(ConcurrencyIT, HundredSameFingerprintRequestsCreateOnce) {
  const std::string payload = PodAlert("HighMemoryUsage", "production", "api-0");
  std::vector<IngestResult> rs = Parallel(100, [&](int) { return Ingest(payload); });
  for (const IngestResult& r : rs) ASSERT_OK(r.status);
  EXPECT_EQ(Count(rs, Outcome::kCreated), 1u);
  EXPECT_EQ(Count(rs, Outcome::kDuplicate), 99u);
  std::set<int64_t> counts;
  for (const IngestResult& r : rs) counts.insert(r.decisions[0].occurrence_count);
  EXPECT_EQ(counts.size(), 100u) << "every occurrence got its own count 1..100";
  EXPECT_EQ(*counts.rbegin(), 100);
  EXPECT_EQ(CountKeys(family::kDedup), 1);
}

TEST_P(ConcurrencyIT, FiftyStormRequestsOpenOneStorm) {
  std::vector<IngestResult> rs =
      Parallel(50, [&](int i) { return Alert("PodCrash", "shop", "pod-" + std::to_string(i)); });
  for (const IngestResult& r : rs) ASSERT_OK(r.status);
  EXPECT_EQ(Count(rs, Outcome::kCreated), 5u) << "exactly five alerts came before the threshold";
  EXPECT_EQ(Count(rs, Outcome::kStormAggregated), 45u);
  std::size_t opened = 0, storm_requests = 0;
  for (const IngestResult& r : rs) {
    opened += r.decisions[0].storm_opened;
    for (const RemediationRequest& rr : r.requests) storm_requests += rr.is_storm;
  }
  EXPECT_EQ(opened, 1u);
  EXPECT_EQ(storm_requests, 1u);
  Result<std::optional<StormRecord>> rec = pipeline().aggregator().Get("shop", "PodCrash");
  ASSERT_OK(rec);
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->alert_count, 45);
  EXPECT_EQ((*rec)->resources.size(), 45u);
}

TEST_P(ConcurrencyIT, ManyNamespacesInParallel) {
  std::vector<IngestResult> rs = Parallel(40, [&](int i) {
    return Ingest(Webhook(PodAlerts("PodCrash", "ns-" + std::to_string(i), 0, 5)));
  });
  for (const IngestResult& r : rs) ASSERT_OK(r.status);
  EXPECT_EQ(Count(rs, Outcome::kCreated), 200u) << "five per namespace: no storm anywhere";
  EXPECT_EQ(CountKeys(family::kStormAgg), 0);
  EXPECT_EQ(CountKeys(family::kDedup), 200);
}

TEST_P(ConcurrencyIT, DuplicateCountIsExactUnderContention) {
  const std::string payload = Webhook(std::vector<testing::TestAlert>(10, testing::TestAlert{}));
  std::vector<IngestResult> rs = Parallel(20, [&](int) { return Ingest(payload); });
  int64_t max_count = 0;
  for (const IngestResult& r : rs) {
    ASSERT_OK(r.status);
    for (const AlertDecision& d : r.decisions) max_count = std::max(max_count, d.occurrence_count);
  }
  EXPECT_EQ(max_count, 200);
  EXPECT_EQ(Count(rs, Outcome::kCreated), 1u);
}

TEST_P(ConcurrencyIT, RateLimitHoldsUnderContention) {
  PipelineOptions o = DefaultOptions();
  o.rate_limit_enabled = true;
  o.rate_limit.burst = 10;
  o.rate_limit.rate = 1;
  o.rate_limit.period = std::chrono::minutes(1);
  Reconfigure(o);
  std::vector<IngestResult> rs = Parallel(30, [&](int i) {
    return Ingest(PodAlert("A", "ns", "p" + std::to_string(i)), SignalSource::kAlertmanager,
                  "one-client");
  });
  EXPECT_EQ(Count(rs, Outcome::kCreated) + Count(rs, Outcome::kStormAggregated), 10u);
  EXPECT_EQ(Count(rs, Outcome::kRateLimited), 20u);
}

STORMKV_INSTANTIATE_GATEWAY_IT(ConcurrencyIT);

}  // namespace
}  // namespace stormkv::integration
