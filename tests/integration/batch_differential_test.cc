// The batched pipeline (PipelineOptions::batch, pipeline.h "Batching") against sequential
// processing (batch = false), on every backend: seeded random webhooks — the same alert twice in
// one payload, storms opening mid-payload, resolved alerts, rate limiting, storms closing — go
// through both, each under its own key prefix at the same instants; every decision, every
// emitted request (in order) and, at the end, every stored key must be equal. Concurrent
// deliveries (threads) must end with the counts and keys of the same deliveries made one after
// the other.
#include <atomic>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "fault/fault_util.h"
#include "integration/fixture.h"
#include "stormkv/gateway/remediation_request.h"

namespace stormkv::integration {
namespace {

using testing::TestAlert;
using testing::Webhook;

constexpr int64_t kTtlSlackMs = 5000;  // Redis TTLs run in real time between the two runs

class BatchDifferentialIT : public GatewayIT {
 protected:
  static PipelineOptions Options(const std::string& prefix, bool batch) {
    PipelineOptions o;
    o.keys.prefix = prefix;
    o.batch = batch;
    o.storm.rate_threshold = 6;     // rate storms within a 40-alert payload
    o.storm.pattern_threshold = 3;  // pattern storms at the 4th distinct pod
    o.aggregation.inactivity_window = std::chrono::seconds(30);
    o.aggregation.hard_cap = std::chrono::seconds(90);
    o.aggregation.max_resources = 5;  // overflow too
    o.rate_limit_enabled = true;
    o.rate_limit_per_signal = true;  // a payload costs its signals: some are rate limited
    o.rate_limit.burst = 45;
    o.rate_limit.rate = 6;
    return o;
  }

  // A random alert of a small universe, so payloads repeat alerts and storms form.
  static TestAlert RandomAlert(std::mt19937& rng) {
    static const char* kNames[] = {"PodCrash", "HighLatency", "DiskFull"};
    static const char* kNs[] = {"shop", "payments", ""};
    TestAlert a;
    a.name = kNames[rng() % 3];
    a.ns = kNs[rng() % 3];
    a.resource = "pod-" + std::to_string(rng() % 8);
    if (rng() % 10 == 0) a.status = "resolved";
    if (rng() % 12 == 0) a.resource_label = "";  // no resource
    a.severity = rng() % 2 ? "critical" : "warning";
    return a;
  }

  static std::vector<TestAlert> RandomPayload(std::mt19937& rng) {
    const int n = rng() % 4 == 0 ? 1 + static_cast<int>(rng() % 3) : 5 + static_cast<int>(rng() % 36);
    std::vector<TestAlert> out;
    for (int i = 0; i < n; ++i) {
      if (!out.empty() && rng() % 6 == 0) {
        out.push_back(out[rng() % out.size()]);  // the same alert twice in one payload
      } else {
        out.push_back(RandomAlert(rng));
      }
    }
    return out;
  }

  static std::string Lines(const IngestResult& r) {
    std::ostringstream os;
    os << "status " << StatusCodeName(r.status.code()) << " " << r.status.message() << " http "
       << r.http_status << " retry " << r.retry_after_seconds << "\n";
    for (const AlertDecision& d : r.decisions) os << AlertDecisionToJson(d) << "\n";
    for (const RemediationRequest& rr : r.requests) os << RemediationRequestToJson(rr) << "\n";
    return os.str();
  }
  static std::string Lines(const StormCloseResult& r) {
    std::ostringstream os;
    os << "close " << StatusCodeName(r.status.code()) << " closed " << r.closed << " not_due "
       << r.not_due << " busy " << r.busy << " expired " << r.expired << "\n";
    for (const RemediationRequest& rr : r.requests) os << RemediationRequestToJson(rr) << "\n";
    return os.str();
  }

  std::map<std::string, fault::KeyState> Keys(const std::string& prefix) {
    Result<std::map<std::string, fault::KeyState>> s = fault::Snapshot(kv(), prefix);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : std::map<std::string, fault::KeyState>{};
  }
};

TEST_P(BatchDifferentialIT, SeededRandomPayloadsEqualSequentialProcessing) {
  int64_t alerts = 0, duplicates = 0, storms_opened = 0, rate_limited = 0, closed = 0;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const std::string seq_prefix = "seq" + std::to_string(seed) + ":";
    const std::string bat_prefix = "bat" + std::to_string(seed) + ":";
    Pipeline seq(kv(), clock(), Options(seq_prefix, false));
    Pipeline bat(kv(), clock(), Options(bat_prefix, true));
    for (int p = 0; p < 14; ++p) {
      const std::string payload = Webhook(RandomPayload(rng));
      IngestResult want = seq.Ingest(payload, SignalSource::kAlertmanager, "am-1");
      IngestResult got = bat.Ingest(payload, SignalSource::kAlertmanager, "am-1");
      ASSERT_EQ(Lines(got), Lines(want)) << "payload " << p;
      alerts += static_cast<int64_t>(want.decisions.size());
      duplicates += static_cast<int64_t>(want.Count(Outcome::kDuplicate));
      rate_limited += static_cast<int64_t>(want.Count(Outcome::kRateLimited));
      for (const AlertDecision& d : want.decisions) storms_opened += d.storm_opened;
      // Time moves between deliveries: storms end, get closed (also inline, by an alert that
      // finds its storm over), buckets refill.
      Advance(std::chrono::milliseconds(rng() % 4 == 0 ? 31000 : 200 + rng() % 3000));
      if (rng() % 3 == 0) {
        StormCloseResult cw = seq.CloseDueStorms();
        StormCloseResult cg = bat.CloseDueStorms();
        ASSERT_EQ(Lines(cg), Lines(cw)) << "close after payload " << p;
        closed += static_cast<int64_t>(cw.closed);
      }
    }
    std::map<std::string, fault::KeyState> want = Keys(seq_prefix), got = Keys(bat_prefix);
    EXPECT_FALSE(want.empty());
    // The close records name their closer (a random id per pipeline).
    EXPECT_EQ(fault::Diff(want, got, kTtlSlackMs, {"storm-close:"}), "");
  }
  std::cout << "[ batch    ] " << alerts << " alerts (" << duplicates << " duplicates, "
            << rate_limited << " rate-limited), " << storms_opened << " storms opened, " << closed
            << " closed: batched == sequential\n";
  EXPECT_GT(duplicates, 0);
  EXPECT_GT(storms_opened, 0);
  EXPECT_GT(rate_limited, 0);
}

// Deliveries at the same moment (an HA Alertmanager pair, retries): four threads deliver
// overlapping payloads — the same alerts in opposite orders, repeats inside — through one batched
// pipeline; then the same deliveries are made one after the other through a sequential one. The
// counts (each fingerprint created once, every other delivery a duplicate; storm counts) and the
// stored dedup and detection keys are equal; no delivery fails or waits forever (a batch waits
// for another one's alert without holding its own alerts unfinished past its stage).
TEST_P(BatchDifferentialIT, ConcurrentDeliveriesEqualSequentialDeliveries) {
  std::vector<TestAlert> forward;
  for (int i = 0; i < 12; ++i) {
    TestAlert a;
    a.name = "PodCrash";
    a.ns = "shop";
    a.resource = "pod-" + std::to_string(i);
    forward.push_back(a);
    if (i % 4 == 3) forward.push_back(forward[static_cast<std::size_t>(i) - 2]);
  }
  std::vector<TestAlert> backward(forward.rbegin(), forward.rend());
  const std::vector<std::string> payloads = {Webhook(forward), Webhook(backward), Webhook(forward),
                                             Webhook(backward)};
  auto options = [](const std::string& prefix, bool batch) {
    PipelineOptions o = Options(prefix, batch);
    o.rate_limit_enabled = false;
    o.busy_wait = std::chrono::seconds(20);
    o.dedup.unfinished_lease = std::chrono::minutes(10);
    return o;
  };
  Pipeline bat(kv(), clock(), options("cbat:", true));
  std::vector<IngestResult> got(payloads.size());
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < payloads.size(); ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < static_cast<int>(payloads.size())) std::this_thread::yield();
      got[t] = bat.Ingest(payloads[t]);
    });
  }
  for (std::thread& th : threads) th.join();
  Pipeline seq(kv(), clock(), options("cseq:", false));
  std::vector<IngestResult> want;
  for (const std::string& p : payloads) want.push_back(seq.Ingest(p));
  auto count = [](const std::vector<IngestResult>& rs, Outcome o) {
    std::size_t n = 0;
    for (const IngestResult& r : rs) n += r.Count(o);
    return n;
  };
  for (const IngestResult& r : got) ASSERT_OK(r.status);
  for (Outcome o : {Outcome::kCreated, Outcome::kDuplicate, Outcome::kStormAggregated}) {
    EXPECT_EQ(count(got, o), count(want, o)) << OutcomeName(o);
  }
  std::size_t opened_got = 0, opened_want = 0;
  for (const IngestResult& r : got) {
    for (const AlertDecision& d : r.decisions) opened_got += d.storm_opened;
  }
  for (const IngestResult& r : want) {
    for (const AlertDecision& d : r.decisions) opened_want += d.storm_opened;
  }
  EXPECT_EQ(opened_got, opened_want);
  EXPECT_EQ(opened_got, 1u);
  // Dedup counts and request names, the storm-rate counter and the pattern window's pods do not
  // depend on the order of the deliveries (which pods the storm lists does). Timestamps and TTLs
  // are left out: a delivery that waits for another moves the shared virtual clock.
  auto order_free = [this](const std::string& prefix) {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : Keys(prefix)) {
      std::istringstream is(v.value);
      std::string kept;
      for (std::string line; std::getline(is, line);) {
        if (k.rfind("dedup:", 0) == 0) {
          if (line.rfind("count=", 0) == 0 || line.rfind("ref=", 0) == 0) kept += line + "\n";
        } else if (k.rfind("storm-pattern:", 0) == 0) {
          kept += line.substr(0, line.rfind('=')) + "\n";
        }
      }
      if (k.rfind("storm-rate:", 0) == 0) kept = v.value;
      if (k.rfind("dedup:", 0) == 0 || k.rfind("storm-rate:", 0) == 0 ||
          k.rfind("storm-pattern:", 0) == 0) {
        out[k] = kept;
      }
    }
    return out;
  };
  const std::map<std::string, std::string> want_keys = order_free("cseq:");
  EXPECT_GE(want_keys.size(), 14u);
  EXPECT_EQ(order_free("cbat:"), want_keys);
}

STORMKV_INSTANTIATE_GATEWAY_IT(BatchDifferentialIT);

}  // namespace
}  // namespace stormkv::integration
