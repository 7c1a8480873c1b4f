// `stormkv simulate`, `ingest` and `triage` on a redis-cluster:// URL: the shared test cluster of
// tools/test.sh (STORMKV_REDIS_CLUSTER_URL, 3 masters + 3 replicas), and the bad-URL cases (a
// redis:// URL pointed at a cluster node). Cases FLUSHDB every master; RESOURCE_LOCK redis-cluster,
// so no case here may talk to the shared plain server (STORMKV_REDIS_URL): that one's cases run
// under RESOURCE_LOCK redis (cli_redis_test). With STORMKV_REQUIRE_REDIS=1 a missing
// cluster is a failure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "common/test_env.h"
#include "common/test_util.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/redis_cluster_backend.h"

namespace stormkv::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

std::string Env(const char* name) { return EnvOr(name); }

class CliClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    STORMKV_NEED_SERVER("STORMKV_REDIS_CLUSTER_URL");
    url_ = Env("STORMKV_REDIS_CLUSTER_URL");
    RedisClusterOptions o;
    o.url = url_;
    Result<std::unique_ptr<KvBackend>> kv = NewRedisClusterBackend(o);
    ASSERT_TRUE(kv.ok()) << url_ << ": " << kv.status();
    kv_ = std::move(kv).value();
    ASSERT_OK(kv_->FlushDb());
  }
  void TearDown() override {
    if (kv_) EXPECT_OK(kv_->FlushDb());
  }

  // The keys of every master, by master address.
  std::vector<std::set<std::string>> KeysPerMaster() {
    std::vector<std::set<std::string>> out;
    for (const RedisClusterNode& n : AsRedisClusterBackend(kv_.get())->Nodes()) {
      std::set<std::string> keys;
      EXPECT_OK(n.backend->ScanAll("", [&](const std::string& k) {
        keys.insert(k);
        return Status::Ok();
      }));
      out.push_back(std::move(keys));
    }
    return out;
  }

  std::string url_;
  std::unique_ptr<KvBackend> kv_;
};

std::string AlertJson(const std::string& alertname, const std::string& ns, const std::string& pod) {
  return R"({"status":"firing","labels":{"alertname":")" + alertname + R"(","namespace":")" + ns +
         R"(","pod":")" + pod +
         R"(","severity":"warning"},"annotations":{"summary":"s"},"startsAt":"2024-05-01T11:59:00Z"})";
}

// 4 namespaces x 3 alert names x 8 pods: every (namespace, alert) opens a pattern storm.
std::string StormWebhook() {
  std::string body = R"({"version":"4","status":"firing","receiver":"gw","alerts":[)";
  bool first = true;
  for (const char* ns : {"payments", "shop", "search", "auth"}) {
    for (const char* alert : {"KubePodCrashLooping", "HighLatency", "OOMKilled"}) {
      for (int pod = 0; pod < 8; ++pod) {
        body += (first ? "" : ",") + AlertJson(alert, ns, "api-" + std::to_string(pod));
        first = false;
      }
    }
  }
  return body + "]}";
}

TEST_F(CliClusterTest, SimulateMeasuresOnTheClusterThenDeletesOnlyItsKeys) {
  ASSERT_OK(kv_->Run({"SET", "someone:else", "keep me"}).status());
  CliRun run = RunCli({"simulate", "--backend", url_, "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  json j = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << run.out << run.err;
  EXPECT_EQ(j["fits"], true);
  EXPECT_THAT(j["backend"].get<std::string>(), HasSubstr("redis-cluster://"));
  EXPECT_GT(j["key_bytes"].get<int64_t>(), 0);
  ASSERT_OK_AND_ASSIGN(int64_t n, kv_->DbSize());
  EXPECT_EQ(n, 1) << "simulate deletes what it wrote on every master, and only that";
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> v, kv_->Get("someone:else"));
  EXPECT_EQ(v.value_or(""), "keep me");

  // The same workload on the embedded store writes the same keys per family.
  CliRun mem = RunCli({"simulate", "--json"});
  ASSERT_EQ(mem.exit_code, 0) << mem.err;
  json m = json::parse(mem.out, nullptr, false);
  ASSERT_FALSE(m.is_discarded());
  for (const char* fam : {"dedup", "storm-agg", "storm-pattern", "storm-rate"}) {
    const json* on_cluster = nullptr;
    const json* on_memory = nullptr;
    for (const json& f : j["families"]) on_cluster = f["family"] == fam ? &f : on_cluster;
    for (const json& f : m["families"]) on_memory = f["family"] == fam ? &f : on_memory;
    ASSERT_TRUE(on_cluster && on_memory) << fam;
    EXPECT_EQ((*on_cluster)["keys"], (*on_memory)["keys"]) << fam;
  }
}

TEST_F(CliClusterTest, IngestDecidesAsTheEmbeddedStoreAndSpreadsStormsOverEveryMaster) {
  const std::string payload = StormWebhook();
  std::vector<std::string> args = {"ingest", "--now", "2024-05-01T12:00:00Z", "--prefix",
                                   "clitest:", "-"};
  CliRun mem = RunCli(args, payload);
  ASSERT_EQ(mem.exit_code, 0) << mem.err;
  std::vector<std::string> cargs = args;
  cargs.insert(cargs.begin() + 1, {"--backend", url_});
  CliRun on_cluster = RunCli(cargs, payload);
  ASSERT_EQ(on_cluster.exit_code, 0) << CommandLine(cargs) << "\n" << on_cluster.err;
  std::vector<json> a = JsonLines(mem.out), b = JsonLines(on_cluster.out);
  ASSERT_EQ(a.size(), b.size()) << on_cluster.out;
  int storms = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i], b[i]) << "line " << i;
    if (a[i].contains("outcome") && a[i]["outcome"] == "storm-aggregated") ++storms;
  }
  EXPECT_GT(storms, 0) << mem.out;
  EXPECT_EQ(mem.err, on_cluster.err) << "the same summary";

  // The storms' keys (tagged {ns:alertname}) landed on every master, each storm on one slot.
  std::vector<std::set<std::string>> per_master = KeysPerMaster();
  ASSERT_EQ(per_master.size(), 3u);
  for (std::size_t i = 0; i < per_master.size(); ++i) {
    int storm_keys = 0;
    for (const std::string& k : per_master[i]) storm_keys += k.find(":storm") != std::string::npos;
    EXPECT_GT(storm_keys, 0) << "master " << i << " holds no storm key";
  }
}

TEST_F(CliClusterTest, TriageReadsEveryMaster) {
  // 40 gateway keys without a TTL: spread over the masters by their names.
  std::set<int> slots;
  for (int i = 0; i < 40; ++i) {
    const std::string k = "stormkv:dedup:{leftover-" + std::to_string(i) + "}";
    ASSERT_OK(kv_->Run({"SET", k, "x"}).status());
    slots.insert(HashSlot(k));
  }
  std::vector<std::set<std::string>> per_master = KeysPerMaster();
  for (const auto& keys : per_master) ASSERT_FALSE(keys.empty()) << "test keys do not spread";
  CliRun run = RunCli({"triage", url_, "--json"});
  ASSERT_NE(run.exit_code, 3) << run.err;
  json j = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << run.out << run.err;
  const json* no_ttl = nullptr;
  for (const json& f : j["findings"]) no_ttl = f["code"] == "gateway-keys-without-ttl" ? &f : no_ttl;
  ASSERT_NE(no_ttl, nullptr) << run.out;
  EXPECT_THAT((*no_ttl)["message"].get<std::string>(), HasSubstr("40 gateway keys"));
  EXPECT_THAT(run.out, HasSubstr("redis-cluster://"));
}

TEST_F(CliClusterTest, RedisUrlAtAClusterNodeSaysUseRedisCluster) {
  // redis:// at a cluster node: the first MOVED says to use redis-cluster://. (The other way
  // round, redis-cluster:// at a plain server, is CliRedisTest.ClusterUrlAtAPlainServerSaysUseRedis:
  // it talks to the shared plain server, so it runs under that server's lock, not this one.)
  const std::string seed = url_.substr(std::string("redis-cluster://").size(),
                                       url_.find(',') - std::string("redis-cluster://").size());
  std::vector<std::string> args = {"ingest", "--backend", "redis://" + seed + "/0", "--now",
                                   "2024-05-01T12:00:00Z", "-"};
  CliRun run = RunCli(args, StormWebhook());
  EXPECT_NE(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out + run.err, HasSubstr("use redis-cluster://"));
}

}  // namespace
}  // namespace stormkv::testing
