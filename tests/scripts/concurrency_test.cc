// Atomicity under concurrency, on every backend: many threads on one storm or one fingerprint.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "stormkv/gateway/dedup.h"
#include "stormkv/gateway/storm_aggregator.h"
#include "stormkv/gateway/storm_detector.h"

namespace stormkv {
namespace {

constexpr int kThreads = 8;
constexpr int kAlertsPerThread = 1000;
constexpr int kResources = 40;

class ConcurrencyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { STORMKV_SETUP_BACKEND(GetParam(), tb_); }

  // Runs fn(thread, i) for i in [0, per_thread) on `threads` threads started together; returns
  // the first error.
  Status RunThreads(int threads, int per_thread, const std::function<Status(int, int)>& fn) {
    std::latch start(threads);
    std::mutex mu;
    Status first_error;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < per_thread; ++i) {
          Status s = fn(t, i);
          if (!s.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            if (first_error.ok()) first_error = s;
            return;
          }
        }
      });
    }
    for (auto& th : pool) th.join();
    return first_error;
  }

  std::optional<TestBackend> tb_;
};

TEST_P(ConcurrencyTest, EightThreadsIntoOneStormKeepExactCounts) {
  for (Layout layout : kAllLayouts) {
    SCOPED_TRACE(std::string(LayoutName(layout)));
    AggregationOptions o;
    o.layout = layout;
    StormAggregator agg(*tb_->kv, tb_->clock,
                        KeySchema({.prefix = "c-" + std::string(LayoutName(layout)) + ":"}), o);
    std::atomic<int> news{0};
    ASSERT_OK(RunThreads(kThreads, kAlertsPerThread, [&](int t, int i) -> Status {
      StormAlert a;
      a.ns = "payments";
      a.alertname = "KubePodCrashLooping";
      a.storm_type = StormType::kPattern;
      a.resource = "Pod/api-" + std::to_string((t * kAlertsPerThread + i) % kResources);
      auto r = agg.Add(a);
      if (!r.ok()) return r.status();
      if (r->is_new) news.fetch_add(1);
      return Status::Ok();
    }));
    EXPECT_EQ(news.load(), 1);
    ASSERT_OK_AND_ASSIGN(auto rec, agg.Get("payments", "KubePodCrashLooping"));
    ASSERT_TRUE(rec.has_value());
    EXPECT_EQ(rec->alert_count, kThreads * kAlertsPerThread);
    EXPECT_EQ(rec->overflow, 0);
    std::set<std::string> names;
    int64_t per_resource_total = 0;
    for (const auto& r : rec->resources) {
      names.insert(r.name);
      per_resource_total += r.alert_count;
    }
    std::set<std::string> expected;
    for (int i = 0; i < kResources; ++i) expected.insert("Pod/api-" + std::to_string(i));
    EXPECT_EQ(names, expected);
    EXPECT_EQ(rec->resources.size(), expected.size()) << "no resource listed twice";
    if (layout == Layout::kCompact) {
      EXPECT_EQ(per_resource_total, kThreads * kAlertsPerThread);
    }
  }
}

TEST_P(ConcurrencyTest, HundredConcurrentFirstAlertsOpenOneStorm) {
  for (Layout layout : kAllLayouts) {
    SCOPED_TRACE(std::string(LayoutName(layout)));
    AggregationOptions o;
    o.layout = layout;
    StormAggregator agg(*tb_->kv, tb_->clock,
                        KeySchema({.prefix = "n-" + std::string(LayoutName(layout)) + ":"}), o);
    std::atomic<int> news{0};
    ASSERT_OK(RunThreads(100, 1, [&](int t, int) -> Status {
      StormAlert a;
      a.ns = "ns";
      a.alertname = "A";
      a.resource = "Pod/p" + std::to_string(t);
      auto r = agg.Add(a);
      if (!r.ok()) return r.status();
      if (r->is_new) news.fetch_add(1);
      return Status::Ok();
    }));
    EXPECT_EQ(news.load(), 1);
  }
}

TEST_P(ConcurrencyTest, HundredConcurrentFirstOccurrencesGiveOneOriginal) {
  Deduplicator dedup(*tb_->kv, tb_->clock, KeySchema());
  std::atomic<int> originals{0};
  std::mutex mu;
  std::set<std::string> refs;
  std::set<int64_t> counts;
  ASSERT_OK(RunThreads(100, 1, [&](int t, int) -> Status {
    auto r = dedup.Record("fp-shared", "rr-" + std::to_string(t));
    if (!r.ok()) return r.status();
    if (!r->is_duplicate) originals.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu);
    refs.insert(r->rr_name);
    counts.insert(r->count);
    return Status::Ok();
  }));
  EXPECT_EQ(originals.load(), 1);
  EXPECT_EQ(refs.size(), 1u) << "every occurrence names the first one's remediation request";
  EXPECT_EQ(counts.size(), 100u) << "counts 1..100, each once";
  EXPECT_EQ(*counts.rbegin(), 100);
}

TEST_P(ConcurrencyTest, DetectorCountsEveryAlert) {
  StormDetectionOptions o;
  o.max_tracked_resources = 10000;
  StormDetector det(*tb_->kv, tb_->clock, KeySchema(), o);
  ASSERT_OK(RunThreads(kThreads, 250, [&](int t, int i) -> Status {
    return det.Observe("ns", "A", "Pod/" + std::to_string(t) + "-" + std::to_string(i)).status();
  }));
  ASSERT_OK_AND_ASSIGN(StormCheck c, det.Observe("ns", "A", "Pod/last"));
  EXPECT_EQ(c.rate_count, kThreads * 250 + 1);
  EXPECT_EQ(c.distinct_resources, kThreads * 250 + 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConcurrencyTest, ::testing::ValuesIn(AllBackendNames()),
                         BackendParamName);

}  // namespace
}  // namespace stormkv
