// Differential tests of the gateway scripts: seeded random sequences run
//  * on the memory backend (native twins) and on the memory backend's embedded Lua engine
//    (memory-lua: every run, no server needed), on real Redis and on the real cluster (Lua), and
//  * on real Redis twice: the native twin through plain commands, and the Lua text via EVALSHA;
// replies must be equal after every step, and a key-by-key dump (type, value, PTTL) equal after
// every sequence. The seed is gtest's (--gtest_random_seed=N reproduces a run).
// The command trace too (ScriptTrace*): the commands a twin sends through its ScriptContext must
// be the commands its Lua sends with redis.call, in order and argument for argument -- on the
// embedded engine (a recording ScriptContext, every run) and on real Redis (MONITOR's
// "[db lua]" lines).
//
// Time is chosen so that real time passing on the Redis server cannot matter: every duration
// given to a script is an odd multiple of 5 s, and the clock (and any skew) moves in whole
// multiples of 10 s, so no deadline is ever within 5 s of a `now` (rate-limit buckets excepted:
// see the rate_limit step).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <regex>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "scripts/script_test_util.h"
#include "stormkv/gateway/scripts.h"
#include "stormkv/key_schema.h"
#include "stormkv/lua_engine.h"
#include "stormkv/redis_backend.h"

namespace stormkv {
namespace {

using testing_scripts::DiffDumps;
using testing_scripts::DumpKeys;
using testing_scripts::RunTwin;

constexpr int64_t kUnitMs = 10000;
constexpr int64_t kTtlToleranceMs = 2500;

// A step of a sequence: a script call or a raw command, with key names relative to a prefix.
struct Step {
  bool is_script = true;
  ScriptId script = ScriptId::kDedup;
  std::vector<std::string> keys;  // relative key names
  std::vector<std::string> args;
  Command command;                // raw command; command[1] is a relative key name
  int64_t advance_ms = 0;         // when > 0 this step only moves time
  bool malformed = false;         // arguments changed by Malform()
  std::string ToString() const {
    std::string s;
    if (advance_ms > 0) return "advance " + std::to_string(advance_ms) + " ms";
    if (is_script) {
      s = std::string(ScriptName(script)) + " KEYS";
      for (const auto& k : keys) s += " " + k;
      s += " ARGV";
      for (const auto& a : args) s += " '" + (a.size() > 60 ? a.substr(0, 60) + "..." : a) + "'";
    } else {
      for (const auto& a : command) s += a + " ";
    }
    return s;
  }
};

const char* const kTemplates[] = {
    R"({"kind":"RemediationRequest","metadata":{"name":"rr-1","labels":{}},"spec":{"signalName":"A"}})",
    R"({"spec":{"signalLabels":{"pod":"p\u00e9-1","x":"tab\tquote\"back\\"},"n":[1,2.5,-3,1e3,true,null,[]],"deduplication":{"firstSeen":1}},"z":"\u0001"})",
    R"({"spec":{},"status":{"overallPhase":"Pending","conditions":[{"type":"Ready","status":"False"}]}})",
    "{\"spec\":[1,\"a\\u0000\"],\"m\":\"\x10\xff\"}",  // a spec that is a Lua array; cjson leniencies
};

const std::string kJunk[] = {
    "not json", "{}", "[]", "5", R"({"alert_count":1})",
    R"({"alert_count":2,"first_seen":1714564800000,"last_seen":1714564800000,"overflow":0,"pattern":"rate","resources":{}})",
    R"({"alert_count":2,"first_seen":1714564800000,"last_seen":1714564800000,"overflow":0,"pattern":"rate","resources":["Pod/x",7],"extra":{"k":[{}]}})",
    R"({"spec":{"stormAlertCount":1,"stormOverflowCount":0,"affectedResources":[],"deduplication":{"firstSeen":1714564800000,"lastSeen":1714564800000}}})",
    R"({"spec":{"stormAlertCount":1,"stormOverflowCount":0,"affectedResources":["a"],"deduplication":[]}})",
    // What Redis's cjson accepts beyond JSON: raw control bytes and invalid UTF-8 in strings,
    // strtod numbers, a NUL ending the text.
    "{\"alert_count\":2,\"first_seen\":1714564800000,\"last_seen\":0x18f3404b400,\"overflow\":00,"
    "\"pattern\":\"ra\tte\",\"resources\":[\"Pod/a\x10\",\"\xff\"]}",
    std::string("{\"alert_count\":1,\"first_seen\":1714564800000,\"last_seen\":1714564800000,"
                "\"overflow\":+0,\"resources\":[]}") + std::string(1, '\0') + "trailing",
    "{\"spec\":{\"stormAlertCount\":1.,\"stormOverflowCount\":-0,\"affectedResources\":[\"\xfe\x01\"],"
    "\"deduplication\":{\"firstSeen\":1714564800000,\"lastSeen\":1714564800000}},\"x\":\"\t\"}",
    "{\"alert_count\":1,\"first_seen\":inf,\"last_seen\":nan,\"overflow\":0,\"resources\":{}}",
    "{\"alert_count\":1,\"first_seen\":1,\"last_seen\":1,\"overflow\":0,\"resources\":[],\"x\":\"\\ud800\"}",
};

class StepGenerator {
 public:
  explicit StepGenerator(uint32_t seed) : rng_(seed) {}

  Step Next(int64_t now_ms) {
    Step s;
    int roll = Uniform(0, 99);
    if (roll < 8) {
      s.advance_ms = kUnitMs * Pick<int64_t>({1, 1, 2, 3, 6, 12, 31});
      return s;
    }
    if (roll < 13) return Hostile();
    const int64_t skew = Uniform(0, 9) == 0 ? kUnitMs * Uniform(1, 3) : 0;
    const std::string now = std::to_string(now_ms - skew);
    const std::string ns = Pick<std::string>({"ns-a", "ns-b"});
    const std::string alert = Pick<std::string>({"HighCPU", "Crash:Loop"});
    const std::string resource = Resource();
    switch (Uniform(0, 7)) {
      case 0:
        s.script = ScriptId::kDedup;
        s.keys = {Key("dedup", Pick<std::string>({"fp0", "fp1", "fp2"}))};
        s.args = {now, Duration(), "rr-" + std::to_string(Uniform(0, 999))};
        if (Uniform(0, 1) == 0) {  // with an attempt id: unfinished records, busy, resumed
          s.args.push_back(Pick<std::string>({"a1", "a2", "a3"}));
          s.args.push_back(std::to_string(kUnitMs * Pick<int64_t>({0, 1, 3})));
        }
        break;
      case 6:
        s.script = ScriptId::kDedupFinish;
        s.keys = {Key("dedup", Pick<std::string>({"fp0", "fp1", "fp2"}))};
        s.args = {Pick<std::string>({"a1", "a2", "a3"}), Pick<std::string>({"done", "abandon"})};
        break;
      case 1:
        s.script = ScriptId::kStormDetect;
        s.keys = {Key("storm-rate", ns, alert), Key("storm-pattern", ns, alert)};
        s.args = {now,
                  Duration(),
                  Duration(),
                  resource,
                  std::to_string(Uniform(1, 6)),
                  std::to_string(Uniform(0, 6)),
                  std::to_string(Uniform(0, 4))};
        break;
      case 2:
      case 3:
      case 4: {
        static const ScriptId kAgg[] = {ScriptId::kStormAggCompact, ScriptId::kStormAggJsonMeta,
                                        ScriptId::kStormAggFullCrd};
        s.script = kAgg[Uniform(0, 2)];
        // Usually the layout's own key; sometimes another layout's (WRONGTYPE, CORRUPT).
        int layout_key = Uniform(0, 19) == 0 ? Uniform(0, 2) : static_cast<int>(s.script) - 2;
        s.keys = {Key("storm-agg-" + std::to_string(layout_key), ns, alert)};
        s.args = {now, Duration(), Duration(), std::to_string(Uniform(1, 5)), resource,
                  Pick<std::string>({"rate", "pattern"})};
        if (s.script == ScriptId::kStormAggFullCrd) s.args.push_back(kTemplates[Uniform(0, 3)]);
        // A request id: a repeated one is a replay of the storm's last add.
        const bool request = Uniform(0, 1) == 0;
        if (request) s.args.push_back(Pick<std::string>({"r1:1", "r2:1", "r1:2"}));
        // With the storm's close record (storm_closer.h): an over storm waits for its close.
        if (Uniform(0, 2) == 0) {
          if (!request) s.args.push_back("");
          s.keys.push_back(Key("storm-close", ns, alert));
          // With a request id, often its replay list too (the batched Pipeline's adds).
          if (request && Uniform(0, 1) == 0) s.keys.push_back(Key("storm-replay", ns, alert));
          // Whole units: the record's deadline stays off the step boundaries (see Duration()).
          s.args.push_back(std::to_string(kUnitMs * Pick<int64_t>({1, 2, 3})));
        }
        break;
      }
      case 7: {
        s.script = ScriptId::kStormClose;
        s.keys = {Key("storm-close", ns, alert)};
        const std::string mode = Pick<std::string>({"open", "claim", "claim", "done"});
        s.args = {now, mode, Pick<std::string>({"1714564800000", "1714564810000"}), Duration()};
        if (mode == "open") s.args.push_back(Pick<std::string>({"{\"name\":\"A\"}", "d2"}));
        if (mode == "claim") {
          s.args.push_back(Pick<std::string>({"c1", "c2"}));
          s.args.push_back(std::to_string(kUnitMs * Pick<int64_t>({1, 3, 31})));
        }
        break;
      }
      default: {
        s.script = ScriptId::kRateLimit;
        const int64_t burst = Uniform(1, 4);
        s.keys = {Key("ratelimit", Pick<std::string>({"c0", "c1"}))};
        // Never skewed: a bucket's state is due exactly at a `now` (multiples of 10 s), where
        // Redis keeps the key and the harness's advance has deleted it; unskewed, both read the
        // same arrival time (= now). A skewed `now` would tell them apart.
        s.args = {std::to_string(now_ms), std::to_string(kUnitMs * 1000 * Uniform(1, 3)), std::to_string(burst),
                  std::to_string(Uniform(0, static_cast<int>(burst)))};
        break;
      }
    }
    // storm_close's twin is not held to malformed arguments here (see the report of issue 15).
    if (s.script != ScriptId::kStormClose && Uniform(0, 7) == 0) Malform(s);
    return s;
  }

 private:
  // Malformed arguments, as a caller could send them: a missing or extra argument, or one that
  // Lua's tonumber reads differently from a plain decimal (or not at all). The twin must do
  // what the Lua does: the same writes before the same failure, or the same result.
  void Malform(Step& s) {
    s.malformed = true;
    const int what = Uniform(0, 3);
    if (what == 0 && !s.args.empty()) {
      s.args.resize(static_cast<std::size_t>(Uniform(0, static_cast<int>(s.args.size()) - 1)));
    } else if (what == 1) {
      s.args.push_back(Pick<std::string>({"extra", "1", ""}));
    } else if (what == 2 && s.script != ScriptId::kRateLimit && !s.args.empty()) {
      // Not for rate_limit: its exactness needs an unskewed `now` (see its step).
      const auto i = static_cast<std::size_t>(Uniform(0, static_cast<int>(s.args.size()) - 1));
      // A number Lua reads as the same value (hex, spaces, a NUL ending it, ".0"), so durations
      // stay odd multiples of 5 s (see the top), or one that is no number or no finite one.
      const std::string v = s.args[i];
      std::string hex = v;
      if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() < 18) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "0x%llx", std::stoull(v));
        hex = buf;
      }
      // A duration must stay off the 10 s grid even when malformed: "-0" would make it 0 and
      // a deadline land exactly on a `now` (where real Redis and the harness's TTL shifting
      // may disagree by a millisecond: seeds 75 and 126 once failed so); its negative keeps the
      // odd multiple of 5 s.
      const bool duration = !v.empty() && v.size() < 18 &&
                            v.find_first_not_of("0123456789") == std::string::npos &&
                            std::stoll(v) % kUnitMs == kUnitMs / 2;
      const std::string negative_zero = duration ? "-" + v : "-0";
      s.args[i] = Pick<std::string>({"abc", "", "inf", negative_zero, "nan", "1e400", hex,
                                     " " + v + " ", v + std::string(1, '\0') + "x", v + ".0"});
    } else if (!s.keys.empty()) {
      s.keys.pop_back();  // KEYS[n] nil
    }
  }

  Step Hostile() {
    Step s;
    s.is_script = false;
    const std::string key = Pick<std::string>(
        {Key("dedup", "fp0"), Key("storm-rate", "ns-a", "HighCPU"),
         Key("storm-pattern", "ns-b", "HighCPU"), Key("storm-agg-0", "ns-a", "HighCPU"),
         Key("storm-agg-1", "ns-b", "HighCPU"), Key("storm-agg-2", "ns-a", "Crash:Loop"),
         Key("ratelimit", "c1"), Key("storm-replay", "ns-a", "HighCPU")});
    // A bucket may be due exactly now (see the rate_limit step): only overwrite it.
    const int kind = key.rfind("ratelimit", 0) == 0 ? 4 : Uniform(0, 4);
    switch (kind) {
      case 0:
        s.command = {"SET", key, kJunk[Uniform(0, static_cast<int>(std::size(kJunk)) - 1)]};
        break;
      case 1:
        s.command = {"HSET", key, Pick<std::string>({"#n", "#f", "count", "x", "r1:1"}), "1"};
        break;
      case 2:
        s.command = {"DEL", key};
        break;
      case 3:
        s.command = {"PERSIST", key};
        break;
      default:
        s.command = {"SET", key, std::to_string(1714564800000000 + Uniform(0, 5) * 10000000)};
        break;
    }
    return s;
  }

  static std::string Key(const std::string& family, const std::string& tag,
                         const std::string& part = "") {
    static const KeySchema schema(KeySchemaOptions{.prefix = "", .max_part_bytes = 256});
    return part.empty() ? schema.Key(family, tag) : schema.Key(family, tag, {part});
  }

  std::string Duration() { return std::to_string(kUnitMs * Pick<int64_t>({1, 3, 7, 31}) / 2); }

  std::string Resource() {
    return "Pod/api-" + std::to_string(Uniform(0, 7)) + Pick<std::string>({"", "", "-x%3A"});
  }

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  template <typename T>
  T Pick(std::initializer_list<T> items) {
    return *(items.begin() + Uniform(0, static_cast<int>(items.size()) - 1));
  }

  std::mt19937 rng_;
};

std::vector<std::string> Prefixed(const std::string& prefix, const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(prefix + k);
  return out;
}

// Equal replies, or errors of the same class.
::testing::AssertionResult SameOutcome(const Result<Reply>& a, const Result<Reply>& b) {
  if (a.ok() && b.ok()) {
    if (*a == *b) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "replies differ: " << *a << " vs " << *b;
  }
  if (a.ok() != b.ok()) {
    return ::testing::AssertionFailure()
           << "one side failed: " << (a.ok() ? a->ToString() : a.status().ToString()) << " vs "
           << (b.ok() ? b->ToString() : b.status().ToString());
  }
  auto generic = [](StatusCode c) {
    return c == StatusCode::kInvalidArgument || c == StatusCode::kScriptError ||
           c == StatusCode::kServerError;
  };
  const StatusCode ca = a.status().code(), cb = b.status().code();
  const bool corrupt_a = a.status().message().rfind("CORRUPT ", 0) == 0;
  const bool corrupt_b = b.status().message().rfind("CORRUPT ", 0) == 0;
  if (corrupt_a != corrupt_b || (ca != cb && !(generic(ca) && generic(cb)))) {
    return ::testing::AssertionFailure() << "errors differ: " << a.status() << " vs " << b.status();
  }
  return ::testing::AssertionSuccess();
}

// One side of a comparison: how to run a step and dump the state.
struct Side {
  std::string name;
  std::function<Result<Reply>(const Step&)> run;
  std::function<Status(std::chrono::milliseconds)> advance;
  std::function<Result<std::map<std::string, testing_scripts::DumpedKey>>()> dump;
  // When set: the commands the last script step sent (command names upper-cased).
  std::function<Result<std::vector<Command>>()> last_trace;
};

std::string TraceText(const std::vector<Command>& trace) {
  std::string out;
  for (const Command& c : trace) {
    out += "   ";
    for (const std::string& a : c) out += " '" + (a.size() > 60 ? a.substr(0, 60) + "..." : a) + "'";
    out += "\n";
  }
  return out;
}

std::string Trace(const std::vector<std::string>& log) {
  std::string trace;
  for (const auto& l : log) trace += "  " + l + "\n";
  return trace;
}

// Counts which branches a step's outcome shows (on the first side).
void Classify(const Step& step, const Result<Reply>& r, std::map<std::string, int>& seen) {
  if (!step.is_script) return;
  if (step.malformed) {
    ++seen[r.ok() ? "malformed, ran" : "malformed, failed"];
    return;
  }
  if (!r.ok()) {
    if (r.status().message().rfind("CORRUPT ", 0) == 0) ++seen["corrupt"];
    if (r.status().IsWrongType()) ++seen["wrongtype"];
    return;
  }
  const auto& e = r->elements();
  auto at = [&](std::size_t i) { return i < e.size() && e[i].is_integer() ? e[i].integer() : 0; };
  switch (step.script) {
    case ScriptId::kDedup:
      if (at(0) == 1) ++seen["dedup duplicate"];
      if (at(0) == 2) ++seen["dedup resumed"];
      if (at(0) == 3) ++seen["dedup busy"];
      break;
    case ScriptId::kDedupFinish:
      if (r->is_integer() && r->integer() == 1) ++seen["dedup finished"];
      break;
    case ScriptId::kStormDetect:
      if (at(2) == 1) ++seen["rate storm"];
      if (at(3) == 1) ++seen["pattern storm"];
      break;
    case ScriptId::kRateLimit:
      ++seen[at(0) == 1 ? "rate allowed" : "rate limited"];
      break;
    case ScriptId::kStormClose:
      ++seen[step.args[1] + (at(0) == 1 ? " written" : at(0) == 2 ? " done already" : " refused")];
      break;
    default:
      ++seen[at(0) == 1 ? "storm opened" : at(0) == -1 ? "storm waits for its close" : "storm continued"];
      if (at(3) > 0) ++seen["storm overflow"];
      if (at(5) > std::stoll(step.args[0])) ++seen["storm skewed"];  // last_seen kept
      break;
  }
}

void RunSequences(Side& a, Side& b, int sequences, int steps) {
  const uint32_t seed = static_cast<uint32_t>(::testing::UnitTest::GetInstance()->random_seed());
  // The `now` given to scripts: one logical clock for both sides (the backends' own clocks may
  // start elsewhere; scripts only hand them relative TTLs).
  ManualClock logical;
  std::map<std::string, int> coverage;
  for (int seq = 0; seq < sequences; ++seq) {
    StepGenerator gen(seed * 1000003u + static_cast<uint32_t>(seq));
    std::vector<std::string> log;
    for (int i = 0; i < steps; ++i) {
      Step step = gen.Next(logical.NowMs());
      log.push_back(step.ToString());
      if (step.advance_ms > 0) {
        const std::chrono::milliseconds d(step.advance_ms);
        logical.Advance(d);
        ASSERT_OK(a.advance(d));
        ASSERT_OK(b.advance(d));
        continue;
      }
      Result<Reply> ra = a.run(step);
      Result<Reply> rb = b.run(step);
      Classify(step, ra, coverage);
      ASSERT_TRUE(SameOutcome(ra, rb))
          << a.name << " vs " << b.name << ", seed " << seed << " sequence " << seq << " step "
          << i << ": " << step.ToString() << "\nsteps so far:\n"
          << Trace(log);
      if (step.is_script && a.last_trace && b.last_trace) {
        ASSERT_OK_AND_ASSIGN(std::vector<Command> ta, a.last_trace());
        ASSERT_OK_AND_ASSIGN(std::vector<Command> tb, b.last_trace());
        ++coverage["traced"];
        coverage["traced commands"] += static_cast<int>(ta.size());
        ASSERT_EQ(ta, tb) << "commands sent differ: " << a.name << " vs " << b.name << ", seed "
                          << seed << " sequence " << seq << " step " << i << ": "
                          << step.ToString() << "\n" << a.name << ":\n" << TraceText(ta)
                          << b.name << ":\n" << TraceText(tb) << "steps so far:\n" << Trace(log);
      }
    }
    ASSERT_OK_AND_ASSIGN(auto da, a.dump());
    ASSERT_OK_AND_ASSIGN(auto db, b.dump());
    std::string diff = DiffDumps(da, db, kTtlToleranceMs);
    ASSERT_EQ(diff, "") << a.name << " vs " << b.name << ", seed " << seed << " sequence " << seq
                        << " (" << da.size() << " keys); steps:\n"
                        << Trace(log);
  }
  // The sequences must have reached the interesting branches, or agreement proves little.
  for (const char* what : {"corrupt", "wrongtype", "dedup duplicate", "dedup resumed",
                           "dedup busy", "dedup finished", "rate storm",
                           "pattern storm", "storm opened", "storm continued", "storm overflow",
                           "storm skewed", "storm waits for its close", "open written",
                           "claim written", "done written",
                           "rate limited", "rate allowed", "malformed, ran", "malformed, failed"}) {
    EXPECT_GT(coverage[what], 0) << "no step reached: " << what;
  }
  // A trace comparison that never saw a command would prove nothing (most scripts send several).
  if (coverage["traced"] > 0) {
    EXPECT_GT(coverage["traced commands"], coverage["traced"]);
  }
}

Side EvalSide(const std::string& name, TestBackend& tb, const std::string& prefix) {
  Side s;
  s.name = name;
  KvBackend* kv = tb.kv.get();
  s.run = [kv, prefix](const Step& step) -> Result<Reply> {
    if (!step.is_script) {
      Command c = step.command;
      c[1] = prefix + c[1];
      return kv->Run(c);
    }
    return kv->Eval(GatewayScript(step.script), Prefixed(prefix, step.keys), step.args);
  };
  s.advance = tb.advance;
  s.dump = [kv, prefix] { return DumpKeys(*kv, prefix); };
  return s;
}

constexpr int kSequences = 40;
constexpr int kSteps = 120;

// Memory backend (native twins) against Lua: the embedded engine (memory-lua), real Redis, the real
// cluster. The parameter is the backend the memory backend is compared with, so a Redis case
// carries the redis label and lock.
class MemoryVsLuaTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    STORMKV_SETUP_BACKEND("memory", memory_);
    STORMKV_SETUP_BACKEND(GetParam(), redis_);
  }
  std::optional<TestBackend> memory_, redis_;
};

TEST_P(MemoryVsLuaTest, RandomSequencesAgree) {
  Side a = EvalSide("memory (twin)", *memory_, "d:");
  Side b = EvalSide(GetParam() + " (lua)", *redis_, "d:");
  RunSequences(a, b, kSequences, kSteps);
}

INSTANTIATE_TEST_SUITE_P(Scripts, MemoryVsLuaTest,
                         ::testing::Values("memory-lua", "redis", "redis-cluster"),
                         BackendParamName);

// The native twin run command by command on Redis against the Lua text on the same Redis: the
// twin's logic, independent of the memory backend.
class TwinVsLuaOnRedisTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { STORMKV_SETUP_BACKEND(GetParam(), redis_); }
  std::optional<TestBackend> redis_;
};

TEST_P(TwinVsLuaOnRedisTest, RandomSequencesAgree) {
  Side lua = EvalSide("redis (lua)", *redis_, "L:");
  Side twin = EvalSide("redis (twin via commands)", *redis_, "T:");
  KvBackend* kv = redis_->kv.get();
  twin.run = [kv](const Step& step) -> Result<Reply> {
    if (!step.is_script) {
      Command c = step.command;
      c[1] = "T:" + c[1];
      return kv->Run(c);
    }
    return RunTwin(*kv, GatewayScript(step.script), Prefixed("T:", step.keys), step.args);
  };
  // One clock and one server: advance once.
  twin.advance = [](std::chrono::milliseconds) { return Status::Ok(); };
  RunSequences(lua, twin, kSequences, kSteps);
}

INSTANTIATE_TEST_SUITE_P(Scripts, TwinVsLuaOnRedisTest, ::testing::Values("redis", "redis-cluster"),
                         BackendParamName);

// ---- the command trace ---------------------------------------------------------------------

Command Normalized(Command c) {
  if (!c.empty()) {
    std::transform(c[0].begin(), c[0].end(), c[0].begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  }
  return c;
}

// Runs each call as KvBackend::Run and records it.
class RecordingContext final : public ScriptContext {
 public:
  RecordingContext(KvBackend& kv, std::vector<Command>* trace) : kv_(kv), trace_(trace) {}
  Result<Reply> Call(const Command& argv) override {
    trace_->push_back(Normalized(argv));
    return kv_.Run(argv);
  }

 private:
  KvBackend& kv_;
  std::vector<Command>* trace_;
};

Result<Reply> ScriptOutcome(Reply r) {
  if (r.is_error()) return StatusFromErrorReply(r.str());
  return r;
}

// Raw commands and time as EvalSide; scripts run by `script_run` through a RecordingContext
// on `tb`'s backend (single-threaded: the script is not atomic here, and need not be).
using ScriptRunner = std::function<Result<Reply>(const Script&, const std::vector<std::string>&,
                                                 const std::vector<std::string>&, ScriptContext&)>;
Side RecordingSide(const std::string& name, TestBackend& tb, const std::string& prefix,
                   ScriptRunner script_run) {
  Side s = EvalSide(name, tb, prefix);
  auto trace = std::make_shared<std::vector<Command>>();
  KvBackend* kv = tb.kv.get();
  s.run = [kv, prefix, trace, script_run](const Step& step) -> Result<Reply> {
    if (!step.is_script) {
      Command c = step.command;
      c[1] = prefix + c[1];
      return kv->Run(c);
    }
    trace->clear();
    RecordingContext ctx(*kv, trace.get());
    return script_run(GatewayScript(step.script), Prefixed(prefix, step.keys), step.args, ctx);
  };
  s.last_trace = [trace]() -> Result<std::vector<Command>> { return *trace; };
  return s;
}

Side TwinTraceSide(TestBackend& tb, const std::string& prefix) {
  return RecordingSide("twin", tb, prefix,
                       [](const Script& script, const std::vector<std::string>& keys,
                          const std::vector<std::string>& args, ScriptContext& ctx) {
                         return script.native_twin()(ctx, keys, args);
                       });
}

Side EngineTraceSide(TestBackend& tb, const std::string& prefix) {
  auto engine = std::make_shared<LuaEngine>();
  return RecordingSide("lua (embedded engine)", tb, prefix,
                       [engine](const Script& script, const std::vector<std::string>& keys,
                                const std::vector<std::string>& args,
                                ScriptContext& ctx) -> Result<Reply> {
                         if (!engine->Exists(script.sha1())) {
                           STORMKV_RETURN_IF_ERROR(engine->Load(script.lua()).status());
                         }
                         return ScriptOutcome(engine->RunCached(script.sha1(), keys, args, ctx));
                       });
}

// One token of a MONITOR line: a quoted argument as Redis writes it (\\ \" \n \r \t \a \b
// \xHH escapes).
bool UnquoteMonitorArg(const std::string& line, size_t* pos, std::string* out) {
  if (*pos >= line.size() || line[*pos] != '"') return false;
  ++*pos;
  out->clear();
  while (*pos < line.size()) {
    char c = line[(*pos)++];
    if (c == '"') return true;
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (*pos >= line.size()) return false;
    char e = line[(*pos)++];
    switch (e) {
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'a': out->push_back('\a'); break;
      case 'b': out->push_back('\b'); break;
      case 'x': {
        if (*pos + 2 > line.size()) return false;
        out->push_back(static_cast<char>(std::stoi(line.substr(*pos, 2), nullptr, 16)));
        *pos += 2;
        break;
      }
      default: out->push_back(e); break;  // \\ and \"
    }
  }
  return false;
}

// A MONITOR connection to the test server: the commands scripts ran ("[db lua]" lines) between
// two markers.
class Monitor {
 public:
  static Result<std::unique_ptr<Monitor>> Open(const std::string& url) {
    Result<RedisEndpoint> parsed = ParseRedisUrl(url);
    if (!parsed.ok()) return parsed.status();
    const RedisEndpoint& ep = *parsed;
    if (ep.kind != RedisEndpoint::Kind::kTcp) return Status::InvalidArgument("MONITOR: TCP only");
    auto m = std::unique_ptr<Monitor>(new Monitor());
    timeval tv{10, 0};
    m->c_ = redisConnectWithTimeout(ep.host.c_str(), ep.port, tv);
    if (m->c_ == nullptr || m->c_->err) {
      return Status::Unavailable("MONITOR connection to " + ep.Describe() + " failed");
    }
    redisSetTimeout(m->c_, tv);  // a missing line fails the read instead of hanging the test
    if (!ep.password.empty()) {
      STORMKV_RETURN_IF_ERROR(m->Command1(ep.user.empty()
                                              ? std::vector<std::string>{"AUTH", ep.password}
                                              : std::vector<std::string>{"AUTH", ep.user, ep.password}));
    }
    STORMKV_RETURN_IF_ERROR(m->Command1({"MONITOR"}));
    return m;
  }
  ~Monitor() {
    if (c_ != nullptr) redisFree(c_);
  }

  // Reads MONITOR lines until one shows `marker` (an ECHO sent after the script); returns the
  // script commands seen before it.
  Result<std::vector<Command>> Until(const std::string& marker) {
    std::vector<Command> out;
    static const std::regex lua_line(R"(^[0-9.]+ \[[0-9]+ lua\] )");
    for (;;) {
      void* raw = nullptr;
      if (redisGetReply(c_, &raw) != REDIS_OK || raw == nullptr) {
        return Status::Unavailable("MONITOR: no line (" + std::string(c_->errstr) + ")");
      }
      std::unique_ptr<redisReply, void (*)(void*)> r(static_cast<redisReply*>(raw),
                                                      freeReplyObject);
      if (r->type != REDIS_REPLY_STATUS) continue;
      const std::string line(r->str, r->len);
      if (line.find(marker) != std::string::npos) return out;
      std::smatch m;
      if (!std::regex_search(line, m, lua_line)) continue;
      size_t pos = static_cast<size_t>(m.length(0));
      Command c;
      std::string arg;
      while (UnquoteMonitorArg(line, &pos, &arg)) {
        c.push_back(arg);
        if (pos < line.size() && line[pos] == ' ') ++pos;
      }
      out.push_back(Normalized(std::move(c)));
    }
  }

 private:
  Monitor() = default;
  Status Command1(const std::vector<std::string>& argv) {
    std::vector<const char*> v;
    std::vector<size_t> l;
    for (const auto& a : argv) {
      v.push_back(a.data());
      l.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(v.size()), v.data(), l.data()));
    if (r == nullptr) return Status::Unavailable("MONITOR connection: " + std::string(c_->errstr));
    const bool err = r->type == REDIS_REPLY_ERROR;
    const std::string text = r->str != nullptr ? std::string(r->str, r->len) : "";
    freeReplyObject(r);
    if (err) return Status::ServerError(text);
    return Status::Ok();
  }
  redisContext* c_ = nullptr;
};

// The Lua on real Redis (EVALSHA through the backend), its commands read from MONITOR.
Side MonitorSide(TestBackend& tb, const std::string& prefix, std::shared_ptr<Monitor> monitor) {
  Side s = EvalSide("lua (Redis, MONITOR)", tb, prefix);
  auto trace = std::make_shared<std::vector<Command>>();
  auto counter = std::make_shared<int>(0);
  KvBackend* kv = tb.kv.get();
  auto eval = s.run;
  s.run = [kv, eval, trace, counter, monitor](const Step& step) -> Result<Reply> {
    Result<Reply> r = eval(step);
    if (!step.is_script) return r;
    const std::string marker = "stormkv-trace-marker-" + std::to_string(++*counter);
    STORMKV_RETURN_IF_ERROR(kv->Run({"ECHO", marker}).status());
    Result<std::vector<Command>> seen = monitor->Until(marker);
    if (!seen.ok()) return seen.status();
    *trace = std::move(seen).value();
    return r;
  };
  s.last_trace = [trace]() -> Result<std::vector<Command>> { return *trace; };
  return s;
}

// The twin's commands against its Lua's on the embedded engine: every run, no server.
TEST(ScriptTrace, TwinSendsTheCommandsOfItsLuaOnTheEmbeddedEngine) {
  std::optional<TestBackend> twin_backend, lua_backend;
  STORMKV_SETUP_BACKEND("memory", twin_backend);
  STORMKV_SETUP_BACKEND("memory", lua_backend);
  Side a = TwinTraceSide(*twin_backend, "t:");
  Side b = EngineTraceSide(*lua_backend, "t:");
  RunSequences(a, b, kSequences, kSteps);
}

// The twin's commands against what MONITOR shows the script run on real Redis.
class ScriptTraceOnRedisTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    STORMKV_SETUP_BACKEND("memory", twin_);
    STORMKV_SETUP_BACKEND(GetParam(), redis_);
  }
  std::optional<TestBackend> twin_, redis_;
};

TEST_P(ScriptTraceOnRedisTest, TwinSendsWhatMonitorShowsTheScriptSend) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Monitor> m, Monitor::Open(TestRedisUrl()));
  Side a = TwinTraceSide(*twin_, "t:");
  Side b = MonitorSide(*redis_, "t:", std::shared_ptr<Monitor>(std::move(m)));
  RunSequences(a, b, kSequences, kSteps);
}

INSTANTIATE_TEST_SUITE_P(Scripts, ScriptTraceOnRedisTest, ::testing::Values("redis"),
                         BackendParamName);

// Every gateway script is registered once, under its file name, with both halves.
TEST(GatewayScripts, RegisteredWithLuaAndTwin) {
  for (ScriptId id : kAllScriptIds) {
    const Script& s = GatewayScript(id);
    EXPECT_EQ(&s, ScriptRegistry::Global().Find(ScriptName(id)));
    EXPECT_FALSE(s.lua().empty());
    EXPECT_TRUE(static_cast<bool>(s.native_twin()));
    EXPECT_EQ(s.sha1().size(), 40u);
    EXPECT_EQ(s.lua().find("TIME"), std::string::npos) << s.name() << " must take now as ARGV";
  }
}

}  // namespace
}  // namespace stormkv
