// tests/cluster/cluster_env_test.cc — the shared test cluster that tools/test.sh starts
// (STORMKV_REDIS_CLUSTER_URL): 3 masters with one linked replica each, all 16384 slots served, and
// the 256 MB noeviction budget on every node; HashSlot and the storm keys' tags against the real
// slot map. Read-only: nothing here changes the cluster.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "cluster/cluster_nodes.h"
#include "common/test_env.h"
#include "common/test_util.h"
#include "stormkv/key_schema.h"

namespace stormkv::testing {
namespace {

class ClusterEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    STORMKV_NEED_SERVER("STORMKV_REDIS_CLUSTER_URL");
    auto seeds = ParseClusterSeeds(EnvOr("STORMKV_REDIS_CLUSTER_URL"));
    ASSERT_OK(seeds.status());
    seeds_ = *seeds;
  }
  std::vector<NodeAddr> seeds_;
};

TEST_F(ClusterEnv, ThreeMastersEachWithOneLinkedReplicaServeEverySlot) {
  ASSERT_EQ(seeds_.size(), 6u);
  ASSERT_OK(WaitClusterHealthy(seeds_, 3, std::chrono::seconds(10)));
  auto nodes = ClusterNodes(seeds_[0]);
  ASSERT_OK(nodes.status());
  ASSERT_EQ(nodes->size(), 6u);
  std::set<std::string> masters;
  std::vector<int> owner(16384, 0);
  for (const ClusterNodeLine& n : *nodes) {
    EXPECT_FALSE(n.failed) << n.addr.ToString();
    if (!n.master) continue;
    masters.insert(n.id);
    for (auto [lo, hi] : n.slots) {
      for (int s = lo; s <= hi; ++s) owner[s]++;
    }
  }
  ASSERT_EQ(masters.size(), 3u);
  for (int s = 0; s < 16384; ++s) ASSERT_EQ(owner[s], 1) << "slot " << s;
  std::multiset<std::string> replicas_of;
  for (const ClusterNodeLine& n : *nodes) {
    if (!n.master) replicas_of.insert(n.master_id);
  }
  for (const std::string& m : masters) EXPECT_EQ(replicas_of.count(m), 1u) << "master " << m;
}

TEST_F(ClusterEnv, EveryNodeHasThe256MbNoevictionBudget) {
  for (const NodeAddr& n : seeds_) {
    auto mm = NodeCommand(n, {"CONFIG", "GET", "maxmemory"});
    ASSERT_OK(mm.status());
    EXPECT_EQ(*mm, "maxmemory\n268435456") << n.ToString();
    auto policy = NodeCommand(n, {"CONFIG", "GET", "maxmemory-policy"});
    ASSERT_OK(policy.status());
    EXPECT_EQ(*policy, "maxmemory-policy\nnoeviction") << n.ToString();
    auto timeout = NodeCommand(n, {"CONFIG", "GET", "cluster-node-timeout"});
    ASSERT_OK(timeout.status());
    EXPECT_EQ(*timeout, "cluster-node-timeout\n1000") << n.ToString();
  }
}

TEST_F(ClusterEnv, HashSlotAgreesWithClusterKeyslot) {
  for (const std::string key :
       {"", "a", "stormkv:dedup:{abc}", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap",
        "foo{bar}{zap}", "{}", "x{", "}{y}", "stormkv:storm-rate:{ns\x01" "alert}",
        "stormkv:storm-agg:{prod-3:KubePodCrashLooping}"}) {
    auto slot = NodeCommand(seeds_[0], {"CLUSTER", "KEYSLOT", key});
    ASSERT_OK(slot.status());
    EXPECT_EQ(std::to_string(HashSlot(key)), *slot) << "key '" << key << "'";
  }
}

// The key schema's storm tags against this cluster's real slot map: one storm's keys on one
// master, the storms of a namespace on every master.
TEST_F(ClusterEnv, StormsOfOneNamespaceLandOnEveryMaster) {
  auto nodes = ClusterNodes(seeds_[0]);
  ASSERT_OK(nodes.status());
  KeySchema ks;
  const std::vector<std::string> names = {
      "KubePodCrashLooping", "KubePodNotReady", "KubeContainerWaiting", "CPUThrottlingHigh",
      "KubeMemoryOvercommit", "HighErrorRate", "HighLatency", "KubePersistentVolumeFillingUp",
      "OOMKilled", "TargetDown"};
  for (const std::string ns : {"payments", "prod-0", "kube-system"}) {
    std::map<std::string, int> storms_per_master;
    for (const std::string& name : names) {
      for (const char* suffix : {"", "-canary", "Critical"}) {
        std::set<std::string> owners;
        for (std::string_view fam : {family::kStormRate, family::kStormPattern, family::kStormAgg}) {
          const std::string key = ks.StormKey(fam, ns, name + suffix);
          auto slot = NodeCommand(seeds_[0], {"CLUSTER", "KEYSLOT", key});
          ASSERT_OK(slot.status());
          const ClusterNodeLine* owner = SlotOwner(*nodes, std::stoi(*slot));
          ASSERT_NE(owner, nullptr) << key;
          owners.insert(owner->id);
        }
        ASSERT_EQ(owners.size(), 1u) << ns << "/" << name << suffix;
        ++storms_per_master[*owners.begin()];
      }
    }
    EXPECT_EQ(storms_per_master.size(), 3u) << ns;
    for (const auto& [id, n] : storms_per_master) {
      EXPECT_GE(n, 3) << ns << " on " << id;  // 30 storms: 10 +- 2.6 per master expected
    }
  }
}

}  // namespace
}  // namespace stormkv::testing
