// `stormkv triage` and `stormkv simulate` against the real Redis named by STORMKV_REDIS_URL
// (tools/test.sh starts one). The server must be disposable: cases FLUSHDB it. Every case that
// changes server config restores it and checks that it did. Carries RESOURCE_LOCK redis: cases read
// server-wide counters (INFO commandstats), so a case of another lock group must never talk to
// this server (see cli_cluster_test.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cli_runner.h"
#include "common/test_env.h"
#include "common/test_util.h"
#include "stormkv/kv_backend.h"
#include "stormkv/redis_backend.h"

namespace stormkv::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

class CliRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    STORMKV_NEED_SERVER("STORMKV_REDIS_URL");
    url_ = EnvOr("STORMKV_REDIS_URL");
    RedisOptions o;
    o.url = url_;
    Result<std::unique_ptr<KvBackend>> kv = NewRedisBackend(o);
    ASSERT_TRUE(kv.ok()) << url_ << ": " << kv.status();
    kv_ = std::move(kv).value();
    ASSERT_OK(kv_->FlushDb());
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> mm, kv_->ConfigGet("maxmemory"));
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> pol, kv_->ConfigGet("maxmemory-policy"));
    ASSERT_TRUE(mm && pol);
    maxmemory_ = *mm;
    policy_ = *pol;
  }

  void TearDown() override {
    if (!kv_) return;
    // Restore, then verify: a test that leaves maxmemory changed is the reference team's bug.
    EXPECT_OK(kv_->ConfigSet("maxmemory", maxmemory_));
    EXPECT_OK(kv_->ConfigSet("maxmemory-policy", policy_));
    Result<std::optional<std::string>> mm = kv_->ConfigGet("maxmemory");
    Result<std::optional<std::string>> pol = kv_->ConfigGet("maxmemory-policy");
    ASSERT_TRUE(mm.ok() && pol.ok());
    EXPECT_EQ(**mm, maxmemory_) << "maxmemory not restored";
    EXPECT_EQ(**pol, policy_) << "maxmemory-policy not restored";
    EXPECT_OK(kv_->FlushDb());
  }

  Reply Must(const Command& c) {
    Result<Reply> r = kv_->Run(c);
    EXPECT_TRUE(r.ok()) << c[0] << ": " << r.status();
    return r.ok() ? *r : Reply();
  }

  json RunJson(const std::vector<std::string>& args, int want_exit) {
    CliRun run = RunCli(args);
    EXPECT_EQ(run.exit_code, want_exit) << CommandLine(args) << "\n" << run.out << run.err;
    json j = json::parse(run.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << run.out << run.err;
    return j;
  }

  std::string url_;
  std::unique_ptr<KvBackend> kv_;
  std::string maxmemory_, policy_;
};

const json* FindingOf(const json& report, const std::string& code) {
  for (const json& f : report["findings"]) {
    if (f["code"] == code) return &f;
  }
  return nullptr;
}

const json* FamilyOf(const json& report, const std::string& label) {
  for (const json& f : report["families"]) {
    if (f["family"] == label) return &f;
  }
  return nullptr;
}

TEST_F(CliRedisTest, TriageFindsSeededFaults) {
  // Gateway keys without TTL (a leak), gateway keys with TTL (fine), unrelated keys.
  for (int i = 0; i < 25; ++i) {
    Must({"HSET", "stormkv:dedup:{fp" + std::to_string(i) + "}", "count", "1", "first", "1"});
  }
  for (int i = 0; i < 10; ++i) {
    Must(
        {"HSET", "stormkv:storm-agg:{ns" + std::to_string(i) + "}:KubePodCrashLooping", "#n", "3"});
    Must({"PEXPIRE", "stormkv:storm-agg:{ns" + std::to_string(i) + "}:KubePodCrashLooping",
          "60000"});
  }
  for (int i = 0; i < 15; ++i) Must({"SET", "session:" + std::to_string(i), "x", "EX", "600"});
  // Script cache growth: distinct EVAL bodies, values formatted into the Lua text.
  Must({"SCRIPT", "FLUSH"});
  for (int i = 0; i < 150; ++i) Must({"EVAL", "return " + std::to_string(i), "0"});
  // The reference team's real cause: maxmemory set far below used memory.
  ASSERT_OK_AND_ASSIGN(int64_t used, kv_->UsedMemory());
  ASSERT_OK(kv_->ConfigSet("maxmemory", std::to_string(used / 2)));

  json j = RunJson({"triage", url_, "--json"}, 1);
  ASSERT_TRUE(j.is_object());

  const json* oom = FindingOf(j, "maxmemory-below-used");
  ASSERT_NE(oom, nullptr) << j["findings"].dump(2);
  EXPECT_EQ((*oom)["severity"], "error");
  EXPECT_THAT((*oom)["message"].get<std::string>(), HasSubstr("OOM"));
  EXPECT_EQ(j["errors"], true);

  const json* scripts = FindingOf(j, "script-cache-growth");
  ASSERT_NE(scripts, nullptr) << j["findings"].dump(2);
  EXPECT_EQ((*scripts)["severity"], "warning");
  EXPECT_GE(j["memory"]["cached_scripts"].get<int64_t>(), 150);

  const json* no_ttl = FindingOf(j, "gateway-keys-without-ttl");
  ASSERT_NE(no_ttl, nullptr) << j["findings"].dump(2);
  EXPECT_THAT((*no_ttl)["message"].get<std::string>(), HasSubstr("stormkv:dedup:*"));
  EXPECT_EQ(j["keys_without_ttl"]["stormkv_keys"], 25);
  EXPECT_EQ(j["keys_without_ttl"]["keys"], 25);

  const json* dedup = FamilyOf(j, "stormkv:dedup:*");
  ASSERT_NE(dedup, nullptr);
  EXPECT_EQ((*dedup)["keys"], 25);
  EXPECT_EQ((*dedup)["no_ttl_keys"], 25);
  EXPECT_EQ((*dedup)["stormkv"], true);
  EXPECT_GT((*dedup)["bytes"].get<int64_t>(), 25 * 40);
  const json* agg = FamilyOf(j, "stormkv:storm-agg:*");
  ASSERT_NE(agg, nullptr);
  EXPECT_EQ((*agg)["keys"], 10);
  EXPECT_EQ((*agg)["no_ttl_keys"], 0);
  const json* sessions = FamilyOf(j, "session:*");
  ASSERT_NE(sessions, nullptr);
  EXPECT_EQ((*sessions)["stormkv"], false);
  EXPECT_EQ(j["sampled"], false);
  EXPECT_EQ(j["keys_scanned"], 50);
  EXPECT_EQ(j["memory"]["maxmemory"], used / 2);
  EXPECT_EQ(j["memory"]["maxmemory_policy"], policy_);

  // The text report says the same in plain language, and exits 1 too.
  CliRun text = RunCli({"triage", url_});
  EXPECT_EQ(text.exit_code, 1) << text.out << text.err;
  EXPECT_THAT(text.out, HasSubstr("ERROR"));
  EXPECT_THAT(text.out, HasSubstr("every write command fails with"));
  EXPECT_THAT(text.out, HasSubstr("BELOW used_memory"));

  // Restore and verify here as well: with the limit back, triage no longer reports an error.
  ASSERT_OK(kv_->ConfigSet("maxmemory", maxmemory_));
  Must({"SCRIPT", "FLUSH"});
  json healthy = RunJson({"triage", url_, "--json"}, 0);
  EXPECT_EQ(FindingOf(healthy, "maxmemory-below-used"), nullptr);
  EXPECT_EQ(FindingOf(healthy, "script-cache-growth"), nullptr);
  EXPECT_NE(FindingOf(healthy, "gateway-keys-without-ttl"), nullptr) << "the leak is still there";
}

TEST_F(CliRedisTest, TriageSendsOnlyReadOnlyCommands) {
  for (int i = 0; i < 40; ++i) Must({"SET", "k:" + std::to_string(i), "v"});
  Must({"HSET", "stormkv:dedup:{x}", "count", "1"});
  Must({"CONFIG", "RESETSTAT"});
  CliRun run = RunCli({"triage", url_, "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  Reply info = Must({"INFO", "commandstats"});
  std::map<std::string, std::string> stats = ParseInfo(info.str());
  const std::set<std::string> allowed = {"cmdstat_info",
                                         "cmdstat_dbsize",
                                         "cmdstat_scan",
                                         "cmdstat_type",
                                         "cmdstat_pttl",
                                         "cmdstat_memory|usage",
                                         "cmdstat_object|encoding",
                                         "cmdstat_ping",
                                         "cmdstat_select",
                                         "cmdstat_auth",
                                         "cmdstat_hello",
                                         "cmdstat_config|resetstat"};
  ASSERT_FALSE(stats.empty());
  for (const auto& [name, value] : stats) {
    EXPECT_TRUE(allowed.count(name)) << "triage sent " << name << " (" << value << ")";
  }
  EXPECT_TRUE(stats.count("cmdstat_memory|usage"));
  EXPECT_TRUE(stats.count("cmdstat_scan"));
  ASSERT_OK_AND_ASSIGN(int64_t n, kv_->DbSize());
  EXPECT_EQ(n, 41);
}

TEST_F(CliRedisTest, ClusterUrlAtAPlainServerSaysUseRedis) {
  // redis-cluster:// at a server without cluster mode: its CLUSTER SLOTS fails, and the error says
  // which scheme to use. (Here, under this server's lock: the CLUSTER SLOTS it sends would show in
  // the commandstats TriageSendsOnlyReadOnlyCommands reads.)
  const std::string hostport =
      url_.substr(8, url_.find('/', 8) == std::string::npos ? std::string::npos
                                                           : url_.find('/', 8) - 8);
  std::vector<std::string> targs = {"triage", "redis-cluster://" + hostport};
  CliRun tri = RunCli(targs);
  EXPECT_EQ(tri.exit_code, 2) << CommandLine(targs) << "\n" << tri.out << tri.err;
  EXPECT_THAT(tri.err, HasSubstr("not a cluster node: use redis://"));
}

TEST_F(CliRedisTest, TriageSamplesLargeDatabasesAndSaysSo) {
  std::vector<Command> batch;
  for (int i = 0; i < 3000; ++i) {
    batch.push_back({"SET", "a:" + std::to_string(i), std::string(100, 'x')});
    batch.push_back({"SET", "b:" + std::to_string(i), "1"});
  }
  for (const Result<Reply>& r : kv_->RunBatch(batch)) ASSERT_OK(r);
  json exact = RunJson({"triage", url_, "--json"}, 0);
  json sampled = RunJson({"triage", url_, "--json", "--sample", "600"}, 0);
  EXPECT_EQ(exact["sampled"], false);
  EXPECT_EQ(sampled["sampled"], true);
  EXPECT_EQ(sampled["keys_inspected"], 600);
  EXPECT_EQ(sampled["keys_scanned"], 6000);
  for (const char* fam : {"a:*", "b:*"}) {
    const json* e = FamilyOf(exact, fam);
    const json* s = FamilyOf(sampled, fam);
    ASSERT_TRUE(e && s) << fam;
    EXPECT_EQ((*s)["keys"], 3000) << "key counts stay exact when sampling";
    EXPECT_EQ((*s)["estimated"], true);
    double eb = (*e)["bytes"].get<double>(), sb = (*s)["bytes"].get<double>();
    EXPECT_NEAR(sb, eb, eb * 0.05) << fam << ": extrapolated bytes close to the exact figure";
  }
  CliRun text = RunCli({"triage", url_, "--sample", "600"});
  EXPECT_THAT(text.out, HasSubstr("sampled"));
  EXPECT_THAT(text.out, HasSubstr("~"));
}

TEST_F(CliRedisTest, SimulateOnRedisMeasuresThenDeletesOnlyItsKeys) {
  Must({"SET", "someone:else", "keep me"});
  json j = RunJson({"simulate", "--backend", url_, "--json"}, 0);
  EXPECT_EQ(j["fits"], true);
  EXPECT_THAT(j["backend"].get<std::string>(), HasSubstr("redis://"));
  EXPECT_EQ(j["key_prefix"].get<std::string>().size(), std::string("stormkv:").size());
  EXPECT_GT(j["key_bytes"].get<int64_t>(), 0);
  ASSERT_OK_AND_ASSIGN(int64_t n, kv_->DbSize());
  EXPECT_EQ(n, 1) << "simulate must delete what it wrote, and only that";
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> v, kv_->Get("someone:else"));
  EXPECT_EQ(v.value_or(""), "keep me");
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> mm, kv_->ConfigGet("maxmemory"));
  EXPECT_EQ(*mm, maxmemory_) << "simulate never changes server config";

  // The embedded store predicts what the real server holds for the same workload.
  json m = RunJson({"simulate", "--json"}, 0);
  for (const char* fam : {"dedup", "storm-agg", "storm-pattern", "storm-rate"}) {
    const json* on_redis = nullptr;
    const json* on_memory = nullptr;
    for (const json& f : j["families"]) on_redis = f["family"] == fam ? &f : on_redis;
    for (const json& f : m["families"]) on_memory = f["family"] == fam ? &f : on_memory;
    ASSERT_TRUE(on_redis && on_memory) << fam;
    EXPECT_EQ((*on_redis)["keys"], (*on_memory)["keys"]) << fam;
    double rb = (*on_redis)["bytes"].get<double>(), mb = (*on_memory)["bytes"].get<double>();
    EXPECT_NEAR(mb, rb, rb * 0.05) << fam << ": memory backend vs Redis MEMORY USAGE";
  }
}

TEST_F(CliRedisTest, SimulateReportsOomWhenTheServerIsFull) {
  ASSERT_OK_AND_ASSIGN(int64_t used, kv_->UsedMemory());
  ASSERT_OK(kv_->ConfigSet("maxmemory", std::to_string(used + 64 * 1024)));
  CliRun run = RunCli({"simulate", "--backend", url_, "--json"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  json j = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << run.out << run.err;
  EXPECT_EQ(j["fits"], false);
  EXPECT_GT(j["alerts"]["oom_errors"].get<int64_t>(), 0);
  EXPECT_THAT(j["first_error"].get<std::string>(), HasSubstr("OOM"));
}

}  // namespace
}  // namespace stormkv::testing
