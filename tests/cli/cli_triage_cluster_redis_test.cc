// tests/cli/cli_triage_cluster_redis_test.cc — `stormkv triage redis-cluster://...` on the real
// test cluster of tools/test.sh (STORMKV_REDIS_CLUSTER_URL, 3 masters + 3 replicas): per-master
// memory, maxmemory and policy, each master's replica, and the findings a real cluster produces
// (maxmemory-differs, maxmemory-near / -below-used on one master, hot-shard naming the tag).
// Cases FLUSHDB every master, and restore every master's maxmemory and policy (read in SetUp) in
// TearDown. RESOURCE_LOCK redis-cluster; with STORMKV_REQUIRE_REDIS=1 a missing cluster fails.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "common/test_env.h"
#include "common/test_util.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/redis_backend.h"
#include "stormkv/redis_cluster_backend.h"

namespace stormkv::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

class CliTriageClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    STORMKV_NEED_SERVER("STORMKV_REDIS_CLUSTER_URL");
    url_ = EnvOr("STORMKV_REDIS_CLUSTER_URL");
    RedisClusterOptions o;
    o.url = url_;
    Result<std::unique_ptr<KvBackend>> kv = NewRedisClusterBackend(o);
    ASSERT_TRUE(kv.ok()) << url_ << ": " << kv.status();
    kv_ = std::move(kv).value();
    nodes_ = AsRedisClusterBackend(kv_.get())->Nodes();
    ASSERT_EQ(nodes_.size(), 3u);
    for (const RedisClusterNode& n : nodes_) {
      saved_.push_back({Config(n, "maxmemory"), Config(n, "maxmemory-policy")});
    }
    ASSERT_OK(kv_->FlushDb());
  }
  void TearDown() override {
    if (!kv_) return;
    EXPECT_OK(kv_->FlushDb());
    for (std::size_t i = 0; i < saved_.size(); ++i) {
      EXPECT_OK(nodes_[i].backend->Run({"CONFIG", "SET", "maxmemory", saved_[i].first}).status());
      EXPECT_OK(nodes_[i].backend->Run({"CONFIG", "SET", "maxmemory-policy", saved_[i].second})
                    .status());
    }
  }

  std::string Config(const RedisClusterNode& n, const std::string& name) {
    Result<Reply> r = n.backend->Run({"CONFIG", "GET", name});
    EXPECT_TRUE(r.ok() && r->is_array() && r->elements().size() == 2) << n.address;
    return r.ok() && r->is_array() && r->elements().size() == 2 ? r->elements()[1].str() : "";
  }
  int64_t UsedMemory(const RedisClusterNode& n) {
    auto info = n.backend->Info("memory");
    EXPECT_OK(info.status());
    return info.ok() ? std::stoll(info->at("used_memory")) : -1;
  }
  // The index of the master owning `key`.
  int OwnerOf(const std::string& key) {
    const int slot = HashSlot(key);
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      for (const auto& [first, last] : nodes_[i].slots) {
        if (slot >= first && slot <= last) return static_cast<int>(i);
      }
    }
    return -1;
  }
  // A key named `stem`<n> owned by master `node`.
  std::string KeyOn(int node, const std::string& stem) {
    for (int i = 0;; ++i) {
      std::string k = stem + std::to_string(i);
      if (OwnerOf(k) == node) return k;
    }
  }
  json Triage(int* exit_code = nullptr) {
    std::vector<std::string> args = {"triage", url_, "--json"};
    CliRun run = RunCli(args);
    if (exit_code != nullptr) *exit_code = run.exit_code;
    EXPECT_NE(run.exit_code, 2) << run.err;
    EXPECT_NE(run.exit_code, 3) << run.err;
    json j = json::parse(run.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << CommandLine(args) << "\n" << run.out << run.err;
    return j;
  }

  std::string url_;
  std::unique_ptr<KvBackend> kv_;
  std::vector<RedisClusterNode> nodes_;
  std::vector<std::pair<std::string, std::string>> saved_;  // maxmemory, policy per master
};

const json* FindCode(const json& findings, const std::string& code, int node = -2) {
  for (const json& f : findings) {
    const int fnode = f.contains("node") ? f["node"].get<int>() : -1;
    if (f["code"] == code && (node == -2 || node == fnode)) return &f;
  }
  return nullptr;
}

TEST_F(CliTriageClusterTest, EveryMasterItsMemoryAndItsReplica) {
  std::vector<int> per_master(3, 0);
  for (int i = 0; i < 300; ++i) {
    const std::string k = "stormkv:dedup:{fp-" + std::to_string(i) + "}";
    ASSERT_OK(kv_->Run({"SET", k, "x", "EX", "600"}).status());
    ++per_master[OwnerOf(k)];
  }
  int rc = -1;
  json j = Triage(&rc);
  EXPECT_EQ(rc, 0) << j.dump(2);
  EXPECT_EQ(j["cluster"], true);
  ASSERT_EQ(j["nodes"].size(), 3u) << j.dump(2);
  for (std::size_t i = 0; i < 3; ++i) {
    const json& n = j["nodes"][i];
    EXPECT_EQ(n["address"], nodes_[i].address);
    EXPECT_EQ(n["reachable"], true);
    EXPECT_EQ(n["cluster_state"], "ok");
    EXPECT_EQ(n["keys"], per_master[i]) << "each master's own keys, from its own SCAN";
    EXPECT_GT(n["key_bytes"].get<int64_t>(), 0);
    EXPECT_EQ(std::to_string(n["memory"]["maxmemory"].get<int64_t>()), saved_[i].first);
    EXPECT_EQ(n["memory"]["maxmemory_policy"], saved_[i].second);
    EXPECT_GT(n["memory"]["used_memory"].get<int64_t>(), 1 << 20);
    ASSERT_EQ(n["replicas"].size(), 1u) << n.dump(2);
    const json& rep = n["replicas"][0];
    EXPECT_EQ(rep["visited"], true) << rep.dump();
    EXPECT_EQ(rep["master_link_status"], "up");
    EXPECT_EQ(rep["healthy"], true);
    EXPECT_GT(rep["used_memory"].get<int64_t>(), 1 << 20);
  }
  EXPECT_EQ(j["keys_scanned"], 300);
  for (const char* code : {"hot-shard", "maxmemory-differs", "master-without-replica",
                           "cluster-state", "node-unreachable"}) {
    EXPECT_EQ(FindCode(j["findings"], code), nullptr) << code << "\n" << j["findings"].dump(2);
  }
  // Read-only: the keys are all there, unchanged.
  ASSERT_OK_AND_ASSIGN(int64_t n, kv_->DbSize());
  EXPECT_EQ(n, 300);
}

TEST_F(CliTriageClusterTest, OneMasterNearItsLimitAnotherWithOtherPolicy) {
  // 16 MB on master 1 (a 2 MB key and 14 of 1 MB), then its maxmemory just above its
  // used_memory once the write buffers are given back (95% full).
  const std::string big = KeyOn(1, "triage:big:");
  ASSERT_OK(kv_->Run({"SET", big, std::string(2 << 20, 'b')}).status());
  for (int i = 0; i < 14; ++i) {
    ASSERT_OK(kv_->Run({"SET", KeyOn(1, "triage:mb" + std::to_string(i) + ":"),
                        std::string(1 << 20, 'm')})
                  .status());
  }
  int64_t used = UsedMemory(nodes_[1]);
  // Redis frees a client's query buffer and the replica's output buffer in the background
  // (clientsCron): wait until used_memory stops falling (bounded: 10 s).
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const int64_t now = UsedMemory(nodes_[1]);
    if (i >= 4 && now >= used - (64 << 10)) {
      used = now;
      break;
    }
    used = std::min(used, now);
  }
  ASSERT_GT(used, 16 << 20);
  const std::string limit = std::to_string(used * 100 / 95);
  ASSERT_OK(nodes_[1].backend->Run({"CONFIG", "SET", "maxmemory", limit}).status());
  ASSERT_OK(
      nodes_[2].backend->Run({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"}).status());
  int rc = -1;
  json j = Triage(&rc);
  EXPECT_EQ(rc, 0) << "warnings only";
  const json* near = FindCode(j["findings"], "maxmemory-near", 1);
  ASSERT_NE(near, nullptr) << j["findings"].dump(2);
  EXPECT_THAT((*near)["message"].get<std::string>(), HasSubstr(nodes_[1].address));
  EXPECT_EQ(FindCode(j["findings"], "maxmemory-near", 0), nullptr);
  EXPECT_NE(FindCode(j["nodes"][1]["findings"], "maxmemory-near"), nullptr);
  const json* differs = FindCode(j["findings"], "maxmemory-differs", -1);
  ASSERT_NE(differs, nullptr) << j["findings"].dump(2);
  const std::string msg = (*differs)["message"].get<std::string>();
  EXPECT_THAT(msg, HasSubstr("maxmemory and policy differ"));
  EXPECT_THAT(msg, HasSubstr(nodes_[2].address + ") maxmemory 256 MB allkeys-lru"));
  // Master 2's policy has its own warning; the two others share theirs.
  const json* policy = FindCode(j["findings"], "eviction-policy", 2);
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ((*policy)["severity"], "warning");
  const json* bigkey = FindCode(j["findings"], "big-keys", -1);
  ASSERT_NE(bigkey, nullptr);
  EXPECT_THAT((*bigkey)["message"].get<std::string>(), HasSubstr(big));
  EXPECT_EQ(j["top_keys"][0]["key"], big);
  EXPECT_EQ(j["top_keys"][0]["node"], 1);
}

TEST_F(CliTriageClusterTest, MasterOverItsLimitIsAnError) {
  ASSERT_OK(nodes_[0].backend->Run({"CONFIG", "SET", "maxmemory", "1mb"}).status());
  int rc = -1;
  json j = Triage(&rc);
  EXPECT_EQ(rc, 1) << "an error finding";
  const json* over = FindCode(j["findings"], "maxmemory-below-used", 0);
  ASSERT_NE(over, nullptr) << j["findings"].dump(2);
  EXPECT_EQ((*over)["severity"], "error");
  EXPECT_EQ(FindCode(j["findings"], "maxmemory-below-used", 1), nullptr);
  EXPECT_EQ(j["errors"], true);
}

TEST_F(CliTriageClusterTest, HotShardNamesTheHashTagThatMakesIt) {
  for (int i = 0; i < 150; ++i) {
    ASSERT_OK(kv_->Run({"SET", "stormkv:dedup:{fp-" + std::to_string(i) + "}", "x", "EX", "600"})
                  .status());
  }
  const std::string tag = "payments:KubePodCrashLooping";
  const int hot = OwnerOf("{" + tag + "}");
  for (int i = 0; i < 400; ++i) {
    ASSERT_OK(kv_->Run({"SET", "stormkv:storm-agg:{" + tag + "}:" + std::to_string(i),
                        std::string(64, 'a'), "EX", "600"})
                  .status());
  }
  json j = Triage();
  const json* f = FindCode(j["findings"], "hot-shard", hot);
  ASSERT_NE(f, nullptr) << j["findings"].dump(2);
  const std::string msg = (*f)["message"].get<std::string>();
  EXPECT_THAT(msg, HasSubstr(nodes_[hot].address));
  EXPECT_THAT(msg, HasSubstr("{" + tag + "}"));
  EXPECT_THAT(msg, HasSubstr("stormkv:storm-agg:*"));
  for (int i = 0; i < 3; ++i) {
    if (i == hot) continue;
    EXPECT_EQ(FindCode(j["findings"], "hot-shard", i), nullptr) << i;
  }
  ASSERT_FALSE(j["nodes"][hot]["top_tags"].empty());
  EXPECT_EQ(j["nodes"][hot]["top_tags"][0]["tag"], tag);
  EXPECT_EQ(j["nodes"][hot]["top_tags"][0]["keys"], 400);
  // The text form carries the same finding.
  CliRun text = RunCli({"triage", url_, "--no-progress"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("hot-shard: node " + std::to_string(hot)));
  EXPECT_THAT(text.out, HasSubstr("Replicas (INFO only"));
}

// Every node of the cluster (masters and replicas) answers only read-only commands to triage.
TEST_F(CliTriageClusterTest, SendsOnlyReadOnlyCommandsToEveryNode) {
  for (int i = 0; i < 60; ++i) {
    ASSERT_OK(kv_->Run({"SET", "stormkv:dedup:{ro-" + std::to_string(i) + "}", "x", "EX", "600"})
                  .status());
  }
  // Every node's address, from CLUSTER NODES.
  Result<Reply> text = nodes_[0].backend->Run({"CLUSTER", "NODES"});
  ASSERT_OK(text.status());
  std::vector<std::unique_ptr<KvBackend>> all;
  std::size_t pos = 0;
  const std::string& t = text->str();
  while (pos < t.size()) {
    std::size_t end = t.find('\n', pos);
    if (end == std::string::npos) end = t.size();
    const std::string line = t.substr(pos, end - pos);
    pos = end + 1;
    const std::size_t a = line.find(' ');
    if (a == std::string::npos) continue;
    const std::string addr = line.substr(a + 1, line.find('@', a) - a - 1);
    RedisOptions ro;
    ro.url = "redis://" + addr + "/0";
    ro.pool_size = 1;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> node, NewRedisBackend(ro));
    ASSERT_OK(node->Run({"CONFIG", "RESETSTAT"}).status());
    all.push_back(std::move(node));
  }
  ASSERT_EQ(all.size(), 6u) << t;
  int rc = -1;
  json j = Triage(&rc);
  ASSERT_EQ(j["nodes"].size(), 3u);
  // What triage may send, and what replication and our own INFO add.
  const std::set<std::string> allowed = {
      "cmdstat_info",         "cmdstat_dbsize",         "cmdstat_scan",
      "cmdstat_type",         "cmdstat_pttl",           "cmdstat_memory|usage",
      "cmdstat_object|encoding", "cmdstat_ping",        "cmdstat_cluster|info",
      "cmdstat_cluster|nodes", "cmdstat_cluster|myid",  "cmdstat_cluster|slots",
      "cmdstat_config|resetstat", "cmdstat_replconf",   "cmdstat_select"};
  int scanned = 0;
  for (const auto& node : all) {
    ASSERT_OK_AND_ASSIGN(auto stats, node->Info("commandstats"));
    for (const auto& [name, value] : stats) {
      EXPECT_TRUE(allowed.count(name)) << node->Describe() << ": triage sent " << name << " ("
                                       << value << ")";
    }
    scanned += stats.count("cmdstat_scan") > 0;
  }
  EXPECT_EQ(scanned, 3) << "SCAN on each master, none on a replica";
  ASSERT_OK_AND_ASSIGN(int64_t n, kv_->DbSize());
  EXPECT_EQ(n, 60);
}

}  // namespace
}  // namespace stormkv::testing
