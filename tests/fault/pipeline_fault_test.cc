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
#include <cctype>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
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
  std::string failed_op;  // operation k: a script's name, or a plain command's (PlainCommand)
  std::map<std::string, KeyState> keys;
};

// An operation name of TriggerBackend::op_names that is a plain command ("ZADD"), not a script.
bool PlainCommand(const std::string& op) {
  return op.empty() || std::isupper(static_cast<unsigned char>(op[0]));
}

class PipelineFaultTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { STORMKV_SETUP_BACKEND(GetParam(), tb_); }
  void TearDown() override {
    if (tb_ && tb_->cleanup) tb_->cleanup();
  }
  KvBackend& kv() { return *tb_->kv; }
  // Options(...) with the fixture's processing mode (batch_: pipeline.h "Batching").
  PipelineOptions Opts(Layout layout, const std::string& prefix,
                       std::chrono::milliseconds lease = DedupOptions{}.unfinished_lease) const {
    PipelineOptions o = Options(layout, prefix, lease);
    o.batch = batch_;
    return o;
  }
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
    Pipeline p(trig, tb_->clock, Opts(layout, NextPrefix("count")));
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
    Pipeline p(lost, tb_->clock, Opts(layout, prefix, lease));
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
    Pipeline p(kv(), tb_->clock, Opts(layout, prefix));
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
           a.failed_op == "storm_close" || PlainCommand(a.failed_op) ||
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
    Pipeline ref(kv(), tb_->clock, Opts(layout, ref_prefix));
    FaultInjectionBackend faults(&kv());
    TriggerBackend trig(&faults);
    ReplyLostBackend lost(&trig);
    Pipeline p(lost, tb_->clock, Opts(layout, prefix));
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
  bool batch_ = false;  // the sequential sweeps below are the contract of batch = false
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

// ---- The batched pipeline (pipeline.h "Batching") under the same cut points ---------------------
//
// Each stage of a batched payload is one EvalBatch; every script call of it is one operation, so
// the sweep cuts every stage at every call: once (that call fails, the rest of the stage runs),
// for good (the connection dies there), or after the server ran it (its reply is lost). The
// failed attempt must show the injected error on exactly the alerts it hit (and their
// dependents), emit exactly the requests of the alerts it processed; its retry must succeed and
// end with nothing lost or half-written: every dedup record finished with its exact count (a
// failed alert counts once, when its retry completes it; only a duplicate whose reply was lost or
// a "done" mark written before its reply was lost count their delivery), every alert's request or
// storm emitted at least once and the storm registered for closing, the same keys as a fault-free
// delivery, each with a TTL, and a storm that counts every one of its alerts (more only within the
// limits pipeline.h names).
class BatchedPipelineFaultTest : public PipelineFaultTest {
 protected:
  void SetUp() override {
    PipelineFaultTest::SetUp();
    batch_ = true;
  }

  struct Dedup {
    int64_t count = 0;
    std::string rest;  // every other field, unfinished markers included
  };
  static std::map<std::string, Dedup> DedupRecords(const std::map<std::string, KeyState>& keys) {
    std::map<std::string, Dedup> out;
    for (const auto& [k, v] : keys) {
      if (k.rfind("dedup:", 0) != 0) continue;
      Dedup d;
      std::istringstream is(v.value);
      for (std::string line; std::getline(is, line);) {
        if (line.rfind("count=", 0) == 0) {
          d.count = std::stoll(line.substr(6));
        } else {
          d.rest += line + "\n";
        }
      }
      out[k] = d;
    }
    return out;
  }
  static int64_t StormCount(const std::map<std::string, KeyState>& keys) {
    for (const auto& [k, v] : keys) {
      if (k.rfind("storm-agg:", 0) != 0) continue;
      std::istringstream is(v.value);
      for (std::string line; std::getline(is, line);) {
        if (line.rfind("#n=", 0) == 0) return std::stoll(line.substr(3));
      }
      // json layouts
      const std::size_t at = v.value.find("alert_count\":");
      if (at != std::string::npos) return std::stoll(v.value.substr(at + 13));
      const std::size_t crd = v.value.find("stormAlertCount\":");
      if (crd != std::string::npos) return std::stoll(v.value.substr(crd + 17));
    }
    return -1;
  }

  // The checks above; "" when all hold.
  std::string CheckBatched(Layout layout, const Attempt& got, const Status& injected, Mode mode) {
    std::ostringstream os;
    const IngestResult& f = got.failed;
    // The replay-list removal (the only HDEL, after every alert is settled) is best effort: a
    // failure there leaves ids behind (checked below) but the payload succeeds as a whole.
    const bool forget_only = got.failed_op == "HDEL" && mode != Mode::kOutage;
    if (forget_only) {
      if (!f.status.ok() || f.Count(Outcome::kFailed) != 0) {
        os << "a failed replay-list removal failed the payload: " << f.status << "\n";
      }
      if (got.retry.Count(Outcome::kCreated) + got.retry.Count(Outcome::kStormAggregated) != 0) {
        os << "the retry after a successful payload processed alerts again\n";
      }
      return os.str();
    }
    if (f.status.code() != injected.code()) os << "failed attempt status " << f.status << "\n";
    if (f.http_status != 503) os << "failed attempt http " << f.http_status << "\n";
    std::size_t with_error = 0, emits = 0;
    std::map<std::string, int64_t> not_counted;  // fingerprint -> failed occurrences
    for (const AlertDecision& d : f.decisions) {
      emits += Emits(d);
      if (d.status.ok()) {
        if (d.outcome == Outcome::kFailed) os << "failed without an error: " << Describe(d) << "\n";
        continue;
      }
      ++with_error;
      ++not_counted["dedup:{" + d.fingerprint + "}"];
      if (d.status.code() != injected.code() ||
          d.reason.find(injected.message()) == std::string::npos) {
        os << "decision " << d.index << " hides the injected error: " << d.reason << "\n";
      }
      if (d.outcome != Outcome::kFailed &&
          d.reason.find("marking it done failed") == std::string::npos) {
        os << "decision " << d.index << " has an error but outcome " << OutcomeName(d.outcome)
           << "\n";
      }
    }
    if (with_error == 0) os << "no decision carries the fault\n";
    if (f.requests.size() != emits) {
      os << f.requests.size() << " requests emitted for " << emits << " emitting decisions\n";
    }
    if (!got.retry.status.ok()) os << "retry failed: " << got.retry.status << "\n";
    if (got.retry.Count(Outcome::kFailed) != 0) os << "retry has failed decisions\n";

    // A fault-free delivery of Main() after Earlier(), on its own prefix.
    const std::string prefix = NextPrefix("bref");
    Pipeline ref(kv(), tb_->clock, Opts(layout, prefix));
    EXPECT_OK(ref.Ingest(Webhook(Earlier())).status);
    const IngestResult want = ref.Ingest(Webhook(Main()));
    const std::map<std::string, KeyState> want_keys = Keys(prefix);
    for (const auto& [k, v] : want_keys) {
      if (k.rfind("ratelimit:", 0) != 0 && !got.keys.count(k)) os << "missing key " << k << "\n";
    }
    // A storm's replay list is empty (absent) after a fault-free payload. Ids stay behind (as
    // long as the storm record) when the removal stage (the HDELs) failed, and when a done mark
    // was written but its reply lost: the alert is settled, but the attempt could not know, and
    // its retry is a duplicate that never adds it again.
    const bool replays_may_remain =
        mode == Mode::kOutage || got.failed_op == "HDEL" ||
        (mode == Mode::kReplyLost && got.failed_op == "dedup_finish");
    for (const auto& [k, v] : got.keys) {
      if (k.rfind("ratelimit:", 0) != 0 && !want_keys.count(k) &&
          !(replays_may_remain && k.rfind("storm-replay:", 0) == 0)) {
        os << "unexpected key " << k << "\n";
      }
      if (v.pttl == -1) os << k << " has no TTL\n";
    }
    // Counts: the fault-free delivery plus the failed attempt's counted occurrences.
    std::map<std::string, int64_t> occurrences;
    for (const AlertDecision& d : want.decisions) {
      if (d.outcome != Outcome::kIgnored) ++occurrences["dedup:{" + d.fingerprint + "}"];
    }
    const bool one_more = mode == Mode::kReplyLost &&
                          (got.failed_op == "dedup" || got.failed_op == "dedup_finish");
    const std::map<std::string, Dedup> w = DedupRecords(want_keys), g = DedupRecords(got.keys);
    int extra = 0;
    for (const auto& [k, wd] : w) {
      auto it = g.find(k);
      if (it == g.end()) continue;
      const int64_t expect = wd.count + occurrences[k] - not_counted[k];
      if (it->second.rest != wd.rest) {
        os << k << " fields\n  got  " << it->second.rest << "  want " << wd.rest;
      }
      if (it->second.count == expect + 1 && one_more && extra++ == 0) continue;
      if (it->second.count != expect) {
        os << k << " count " << it->second.count << ", want " << expect << "\n";
      }
    }
    // Never lossy: an alert the fault-free run creates is created (its request emitted) or
    // aggregated into a storm; every storm's request is emitted and the storm is registered.
    std::set<std::string> names;
    for (const IngestResult* r : {&got.failed, &got.retry}) {
      for (const RemediationRequest& rr : r->requests) names.insert(rr.name);
    }
    for (std::size_t i = 0; i < want.decisions.size(); ++i) {
      const AlertDecision& wd = want.decisions[i];
      if (wd.outcome != Outcome::kCreated && wd.outcome != Outcome::kStormAggregated) continue;
      bool ok = false;
      for (const IngestResult* r : {&got.failed, &got.retry}) {
        const AlertDecision& gd = r->decisions[i];
        ok = ok || (gd.outcome == Outcome::kCreated && names.count(gd.remediation_request)) ||
             (gd.outcome == Outcome::kStormAggregated && names.count(gd.remediation_request));
      }
      if (!ok) os << "alert " << i << " (" << Describe(wd) << ") is lost\n";
    }
    // Every alert counted once: the storm's replay list recognises each retried add. Which
    // alerts are in the storm may differ from the fault-free run (pipeline.h "Batching": a
    // retry's detection saw the failed attempt's later alerts), so the storm must count the
    // fault-free run's storm minus its aggregated alerts of Main(), plus each alert of Main()
    // that the failed attempt or its retry reports aggregated, once.
    int64_t want_main = 0, got_main = 0;
    for (std::size_t i = 0; i < want.decisions.size(); ++i) {
      want_main += want.decisions[i].outcome == Outcome::kStormAggregated;
      got_main += f.decisions[i].outcome == Outcome::kStormAggregated ||
                  got.retry.decisions[i].outcome == Outcome::kStormAggregated;
    }
    const int64_t ws = StormCount(want_keys), gs = StormCount(got.keys);
    if (gs != ws - want_main + got_main) {
      os << "storm counts " << gs << " alerts, want " << ws - want_main + got_main << " (fault-free "
         << ws << ", of which " << want_main << " from this payload; here " << got_main
         << " alerts of it aggregated)\n";
    }
    if (!os.str().empty()) {
      os << "failed attempt:\n";
      for (const AlertDecision& d : got.failed.decisions) os << "  " << Describe(d) << " " << d.reason << "\n";
      os << "retry:\n";
      for (const AlertDecision& d : got.retry.decisions) os << "  " << Describe(d) << "\n";
    }
    return os.str();
  }
};

TEST_P(BatchedPipelineFaultTest, EveryCutPointOfEveryStageLosesNothing) {
  struct Case {
    Mode mode;
    Status status;
  };
  const std::vector<Case> cases = {
      {Mode::kOnce, Status::Unavailable("injected: connection reset by peer")},
      {Mode::kOnce, Status::OutOfMemory("OOM command not allowed when used memory > 'maxmemory'.")},
      {Mode::kOutage, Status::Unavailable("injected: connection reset by peer")},
      {Mode::kReplyLost, Status::Timeout("injected: reply lost after the command ran")}};
  for (Layout layout : kAllLayouts) {
    const int64_t ops = CountOps(layout);
    ASSERT_GE(ops, 15);
    for (const Case& c : cases) {
      if (layout != Layout::kCompact && c.status.IsOutOfMemory()) continue;
      std::map<std::string, int> stages;  // cut points per stage (script name)
      for (int64_t k = 1; k <= ops; ++k) {
        SCOPED_TRACE(std::string(LayoutName(layout)) + " " + c.status.ToString() + " mode " +
                     std::to_string(static_cast<int>(c.mode)) + " at operation " +
                     std::to_string(k));
        Attempt got = RunWithFault(layout, k, c.status, c.mode);
        ++stages[PlainCommand(got.failed_op) ? "(" + got.failed_op + ")" : got.failed_op];
        EXPECT_EQ(CheckBatched(layout, got, c.status, c.mode), "")
            << "failed operation: " << got.failed_op;
      }
      std::ostringstream os;
      for (const auto& [stage, n] : stages) os << " " << stage << "=" << n;
      std::cout << "[ fault    ] batched sweep (" << LayoutName(layout) << ", mode "
                << static_cast<int>(c.mode) << ", " << StatusCodeName(c.status.code())
                << "): " << ops << " cut points:" << os.str() << "\n";
    }
  }
}

// The fault-free batched payload costs a bounded number of batches, not calls per alert.
TEST_P(BatchedPipelineFaultTest, APayloadIsAFewBatches) {
  const std::string prefix = NextPrefix("batches");
  struct Counting : ForwardingBackend {
    using ForwardingBackend::ForwardingBackend;
    std::vector<Result<Reply>> EvalBatch(const std::vector<ScriptCall>& calls) override {
      ++batches;
      return ForwardingBackend::EvalBatch(calls);
    }
    Result<Reply> Eval(const Script& s, const std::vector<std::string>& k,
                       const std::vector<std::string>& a) override {
      ++evals;
      return ForwardingBackend::Eval(s, k, a);
    }
    int batches = 0, evals = 0;
  } counting(&kv());
  Pipeline p(counting, tb_->clock, Opts(Layout::kCompact, prefix));
  std::vector<TestAlert> storm;
  for (int i = 0; i < 200; ++i) storm.push_back(Pod("Crash", "pod-" + std::to_string(i)));
  ASSERT_OK(p.Ingest(Webhook(storm)).status);
  // Batches: dedup, detection, the storm's first add, its other adds, done marks. Script calls
  // (the default EvalBatch runs each batched call through Eval, so they count here too): 200
  // Begins, 200 detections, 198 adds (2 alerts come before the storm), 200 done marks, plus the
  // rate limit and the storm's registration outside any batch.
  EXPECT_EQ(counting.batches, 5);
  EXPECT_EQ(counting.evals, 200 + 200 + 198 + 200 + 2);
}

INSTANTIATE_TEST_SUITE_P(All, BatchedPipelineFaultTest, ::testing::ValuesIn(AllBackendNames()),
                         BackendParamName);

INSTANTIATE_TEST_SUITE_P(All, PipelineFaultTest, ::testing::ValuesIn(AllBackendNames()),
                         BackendParamName);

}  // namespace
}  // namespace stormkv::fault
