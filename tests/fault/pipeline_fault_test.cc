// Faults under the ingest Pipeline, on every backend: the operation number k of a payload fails
// (for every k), once or for good (the connection is cut half-way through the payload), and the
// payload is retried after Heal() — as Alertmanager retries a 503. The retry must end in the
// state and decisions of a fault-free run that saw the alerts processed before the failure twice
// (they were delivered twice), no more and no less: no half-written alert, no double counting, no
// lost alert. The alert the fault hit counts as not delivered — unless it was processed and only
// its final "done" mark was lost after it was written (then it counts as delivered). Time stands
// still (ManualClock) so every run sees the same `now`. Allowed differences (pipeline.h): the
// storm-rate counter may count the failed alert twice once it got past storm detection, and a
// duplicate whose dedup reply was lost after the write is counted twice.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "fault/fault_util.h"
#include "gateway/payloads.h"
#include "stormkv/forwarding_backend.h"
#include "stormkv/gateway/pipeline.h"

namespace stormkv::fault {
namespace {

using stormkv::testing::TestAlert;
using stormkv::testing::Webhook;

constexpr int64_t kTtlSlackMs = 5000;  // Redis TTLs run in real time between two runs

TestAlert Pod(const std::string& name, const std::string& pod, const std::string& status = "firing") {
  TestAlert a;
  a.name = name;
  a.ns = "payments";
  a.resource = pod;
  a.status = status;
  return a;
}

// Delivered first, fault-free: gives the main payload a duplicate of an earlier delivery.
std::vector<TestAlert> Earlier() { return {Pod("DiskFull", "db-0")}; }

// The payload under test: a pattern storm of A (opens at its third resource), a duplicate of an
// earlier delivery, an ordinary alert, a resolved one (no write) and a duplicate inside the payload.
std::vector<TestAlert> Main() {
  return {Pod("A", "api-0"),  Pod("A", "api-1"), Pod("A", "api-2"),
          Pod("A", "api-3"),  Pod("DiskFull", "db-0"), Pod("B", "web-0"),
          Pod("X", "x-0", "resolved"), Pod("A", "api-0")};
}

std::string Prefix(const std::vector<TestAlert>& alerts, std::size_t n) {
  return Webhook(std::vector<TestAlert>(alerts.begin(), alerts.begin() + static_cast<long>(n)));
}

PipelineOptions Options(Layout layout, const std::string& prefix,
                        std::chrono::milliseconds lease = DedupOptions{}.unfinished_lease) {
  PipelineOptions o;
  o.dedup.unfinished_lease = lease;
  o.keys.prefix = prefix;
  o.storm.rate_threshold = 1000;  // pattern storms only: the rate counter is checked on its own
  o.storm.pattern_threshold = 2;
  o.aggregation.layout = layout;
  o.rate_limit.burst = 1000;
  o.rate_limit.rate = 1000;
  return o;
}

// The fields of a decision that a retry must reproduce.
std::string Describe(const AlertDecision& d) {
  std::ostringstream os;
  os << d.index << " " << OutcomeName(d.outcome) << " rr=" << d.remediation_request
     << " count=" << d.occurrence_count << " first=" << d.first_seen_ms << " last=" << d.last_seen_ms
     << " opened=" << d.storm_opened << " storm_alerts=" << d.storm_alert_count
     << " resources=" << d.storm_resource_count << " overflow=" << d.storm_overflow;
  return os.str();
}

std::vector<std::string> Names(const IngestResult& r) {
  std::vector<std::string> out;
  for (const RemediationRequest& rr : r.requests) out.push_back(rr.name);
  return out;
}

// Index of the first decision with an error (the signal the fault hit), or the payload size.
std::size_t FirstFailed(const IngestResult& r) {
  for (const AlertDecision& d : r.decisions) {
    if (!d.status.ok()) return d.index;
  }
  return r.decisions.size();
}

// The fault hit the final "done" mark of an alert that was processed (its request emitted).
bool DoneMarkFailed(const AlertDecision& d) {
  return !d.status.ok() && d.outcome != Outcome::kFailed;
}

bool Emits(const AlertDecision& d) {
  return d.outcome == Outcome::kCreated || (d.outcome == Outcome::kStormAggregated && d.storm_opened);
}

enum class Mode {
  kOnce,       // operation k fails, the next ones pass (a blip)
  kOutage,     // operation k and every later one fail until Heal() (connection cut half-way)
  kReplyLost,  // operation k runs on the server, its reply is lost (timeout after the write)
};

struct Attempt {
  IngestResult failed;
  IngestResult retry;
  std::string failed_op;  // script name of operation k ("" for a plain command)
  std::map<std::string, KeyState> keys;
};

class PipelineFaultTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { STORMKV_SETUP_BACKEND(GetParam(), tb_); }
  void TearDown() override {
    if (tb_ && tb_->cleanup) tb_->cleanup();
  }
  KvBackend& kv() { return *tb_->kv; }
  std::string NextPrefix(const std::string& tag) { return tag + std::to_string(++runs_) + ":"; }

  std::map<std::string, KeyState> Keys(const std::string& prefix) {
    Result<std::map<std::string, KeyState>> s = Snapshot(kv(), prefix);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : std::map<std::string, KeyState>{};
  }

  // Operations one fault-free delivery of Main() takes after Earlier().
  int64_t CountOps(Layout layout) {
    FaultInjectionBackend faults(&kv());
    TriggerBackend trig(&faults);
    Pipeline p(trig, tb_->clock, Options(layout, NextPrefix("count")));
    EXPECT_OK(p.Ingest(Webhook(Earlier())).status);
    const int64_t before = trig.ops();
    EXPECT_OK(p.Ingest(Webhook(Main())).status);
    return trig.ops() - before;
  }

  // Earlier(), then Main() with operation k failing as `mode` says, then Heal() and Main() again.
  // An outage also cuts the abandon of the failed alert, so its unfinished record waits for the
  // lease: the outage runs use lease 0 (the retry resumes it at once).
  Attempt RunWithFault(Layout layout, int64_t k, const Status& status, Mode mode) {
    Attempt a;
    const std::string prefix = NextPrefix("fault");
    FaultInjectionBackend faults(&kv());
    TriggerBackend trig(&faults);
    ReplyLostBackend lost(&trig);
    const auto lease =
        mode == Mode::kOutage ? std::chrono::milliseconds(0) : DedupOptions{}.unfinished_lease;
    Pipeline p(lost, tb_->clock, Options(layout, prefix, lease));
    EXPECT_OK(p.Ingest(Webhook(Earlier())).status);
    if (mode == Mode::kReplyLost) {
      lost.ArmAt(lost.ops() + k, status);
    } else {
      trig.ArmAt(trig.ops() + k, status, mode == Mode::kOutage);
    }
    const int64_t before = trig.ops();
    a.failed = p.Ingest(Webhook(Main()));
    std::vector<std::string> names = trig.op_names();
    if (before + k - 1 < static_cast<int64_t>(names.size())) a.failed_op = names[before + k - 1];
    faults.Heal();
    trig.Disarm();
    lost.ArmAt(0, Status());
    a.retry = p.Ingest(Webhook(Main()));
    a.keys = Keys(prefix);
    return a;
  }

  // The fault-free equivalent: Earlier(), the first `delivered` alerts of Main(), then Main().
  Attempt Reference(Layout layout, std::size_t delivered) {
    Attempt a;
    const std::string prefix = NextPrefix("ref");
    Pipeline p(kv(), tb_->clock, Options(layout, prefix));
    EXPECT_OK(p.Ingest(Webhook(Earlier())).status);
    if (delivered > 0) EXPECT_OK(p.Ingest(Prefix(Main(), delivered)).status);
    a.retry = p.Ingest(Webhook(Main()));
    a.keys = Keys(prefix);
    return a;
  }

  // Checks the failed attempt: the fault is visible in the result, in the failing decision and
  // in every later one; nothing after it was attempted. The failing decision is kFailed, or —
  // when only its "done" mark failed — keeps its outcome (its request was emitted).
  void CheckFailedAttempt(const IngestResult& r, const Status& injected) {
    EXPECT_EQ(r.status.code(), injected.code()) << r.status;
    EXPECT_EQ(r.http_status, 503) << "Alertmanager retries only 5xx";
    const std::size_t first = FirstFailed(r);
    ASSERT_LT(first, r.decisions.size()) << "no failed decision for " << r.status;
    for (std::size_t i = first; i < r.decisions.size(); ++i) {
      const AlertDecision& d = r.decisions[i];
      if (d.outcome == Outcome::kIgnored) continue;
      if (i == first && DoneMarkFailed(d)) {
        EXPECT_NE(d.reason.find("marking it done failed"), std::string::npos) << d.reason;
      } else {
        EXPECT_EQ(d.outcome, Outcome::kFailed) << Describe(d);
      }
      EXPECT_EQ(d.status.code(), injected.code()) << Describe(d) << " " << d.status;
      EXPECT_NE(d.reason.find(injected.message()), std::string::npos)
          << "decision " << i << " reason '" << d.reason << "' hides the backend's error";
    }
    for (std::size_t i = 0; i < first; ++i) {
      EXPECT_NE(r.decisions[i].outcome, Outcome::kFailed);
    }
    EXPECT_EQ(r.requests.size(), [&] {
      std::size_t n = 0;
      for (std::size_t i = 0; i <= first; ++i) n += Emits(r.decisions[i]);
      return n;
    }()) << "requests are emitted exactly for the alerts processed before and up to the fault";
  }

  // How many alerts of Main() the failed attempt delivered for good: the ones before the fault,
  // plus the failing one when its "done" mark was written and only the reply was lost.
  static std::size_t Delivered(const Attempt& a, Mode mode) {
    const std::size_t i = FirstFailed(a.failed);
    const bool done_written = mode == Mode::kReplyLost && a.failed_op == "dedup_finish" &&
                              DoneMarkFailed(a.failed.decisions[i]);
    return done_written ? i + 1 : i;
  }

  // The failed alert may have been counted by the storm-rate counter before the fault.
  static bool RateCountedTwice(const Attempt& a, Mode mode) {
    // storm_close and the due-list batch (plain commands) register an opened storm, after its
    // aggregation (pipeline.h).
    return a.failed_op.rfind("storm_agg", 0) == 0 || a.failed_op == "dedup_finish" ||
           a.failed_op == "storm_close" || a.failed_op.empty() ||
           (mode == Mode::kReplyLost && a.failed_op == "storm_detect");
  }

  // Rate-counter key of alert A (the only storm) under a snapshot's names.
  static std::string RateKeyOfA(const std::map<std::string, KeyState>& keys) {
    for (const auto& [k, v] : keys) {
      if (k.rfind("storm-rate:", 0) == 0 && k.size() >= 3 && k.substr(k.size() - 3) == ":A}") return k;
    }
    return "";
  }

  // Compares a retry with the reference; returns the differences ("" when none).
  static std::string Compare(const Attempt& want, const Attempt& got, bool rate_counted_twice) {
    std::ostringstream os;
    if (got.retry.status.code() != want.retry.status.code()) {
      os << "retry status " << got.retry.status << ", want " << want.retry.status << "\n";
    }
    for (std::size_t i = 0; i < want.retry.decisions.size() && i < got.retry.decisions.size(); ++i) {
      const std::string w = Describe(want.retry.decisions[i]);
      const std::string g = Describe(got.retry.decisions[i]);
      if (w != g) os << "decision got  " << g << "\n         want " << w << "\n";
    }
    if (Names(got.retry) != Names(want.retry)) os << "emitted requests differ\n";
    // Storm-rate counters may have counted an alert whose aggregation then failed (pipeline.h).
    // The rate bucket refills within milliseconds (burst 1000 at 1000/s), so on Redis it may
    // already have expired in real time: it is left out.
    auto without_buckets = [](std::map<std::string, KeyState> keys) {
      std::erase_if(keys, [](const auto& kv) { return kv.first.rfind("ratelimit:", 0) == 0; });
      return keys;
    };
    os << Diff(without_buckets(want.keys), without_buckets(got.keys), kTtlSlackMs, {"storm-rate:"});
    const std::string rk = RateKeyOfA(want.keys);
    if (!rk.empty() && got.keys.count(rk)) {
      const int64_t w = std::stoll(want.keys.at(rk).value);
      const int64_t g = std::stoll(got.keys.at(rk).value);
      if (g != w && !(rate_counted_twice && g == w + 1)) {
        os << "rate counter of A: " << g << ", want " << w << (rate_counted_twice ? " (or + 1)" : "")
           << "\n";
      }
    }
    return os.str();
  }

  // Closing under a fault, beside a fault-free reference at the same instants: Earlier() and
  // Main() on both (A's storm opens), the window ends, the reference closes; then the other
  // closes with operation k failing as `mode` says, Heal(), and CloseDueStorms() again.
  struct CloseAttempt {
    StormCloseResult failed;
    StormCloseResult retry;
    std::string failed_op;
    std::map<std::string, KeyState> keys;
    int64_t ops = 0;  // operations the first close call took
  };
  std::pair<CloseAttempt, CloseAttempt> CloseWithFault(Layout layout, int64_t k,
                                                       const Status& status, Mode mode) {
    CloseAttempt want, got;
    const std::string ref_prefix = NextPrefix("closeref");
    const std::string prefix = NextPrefix("close");
    Pipeline ref(kv(), tb_->clock, Options(layout, ref_prefix));
    FaultInjectionBackend faults(&kv());
    TriggerBackend trig(&faults);
    ReplyLostBackend lost(&trig);
    Pipeline p(lost, tb_->clock, Options(layout, prefix));
    for (Pipeline* pl : {&ref, &p}) {
      EXPECT_OK(pl->Ingest(Webhook(Earlier())).status);
      EXPECT_OK(pl->Ingest(Webhook(Main())).status);
    }
    EXPECT_OK(tb_->advance(p.options().aggregation.inactivity_window));
    want.failed = ref.CloseDueStorms();
    want.retry = ref.CloseDueStorms();
    if (k > 0 && mode == Mode::kReplyLost) {
      lost.ArmAt(lost.ops() + k, status);
    } else if (k > 0) {
      trig.ArmAt(trig.ops() + k, status, mode == Mode::kOutage);
    }
    const int64_t before = trig.ops();
    got.failed = p.CloseDueStorms();
    got.ops = trig.ops() - before;
    std::vector<std::string> names = trig.op_names();
    if (k > 0 && before + k - 1 < static_cast<int64_t>(names.size())) {
      got.failed_op = names[before + k - 1];
    }
    faults.Heal();
    trig.Disarm();
    lost.ArmAt(0, Status());
    got.retry = p.CloseDueStorms();
    auto keys = [this](const std::string& pre) {
      std::map<std::string, KeyState> out = Keys(pre);
      std::erase_if(out, [](const auto& kv) { return kv.first.rfind("ratelimit:", 0) == 0; });
      return out;
    };
    want.keys = keys(ref_prefix);
    got.keys = keys(prefix);
    return {want, got};
  }

  std::optional<TestBackend> tb_;
  int runs_ = 0;
};

TEST_P(PipelineFaultTest, OneFailedOperationAnywhereThenRetryGivesTheRightCounts) {
  const std::vector<Status> statuses = {
      Status::Unavailable("injected: connection reset by peer"),
      Status::Timeout("injected: command timed out after 5000 ms"),
      Status::OutOfMemory("OOM command not allowed when used memory > 'maxmemory'.")};
  for (Layout layout : kAllLayouts) {
    const int64_t ops = CountOps(layout);
    ASSERT_GE(ops, 15) << "the payload should take the rate limiter, dedup, detection and "
                          "aggregation paths";
    for (const Status& injected : statuses) {
      // Every code on the default layout, one code on the others.
      if (layout != Layout::kCompact && !injected.IsUnavailable()) continue;
      for (int64_t k = 1; k <= ops; ++k) {
        SCOPED_TRACE(std::string(LayoutName(layout)) + " " + injected.ToString() + " at operation " +
                     std::to_string(k));
        Attempt got = RunWithFault(layout, k, injected, Mode::kOnce);
        CheckFailedAttempt(got.failed, injected);
        ASSERT_OK(got.retry.status);
        Attempt want = Reference(layout, Delivered(got, Mode::kOnce));
        ASSERT_OK(want.retry.status);
        EXPECT_EQ(Compare(want, got, RateCountedTwice(got, Mode::kOnce)), "")
            << "failed operation: " << got.failed_op;
      }
    }
  }
}

// The connection dies at operation k and stays down for the rest of the payload, so the abandon
// of the failed alert's unfinished dedup record cannot run either. The retry (after the lease;
// lease 0 here) resumes that alert: its request is emitted, nothing is lost or counted twice.
TEST_P(PipelineFaultTest, OutageHalfWayThroughThePayloadLosesNothing) {
  const Status injected = Status::Unavailable("injected: connection reset by peer");
  for (Layout layout : kAllLayouts) {
    const int64_t ops = CountOps(layout);
    int resumed = 0;
    for (int64_t k = 1; k <= ops; ++k) {
      SCOPED_TRACE(std::string(LayoutName(layout)) + ": outage from operation " +
                   std::to_string(k));
      Attempt got = RunWithFault(layout, k, injected, Mode::kOutage);
      CheckFailedAttempt(got.failed, injected);
      ASSERT_OK(got.retry.status);
      const std::size_t i = FirstFailed(got.failed);
      const AlertDecision& d = got.failed.decisions[i];
      if (d.reason.find("abandoning the unfinished dedup record failed too") != std::string::npos) {
        ++resumed;
      }
      Attempt want = Reference(layout, Delivered(got, Mode::kOutage));
      EXPECT_EQ(Compare(want, got, RateCountedTwice(got, Mode::kOutage)), "")
          << "failed operation: " << got.failed_op;
    }
    EXPECT_GT(resumed, 0) << "the sweep should cut the connection after a new alert was recorded";
  }
}

// The server ran operation k but its reply was lost (a command timeout after the write): the
// caller cannot know whether it happened (kv_backend.h). The failure is a clear Timeout, and the
// retry ends like a fault-free run: a new alert is resumed, a storm add is recognised as a replay
// (the storm's request is emitted if that alert opened it), a lost "done" reply leaves the alert
// delivered. Only a duplicate whose dedup reply was lost is counted twice (pipeline.h).
TEST_P(PipelineFaultTest, ReplyLostAfterTheWriteLosesNothing) {
  const Status injected = Status::Timeout("injected: reply lost after the command ran");
  for (Layout layout : kAllLayouts) {
    const int64_t ops = CountOps(layout);
    int duplicates_counted_twice = 0;
    for (int64_t k = 1; k <= ops; ++k) {
      SCOPED_TRACE(std::string(LayoutName(layout)) + ": reply of operation " + std::to_string(k) +
                   " lost");
      Attempt got = RunWithFault(layout, k, injected, Mode::kReplyLost);
      CheckFailedAttempt(got.failed, injected);
      ASSERT_OK(got.retry.status);
      for (const auto& [key, state] : got.keys) {
        EXPECT_NE(state.pttl, -1) << key << " has no TTL";
      }
      const std::size_t i = FirstFailed(got.failed);
      Attempt want = Reference(layout, Delivered(got, Mode::kReplyLost));
      if (got.failed_op == "dedup" && i < want.retry.decisions.size() &&
          want.retry.decisions[i].outcome == Outcome::kDuplicate) {
        // A duplicate's count was written and then counted again by the retry: one more, and
        // nothing else differs.
        ++duplicates_counted_twice;
        const AlertDecision& g = got.retry.decisions[i];
        const AlertDecision& w = want.retry.decisions[i];
        EXPECT_EQ(g.outcome, Outcome::kDuplicate);
        EXPECT_EQ(g.occurrence_count, w.occurrence_count + 1);
        EXPECT_EQ(Names(got.retry), Names(want.retry));
        continue;
      }
      EXPECT_EQ(Compare(want, got, RateCountedTwice(got, Mode::kReplyLost)), "")
          << "failed operation: " << got.failed_op;
    }
    std::cout << "[ fault    ] reply-lost sweep (" << LayoutName(layout) << "): " << ops
              << " cut points, " << duplicates_counted_twice
              << " duplicates counted twice (allowed), every other one exact\n";
  }
}

// Closing a storm under faults (pipeline.h "Closing storms"): for every operation of the close
// call, the operation fails once, the connection dies there, or its reply is lost after the
// write; the next close call finishes. The storm's final request is emitted at least once, with
// the content of a fault-free close; exactly once unless the fault hit after its emission and
// before its done mark was written (then the next call emits the same name again); the stored
// keys end as after a fault-free close.
TEST_P(PipelineFaultTest, ClosingAStormUnderFaultsEmitsItsFinalRequestAtLeastOnce) {
  struct Case {
    Mode mode;
    Status status;
  };
  const std::vector<Case> cases = {
      {Mode::kOnce, Status::Unavailable("injected: connection reset by peer")},
      {Mode::kOutage, Status::Unavailable("injected: connection reset by peer")},
      {Mode::kReplyLost, Status::Timeout("injected: reply lost after the command ran")}};
  for (Layout layout : kAllLayouts) {
    auto [want, clean] = CloseWithFault(layout, 0, Status(), Mode::kOnce);
    ASSERT_OK(want.failed.status);
    ASSERT_EQ(want.failed.requests.size(), 1u) << "A's storm closes";
    ASSERT_TRUE(want.retry.requests.empty());
    ASSERT_EQ(Diff(want.keys, clean.keys, kTtlSlackMs, {"storm-rate:"}), "");
    ASSERT_GE(clean.ops, 6) << "due lists, read, claim, read, done, remove";
    for (const Case& c : cases) {
      int twice = 0;
      for (int64_t k = 1; k <= clean.ops; ++k) {
        SCOPED_TRACE(std::string(LayoutName(layout)) + " " + c.status.ToString() + " mode " +
                     std::to_string(static_cast<int>(c.mode)) + " at close operation " +
                     std::to_string(k));
        auto [ref, got] = CloseWithFault(layout, k, c.status, c.mode);
        ASSERT_EQ(ref.failed.requests.size(), 1u);
        const std::string want_json = RemediationRequestToJson(ref.failed.requests[0]);
        ASSERT_NE(want_json.find("\"stormClosed\":true"), std::string::npos);
        if (c.mode != Mode::kReplyLost) {
          EXPECT_EQ(got.failed.status.code(), c.status.code()) << got.failed.status;
        }
        ASSERT_OK(got.retry.status);
        std::vector<RemediationRequest> all = got.failed.requests;
        all.insert(all.end(), got.retry.requests.begin(), got.retry.requests.end());
        ASSERT_GE(all.size(), 1u) << "the final request is never lost; failed op "
                                  << got.failed_op;
        for (const RemediationRequest& rr : all) {
          EXPECT_EQ(RemediationRequestToJson(rr), want_json);
        }
        if (all.size() > 1) {
          ++twice;
          EXPECT_EQ(all.size(), 2u);
          EXPECT_NE(c.mode, Mode::kReplyLost) << "a lost reply after the done mark emits once";
          EXPECT_EQ(got.failed.requests.size(), 1u) << "emitted twice only after an emission";
          EXPECT_FALSE(got.failed.status.ok());
        }
        EXPECT_EQ(Diff(ref.keys, got.keys, kTtlSlackMs, {"storm-rate:"}), "")
            << "failed operation: " << got.failed_op;
      }
      std::cout << "[ fault    ] close sweep (" << LayoutName(layout) << ", mode "
                << static_cast<int>(c.mode) << "): " << clean.ops << " cut points, " << twice
                << " emitted twice (done mark lost), every other one once\n";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, PipelineFaultTest, ::testing::ValuesIn(AllBackendNames()),
                         BackendParamName);

}  // namespace
}  // namespace stormkv::fault
