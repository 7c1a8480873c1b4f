// Backend failure: unreachable Redis, injected and real OOM, timeouts, corrupt records — each a
// clear error in the result, never a crash or a silent drop, and nothing half-written.
#include "common/test_env.h"
#include "integration/fixture.h"
#include "stormkv/forwarding_backend.h"
#include "stormkv/gateway/fingerprint.h"
#include "stormkv/memory_backend.h"
#include "stormkv/redis_backend.h"

namespace stormkv::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::PodAlert;
using testing::Webhook;

constexpr const char* kOomText = "OOM command not allowed when used memory > 'maxmemory'.";

// Fails exactly operation number n (1-based) of Run/Eval, counting from Arm().
class FailNth : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  void Arm(int64_t n, Status s) {
    n_ = n;
    ops_ = 0;
    status_ = std::move(s);
  }
  Result<Reply> Run(const Command& argv) override {
    if (Hit()) return status_;
    return ForwardingBackend::Run(argv);
  }
  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override {
    if (Hit()) return status_;
    return ForwardingBackend::Eval(script, keys, args);
  }

 private:
  bool Hit() { return ++ops_ == n_; }
  std::atomic<int64_t> n_{0};
  std::atomic<int64_t> ops_{0};
  Status status_;
};

class FailureIT : public GatewayIT {};

TEST_P(FailureIT, BackendDownFailsEveryAlertClearly) {
  FaultInjectionBackend down(&kv());
  down.FailAll(Status::Unavailable(kv().Describe() + ": Connection refused"));
  Pipeline p(down, clock(), DefaultOptions());
  IngestResult r = p.Ingest(Webhook(PodAlerts("A", "ns", 0, 3)));
  EXPECT_TRUE(r.status.IsUnavailable()) << r.status;
  EXPECT_EQ(r.http_status, 503) << "Alertmanager must retry";
  ASSERT_EQ(r.decisions.size(), 3u);
  for (const AlertDecision& d : r.decisions) {
    EXPECT_EQ(d.outcome, Outcome::kFailed);
    EXPECT_NE(d.reason.find("Connection refused"), std::string::npos) << d.reason;
  }
  EXPECT_TRUE(r.requests.empty());
  EXPECT_EQ(CountKeys(), 0);
}

TEST_P(FailureIT, RetryAfterRecoveryGivesTheRightCounts) {
  FaultInjectionBackend flaky(&kv());
  Pipeline p(flaky, clock(), DefaultOptions());
  const std::string payload = Webhook(PodAlerts("A", "ns", 0, 3));
  flaky.FailAll(Status::Unavailable("injected: server restarting"));
  EXPECT_FALSE(p.Ingest(payload).status.ok());
  flaky.Heal();
  IngestResult r = p.Ingest(payload);
  ASSERT_OK(r.status);
  EXPECT_EQ(r.Count(Outcome::kCreated), 3u) << "the failed attempt left nothing behind";
  for (const AlertDecision& d : r.decisions) EXPECT_EQ(d.occurrence_count, 1);
}

TEST_P(FailureIT, InjectedOomMidAlertIsAbandonedAndResumedByTheRetry) {
  FailNth faulty(&kv());
  Pipeline p(faulty, clock(), DefaultOptions());
  ASSERT_OK(p.Ingest(PodAlert("Seed", "ns", "p")).status);
  const std::string before = Snapshot();
  faulty.Arm(2, Status::OutOfMemory(kOomText));  // dedup passes, storm detection is refused
  IngestResult r = p.Ingest(PodAlert("A", "ns", "p"));
  EXPECT_TRUE(r.status.IsOutOfMemory());
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kFailed);
  EXPECT_NE(r.decisions[0].reason.find(kOomText), std::string::npos) << r.decisions[0].reason;
  EXPECT_TRUE(r.requests.empty());
  IngestResult retry = p.Ingest(PodAlert("A", "ns", "p"));
  ASSERT_OK(retry.status);
  EXPECT_EQ(retry.decisions[0].outcome, Outcome::kCreated) << "resumed, not a duplicate";
  EXPECT_EQ(retry.decisions[0].occurrence_count, 1);
  EXPECT_EQ(retry.requests.size(), 1u);
  // The end state is the fault-free one: Seed and A, nothing unfinished (the refused detection
  // wrote nothing, so even the storm-rate counter is exact).
  const std::string got = Snapshot();
  ASSERT_OK(kv().Run({"FLUSHDB"}));
  Pipeline clean(kv(), clock(), DefaultOptions());
  ASSERT_OK(clean.Ingest(PodAlert("Seed", "ns", "p")).status);
  ASSERT_EQ(Snapshot(), before);
  ASSERT_OK(clean.Ingest(PodAlert("A", "ns", "p")).status);
  EXPECT_EQ(got, Snapshot());
}

TEST_P(FailureIT, OomDuringAggregationIsAbandonedAndTheRetryOpensTheStorm) {
  FailNth faulty(&kv());
  Pipeline p(faulty, clock(), DefaultOptions());
  ASSERT_OK(p.Ingest(Webhook(PodAlerts("A", "ns", 0, 5))).status);
  faulty.Arm(3, Status::OutOfMemory(kOomText));  // dedup, detection pass; aggregation refused
  IngestResult r = p.Ingest(PodAlert("A", "ns", "pod-5"));
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kFailed);
  EXPECT_TRUE(r.decisions[0].status.IsOutOfMemory());
  EXPECT_TRUE(r.requests.empty());
  EXPECT_EQ(CountKeys(family::kStormAgg), 0);
  IngestResult retry = p.Ingest(PodAlert("A", "ns", "pod-5"));
  EXPECT_EQ(retry.decisions[0].outcome, Outcome::kStormAggregated);
  EXPECT_TRUE(retry.decisions[0].storm_opened);
  EXPECT_EQ(retry.decisions[0].occurrence_count, 1);
  ASSERT_EQ(retry.requests.size(), 1u);
  EXPECT_TRUE(retry.requests[0].is_storm);
}

TEST_P(FailureIT, TimeoutIsAClearError) {
  FaultInjectionBackend slow(&kv());
  slow.FailNext(1, Status::Timeout(kv().Describe() + ": command timed out after 5000 ms"));
  Pipeline p(slow, clock(), DefaultOptions());
  IngestResult r = p.Ingest(PodAlert("A", "ns", "p"));
  EXPECT_TRUE(r.status.IsTimeout()) << r.status;
  EXPECT_NE(r.decisions[0].reason.find("timed out"), std::string::npos);
  EXPECT_EQ(CountKeys(), 0);
}

TEST_P(FailureIT, FailureMidPayloadLosesNoAlert) {
  FailNth faulty(&kv());
  PipelineOptions o = DefaultOptions();
  o.batch = false;  // alert by alert: the error fails alert 2 and every later one
  Pipeline p(faulty, clock(), o);
  const std::string payload = Webhook(PodAlerts("A", "ns", 0, 4));
  faulty.Arm(7, Status::Unavailable("injected: connection reset"));  // alert 2's dedup
  IngestResult r = p.Ingest(payload);
  EXPECT_EQ(r.Count(Outcome::kCreated), 2u);
  EXPECT_EQ(r.Count(Outcome::kFailed), 2u);
  IngestResult retry = p.Ingest(payload);
  ASSERT_OK(retry.status);
  EXPECT_EQ(retry.decisions[0].outcome, Outcome::kDuplicate);
  EXPECT_EQ(retry.decisions[1].outcome, Outcome::kDuplicate);
  EXPECT_EQ(retry.decisions[2].outcome, Outcome::kCreated);
  EXPECT_EQ(retry.decisions[3].outcome, Outcome::kCreated);
}

// Batched (pipeline.h "Batching"): the error fails the alert it hit; the others of its stage were
// sent in the same pipeline and are processed to their end. The retry completes the failed one.
TEST_P(FailureIT, BatchedFailureMidPayloadFailsOnlyTheAlertItHit) {
  FailNth faulty(&kv());
  PipelineOptions o = DefaultOptions();
  o.batch = true;
  Pipeline p(faulty, clock(), o);
  const std::string payload = Webhook(PodAlerts("A", "ns", 0, 4));
  faulty.Arm(3, Status::Unavailable("injected: connection reset"));  // alert 2's dedup
  IngestResult r = p.Ingest(payload);
  EXPECT_TRUE(r.status.IsUnavailable()) << r.status;
  EXPECT_NE(r.status.message().find("alert 2"), std::string::npos) << r.status;
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.Count(Outcome::kCreated), 3u);
  EXPECT_EQ(r.decisions[2].outcome, Outcome::kFailed);
  EXPECT_EQ(r.requests.size(), 3u);
  IngestResult retry = p.Ingest(payload);
  ASSERT_OK(retry.status);
  EXPECT_EQ(retry.decisions[0].outcome, Outcome::kDuplicate);
  EXPECT_EQ(retry.decisions[1].outcome, Outcome::kDuplicate);
  EXPECT_EQ(retry.decisions[2].outcome, Outcome::kCreated);
  EXPECT_EQ(retry.decisions[2].occurrence_count, 1) << "resumed, not counted twice";
  EXPECT_EQ(retry.decisions[3].outcome, Outcome::kDuplicate);
}

TEST_P(FailureIT, WrongTypeAtAGatewayKeyIsAClearError) {
  const std::string fp = ComputeFingerprint("A", "ns", {"Pod", "p"});
  ASSERT_OK(kv().Set(pipeline().dedup().KeyFor(fp), "squatter",
                     SetOptions{std::chrono::milliseconds(60000)}));
  IngestResult r = Ingest(PodAlert("A", "ns", "p"));
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kFailed);
  EXPECT_TRUE(r.decisions[0].status.IsWrongType()) << r.decisions[0].status;
  EXPECT_NE(r.decisions[0].reason.find("WRONGTYPE"), std::string::npos);
}

TEST_P(FailureIT, CorruptStormRecordIsReportedNotRewritten) {
  PipelineOptions o = DefaultOptions();
  o.aggregation.layout = Layout::kJsonMeta;
  Reconfigure(o);
  ASSERT_OK(Ingest(Webhook(PodAlerts("A", "ns", 0, 6))).status);
  const std::string key = pipeline().aggregator().KeyFor("ns", "A");
  ASSERT_OK(kv().Set(key, "{not json", SetOptions{std::chrono::milliseconds(60000)}));
  IngestResult r = Ingest(PodAlert("A", "ns", "pod-6"));
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kFailed);
  EXPECT_TRUE(r.decisions[0].status.IsCorruption()) << r.decisions[0].status;
  ASSERT_OK_AND_ASSIGN(auto raw, kv().Get(key));
  EXPECT_EQ(raw.value_or(""), "{not json") << "the record is left for inspection";
}

STORMKV_INSTANTIATE_GATEWAY_IT(FailureIT);

// A real OOM from the embedded store's own accounting, on a private store with a tiny budget
// (the shared budget backends never see an OOM: the suite checks errorstat_OOM stays 0).
TEST(FailureStandaloneTest, RealOomOnATinyPrivateStore) {
  auto clock = std::make_shared<ManualClock>();
  MemoryBackendOptions mo;
  mo.clock = clock;
  std::unique_ptr<KvBackend> kv = NewMemoryBackend(mo).value();
  ASSERT_OK_AND_ASSIGN(int64_t used, InfoMemoryField(*kv, "used_memory"));
  ASSERT_OK(kv->ConfigSet("maxmemory", std::to_string(used + 20000)));
  PipelineOptions o;
  o.rate_limit_enabled = false;
  Pipeline p(*kv, clock, o);
  IngestResult r;
  int created = 0;
  for (int i = 0; i < 1000; ++i) {
    r = p.Ingest(PodAlert("A", "ns-" + std::to_string(i), "p"));
    if (!r.status.ok()) break;
    ++created;
  }
  ASSERT_TRUE(r.status.IsOutOfMemory()) << r.status;
  EXPECT_GT(created, 5);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.decisions[0].outcome, Outcome::kFailed);
  EXPECT_NE(r.decisions[0].reason.find(kOomText), std::string::npos) << r.decisions[0].reason;
  ASSERT_OK_AND_ASSIGN(int64_t ooms, OomErrorCount(*kv));
  EXPECT_GE(ooms, 1);
  // With room again, the refused alert is processed as new (whatever part of it was written).
  ASSERT_OK(kv->ConfigSet("maxmemory", "0"));
  const std::string refused = r.decisions[0].namespace_name;
  IngestResult retry = p.Ingest(PodAlert("A", refused, "p"));
  ASSERT_OK(retry.status);
  EXPECT_EQ(retry.decisions[0].outcome, Outcome::kCreated);
  EXPECT_EQ(retry.decisions[0].occurrence_count, 1);
}

TEST(FailureStandaloneTest, UnreachableRedisIsAClearErrorAndWritesNothing) {
  RedisOptions ro;
  ro.url = "redis://127.0.0.1:" + std::to_string(ClosedLoopbackPort()) + "/0";
  ro.connect_eagerly = false;
  ro.connect_timeout = milliseconds(500);
  ro.command_timeout = milliseconds(500);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> kv, NewRedisBackend(ro));
  auto clock = std::make_shared<ManualClock>();
  Pipeline p(*kv, clock, PipelineOptions{});
  IngestResult r = p.Ingest(Webhook(PodAlerts("A", "ns", 0, 3)));
  EXPECT_TRUE(r.status.IsUnavailable() || r.status.IsTimeout()) << r.status;
  EXPECT_EQ(r.http_status, 503);
  EXPECT_NE(r.status.message().find(kv->Describe()), std::string::npos)
      << "the error names the server: " << r.status;
  for (const AlertDecision& d : r.decisions) EXPECT_EQ(d.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.requests.empty());

  RedisOptions eager = ro;
  eager.connect_eagerly = true;
  Result<std::unique_ptr<KvBackend>> created = NewRedisBackend(eager);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(created.status().IsUnavailable()) << created.status();
}

}  // namespace
}  // namespace stormkv::integration
