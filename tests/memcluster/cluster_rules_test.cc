// tests/memcluster/cluster_rules_test.cc — the embedded cluster's slot ranges, routing and Redis
// 7.0 cluster rules (stormkv/memory_cluster.h), hermetic. The texts asserted here are the ones
// memcluster_vs_redis_test checks against the real test cluster.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "backend_url.h"
#include "common/test_util.h"
#include "stormkv/clock.h"
#include "stormkv/key_schema.h"
#include "stormkv/memory_backend.h"
#include "stormkv/memory_cluster.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

constexpr const char* kCrossSlot = "CROSSSLOT Keys in request don't hash to the same slot";
constexpr const char* kNonLocal = "ERR Script attempted to access a non local key in a cluster node";

// The first key "<prefix><n>" whose slot is owned by node `node` of the 3-node split and, when
// `not_slot` >= 0, is not in that slot.
std::string KeyOnNode(int node, const std::string& prefix = "k", int not_slot = -1) {
  const std::vector<ClusterSlotRange> r = *ClusterCreateSlotRanges(3);
  for (int i = 0;; ++i) {
    std::string k = prefix + std::to_string(i);
    const int s = HashSlot(k);
    if (s >= r[node].first && s <= r[node].last && s != not_slot) return k;
  }
}

class ClusterRulesTest : public ::testing::Test {
 protected:
  void Make(bool strict = true, int nodes = 3) {
    MemoryBackendOptions o;
    o.clock = clock_;
    o.cluster_nodes = nodes;
    o.cluster_strict_scripts = strict;
    auto kv = NewMemoryClusterBackend(o);
    ASSERT_OK(kv.status());
    kv_ = std::move(*kv);
    cluster_ = AsMemoryClusterBackend(kv_.get());
    ASSERT_NE(cluster_, nullptr);
  }
  void SetUp() override { Make(); }

  Result<Reply> Run(const Command& c) { return kv_->Run(c); }
  std::string ErrorOf(const Command& c) {
    Result<Reply> r = Run(c);
    return r.ok() ? "(no error: " + r->ToString() + ")" : r.status().message();
  }

  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::unique_ptr<KvBackend> kv_;
  MemoryClusterBackend* cluster_ = nullptr;
};

TEST(ClusterSlotRanges, AsRedisCliCreateSplitsThem) {
  auto three = ClusterCreateSlotRanges(3);
  ASSERT_OK(three.status());
  ASSERT_EQ(three->size(), 3u);
  EXPECT_EQ((*three)[0].first, 0);
  EXPECT_EQ((*three)[0].last, 5460);
  EXPECT_EQ((*three)[1].first, 5461);
  EXPECT_EQ((*three)[1].last, 10922);
  EXPECT_EQ((*three)[2].first, 10923);
  EXPECT_EQ((*three)[2].last, 16383);
  auto one = ClusterCreateSlotRanges(1);
  ASSERT_OK(one.status());
  EXPECT_EQ((*one)[0].first, 0);
  EXPECT_EQ((*one)[0].last, 16383);
  auto all = ClusterCreateSlotRanges(16384);
  ASSERT_OK(all.status());
  for (int i = 0; i < 16384; ++i) {
    ASSERT_EQ((*all)[static_cast<size_t>(i)].first, i);
    ASSERT_EQ((*all)[static_cast<size_t>(i)].last, i);
  }
  // Every split is a contiguous cover of the 16384 slots, each master at least one slot, sizes
  // within one slot of 16384/N... except where redis-cli's float cursor rounds: within two.
  for (int n = 1; n <= 2048; ++n) {
    auto r = ClusterCreateSlotRanges(n);
    ASSERT_OK(r.status());
    ASSERT_EQ(r->size(), static_cast<size_t>(n));
    int next = 0;
    for (const ClusterSlotRange& x : *r) {
      ASSERT_EQ(x.first, next) << n;
      ASSERT_GE(x.last, x.first) << n;
      EXPECT_LE(std::abs((x.last - x.first + 1) - 16384.0 / n), 2.0) << n;
      next = x.last + 1;
    }
    ASSERT_EQ(next, 16384) << n;
  }
  for (int bad : {0, -1, 16385, 1 << 30}) {
    auto r = ClusterCreateSlotRanges(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
  }
}

TEST(ClusterOptions, BadNodeCountsAreClearErrors) {
  for (int bad : {-1, 16385}) {
    MemoryBackendOptions o;
    o.cluster_nodes = bad;
    auto kv = NewMemoryClusterBackend(o);
    ASSERT_FALSE(kv.ok());
    EXPECT_TRUE(kv.status().IsInvalidArgument()) << kv.status();
    EXPECT_NE(kv.status().message().find("1 to 16384"), std::string::npos) << kv.status();
    // NewMemoryBackend refuses it the same way.
    auto refused = NewMemoryBackend(o);
    ASSERT_FALSE(refused.ok());
    EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status();
  }
  MemoryBackendOptions zero;
  zero.cluster_nodes = 0;
  EXPECT_FALSE(NewMemoryClusterBackend(zero).ok());
  EXPECT_EQ(AsMemoryClusterBackend(NewMemoryBackend(zero).value().get()), nullptr);  // standalone
  // A bad option of the nodes' stores fails the cluster at creation.
  MemoryBackendOptions bad;
  bad.cluster_nodes = 3;
  bad.maxmemory_policy = "no-such-policy";
  auto refused = NewMemoryClusterBackend(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status();
}

TEST(ClusterOptions, UrlForm) {
  auto u = cli::ParseBackendUrl("memory://?cluster=3&strict=0");
  ASSERT_OK(u.status());
  EXPECT_EQ(u->cluster_nodes, 3);
  EXPECT_FALSE(u->cluster_strict_scripts);
  auto kv = cli::OpenBackend(*u);
  ASSERT_OK(kv.status());
  ASSERT_NE(AsMemoryClusterBackend(kv->get()), nullptr);
  EXPECT_EQ(AsMemoryClusterBackend(kv->get())->Nodes().size(), 3u);
  EXPECT_EQ((*kv)->Describe(), "memory://?cluster=3");
  for (const char* bad : {"memory://?cluster=0", "memory://?cluster=16385", "memory://?cluster=",
                          "memory://?cluster=-1", "memory://?cluster=3x", "memory://?strict=2"}) {
    auto b = cli::ParseBackendUrl(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_TRUE(b.status().IsInvalidArgument()) << b.status();
  }
  EXPECT_NE(cli::ParseBackendUrl("memory://?cluster=0").status().message().find("1 to 16384"),
            std::string::npos);
  ASSERT_OK(cli::ParseBackendUrl("memory://?cluster=16384").status());
}

TEST_F(ClusterRulesTest, KeysLiveOnTheirSlotsOwner) {
  std::vector<MemoryClusterNode> nodes = cluster_->Nodes();
  ASSERT_EQ(nodes.size(), 3u);
  for (int n = 0; n < 3; ++n) {
    const std::string k = KeyOnNode(n);
    ASSERT_OK(Run({"SET", k, "v"}));
    EXPECT_EQ(cluster_->NodeOfSlot(HashSlot(k)), n);
    ASSERT_OK_AND_ASSIGN(Reply got, nodes[static_cast<size_t>(n)].backend->Run({"GET", k}));
    EXPECT_EQ(got, Reply::Bulk("v"));
    // Another node answers MOVED, naming the owner.
    const size_t other = static_cast<size_t>((n + 1) % 3);
    Result<Reply> moved = nodes[other].backend->Run({"GET", k});
    ASSERT_FALSE(moved.ok());
    EXPECT_EQ(moved.status().message(), "MOVED " + std::to_string(HashSlot(k)) + " " +
                                            nodes[static_cast<size_t>(n)].address);
    ASSERT_OK_AND_ASSIGN(Reply one, nodes[static_cast<size_t>(n)].backend->Run({"DBSIZE"}));
    EXPECT_EQ(one, Reply::Integer(1));
  }
  ASSERT_OK_AND_ASSIGN(Reply all, Run({"DBSIZE"}));
  EXPECT_EQ(all, Reply::Integer(3));
  EXPECT_EQ(nodes[0].address, "127.0.0.1:30001");
  EXPECT_EQ(nodes[0].id.size(), 40u);
  EXPECT_NE(nodes[0].id, nodes[1].id);
}

TEST_F(ClusterRulesTest, KeysOfSeveralSlotsAreRefusedWithCrossSlot) {
  const std::string a = KeyOnNode(0), b = KeyOnNode(0, "k", HashSlot(a));
  ASSERT_OK(Run({"SET", a, "1"}));
  EXPECT_EQ(ErrorOf({"DEL", a, b}), kCrossSlot);  // same node, other slot: still refused
  EXPECT_TRUE(Run({"DEL", a, b}).status().IsInvalidArgument());
  EXPECT_EQ(ErrorOf({"EXISTS", a, KeyOnNode(1)}), kCrossSlot);
  EXPECT_EQ(ErrorOf({"UNLINK", a, KeyOnNode(2)}), kCrossSlot);
  ASSERT_OK_AND_ASSIGN(Reply still, Run({"GET", a}));
  EXPECT_EQ(still, Reply::Bulk("1"));  // nothing ran
  ASSERT_OK(Run({"SET", "{t}a", "1"}));
  ASSERT_OK(Run({"SET", "{t}b", "1"}));
  ASSERT_OK_AND_ASSIGN(Reply n, Run({"DEL", "{t}a", "{t}b", "{t}c"}));
  EXPECT_EQ(n, Reply::Integer(2));
  // An empty {} tag hashes the whole key, as Redis does: these two are in different slots.
  ASSERT_NE(HashSlot("{}a"), HashSlot("{}b"));
  EXPECT_EQ(ErrorOf({"DEL", "{}a", "{}b"}), kCrossSlot);
  ASSERT_OK_AND_ASSIGN(Reply slot, Run({"CLUSTER", "KEYSLOT", "{}x"}));
  EXPECT_EQ(slot, Reply::Integer(HashSlot("{}x")));
}

TEST_F(ClusterRulesTest, SelectFollowsClusterMode) {
  ASSERT_OK_AND_ASSIGN(Reply ok, Run({"SELECT", "0"}));
  EXPECT_EQ(ok, Reply::Ok());
  EXPECT_EQ(ErrorOf({"SELECT", "1"}), "ERR SELECT is not allowed in cluster mode");
  EXPECT_EQ(ErrorOf({"SELECT", "-1"}), "ERR SELECT is not allowed in cluster mode");
  EXPECT_EQ(ErrorOf({"SELECT", "x"}), "ERR value is not an integer or out of range");
  EXPECT_EQ(ErrorOf({"SELECT", "99999999999"}),
            "ERR value is out of range, value must between -2147483648 and 2147483647");
  EXPECT_EQ(ErrorOf({"SELECT", "1", "2"}), "ERR wrong number of arguments for 'select' command");
}

TEST_F(ClusterRulesTest, ClusterSubcommandsAnswerAsACluster) {
  for (const std::string k : {"a", "b", "{a}x", "{}x", "{", "}{a}", "{{a}}", "", "\xff\x00k"}) {
    ASSERT_OK_AND_ASSIGN(Reply s, Run({"CLUSTER", "KEYSLOT", k}));
    EXPECT_EQ(s, Reply::Integer(HashSlot(k))) << k;
  }
  ASSERT_OK_AND_ASSIGN(Reply a, Run({"CLUSTER", "KEYSLOT", "a"}));
  EXPECT_EQ(a, Reply::Integer(15495));  // redis-cli -p <node> cluster keyslot a
  ASSERT_OK(Run({"SET", "{t}1", "x"}));
  ASSERT_OK(Run({"SET", "{t}2", "x"}));
  ASSERT_OK(Run({"SET", "{t}3", "x", "PX", "10"}));
  const std::string slot = std::to_string(HashSlot("t"));
  ASSERT_OK_AND_ASSIGN(Reply three, Run({"CLUSTER", "COUNTKEYSINSLOT", slot}));
  EXPECT_EQ(three, Reply::Integer(3));
  clock_->Advance(std::chrono::milliseconds(11));
  ASSERT_OK_AND_ASSIGN(Reply two, Run({"CLUSTER", "COUNTKEYSINSLOT", slot}));
  EXPECT_EQ(two, Reply::Integer(2));
  ASSERT_OK_AND_ASSIGN(Reply keys, Run({"CLUSTER", "GETKEYSINSLOT", slot, "1"}));
  ASSERT_EQ(keys.elements().size(), 1u);
  ASSERT_OK_AND_ASSIGN(Reply none, Run({"CLUSTER", "COUNTKEYSINSLOT", "0"}));
  EXPECT_EQ(none, Reply::Integer(0));
  EXPECT_EQ(ErrorOf({"CLUSTER", "COUNTKEYSINSLOT", "16384"}), "ERR Invalid slot");
  EXPECT_EQ(ErrorOf({"CLUSTER", "COUNTKEYSINSLOT", "-1"}), "ERR Invalid slot");
  EXPECT_EQ(ErrorOf({"CLUSTER", "COUNTKEYSINSLOT", "x"}),
            "ERR value is not an integer or out of range");
  EXPECT_EQ(ErrorOf({"CLUSTER", "COUNTKEYSINSLOT"}),
            "ERR wrong number of arguments for 'cluster|countkeysinslot' command");
  EXPECT_EQ(ErrorOf({"CLUSTER", "GETKEYSINSLOT", "1", "-1"}), "ERR Invalid slot or number of keys");
  EXPECT_EQ(ErrorOf({"CLUSTER", "KEYSLOT"}),
            "ERR wrong number of arguments for 'cluster|keyslot' command");
  EXPECT_EQ(ErrorOf({"CLUSTER", "KEYSLOT", "a", "b"}),
            "ERR wrong number of arguments for 'cluster|keyslot' command");
  EXPECT_EQ(ErrorOf({"CLUSTER", "foo"}), "ERR unknown subcommand 'foo'. Try CLUSTER HELP.");
  EXPECT_EQ(ErrorOf({"CLUSTER"}), "ERR wrong number of arguments for 'cluster' command");
  ASSERT_OK_AND_ASSIGN(Reply slots, Run({"CLUSTER", "SLOTS"}));
  ASSERT_EQ(slots.elements().size(), 3u);
  const std::vector<MemoryClusterNode> nodes = cluster_->Nodes();
  for (size_t i = 0; i < 3; ++i) {
    const Reply& r = slots.elements()[i];
    ASSERT_EQ(r.elements().size(), 3u);
    EXPECT_EQ(r.elements()[0], Reply::Integer(nodes[i].slots.first));
    EXPECT_EQ(r.elements()[1], Reply::Integer(nodes[i].slots.last));
    const Reply& master = r.elements()[2];
    ASSERT_EQ(master.elements().size(), 4u);
    EXPECT_EQ(master.elements()[0], Reply::Bulk("127.0.0.1"));
    EXPECT_EQ(master.elements()[1], Reply::Integer(30001 + static_cast<int64_t>(i)));
    EXPECT_EQ(master.elements()[2], Reply::Bulk(nodes[i].id));
  }
  ASSERT_OK_AND_ASSIGN(Reply info, Run({"CLUSTER", "INFO"}));
  EXPECT_NE(info.str().find("cluster_state:ok\r\n"), std::string::npos);
  EXPECT_NE(info.str().find("cluster_known_nodes:3\r\n"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(Reply nodes_text, Run({"CLUSTER", "NODES"}));
  EXPECT_NE(nodes_text.str().find(nodes[2].id + " 127.0.0.1:30003@40003 master - 0 0 3 connected "
                                                "10923-16383\n"),
            std::string::npos)
      << nodes_text.str();
}

// A twin that runs each of `calls` and returns the last reply (the first error stops it).
Script CallingScript(const std::string& name, std::vector<Command> calls,
                     std::atomic<int>* runs = nullptr) {
  return Script(name, "return 1", [calls, runs](ScriptContext& ctx, const std::vector<std::string>&,
                                                const std::vector<std::string>&) -> Result<Reply> {
    if (runs != nullptr) ++*runs;
    Result<Reply> last = Reply::Nil();
    for (const Command& c : calls) {
      last = ctx.Call(c);
      if (!last.ok()) return last;
    }
    return last;
  });
}

TEST_F(ClusterRulesTest, ScriptsRunOnTheOwnerOfTheirKeys) {
  const std::string k = KeyOnNode(2);
  std::atomic<int> runs{0};
  Script set = CallingScript("set", {{"SET", k, "v"}, {"GET", k}}, &runs);
  ASSERT_OK_AND_ASSIGN(Reply r, kv_->Eval(set, {k}, {}));
  EXPECT_EQ(r, Reply::Bulk("v"));
  ASSERT_OK_AND_ASSIGN(Reply got, cluster_->Nodes()[2].backend->Run({"GET", k}));
  EXPECT_EQ(got, Reply::Bulk("v"));
  // Declared keys of two slots: refused before the script runs.
  Result<Reply> cross = kv_->Eval(set, {k, KeyOnNode(0)}, {});
  ASSERT_FALSE(cross.ok());
  EXPECT_EQ(cross.status().message(), kCrossSlot);
  EXPECT_EQ(runs.load(), 1);
  // A node asked directly for a script of another node's slot answers MOVED.
  Result<Reply> moved = cluster_->Nodes()[0].backend->Eval(set, {k}, {});
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().message().rfind("MOVED ", 0), 0u) << moved.status();
}

TEST_F(ClusterRulesTest, ScriptTouchingAKeyOfAnotherNodeFailsAsOnRedis) {
  for (bool strict : {true, false}) {
    Make(strict);
    const std::string mine = KeyOnNode(0), theirs = KeyOnNode(1);
    Script s = CallingScript("other-node", {{"SET", mine, "1"}, {"GET", theirs}});
    Result<Reply> r = kv_->Eval(s, {mine}, {});
    ASSERT_FALSE(r.ok()) << strict;
    EXPECT_EQ(r.status().message(), kNonLocal);
    // The write before the failing command stays (a script is not rolled back).
    ASSERT_OK_AND_ASSIGN(Reply kept, Run({"GET", mine}));
    EXPECT_EQ(kept, Reply::Bulk("1"));
    // One command inside the script naming keys of two slots of this node: the same error.
    const std::string same_node = KeyOnNode(0, "k", HashSlot(mine));
    Script two = CallingScript("two-slots", {{"DEL", mine, same_node}});
    Result<Reply> d = kv_->Eval(two, {mine}, {});
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().message(), kNonLocal);
    // Counted like any error reply of the node.
    ASSERT_OK_AND_ASSIGN(auto info, cluster_->Nodes()[0].backend->Info("errorstats"));
    EXPECT_EQ(info["errorstat_ERR"], "count=2");
  }
}

TEST_F(ClusterRulesTest, StrictModeRefusesUndeclaredKeysRedisWouldAllow) {
  const std::string declared = KeyOnNode(0);
  const std::string same_slot = "{" + declared + "}other";
  const std::string other_slot = KeyOnNode(0, "k", HashSlot(declared));  // same node
  ASSERT_EQ(HashSlot(same_slot), HashSlot(declared));
  for (const std::string& undeclared : {same_slot, other_slot}) {
    Make(true);
    Script s = CallingScript("undeclared", {{"GET", declared}, {"SET", undeclared, "x"}});
    Result<Reply> strict = kv_->Eval(s, {declared}, {});
    ASSERT_FALSE(strict.ok()) << undeclared;
    EXPECT_TRUE(strict.status().IsInvalidArgument()) << strict.status();
    EXPECT_EQ(strict.status().message().rfind(
                  "ERR Script attempted to access a key not declared in KEYS: '" + undeclared + "'",
                  0),
              0u)
        << strict.status();
    ASSERT_OK_AND_ASSIGN(Reply none, Run({"EXISTS", undeclared}));
    EXPECT_EQ(none, Reply::Integer(0));  // refused before it ran
    // Redis 7.0's own rules (what the real test cluster does, memcluster_vs_redis_test): allowed.
    Make(false);
    ASSERT_OK(kv_->Eval(s, {declared}, {}));
    ASSERT_OK_AND_ASSIGN(Reply set, Run({"GET", undeclared}));
    EXPECT_EQ(set, Reply::Bulk("x"));
  }
  // A script that declares no key runs on node 0; strict refuses any key it touches.
  Make(true);
  Script keyless = CallingScript("keyless", {{"GET", declared}});
  EXPECT_FALSE(kv_->Eval(keyless, {}, {}).ok());
  Make(false);
  ASSERT_OK(kv_->Eval(keyless, {}, {}));
}

TEST_F(ClusterRulesTest, SelectAndKeyslotInsideScripts) {
  const std::string k = KeyOnNode(1);
  Script sel0 = CallingScript("sel0", {{"SELECT", "0"}, {"CLUSTER", "KEYSLOT", "a"}});
  ASSERT_OK_AND_ASSIGN(Reply slot, kv_->Eval(sel0, {k}, {}));
  EXPECT_EQ(slot, Reply::Integer(15495));
  Script sel1 = CallingScript("sel1", {{"SELECT", "1"}});
  Result<Reply> r = kv_->Eval(sel1, {k}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "ERR SELECT is not allowed in cluster mode");
  // Keyless commands inside a script are not key-checked.
  Script ping = CallingScript("ping", {{"PING"}, {"DBSIZE"}});
  ASSERT_OK(kv_->Eval(ping, {k}, {}));
}

TEST_F(ClusterRulesTest, ScanVisitsEveryKeyOfEveryNodeOnce) {
  std::vector<Command> sets;
  for (int i = 0; i < 3000; ++i) sets.push_back({"SET", "key:" + std::to_string(i), "v"});
  for (const Result<Reply>& r : kv_->RunBatch(sets)) ASSERT_OK(r);
  std::multiset<std::string> seen;
  std::string cursor = "0";
  int pages = 0;
  do {
    ASSERT_OK_AND_ASSIGN(Reply page, Run({"SCAN", cursor, "COUNT", "100"}));
    cursor = page.elements()[0].str();
    for (const Reply& k : page.elements()[1].elements()) seen.insert(k.str());
    ++pages;
  } while (cursor != "0" && pages < 10000);
  EXPECT_EQ(cursor, "0");
  EXPECT_EQ(seen.size(), 3000u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 3000u);
  ASSERT_OK_AND_ASSIGN(Reply empty_scan, Run({"SCAN", "0", "MATCH", "nothing*"}));
  EXPECT_EQ(ErrorOf({"SCAN", "1"}), "ERR invalid cursor");  // no node starts at slot 1
  EXPECT_EQ(ErrorOf({"SCAN", "x"}), "ERR invalid cursor");
  ASSERT_OK(Run({"FLUSHDB"}));
  ASSERT_OK_AND_ASSIGN(Reply none, Run({"DBSIZE"}));
  EXPECT_EQ(none, Reply::Integer(0));
}

TEST_F(ClusterRulesTest, InfoAndConfigOverTheNodes) {
  ASSERT_OK(Run({"SET", KeyOnNode(0), "v", "PX", "100000"}));
  ASSERT_OK(Run({"SET", KeyOnNode(1), "v"}));
  ASSERT_OK(Run({"SET", KeyOnNode(1, "j"), "v"}));
  ASSERT_OK_AND_ASSIGN(auto info, kv_->Info());
  EXPECT_EQ(info["db0"], "keys=3,expires=1,avg_ttl=100000");
  EXPECT_EQ(info["redis_mode"], "cluster");
  int64_t sum = 0;
  for (int i = 0; i < 3; ++i) sum += std::stoll(info["node" + std::to_string(i) + "_used_memory"]);
  EXPECT_EQ(std::stoll(info["used_memory"]), sum);
  EXPECT_EQ(info["node1_address"], "127.0.0.1:30002");
  ASSERT_OK(kv_->ConfigSet("maxmemory", "1mb"));
  ASSERT_OK_AND_ASSIGN(auto mem, kv_->Info("memory"));
  EXPECT_EQ(mem["maxmemory"], "1048576");  // per node, as on every master
  ASSERT_OK_AND_ASSIGN(auto mm, kv_->ConfigGet("maxmemory"));
  EXPECT_EQ(mm, "1048576");
  ASSERT_OK(cluster_->Nodes()[1].backend->ConfigSet("maxmemory", "2mb"));
  auto differ = kv_->ConfigGet("maxmemory");
  ASSERT_FALSE(differ.ok());
  EXPECT_NE(differ.status().message().find("the nodes disagree"), std::string::npos);
  EXPECT_NE(differ.status().message().find("127.0.0.1:30002"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(auto mem2, kv_->Info("memory"));
  EXPECT_EQ(mem2.count("maxmemory"), 0u);
  EXPECT_EQ(mem2["node1_maxmemory"], "2097152");
}

TEST_F(ClusterRulesTest, OneNodeClusterOwnsEverySlot) {
  Make(true, 1);
  ASSERT_EQ(cluster_->Nodes().size(), 1u);
  ASSERT_OK(Run({"SET", "a", "1"}));
  ASSERT_OK(Run({"SET", "b", "1"}));
  EXPECT_EQ(ErrorOf({"DEL", "a", "b"}), kCrossSlot);  // one node, still slots
  ASSERT_OK_AND_ASSIGN(Reply n, Run({"DBSIZE"}));
  EXPECT_EQ(n, Reply::Integer(2));
}

}  // namespace
}  // namespace stormkv
