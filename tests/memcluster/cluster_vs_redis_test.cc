// tests/memcluster/cluster_vs_redis_test.cc — the embedded cluster next to the real test cluster
// of tools/test.sh (STORMKV_REDIS_CLUSTER_URL, 3 masters + 3 replicas, Redis 7.0): the same slot
// map, the same replies and error texts for the cluster rules, the lenience of a real cluster
// that the strict mode exists for. Every command goes straight to the master that owns its key
// (no client-side routing in between); the keys are this test's own ("memcluster:..."), deleted
// at the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "cluster/cluster_nodes.h"
#include "common/test_env.h"
#include "common/test_util.h"
#include "stormkv/clock.h"
#include "stormkv/key_schema.h"
#include "stormkv/memory_backend.h"
#include "stormkv/memory_cluster.h"
#include "stormkv/script.h"

namespace stormkv::testing {
namespace {

class ClusterVsRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    STORMKV_NEED_SERVER("STORMKV_REDIS_CLUSTER_URL");
    auto seeds = ParseClusterSeeds(EnvOr("STORMKV_REDIS_CLUSTER_URL"));
    ASSERT_OK(seeds.status());
    auto nodes = ClusterNodes((*seeds)[0]);
    ASSERT_OK(nodes.status());
    nodes_ = *nodes;
    MemoryBackendOptions o;
    o.clock = std::make_shared<ManualClock>();
    o.cluster_nodes = 3;
    auto kv = NewMemoryClusterBackend(o);
    ASSERT_OK(kv.status());
    kv_ = std::move(*kv);
    cluster_ = AsMemoryClusterBackend(kv_.get());
  }
  void TearDown() override {
    for (const std::string& k : written_) {
      if (const ClusterNodeLine* owner = SlotOwner(nodes_, HashSlot(k))) {
        (void)NodeCommand(owner->addr, {"DEL", k});
      }
    }
  }

  // The real master of `slot`.
  NodeAddr Real(int slot) {
    const ClusterNodeLine* owner = SlotOwner(nodes_, slot);
    EXPECT_NE(owner, nullptr) << "slot " << slot;
    return owner ? owner->addr : NodeAddr{};
  }
  // The text of a reply or error, the real cluster's (on the owner of `slot`) and ours (on the
  // embedded node that owns it), for comparison.
  std::string RealText(int slot, const std::vector<std::string>& argv) {
    Result<std::string> r = NodeCommand(Real(slot), argv);
    return r.ok() ? *r : "error: " + r.status().message();
  }
  std::string OurText(int slot, const std::vector<std::string>& argv) {
    KvBackend* node = cluster_->Nodes()[static_cast<size_t>(cluster_->NodeOfSlot(slot))].backend;
    Result<Reply> r = node->Run(argv);
    if (!r.ok()) return "error: " + r.status().message();
    if (r->is_integer()) return std::to_string(r->integer());
    if (r->is_nil()) return "";
    if (r->is_array()) {
      std::string out;
      for (const Reply& e : r->elements()) {
        if (!out.empty()) out += '\n';
        out += e.is_integer() ? std::to_string(e.integer()) : e.str();
      }
      return out;
    }
    return r->str();
  }
  // A key of this test whose slot is owned by master `node` (0..2 in slot order), not in `not_slot`.
  std::string KeyOnNode(int node, int not_slot = -1) {
    const std::vector<ClusterSlotRange> r = *ClusterCreateSlotRanges(3);
    for (int i = 0;; ++i) {
      std::string k = "memcluster:" + std::to_string(i);
      const int s = HashSlot(k);
      if (s >= r[static_cast<size_t>(node)].first && s <= r[static_cast<size_t>(node)].last &&
          s != not_slot) {
        written_.push_back(k);
        return k;
      }
    }
  }

  std::vector<ClusterNodeLine> nodes_;
  std::unique_ptr<KvBackend> kv_;
  MemoryClusterBackend* cluster_ = nullptr;
  std::vector<std::string> written_;
};

TEST_F(ClusterVsRedisTest, SlotRangesAreTheRealClusters) {
  std::vector<std::pair<int, int>> real;
  for (const ClusterNodeLine& n : nodes_) {
    if (n.master) real.insert(real.end(), n.slots.begin(), n.slots.end());
  }
  std::sort(real.begin(), real.end());
  const std::vector<ClusterSlotRange> ours = *ClusterCreateSlotRanges(3);
  ASSERT_EQ(real.size(), ours.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(real[i].first, ours[i].first) << i;
    EXPECT_EQ(real[i].second, ours[i].last) << i;
  }
}

TEST_F(ClusterVsRedisTest, ErrorTextsAreRedissOwn) {
  const std::string a = KeyOnNode(0), b = KeyOnNode(0, HashSlot(a));
  const int s = HashSlot(a);
  const std::vector<std::vector<std::string>> cases = {
      {"DEL", a, b},
      {"EXISTS", a, b},
      {"SELECT", "0"},
      {"SELECT", "1"},
      {"SELECT", "-1"},
      {"SELECT", "x"},
      {"SELECT", "99999999999"},
      {"SELECT", "1", "2"},
      {"CLUSTER", "KEYSLOT"},
      {"CLUSTER", "KEYSLOT", "a", "b"},
      {"CLUSTER", "COUNTKEYSINSLOT", "16384"},
      {"CLUSTER", "COUNTKEYSINSLOT", "-1"},
      {"CLUSTER", "COUNTKEYSINSLOT", "x"},
      {"CLUSTER", "COUNTKEYSINSLOT"},
      {"CLUSTER", "GETKEYSINSLOT", "1", "-1"},
      {"CLUSTER", "GETKEYSINSLOT", "16384", "1"},
      {"CLUSTER", "foo"},
      {"CLUSTER"},
      {"CLUSTER", "MYID", "x"},
  };
  for (const auto& c : cases) {
    std::string what;
    for (const std::string& x : c) what += x + " ";
    EXPECT_EQ(OurText(s, c), RealText(s, c)) << what;
  }
  for (const std::string k : {"a", "b", "{a}x", "{}x", "{", "}{a}", "{{a}}", "", "x{}{y}"}) {
    EXPECT_EQ(OurText(s, {"CLUSTER", "KEYSLOT", k}), RealText(s, {"CLUSTER", "KEYSLOT", k})) << k;
  }
  // COUNTKEYSINSLOT counts the node's keys of the slot.
  ASSERT_OK(NodeCommand(Real(s), {"SET", a, "1"}).status());
  ASSERT_OK(kv_->Run({"SET", a, "1"}));
  const std::string slot = std::to_string(s);
  EXPECT_EQ(OurText(s, {"CLUSTER", "COUNTKEYSINSLOT", slot}),
            RealText(s, {"CLUSTER", "COUNTKEYSINSLOT", slot}));
  EXPECT_EQ(OurText(s, {"CLUSTER", "GETKEYSINSLOT", slot, "5"}),
            RealText(s, {"CLUSTER", "GETKEYSINSLOT", slot, "5"}));
  // MOVED names the slot: the same first two words (the address is the node's own).
  const int other = HashSlot(KeyOnNode(1));
  const std::string moved_real = RealText(s, {"GET", written_.back()});
  const std::string moved_ours = OurText(s, {"GET", written_.back()});
  EXPECT_EQ(moved_real.substr(0, moved_real.rfind(' ')), "error: MOVED " + std::to_string(other));
  EXPECT_EQ(moved_ours.substr(0, moved_ours.rfind(' ')), "error: MOVED " + std::to_string(other));
}

// A twin doing what `lua` does with redis.pcall (the pcall'ed error comes back as the script's
// error reply, without Redis's " script: ..." suffix).
Script Pcall(const std::string& name, std::vector<std::string> get_keys) {
  return Script(name, "unused", [get_keys](ScriptContext& ctx, const std::vector<std::string>&,
                                           const std::vector<std::string>&) -> Result<Reply> {
    Result<Reply> last = Reply::Nil();
    for (const std::string& k : get_keys) {
      last = ctx.Call({"GET", k});
      if (!last.ok()) return last;
    }
    return last;
  });
}

TEST_F(ClusterVsRedisTest, ScriptOnAKeyOfAnotherNodeFailsWithTheSameText) {
  const std::string mine = KeyOnNode(0), theirs = KeyOnNode(1);
  const std::string real = RealText(HashSlot(mine), {"EVAL", "return redis.pcall('get', ARGV[1])",
                                                     "1", mine, theirs});
  Result<Reply> ours = kv_->Eval(Pcall("pcall-other-node", {theirs}), {mine}, {});
  ASSERT_FALSE(ours.ok());
  EXPECT_EQ("error: " + ours.status().message(), real);
  EXPECT_EQ(real, "error: ERR Script attempted to access a non local key in a cluster node");
  // Uncaught, Redis adds where the script failed; the text before it is the same.
  const std::string uncaught =
      RealText(HashSlot(mine), {"EVAL", "return redis.call('get', ARGV[1])", "1", mine, theirs});
  EXPECT_EQ(uncaught.rfind("error: " + ours.status().message() + " script: ", 0), 0u) << uncaught;
}

TEST_F(ClusterVsRedisTest, RealClusterLetsAScriptReachUndeclaredKeysOfItsNode) {
  // What the strict mode is for: a script declaring `declared` that also writes an undeclared key
  // of another slot on the same master succeeds on the real (small) cluster; on a production
  // cluster with more masters that slot may live elsewhere and the script fails there.
  const std::string declared = KeyOnNode(0);
  const std::string undeclared = KeyOnNode(0, HashSlot(declared));
  const std::string real =
      RealText(HashSlot(declared), {"EVAL", "redis.call('set', ARGV[1], 'x') return redis.call('get', ARGV[1])",
                                    "1", declared, undeclared});
  EXPECT_EQ(real, "x");
  Script s("undeclared", "unused", [undeclared](ScriptContext& ctx, const std::vector<std::string>&,
                                                const std::vector<std::string>&) -> Result<Reply> {
    Result<Reply> r = ctx.Call({"SET", undeclared, "x"});
    if (!r.ok()) return r;
    return ctx.Call({"GET", undeclared});
  });
  Result<Reply> strict = kv_->Eval(s, {declared}, {});
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.status().message().find("not declared in KEYS"), std::string::npos);
  MemoryBackendOptions o;
  o.cluster_nodes = 3;
  o.cluster_strict_scripts = false;  // Redis 7.0's rules: as the real cluster
  auto lenient = NewMemoryClusterBackend(o);
  ASSERT_OK(lenient.status());
  ASSERT_OK_AND_ASSIGN(Reply r, (*lenient)->Eval(s, {declared}, {}));
  EXPECT_EQ(r, Reply::Bulk("x"));
}

TEST_F(ClusterVsRedisTest, MemoryUsageOfAKeyIsTheRealNodes) {
  const std::string k = KeyOnNode(2);
  const int s = HashSlot(k);
  const std::vector<std::vector<std::string>> shapes = {
      {"SET", k, "v"},
      {"SET", k, std::string(60, 'x')},
      {"SET", k, "12345"},
      {"SET", k, "v", "PX", "600000"},
  };
  for (const auto& set : shapes) {
    ASSERT_OK(NodeCommand(Real(s), set).status());
    ASSERT_OK(kv_->Run(set));
    EXPECT_EQ(OurText(s, {"MEMORY", "USAGE", k, "SAMPLES", "0"}),
              RealText(s, {"MEMORY", "USAGE", k, "SAMPLES", "0"}))
        << set[2];
    ASSERT_OK(NodeCommand(Real(s), {"DEL", k}).status());
    ASSERT_OK(kv_->Run({"DEL", k}));
  }
  const std::vector<std::vector<std::string>> collections = {
      {"HSET", k, "f1", "v1", "f2", "v2"},
      {"SADD", k, "a", "b", "c"},
      {"SADD", k, "1", "2", "3"},
      {"ZADD", k, "1", "a", "2", "b"},
  };
  for (const auto& add : collections) {
    ASSERT_OK(NodeCommand(Real(s), add).status());
    ASSERT_OK(kv_->Run(add));
    EXPECT_EQ(OurText(s, {"MEMORY", "USAGE", k, "SAMPLES", "0"}),
              RealText(s, {"MEMORY", "USAGE", k, "SAMPLES", "0"}))
        << add[0];
    ASSERT_OK(NodeCommand(Real(s), {"DEL", k}).status());
    ASSERT_OK(kv_->Run({"DEL", k}));
  }
}

}  // namespace
}  // namespace stormkv::testing
