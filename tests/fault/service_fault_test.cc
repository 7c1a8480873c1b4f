// Faults under each gateway service, on every backend: an injected Unavailable, Timeout or OOM
// (stormkv::FaultInjectionBackend) and a real OOM (maxmemory below used_memory) surface as that
// code with a clear message, write nothing, and the same call after Heal() counts from scratch.
// A batch cut half-way applies exactly the commands before the cut.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "fault/fault_util.h"
#include "stormkv/forwarding_backend.h"
#include "stormkv/gateway/dedup.h"
#include "stormkv/gateway/rate_limiter.h"
#include "stormkv/gateway/storm_aggregator.h"
#include "stormkv/gateway/storm_detector.h"
#include "stormkv/key_schema.h"

namespace stormkv::fault {
namespace {

constexpr const char* kOomText = "OOM command not allowed when used memory > 'maxmemory'.";
constexpr const char* kPrefix = "fault:";

struct Injected {
  const char* label;
  Status status;
};

std::vector<Injected> InjectedFaults() {
  return {{"unavailable", Status::Unavailable("injected: connection reset by peer")},
          {"timeout", Status::Timeout("injected: command timed out after 5000 ms")},
          {"oom", Status::OutOfMemory(kOomText)}};
}

KeySchema Schema() {
  KeySchemaOptions o;
  o.prefix = kPrefix;
  return KeySchema(o);
}

StormAlert Alert(const std::string& resource) {
  StormAlert a;
  a.ns = "payments";
  a.alertname = "PodCrashLooping";
  a.storm_type = StormType::kPattern;
  a.resource = resource;
  a.fingerprint = std::string(64, 'a');
  a.severity = "critical";
  a.labels = {{"alertname", "PodCrashLooping"}, {"namespace", "payments"}};
  return a;
}

// Expects `s` to be the injected failure: same code, the injected text kept, context in front.
void ExpectInjected(const Status& s, const Status& injected, const std::string& context) {
  EXPECT_EQ(s.code(), injected.code()) << context << ": " << s;
  EXPECT_NE(s.message().find(injected.message()), std::string::npos)
      << context << ": '" << s.message() << "' lost the backend's text";
}

class ServiceFaultTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    STORMKV_SETUP_BACKEND(GetParam(), tb_);
    faults_ = std::make_unique<FaultInjectionBackend>(tb_->kv.get());
  }
  void TearDown() override {
    if (tb_ && tb_->cleanup) tb_->cleanup();
  }
  KvBackend& kv() { return *tb_->kv; }
  std::map<std::string, KeyState> Keys() {
    Result<std::map<std::string, KeyState>> s = Snapshot(kv(), kPrefix);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : std::map<std::string, KeyState>{};
  }

  std::optional<TestBackend> tb_;
  std::unique_ptr<FaultInjectionBackend> faults_;
};

TEST_P(ServiceFaultTest, EveryServiceReportsTheInjectedFaultAndWritesNothing) {
  for (const Injected& f : InjectedFaults()) {
    SCOPED_TRACE(f.label);
    ASSERT_OK(kv().FlushDb());
    Deduplicator dedup(*faults_, tb_->clock, Schema());
    StormDetector detector(*faults_, tb_->clock, Schema());
    RateLimiter limiter(*faults_, tb_->clock, Schema(), RateLimitOptions{5, 5, std::chrono::seconds(1)});

    faults_->FailNext(1, f.status);
    Result<DedupResult> rec = dedup.Record(std::string(64, 'f'), "rr-ffffffffffffffff");
    ASSERT_FALSE(rec.ok());
    ExpectInjected(rec.status(), f.status, "dedup Record");

    faults_->FailNext(1, f.status);
    Result<StormCheck> check = detector.Observe("payments", "PodCrashLooping", "Pod/api-0");
    ASSERT_FALSE(check.ok());
    ExpectInjected(check.status(), f.status, "storm Observe");

    for (Layout layout : kAllLayouts) {
      AggregationOptions o;
      o.layout = layout;
      StormAggregator agg(*faults_, tb_->clock, Schema(), o);
      faults_->FailNext(1, f.status);
      Result<AggregateResult> added = agg.Add(Alert("Pod/api-0"));
      ASSERT_FALSE(added.ok());
      ExpectInjected(added.status(), f.status, std::string(LayoutName(layout)) + " Add");
      faults_->FailNext(1, f.status);
      Result<std::optional<StormRecord>> got = agg.Get("payments", "PodCrashLooping");
      ASSERT_FALSE(got.ok());
      ExpectInjected(got.status(), f.status, std::string(LayoutName(layout)) + " Get");
    }

    faults_->FailNext(1, f.status);
    Result<RateDecision> allowed = limiter.Allow("client-a");
    ASSERT_FALSE(allowed.ok());
    ExpectInjected(allowed.status(), f.status, "rate limit Allow");

    faults_->FailNext(1, f.status);
    Result<std::optional<DedupResult>> looked = dedup.Lookup(std::string(64, 'f'));
    ASSERT_FALSE(looked.ok());
    ExpectInjected(looked.status(), f.status, "dedup Lookup");

    EXPECT_TRUE(Keys().empty()) << "a failed call wrote something";
    EXPECT_EQ(faults_->injected(), 10);
    EXPECT_EQ(faults_->passed(), 0);

    // Heal: every call now starts from nothing, as if the failed one never happened.
    faults_->Heal();
    ASSERT_OK_AND_ASSIGN(DedupResult r, dedup.Record(std::string(64, 'f'), "rr-ffffffffffffffff"));
    EXPECT_FALSE(r.is_duplicate);
    EXPECT_EQ(r.count, 1);
    ASSERT_OK_AND_ASSIGN(StormCheck c, detector.Observe("payments", "PodCrashLooping", "Pod/api-0"));
    EXPECT_EQ(c.rate_count, 1);
    EXPECT_EQ(c.distinct_resources, 1);
    for (Layout layout : kAllLayouts) {
      AggregationOptions o;
      o.layout = layout;
      o.max_resources = 10;
      StormAggregator agg(*faults_, tb_->clock, KeySchema(KeySchemaOptions{
                                                    std::string(kPrefix) + std::string(LayoutName(layout)) + ":", 256}),
                          o);
      ASSERT_OK_AND_ASSIGN(AggregateResult a, agg.Add(Alert("Pod/api-0")));
      EXPECT_TRUE(a.is_new);
      EXPECT_EQ(a.alert_count, 1);
      EXPECT_EQ(a.resource_count, 1);
    }
    ASSERT_OK_AND_ASSIGN(RateDecision d, limiter.Allow("client-a"));
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 4) << "the failed Allow spent nothing";
    faults_ = std::make_unique<FaultInjectionBackend>(tb_->kv.get());
  }
}

TEST_P(ServiceFaultTest, FailuresInTheMiddleOfAStormLoseAndDoubleNothing) {
  for (Layout layout : kAllLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    ASSERT_OK(kv().FlushDb());
    AggregationOptions o;
    o.layout = layout;
    o.max_resources = 4;
    StormAggregator agg(*faults_, tb_->clock, Schema(), o);
    // 12 alerts over 6 resources; every third call fails first and is retried after Heal().
    AggregateResult last;
    for (int i = 0; i < 12; ++i) {
      const std::string resource = "Pod/api-" + std::to_string(i % 6);
      if (i % 3 == 1) {
        faults_->FailNext(1, Status::Unavailable("injected: connection reset by peer"));
        ASSERT_FALSE(agg.Add(Alert(resource)).ok());
        faults_->Heal();
      }
      ASSERT_OK_AND_ASSIGN(last, agg.Add(Alert(resource)));
      EXPECT_EQ(last.alert_count, i + 1);
    }
    EXPECT_EQ(last.resource_count, 4);
    EXPECT_EQ(last.overflow, 4) << "alerts of api-4 and api-5, twice each";
    ASSERT_OK_AND_ASSIGN(std::optional<StormRecord> rec, agg.Get("payments", "PodCrashLooping"));
    ASSERT_TRUE(rec.has_value());
    EXPECT_EQ(rec->alert_count, 12);
    EXPECT_EQ(rec->overflow, 4);
    EXPECT_EQ(rec->resources.size(), 4u);
  }
}

// A real OOM from the backend's own maxmemory check (maxmemory 1: every deny-oom command is
// refused) for each service: kOutOfMemory with Redis's text, nothing written; after the budget is
// restored the same calls succeed from scratch.
TEST_P(ServiceFaultTest, RealOomIsRefusedCleanlyAndRecoverable) {
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> old_mm, kv().ConfigGet("maxmemory"));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> old_policy, kv().ConfigGet("maxmemory-policy"));
  ASSERT_TRUE(old_mm.has_value() && old_policy.has_value());
  ASSERT_OK(kv().ConfigSet("maxmemory-policy", "noeviction"));
  ASSERT_OK(kv().ConfigSet("maxmemory", "1"));
  Deduplicator dedup(kv(), tb_->clock, Schema());
  StormDetector detector(kv(), tb_->clock, Schema());
  RateLimiter limiter(kv(), tb_->clock, Schema());
  std::vector<Status> errors;
  errors.push_back(dedup.Record(std::string(64, 'f'), "rr-f").status());
  errors.push_back(detector.Observe("payments", "PodCrashLooping", "Pod/api-0").status());
  for (Layout layout : kAllLayouts) {
    AggregationOptions o;
    o.layout = layout;
    errors.push_back(StormAggregator(kv(), tb_->clock, Schema(), o).Add(Alert("Pod/api-0")).status());
  }
  errors.push_back(limiter.Allow("client-a").status());
  std::map<std::string, KeyState> keys = Keys();
  ASSERT_OK(kv().ConfigSet("maxmemory", *old_mm));
  ASSERT_OK(kv().ConfigSet("maxmemory-policy", *old_policy));
  for (const Status& s : errors) {
    EXPECT_TRUE(s.IsOutOfMemory()) << s;
    EXPECT_NE(s.message().find(kOomText), std::string::npos) << s;
  }
  EXPECT_TRUE(keys.empty()) << "a refused call wrote " << keys.begin()->first;

  ASSERT_OK_AND_ASSIGN(DedupResult r, dedup.Record(std::string(64, 'f'), "rr-f"));
  EXPECT_EQ(r.count, 1);
  ASSERT_OK_AND_ASSIGN(StormCheck c, detector.Observe("payments", "PodCrashLooping", "Pod/api-0"));
  EXPECT_EQ(c.rate_count, 1);
  ASSERT_OK_AND_ASSIGN(RateDecision d, limiter.Allow("client-a"));
  EXPECT_EQ(d.remaining, limiter.options().burst - 1);
}

TEST_P(ServiceFaultTest, BatchCutHalfWayAppliesExactlyThePrefix) {
  std::vector<Command> batch;
  for (int i = 0; i < 6; ++i) batch.push_back({"SET", std::string(kPrefix) + "k" + std::to_string(i), "v"});
  faults_->FailBatchFrom(2, Status::Unavailable("injected: connection reset during the pipeline"));
  std::vector<Result<Reply>> got = faults_->RunBatch(batch);
  ASSERT_EQ(got.size(), batch.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    if (i < 2) {
      EXPECT_TRUE(got[i].ok()) << got[i].status();
    } else {
      EXPECT_TRUE(got[i].status().IsUnavailable()) << got[i].status();
      EXPECT_NE(got[i].status().message().find("reset during the pipeline"), std::string::npos);
    }
  }
  for (int i = 0; i < 6; ++i) {
    ASSERT_OK_AND_ASSIGN(int64_t n, kv().Exists({std::string(kPrefix) + "k" + std::to_string(i)}));
    EXPECT_EQ(n, i < 2 ? 1 : 0) << "k" << i;
  }
  // The cut applies to one batch only; a per-operation fault hits one entry in the middle.
  faults_->FailNext(1, Status::Timeout("injected: timed out"));
  std::vector<Command> incr = {{"INCR", std::string(kPrefix) + "n"}};
  EXPECT_TRUE(faults_->RunBatch(incr)[0].status().IsTimeout());
  std::vector<Result<Reply>> retry = faults_->RunBatch(batch);
  for (const Result<Reply>& r : retry) EXPECT_TRUE(r.ok()) << r.status();
  ASSERT_OK_AND_ASSIGN(int64_t n, kv().IncrBy(std::string(kPrefix) + "n", 1));
  EXPECT_EQ(n, 1) << "the timed-out INCR never reached the backend";
}

INSTANTIATE_TEST_SUITE_P(All, ServiceFaultTest, ::testing::ValuesIn(AllBackendNames()),
                         BackendParamName);

}  // namespace
}  // namespace stormkv::fault
