// The cluster backend on the shared test cluster (STORMKV_REDIS_CLUSTER_URL, tools/test.sh):
// routing, CROSSSLOT, keyspace-wide commands, batches, the plain backend on a cluster node.
// Nothing here changes the cluster's topology or config (redis_cluster_fault_test does, on
// private clusters).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "stormkv/key_schema.h"
#include "stormkv/redis_backend.h"
#include "stormkv/redis_cluster_backend.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

constexpr char kCrossSlot[] = "CROSSSLOT Keys in request don't hash to the same slot";

Script MakeScript(std::string name, std::string lua) {
  return Script(std::move(name), std::move(lua),
                [](ScriptContext&, const std::vector<std::string>&, const std::vector<std::string>&)
                    -> Result<Reply> { return Status::Internal("no twin in this test"); });
}

class RedisClusterBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    STORMKV_SETUP_BACKEND("redis-cluster", tb_);
    cluster_ = AsRedisClusterBackend(tb_->kv.get());
    ASSERT_NE(cluster_, nullptr);
  }
  void TearDown() override {
    if (tb_ && tb_->cleanup) tb_->cleanup();
  }
  KvBackend& kv() { return *tb_->kv; }

  std::optional<TestBackend> tb_;
  RedisClusterBackend* cluster_ = nullptr;
};

TEST_F(RedisClusterBackendTest, EachKeyLandsOnItsSlotsMaster) {
  std::vector<RedisClusterNode> nodes = cluster_->Nodes();
  ASSERT_EQ(nodes.size(), 3u) << kv().Describe();
  std::vector<int> per_node(nodes.size(), 0);
  for (int i = 0; i < 300; ++i) {
    std::string key = "route:" + std::to_string(i);
    ASSERT_OK(kv().Set(key, "v" + std::to_string(i)));
    int slot = cluster_->SlotOf(key);
    EXPECT_EQ(slot, HashSlot(key));
    int owners = 0;
    for (size_t n = 0; n < nodes.size(); ++n) {
      bool owns = false;
      for (auto [first, last] : nodes[n].slots) owns = owns || (slot >= first && slot <= last);
      if (!owns) continue;
      ++owners;
      ++per_node[n];
      // The owner has it: read that master alone.
      ASSERT_OK_AND_ASSIGN(std::optional<std::string> v, nodes[n].backend->Get(key));
      EXPECT_EQ(v, "v" + std::to_string(i)) << key << " on " << nodes[n].address;
    }
    EXPECT_EQ(owners, 1) << key;
  }
  for (size_t n = 0; n < nodes.size(); ++n) {
    EXPECT_GT(per_node[n], 50) << nodes[n].address;
    ASSERT_OK_AND_ASSIGN(int64_t size, nodes[n].backend->DbSize());
    EXPECT_EQ(size, per_node[n]) << nodes[n].address;
  }
  ASSERT_OK_AND_ASSIGN(int64_t total, kv().DbSize());
  EXPECT_EQ(total, 300);
  RedisClusterStats st = cluster_->Stats();
  EXPECT_EQ(st.masters, 3u);
  EXPECT_EQ(st.moved, 0);
  EXPECT_EQ(st.ask, 0);
}

TEST_F(RedisClusterBackendTest, CrossSlotIsRefusedBeforeSending) {
  ASSERT_NE(HashSlot("foo"), HashSlot("bar"));
  ASSERT_OK(kv().Set("foo", "1"));
  ASSERT_OK(kv().Set("bar", "2"));
  int64_t before = cluster_->Stats().crossslot;
  Result<Reply> del = kv().Run({"DEL", "foo", "bar"});
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(del.status().message(), kCrossSlot);
  // Nothing was sent: both keys are still there.
  ASSERT_OK_AND_ASSIGN(int64_t exists_foo, kv().Exists({"foo"}));
  ASSERT_OK_AND_ASSIGN(int64_t exists_bar, kv().Exists({"bar"}));
  EXPECT_EQ(exists_foo + exists_bar, 2);
  Script s = MakeScript("t_two_keys", "return redis.call('DEL', KEYS[1], KEYS[2])");
  Result<Reply> ev = kv().Eval(s, {"foo", "bar"}, {});
  EXPECT_EQ(ev.status().message(), kCrossSlot);
  // In a batch: that entry fails, the others run.
  std::vector<Result<Reply>> batch = kv().RunBatch({{"GET", "foo"}, {"MSET", "foo", "3", "bar",
                                                    "4"}, {"GET", "bar"}});
  ASSERT_EQ(batch.size(), 3u);
  ASSERT_OK(batch[0].status());
  EXPECT_EQ(batch[0]->str(), "1");
  EXPECT_EQ(batch[1].status().message(), kCrossSlot);
  ASSERT_OK(batch[2].status());
  EXPECT_EQ(batch[2]->str(), "2");
  EXPECT_EQ(cluster_->Stats().crossslot, before + 3);
  // One hash tag: the same commands run.
  ASSERT_OK_AND_ASSIGN(Reply mset, kv().Run({"MSET", "{t}foo", "1", "{t}bar", "2"}));
  ASSERT_OK_AND_ASSIGN(int64_t n, kv().Del({"{t}foo", "{t}bar", "{t}none"}));
  EXPECT_EQ(n, 2);
  ASSERT_OK_AND_ASSIGN(Reply two, kv().Eval(s, {"{t}a", "{t}b"}, {}));
  EXPECT_EQ(two.integer(), 0);
}

TEST_F(RedisClusterBackendTest, ScriptsRunOnTheSlotsMaster) {
  Script s = MakeScript("t_incr_by", "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  std::set<std::string> masters;
  for (int i = 0; i < 30; ++i) {
    std::string key = "script:" + std::to_string(i);
    ASSERT_OK_AND_ASSIGN(Reply r, kv().Eval(s, {key}, {"5"}));
    EXPECT_EQ(r.integer(), 5);
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> v, kv().Get(key));
    EXPECT_EQ(v, "5");
  }
  // Loaded once per master, never per call.
  EXPECT_EQ(cluster_->Stats().script_loads, 3);
}

TEST_F(RedisClusterBackendTest, ScanCoversEveryMasterWithOneCursor) {
  std::set<std::string> want;
  std::vector<Command> sets;
  for (int i = 0; i < 500; ++i) {
    want.insert("scan:" + std::to_string(i));
    sets.push_back({"SET", "scan:" + std::to_string(i), "x"});
  }
  for (const Result<Reply>& r : kv().RunBatch(sets)) ASSERT_OK(r.status());
  std::vector<RedisClusterNode> nodes = cluster_->Nodes();
  std::set<int> lowest;
  for (const RedisClusterNode& n : nodes) lowest.insert(n.slots.front().first);
  std::set<std::string> seen;
  std::string cursor = "0";
  int pages = 0;
  do {
    ASSERT_OK_AND_ASSIGN(ScanPage page, kv().Scan(cursor, "scan:*", 50));
    for (const std::string& k : page.keys) seen.insert(k);
    cursor = page.cursor;
    if (cursor != "0") {
      // node_cursor * 16384 + the lowest slot of the master being scanned.
      uint64_t c = std::stoull(cursor);
      EXPECT_EQ(lowest.count(static_cast<int>(c % 16384)), 1u) << cursor;
    }
    ASSERT_LT(++pages, 1000);
  } while (cursor != "0");
  EXPECT_EQ(seen, want);
  int visited = 0;
  ASSERT_OK(kv().ScanAll("scan:*", [&](const std::string&) {
    ++visited;
    return Status::Ok();
  }));
  EXPECT_EQ(visited, 500);
  EXPECT_EQ(kv().Scan("12x").status().message(), "ERR invalid cursor");
}

TEST_F(RedisClusterBackendTest, KeyspaceWideCommandsRunOnEveryMaster) {
  for (int i = 0; i < 90; ++i) ASSERT_OK(kv().Set("ks:" + std::to_string(i), "v"));
  std::vector<RedisClusterNode> nodes = cluster_->Nodes();
  ASSERT_OK_AND_ASSIGN(auto keyspace, kv().Info("keyspace"));
  EXPECT_EQ(keyspace["db0"].rfind("keys=90,", 0), 0u) << keyspace["db0"];
  EXPECT_EQ(keyspace["cluster_masters"], "3");
  int64_t per_node_sum = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::string p = "node" + std::to_string(i) + "_";
    EXPECT_EQ(keyspace[p + "address"], nodes[i].address);
    ASSERT_OK_AND_ASSIGN(int64_t n, nodes[i].backend->DbSize());
    per_node_sum += n;
    EXPECT_EQ(keyspace[p + "db0"].rfind("keys=" + std::to_string(n) + ",", 0), 0u);
  }
  EXPECT_EQ(per_node_sum, 90);
  ASSERT_OK_AND_ASSIGN(auto memory, kv().Info("memory"));
  // Agreed settings are kept as they are, counters summed.
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> mm, nodes[0].backend->ConfigGet("maxmemory"));
  EXPECT_EQ(memory["maxmemory"], *mm);
  EXPECT_GT(std::stoll(memory["used_memory"]), std::stoll(memory["node0_used_memory"]));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> cluster_mm, kv().ConfigGet("maxmemory"));
  EXPECT_EQ(cluster_mm, mm);
  ASSERT_OK_AND_ASSIGN(std::optional<int64_t> usage, kv().MemoryUsage("ks:1"));
  EXPECT_TRUE(usage.has_value());
  ASSERT_OK(kv().FlushDb());
  for (const RedisClusterNode& n : nodes) {
    ASSERT_OK_AND_ASSIGN(int64_t size, n.backend->DbSize());
    EXPECT_EQ(size, 0) << n.address;
  }
}

TEST_F(RedisClusterBackendTest, BatchRepliesComeBackInTheCallersOrder) {
  std::vector<Command> cmds;
  for (int i = 0; i < 200; ++i) {
    std::string k = "batch:" + std::to_string(i % 37);
    cmds.push_back({"APPEND", k, std::to_string(i % 10)});
    cmds.push_back({"STRLEN", k});
  }
  cmds.push_back({"DBSIZE"});  // a fan-out command splits the batch, in order
  cmds.push_back({"GET", "batch:0"});
  std::vector<Result<Reply>> out = kv().RunBatch(cmds);
  ASSERT_EQ(out.size(), cmds.size());
  std::map<std::string, size_t> len;
  for (size_t i = 0; i + 2 < cmds.size(); i += 2) {
    const std::string& k = cmds[i][1];
    len[k] += 1;
    ASSERT_OK(out[i].status());
    EXPECT_EQ(out[i]->integer(), static_cast<int64_t>(len[k])) << i;
    ASSERT_OK(out[i + 1].status());
    EXPECT_EQ(out[i + 1]->integer(), static_cast<int64_t>(len[k])) << i;
  }
  ASSERT_OK(out[400].status());
  EXPECT_EQ(out[400]->integer(), 37);
  ASSERT_OK(out[401].status());
  EXPECT_EQ(out[401]->str().size(), len["batch:0"]);
}

TEST_F(RedisClusterBackendTest, DescribeNamesSeedsAndMasters) {
  std::string d = kv().Describe();
  EXPECT_EQ(d.rfind("redis-cluster://", 0), 0u) << d;
  EXPECT_NE(d.find("(3 masters)"), std::string::npos) << d;
}

TEST_F(RedisClusterBackendTest, PlainBackendOnAClusterNodeSaysUseRedisCluster) {
  std::vector<RedisClusterNode> nodes = cluster_->Nodes();
  RedisOptions o;
  o.url = "redis://" + nodes[0].address + "/0";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> plain, NewRedisBackend(o));
  // A key of another master's slot.
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    std::string k = "plain:" + std::to_string(i);
    int slot = HashSlot(k);
    if (slot < nodes[0].slots.front().first || slot > nodes[0].slots.front().second) key = k;
  }
  Result<std::optional<std::string>> r = plain->Get(key);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kServerError);
  EXPECT_EQ(r.status().message().rfind("MOVED ", 0), 0u) << r.status();
  EXPECT_NE(r.status().message().find("is a Redis Cluster node: use redis-cluster://" +
                                      nodes[0].address),
            std::string::npos)
      << r.status();
  // The node's own cluster-internal backend gets the redirect untouched (the cluster follows it).
  Result<std::optional<std::string>> raw = nodes[0].backend->Get(key);
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(raw.status().message().find("use redis-cluster"), std::string::npos);
}

TEST_F(RedisClusterBackendTest, OneFactoryPicksByScheme) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> c, NewRedisBackendFromUrl(TestRedisClusterUrl()));
  EXPECT_NE(AsRedisClusterBackend(c.get()), nullptr);
  ASSERT_OK(c->Run({"PING"}).status());
  // A redis:// URL gives the plain backend: RedisBackendTest.OneFactoryPicksByScheme, under the
  // plain server's RESOURCE_LOCK (this binary holds only the cluster's).
}

}  // namespace
}  // namespace stormkv
