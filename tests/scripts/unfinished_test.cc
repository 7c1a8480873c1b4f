// At-least-once building blocks on every backend: Deduplicator::Begin/Finish (unfinished first
// occurrences: new, busy within the lease, resumed after an abandon or the lease, done) and
// StormAggregator request ids (a replayed add writes nothing and reports the same result).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "stormkv/gateway/dedup.h"
#include "stormkv/gateway/storm_aggregator.h"

namespace stormkv {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class UnfinishedTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { STORMKV_SETUP_BACKEND(GetParam(), tb_); }
  KvBackend& kv() { return *tb_->kv; }
  std::shared_ptr<const Clock> clock() { return tb_->clock; }
  void Advance(milliseconds d) { ASSERT_OK(tb_->advance(d)); }
  int64_t Now() { return tb_->clock->NowMs(); }
  Deduplicator Dedup(milliseconds lease = seconds(30)) {
    DedupOptions o;
    o.unfinished_lease = lease;
    return Deduplicator(kv(), clock(), KeySchema(), o);
  }
  // The dedup record's fields, sorted ("count=1 first=... p=a1 ...").
  std::string Fields(const Deduplicator& d, const std::string& fp) {
    auto h = kv().HGetAll(d.KeyFor(fp));
    EXPECT_TRUE(h.ok()) << h.status();
    std::map<std::string, std::string> sorted(h->begin(), h->end());
    std::string out;
    for (const auto& [f, v] : sorted) {
      if (f == "first" || f == "last" || f == "pt") {
        out += f + (v == "0" ? "=0 " : "=t ");
      } else {
        out += f + "=" + v + " ";
      }
    }
    return out;
  }
  StormAlert Alert(const std::string& resource, const std::string& request) {
    StormAlert a;
    a.ns = "payments";
    a.alertname = "KubePodCrashLooping";
    a.resource = resource;
    a.request_id = request;
    a.fingerprint = std::string(64, 'a');
    a.severity = "critical";
    return a;
  }
  std::optional<TestBackend> tb_;
};

TEST_P(UnfinishedTest, NewOccurrenceIsUnfinishedUntilDone) {
  Deduplicator d = Dedup();
  ASSERT_OK_AND_ASSIGN(DedupResult r, d.Begin("fp", "rr-1", "a1"));
  EXPECT_EQ(r.state, DedupState::kNew);
  EXPECT_FALSE(r.is_duplicate);
  EXPECT_EQ(r.count, 1);
  EXPECT_EQ(Fields(d, "fp"), "count=1 first=t last=t p=a1 pt=t ref=rr-1 ");
  ASSERT_OK_AND_ASSIGN(bool changed, d.Finish("fp", "a1", DedupFinish::kDone));
  EXPECT_TRUE(changed);
  EXPECT_EQ(Fields(d, "fp"), "count=1 first=t last=t ref=rr-1 ")
      << "a finished record is an ordinary one (same bytes as Record's)";
  ASSERT_OK_AND_ASSIGN(changed, d.Finish("fp", "a1", DedupFinish::kDone));
  EXPECT_FALSE(changed) << "finishing twice changes nothing";
  ASSERT_OK_AND_ASSIGN(DedupResult dup, d.Begin("fp", "rr-2", "a2"));
  EXPECT_EQ(dup.state, DedupState::kDuplicate);
  EXPECT_EQ(dup.count, 2);
  EXPECT_EQ(dup.rr_name, "rr-1");
  EXPECT_EQ(Fields(d, "fp"), "count=2 first=t last=t ref=rr-1 ") << "duplicates are never unfinished";
}

TEST_P(UnfinishedTest, AnotherAttemptIsBusyWithinTheLeaseAndResumesAfterIt) {
  Deduplicator d = Dedup(seconds(30));
  const int64_t t0 = Now();
  ASSERT_OK_AND_ASSIGN(DedupResult r, d.Begin("fp", "rr-1", "a1"));
  ASSERT_EQ(r.state, DedupState::kNew);
  Advance(seconds(29));
  ASSERT_OK_AND_ASSIGN(DedupResult busy, d.Begin("fp", "rr-x", "a2"));
  EXPECT_EQ(busy.state, DedupState::kBusy);
  EXPECT_TRUE(busy.is_duplicate);
  EXPECT_EQ(busy.count, 1);
  EXPECT_EQ(Fields(d, "fp"), "count=1 first=t last=t p=a1 pt=t ref=rr-1 ") << "busy writes nothing";
  Advance(seconds(1));
  ASSERT_OK_AND_ASSIGN(DedupResult resumed, d.Begin("fp", "rr-x", "a2"));
  EXPECT_EQ(resumed.state, DedupState::kResumed);
  EXPECT_FALSE(resumed.is_duplicate) << "a resumed occurrence is processed as the new alert it is";
  EXPECT_EQ(resumed.count, 1) << "not counted twice";
  EXPECT_EQ(resumed.first_seen_ms, t0);
  EXPECT_EQ(resumed.last_seen_ms, t0 + 30000);
  EXPECT_EQ(resumed.rr_name, "rr-1") << "the same request name";
  // The first attempt lost its ownership: its late Finish changes nothing.
  ASSERT_OK_AND_ASSIGN(bool changed, d.Finish("fp", "a1", DedupFinish::kDone));
  EXPECT_FALSE(changed);
  ASSERT_OK_AND_ASSIGN(changed, d.Finish("fp", "a2", DedupFinish::kDone));
  EXPECT_TRUE(changed);
}

TEST_P(UnfinishedTest, AbandonLetsTheNextDeliveryResumeAtOnce) {
  Deduplicator d = Dedup(seconds(30));
  ASSERT_OK(d.Begin("fp", "rr-1", "a1"));
  ASSERT_OK_AND_ASSIGN(bool changed, d.Finish("fp", "a2", DedupFinish::kAbandon));
  EXPECT_FALSE(changed) << "only the owner abandons";
  ASSERT_OK_AND_ASSIGN(changed, d.Finish("fp", "a1", DedupFinish::kAbandon));
  EXPECT_TRUE(changed);
  EXPECT_EQ(Fields(d, "fp"), "count=1 first=t last=t p=a1 ref=rr-1 ");
  ASSERT_OK_AND_ASSIGN(DedupResult resumed, d.Begin("fp", "rr-1", "a3"));
  EXPECT_EQ(resumed.state, DedupState::kResumed);
  EXPECT_EQ(resumed.count, 1);
  // The same attempt may also take its own unfinished record back (e.g. a retried call).
  ASSERT_OK_AND_ASSIGN(DedupResult again, d.Begin("fp", "rr-1", "a3"));
  EXPECT_EQ(again.state, DedupState::kResumed);
  EXPECT_EQ(again.count, 1);
}

TEST_P(UnfinishedTest, LeaseZeroResumesAnyUnfinishedRecord) {
  Deduplicator d = Dedup(milliseconds(0));
  ASSERT_OK(d.Begin("fp", "rr-1", "a1"));
  ASSERT_OK_AND_ASSIGN(DedupResult r, d.Begin("fp", "rr-1", "a2"));
  EXPECT_EQ(r.state, DedupState::kResumed);
}

TEST_P(UnfinishedTest, BadInputAndCorruptRecords) {
  Deduplicator d = Dedup();
  EXPECT_TRUE(d.Begin("fp", "rr", "").status().IsInvalidArgument());
  EXPECT_TRUE(d.Finish("fp", "", DedupFinish::kDone).status().IsInvalidArgument());
  EXPECT_TRUE(Dedup(milliseconds(-1)).Begin("fp", "rr", "a").status().IsInvalidArgument());
  ASSERT_OK(kv().Run({"HSET", d.KeyFor("bad"), "count", "x", "p", "a0", "pt", "0"}));
  EXPECT_EQ(d.Begin("bad", "rr", "a1").status().code(), StatusCode::kCorruption);
  ASSERT_OK(kv().Run({"SET", d.KeyFor("str"), "x"}));
  EXPECT_TRUE(d.Begin("str", "rr", "a1").status().IsWrongType());
  EXPECT_TRUE(d.Finish("str", "a1", DedupFinish::kDone).status().IsWrongType());
}

TEST_P(UnfinishedTest, StormAddWithTheLastRequestIdIsAReplay) {
  for (Layout layout : kAllLayouts) {
    SCOPED_TRACE(std::string(LayoutName(layout)));
    ASSERT_OK(kv().Run({"FLUSHDB"}));
    AggregationOptions o;
    o.layout = layout;
    StormAggregator agg(kv(), clock(), KeySchema(), o);
    ASSERT_OK_AND_ASSIGN(AggregateResult first, agg.Add(Alert("Pod/a", "r1")));
    EXPECT_TRUE(first.is_new);
    Advance(milliseconds(10));
    ASSERT_OK_AND_ASSIGN(AggregateResult replay, agg.Add(Alert("Pod/a", "r1")));
    EXPECT_TRUE(replay.is_new) << "the replay of the opening add reports the opening again";
    EXPECT_EQ(replay.alert_count, 1) << "not counted twice";
    EXPECT_EQ(replay.resource_count, 1);
    EXPECT_EQ(replay.last_seen_ms, first.last_seen_ms) << "nothing written";
    ASSERT_OK_AND_ASSIGN(AggregateResult second, agg.Add(Alert("Pod/b", "r2")));
    EXPECT_FALSE(second.is_new);
    EXPECT_EQ(second.alert_count, 2);
    ASSERT_OK_AND_ASSIGN(AggregateResult second_again, agg.Add(Alert("Pod/b", "r2")));
    EXPECT_FALSE(second_again.is_new);
    EXPECT_EQ(second_again.alert_count, 2);
    EXPECT_EQ(second_again.resource_count, 2);
    // Only the last add is recognised; an older id counts as a new alert.
    ASSERT_OK_AND_ASSIGN(AggregateResult old, agg.Add(Alert("Pod/a", "r1")));
    EXPECT_EQ(old.alert_count, 3);
    // No request id: never a replay.
    ASSERT_OK_AND_ASSIGN(AggregateResult plain, agg.Add(Alert("Pod/a", "")));
    ASSERT_OK_AND_ASSIGN(AggregateResult plain2, agg.Add(Alert("Pod/a", "")));
    EXPECT_EQ(plain2.alert_count, plain.alert_count + 1);
    ASSERT_OK_AND_ASSIGN(auto rec, agg.Get("payments", "KubePodCrashLooping"));
    ASSERT_TRUE(rec.has_value()) << "the stored record still decodes";
    EXPECT_EQ(rec->alert_count, 5);
    EXPECT_EQ(rec->resources.size(), 2u);
  }
}

INSTANTIATE_TEST_SUITE_P(All, UnfinishedTest, ::testing::ValuesIn(AllBackendNames()),
                         BackendParamName);

}  // namespace
}  // namespace stormkv
