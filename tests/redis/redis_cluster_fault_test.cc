// The cluster backend against private clusters it breaks on purpose (tests/redis/private_cluster):
// MOVED after a slot moves (one coalesced refresh), ASK during a migration (no refresh), TRYAGAIN
// and CLUSTERDOWN past the deadline, a redirect loop, a transport failure, a seed that is not a
// cluster node, AUTH, a manual failover (one refresh, scripts loaded on the promoted replica).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/test_util.h"
#include "redis/private_cluster.h"
#include "redis/private_redis.h"
#include "stormkv/key_schema.h"
#include "stormkv/redis_cluster_backend.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

using stormkv::testing::PrivateCluster;
using stormkv::testing::PrivateRedis;
using std::chrono::milliseconds;

Script MakeScript(std::string name, std::string lua) {
  return Script(std::move(name), std::move(lua),
                [](ScriptContext&, const std::vector<std::string>&, const std::vector<std::string>&)
                    -> Result<Reply> { return Status::Internal("no twin in this test"); });
}

std::unique_ptr<KvBackend> Connect(const std::string& url, milliseconds deadline = milliseconds(2000),
                                   milliseconds command_timeout = milliseconds(5000)) {
  RedisClusterOptions o;
  o.url = url;
  o.retry_deadline = deadline;
  o.command_timeout = command_timeout;
  o.refresh_interval = milliseconds(0);  // refreshes counted by the tests come from events only
  Result<std::unique_ptr<KvBackend>> kv = NewRedisClusterBackend(o);
  EXPECT_TRUE(kv.ok()) << kv.status();
  return kv.ok() ? std::move(kv).value() : nullptr;
}

// A key whose slot master `owner` serves in a private cluster of `masters` masters (node 0:
// 0-8191 of 2).
std::string KeyOn(int owner, const std::string& prefix, int skip = 0, int masters = 2) {
  const int first = 16384 * owner / masters, end = 16384 * (owner + 1) / masters;
  for (int i = 0;; ++i) {
    std::string k = prefix + std::to_string(i);
    int slot = HashSlot(k);
    if (slot >= first && slot < end && skip-- == 0) return k;
  }
}

class RedisClusterFaultTest : public ::testing::Test {
 protected:
  void StartCluster(int masters, int replicas, std::vector<std::string> extra = {}) {
    Result<std::unique_ptr<PrivateCluster>> c = PrivateCluster::Start(masters, replicas, extra);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(c).value();
  }
  // Gives the (empty) slot to node `to` on every node.
  void GiveSlot(int slot, int to) {
    for (int i = 0; i < cluster_->size(); ++i) {
      ASSERT_OK(cluster_->Run(i, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE",
                                  cluster_->id(to)})
                    .status());
    }
  }
  std::unique_ptr<PrivateCluster> cluster_;
};

TEST_F(RedisClusterFaultTest, MovedRefreshesOnceAndResends) {
  StartCluster(2, 0);
  std::unique_ptr<KvBackend> kv = Connect(cluster_->Url());
  ASSERT_NE(kv, nullptr);
  RedisClusterBackend* c = AsRedisClusterBackend(kv.get());
  const std::string k = KeyOn(0, "moved:");
  const int slot = HashSlot(k);
  GiveSlot(slot, 1);
  RedisClusterStats before = c->Stats();
  ASSERT_OK(kv->Set(k, "v"));  // MOVED to node 1, one refresh, resent there
  RedisClusterStats after = c->Stats();
  EXPECT_EQ(after.moved - before.moved, 1);
  EXPECT_EQ(after.refreshes - before.refreshes, 1);
  ASSERT_OK_AND_ASSIGN(Reply on1, cluster_->Run(1, {"GET", k}));
  EXPECT_EQ(on1.str(), "v");
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> v, kv->Get(k));
  EXPECT_EQ(v, "v");
  EXPECT_EQ(c->Stats().moved, after.moved);  // the new map routes directly

  // Many threads meet the next move at once: still one refresh.
  const std::string k2 = KeyOn(0, "moved:", 5);
  GiveSlot(HashSlot(k2), 1);
  before = c->Stats();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      if (!kv->Get(k2).ok()) failures.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  after = c->Stats();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(after.moved - before.moved, 1);
  EXPECT_EQ(after.refreshes - before.refreshes, 1);
}

TEST_F(RedisClusterFaultTest, BatchResendsARedirectedSlotInOrder) {
  StartCluster(2, 0);
  std::unique_ptr<KvBackend> kv = Connect(cluster_->Url());
  ASSERT_NE(kv, nullptr);
  RedisClusterBackend* c = AsRedisClusterBackend(kv.get());
  const std::string k = KeyOn(0, "order:");
  const std::string other0 = KeyOn(0, "order:", 3), other1 = KeyOn(1, "order:");
  GiveSlot(HashSlot(k), 1);
  int64_t refreshes = c->Stats().refreshes;
  std::vector<Result<Reply>> out =
      kv->RunBatch({{"SET", k, "a"}, {"SET", other0, "x"}, {"APPEND", k, "b"},
                    {"SET", other1, "y"}, {"APPEND", k, "c"}, {"GET", k}});
  ASSERT_EQ(out.size(), 6u);
  for (const auto& r : out) ASSERT_OK(r.status());
  EXPECT_EQ(out[2]->integer(), 2);
  EXPECT_EQ(out[4]->integer(), 3);
  EXPECT_EQ(out[5]->str(), "abc");
  EXPECT_EQ(c->Stats().refreshes - refreshes, 1);
  ASSERT_OK_AND_ASSIGN(Reply on1, cluster_->Run(1, {"GET", k}));
  EXPECT_EQ(on1.str(), "abc");
}

TEST_F(RedisClusterFaultTest, AskDuringAMigrationThenTryAgainPastTheDeadline) {
  StartCluster(2, 0);
  std::unique_ptr<KvBackend> kv = Connect(cluster_->Url(), milliseconds(300));
  ASSERT_NE(kv, nullptr);
  RedisClusterBackend* c = AsRedisClusterBackend(kv.get());
  const std::string tag = "{" + KeyOn(0, "mig") + "}";  // a slot of node 0
  const std::string a = tag + "a", b = tag + "b";
  const int slot = HashSlot(a);
  ASSERT_LT(slot, 8192);
  ASSERT_OK(kv->Set(a, "1"));
  ASSERT_OK(cluster_->Run(1, {"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING",
                              cluster_->id(0)})
                .status());
  ASSERT_OK(cluster_->Run(0, {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING",
                              cluster_->id(1)})
                .status());
  RedisClusterStats before = c->Stats();
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> got_a, kv->Get(a));  // still on node 0
  EXPECT_EQ(got_a, "1");
  ASSERT_OK(kv->Set(b, "2"));  // missing on node 0: ASK -> ASKING + SET on node 1
  RedisClusterStats after = c->Stats();
  EXPECT_EQ(after.ask - before.ask, 1);
  EXPECT_EQ(after.refreshes, before.refreshes);  // ASK does not change the map
  // A multi-key command over both halves of the slot: TRYAGAIN until the deadline.
  auto start = std::chrono::steady_clock::now();
  Result<int64_t> both = kv->Exists({a, b});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(both.status().message().find("slot " + std::to_string(slot)), std::string::npos)
      << both.status();
  EXPECT_NE(both.status().message().find("TRYAGAIN"), std::string::npos) << both.status();
  EXPECT_NE(both.status().message().find(std::to_string(cluster_->port(0))), std::string::npos)
      << both.status();
  EXPECT_GE(took, milliseconds(250));
  EXPECT_LT(took, milliseconds(2000));
  EXPECT_GT(c->Stats().retries, after.retries);
  // Finish the migration: a moves, the slot is node 1's; the next call follows MOVED.
  ASSERT_OK(cluster_->Run(0, {"MIGRATE", "127.0.0.1", std::to_string(cluster_->port(1)), a, "0",
                              "5000"})
                .status());
  GiveSlot(slot, 1);
  ASSERT_OK_AND_ASSIGN(int64_t n, kv->Exists({a, b}));
  EXPECT_EQ(n, 2);
}

TEST_F(RedisClusterFaultTest, RedirectLoopIsBoundedAndNamed) {
  StartCluster(2, 0);
  std::unique_ptr<KvBackend> kv = Connect(cluster_->Url());
  ASSERT_NE(kv, nullptr);
  const std::string k = KeyOn(0, "loop:");
  const int slot = HashSlot(k);
  // Node 0 gives the slot to node 1, node 1 still thinks node 0 has it.
  ASSERT_OK(cluster_->Run(0, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", cluster_->id(1)})
                .status());
  auto start = std::chrono::steady_clock::now();
  Result<std::optional<std::string>> r = kv->Get(k);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("redirect loop"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("slot " + std::to_string(slot)), std::string::npos);
  EXPECT_NE(r.status().message().find(std::to_string(cluster_->port(1))), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(AsRedisClusterBackend(kv.get())->Stats().redirect_loops, 1);
  ASSERT_OK(cluster_->Run(0, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", cluster_->id(0)})
                .status());
  ASSERT_OK(kv->Get(k).status());
}

TEST_F(RedisClusterFaultTest, StoppedMasterAndClusterDownEndInAClearStatus) {
  StartCluster(2, 0);
  std::unique_ptr<KvBackend> kv = Connect(cluster_->Url(), milliseconds(400));
  ASSERT_NE(kv, nullptr);
  const std::string on0 = KeyOn(0, "down:"), on1 = KeyOn(1, "down:");
  ASSERT_OK(kv->Set(on1, "v"));
  ASSERT_OK(cluster_->node(1).Stop());
  // Refused: nothing was sent, so it is retried (map refreshed) until the deadline.
  auto start = std::chrono::steady_clock::now();
  Result<std::optional<std::string>> r = kv->Get(on1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("slot " + std::to_string(HashSlot(on1))),
            std::string::npos)
      << r.status();
  EXPECT_NE(r.status().message().find("gave up"), std::string::npos) << r.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  // Once node 0 has marked node 1 failed, it refuses its own slots too: CLUSTERDOWN.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    Result<Reply> info = cluster_->Run(0, {"CLUSTER", "INFO"});
    if (info.ok() && stormkv::testing::InfoField(info->str(), "cluster_state") == "fail") break;
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "node 0 never saw the cluster down";
    std::this_thread::sleep_for(milliseconds(20));
  }
  start = std::chrono::steady_clock::now();
  r = kv->Get(on0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("CLUSTERDOWN"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("gave up"), std::string::npos) << r.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(RedisClusterFaultTest, TransportFailureIsNotResentAndRefreshesTheMap) {
  StartCluster(2, 0);
  std::unique_ptr<KvBackend> kv = Connect(cluster_->Url(), milliseconds(2000), milliseconds(200));
  ASSERT_NE(kv, nullptr);
  RedisClusterBackend* c = AsRedisClusterBackend(kv.get());
  const std::string k = KeyOn(0, "slow:");
  ASSERT_OK(kv->Set(k, "0"));
  std::thread sleeper([&] { (void)cluster_->Run(0, {"DEBUG", "SLEEP", "0.6"}); });
  std::this_thread::sleep_for(milliseconds(100));  // let the DEBUG SLEEP start on the server
  RedisClusterStats before = c->Stats();
  Result<int64_t> r = kv->IncrBy(k, 1);
  sleeper.join();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsTimeout() || r.status().IsUnavailable()) << r.status();
  RedisClusterStats after = c->Stats();
  EXPECT_EQ(after.transport_errors - before.transport_errors, 1);
  EXPECT_EQ(after.retries, before.retries);  // never resent: it may have run
  ASSERT_OK(kv->Get(k).status());
  EXPECT_EQ(c->Stats().refreshes - after.refreshes, 1);  // the next call refreshed first
}

TEST_F(RedisClusterFaultTest, ConfigGetDisagreementIsReportedAndConfigSetReachesEveryMaster) {
  StartCluster(2, 0);
  std::unique_ptr<KvBackend> kv = Connect(cluster_->Url());
  ASSERT_NE(kv, nullptr);
  ASSERT_OK(kv->ConfigSet("maxmemory", "100mb"));
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(Reply r, cluster_->Run(i, {"CONFIG", "GET", "maxmemory"}));
    EXPECT_EQ(r.elements()[1].str(), "104857600");
  }
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> agreed, kv->ConfigGet("maxmemory"));
  EXPECT_EQ(agreed, "104857600");
  ASSERT_OK(cluster_->Run(1, {"CONFIG", "SET", "maxmemory", "50mb"}).status());
  Result<std::optional<std::string>> split = kv->ConfigGet("maxmemory");
  ASSERT_FALSE(split.ok());
  EXPECT_NE(split.status().message().find("the masters disagree"), std::string::npos)
      << split.status();
  EXPECT_NE(split.status().message().find(std::to_string(cluster_->port(1)) + "=52428800"),
            std::string::npos)
      << split.status();
  for (const RedisClusterNode& n : AsRedisClusterBackend(kv.get())->Nodes()) {
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> v, n.backend->ConfigGet("maxmemory"));
    EXPECT_TRUE(v == "104857600" || v == "52428800") << n.address;
  }
}

TEST_F(RedisClusterFaultTest, SeedThatIsNotAClusterNode) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PrivateRedis> plain, PrivateRedis::Start());
  RedisClusterOptions o;
  o.url = "redis-cluster://127.0.0.1:" + std::to_string(plain->port());
  Result<std::unique_ptr<KvBackend>> kv = NewRedisClusterBackend(o);
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(kv.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(kv.status().message().find("not a cluster node: use redis://"), std::string::npos)
      << kv.status();
}

TEST_F(RedisClusterFaultTest, PasswordIsSentAndNeverShown) {
  StartCluster(2, 0, {"--requirepass", "s3cr3tpw", "--masterauth", "s3cr3tpw"});
  std::unique_ptr<KvBackend> kv = Connect(cluster_->Url(":s3cr3tpw"));
  ASSERT_NE(kv, nullptr);
  ASSERT_OK(kv->Set(KeyOn(1, "pw:"), "v"));
  EXPECT_EQ(kv->Describe().find("s3cr3tpw"), std::string::npos) << kv->Describe();
  EXPECT_NE(kv->Describe().find("(2 masters)"), std::string::npos) << kv->Describe();
  RedisClusterOptions o;
  o.url = cluster_->Url(":wrongpw");
  Result<std::unique_ptr<KvBackend>> bad = NewRedisClusterBackend(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("wrongpw"), std::string::npos) << bad.status();
  EXPECT_NE(bad.status().message().find("AUTH"), std::string::npos) << bad.status();
}

// A manual failover: the first call that meets the new topology refreshes the map once (no MOVED
// loop) and loads its script on the promoted replica; a flushed script cache means NOSCRIPT,
// reload, retry.
TEST_F(RedisClusterFaultTest, FailoverRefreshesOnceAndReloadsScripts) {
  StartCluster(3, 1);  // nodes 3, 4, 5 replicate 0, 1, 2 (3 masters: a quorum without node 0)
  std::unique_ptr<KvBackend> kv = Connect(cluster_->Url());
  ASSERT_NE(kv, nullptr);
  RedisClusterBackend* c = AsRedisClusterBackend(kv.get());
  Script s = MakeScript("t_failover_incr", "return redis.call('INCR', KEYS[1])");
  const std::string k = KeyOn(0, "fo:", 0, 3);
  ASSERT_OK_AND_ASSIGN(Reply one, kv->Eval(s, {k}, {}));
  EXPECT_EQ(one.integer(), 1);
  // A manual failover waits until the replica has caught up with its master.
  ASSERT_OK(cluster_->Run(3, {"CLUSTER", "FAILOVER"}).status());
  // Wait until node 3 is master and node 0 its replica, as every node sees it.
  // Asked again every 5 s: Redis abandons a manual failover that did not complete in time (a
  // replica still syncing on a loaded machine).
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(40);
  auto ask_again = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    if (std::chrono::steady_clock::now() > ask_again) {
      (void)cluster_->Run(3, {"CLUSTER", "FAILOVER"});
      ask_again = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    Result<int> owner0 = cluster_->OwnerOf(HashSlot(k), 0);
    Result<int> owner1 = cluster_->OwnerOf(HashSlot(k), 1);
    if (owner0.ok() && owner1.ok() && *owner0 == 3 && *owner1 == 3) break;
    ASSERT_LT(std::chrono::steady_clock::now(), until)
        << "the failover did not complete: owner as node 0 sees it "
        << (owner0.ok() ? std::to_string(*owner0) : owner0.status().ToString()) << ", node 1 "
        << (owner1.ok() ? std::to_string(*owner1) : owner1.status().ToString());
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_OK(cluster_->WaitHealthy(std::chrono::seconds(20)));
  RedisClusterStats before = c->Stats();
  ASSERT_OK_AND_ASSIGN(Reply two, kv->Eval(s, {k}, {}));  // old master answers MOVED
  EXPECT_EQ(two.integer(), 2);
  RedisClusterStats after = c->Stats();
  EXPECT_EQ(after.refreshes - before.refreshes, 1) << "no MOVED loop: one refresh";
  EXPECT_EQ(after.moved - before.moved, 1);
  EXPECT_EQ(after.script_loads - before.script_loads, 1);  // the promoted replica had none
  ASSERT_OK_AND_ASSIGN(Reply three, kv->Eval(s, {k}, {}));
  EXPECT_EQ(three.integer(), 3);
  EXPECT_EQ(c->Stats().refreshes, after.refreshes);
  // Its cache lost (what a restarted or promoted node has): NOSCRIPT, reload, retry.
  ASSERT_OK(cluster_->Run(3, {"SCRIPT", "FLUSH"}).status());
  ASSERT_OK_AND_ASSIGN(Reply four, kv->Eval(s, {k}, {}));
  EXPECT_EQ(four.integer(), 4);
  EXPECT_EQ(c->Stats().noscript_retries - after.noscript_retries, 1);
}

}  // namespace
}  // namespace stormkv
