// `stormkv serve --cluster N` in-process (stormkv/server/cluster_server.h): every node on a real
// port, announcing it; MOVED to a node that answers; one clock; MULTI/EXEC's slot rules; the
// CLUSTER replies in RESP2 and RESP3 with the shapes of Redis 7.0.15 (captured from the test
// cluster of tools/test.sh with the same commands). Raw RESP on the wire.
#include "stormkv/server/cluster_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "raw_client.h"
#include "stormkv/clock.h"
#include "stormkv/key_schema.h"

namespace stormkv {
namespace {

std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }
std::string Int(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }

class ClusterServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>();
    ClusterServerOptions o;
    o.nodes = 3;
    o.memory.clock = clock_;
    o.server.port = 0;
    std::shared_ptr<ManualClock> c = clock_;
    o.server.clock.now_ms = [c] { return c->NowMs(); };
    o.server.clock.set_ms = [c](int64_t ms) { c->SetMs(ms); };
    o.server.clock.advance = [c](int64_t d) { c->Advance(std::chrono::milliseconds(d)); };
    o.server.memory_report = [](KvBackend& kv) -> Result<std::string> {
      Result<Reply> n = kv.Run({"DBSIZE"});
      if (!n.ok()) return n.status();
      return "keys " + std::to_string(n->integer());
    };
    Result<std::unique_ptr<ClusterServer>> s = ClusterServer::Start(std::move(o));
    ASSERT_TRUE(s.ok()) << s.status();
    cluster_ = std::move(*s);
    ports_ = cluster_->ports();
    ASSERT_EQ(ports_.size(), 3u);
  }
  void TearDown() override {
    if (cluster_) cluster_->Stop();
  }
  // A key whose slot node `node` owns.
  std::string KeyOn(int node, const std::string& prefix = "k") const {
    const ClusterSlotRange r = cluster_->nodes()[static_cast<size_t>(node)].slots;
    for (int i = 0;; ++i) {
      std::string k = prefix + std::to_string(i);
      const int s = HashSlot(k);
      if (s >= r.first && s <= r.last) return k;
    }
  }

  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<ClusterServer> cluster_;
  std::vector<int> ports_;
};

TEST_F(ClusterServerTest, NodesAnnounceTheAddressesTheyListenOn) {
  const std::vector<MemoryClusterNode>& nodes = cluster_->nodes();
  std::string slots = "*3\r\n", slots3 = "*3\r\n";
  std::string shards2 = "*3\r\n", shards3 = "*3\r\n";
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(nodes[i].address, "127.0.0.1:" + std::to_string(ports_[i]));
    std::string node = "*4\r\n" + Bulk("127.0.0.1") + Int(ports_[i]) + Bulk(nodes[i].id);
    slots += "*3\r\n" + Int(nodes[i].slots.first) + Int(nodes[i].slots.last) + node + "*0\r\n";
    slots3 += "*3\r\n" + Int(nodes[i].slots.first) + Int(nodes[i].slots.last) + node + "%0\r\n";
    std::string fields = Bulk("id") + Bulk(nodes[i].id) + Bulk("port") + Int(ports_[i]) +
                         Bulk("ip") + Bulk("127.0.0.1") + Bulk("endpoint") + Bulk("127.0.0.1") +
                         Bulk("role") + Bulk("master") + Bulk("replication-offset") + Int(0) +
                         Bulk("health") + Bulk("online");
    std::string range = "*2\r\n" + Int(nodes[i].slots.first) + Int(nodes[i].slots.last);
    shards2 += "*4\r\n" + Bulk("slots") + range + Bulk("nodes") + "*1\r\n*14\r\n" + fields;
    shards3 += "%2\r\n" + Bulk("slots") + range + Bulk("nodes") + "*1\r\n%7\r\n" + fields;
  }
  for (int port : ports_) {
    RawClient c(port);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c.Cmd({"CLUSTER", "SLOTS"}), slots);
    EXPECT_EQ(c.Cmd({"CLUSTER", "SHARDS"}), shards2);
    std::string nodes_text = c.Cmd({"CLUSTER", "NODES"});
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_NE(nodes_text.find(nodes[i].id + " 127.0.0.1:" + std::to_string(ports_[i]) + "@" +
                                std::to_string(ports_[i] + 10000)),
                std::string::npos)
          << nodes_text;
    }
    // RESP3: SLOTS' per-node metadata is a map, SHARDS are maps, NODES and INFO verbatim.
    c.Cmd({"HELLO", "3"});
    EXPECT_EQ(c.Cmd({"CLUSTER", "SLOTS"}), slots3);
    EXPECT_EQ(c.Cmd({"CLUSTER", "SHARDS"}), shards3);
    EXPECT_EQ(c.Cmd({"CLUSTER", "INFO"}).rfind("=", 0), 0u);
    EXPECT_NE(c.Cmd({"CLUSTER", "NODES"}).find("\r\ntxt:"), std::string::npos);
  }
  RawClient c1(ports_[1]);
  EXPECT_EQ(c1.Cmd({"CLUSTER", "MYID"}), Bulk(nodes[1].id));
  EXPECT_EQ(c1.Cmd({"CLUSTER", "KEYSLOT", "{user1}.a"}), Int(HashSlot("user1")));
}

TEST_F(ClusterServerTest, MovedLeadsToTheNodeThatAnswers) {
  for (int owner = 0; owner < 3; ++owner) {
    const std::string key = KeyOn(owner);
    const std::string moved = "MOVED " + std::to_string(HashSlot(key)) + " 127.0.0.1:" +
                              std::to_string(ports_[static_cast<size_t>(owner)]);
    for (int asked = 0; asked < 3; ++asked) {
      RawClient c(ports_[static_cast<size_t>(asked)]);
      if (asked == owner) {
        EXPECT_EQ(c.Cmd({"SET", key, "v"}), "+OK\r\n");
        EXPECT_EQ(c.Cmd({"GET", key}), Bulk("v"));
        EXPECT_EQ(c.Cmd({"EVAL", "return redis.call('get', KEYS[1])", "1", key}), Bulk("v"));
      } else {
        EXPECT_EQ(c.Cmd({"GET", key}), "-" + moved + "\r\n");
        EXPECT_EQ(c.Cmd({"EVAL", "return 1", "1", key}), "-" + moved + "\r\n");
        EXPECT_EQ(c.Cmd({"WATCH", key}), "-" + moved + "\r\n");
      }
    }
  }
  // Each node holds its own keys: DBSIZE is per node, as on a cluster.
  for (int port : ports_) EXPECT_EQ(RawClient(port).Cmd({"DBSIZE"}), Int(1));
  RawClient c(ports_[0]);
  EXPECT_EQ(c.Cmd({"DEL", KeyOn(0), KeyOn(1)}),
            "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
  EXPECT_EQ(c.Cmd({"STORMKV.MEMORY"}), Bulk("keys 1"));  // node 0's report
}

TEST_F(ClusterServerTest, OneClockForTheWholeCluster) {
  for (int n = 0; n < 3; ++n) {
    RawClient c(ports_[static_cast<size_t>(n)]);
    EXPECT_EQ(c.Cmd({"SET", KeyOn(n, "short"), "v", "PX", "1000"}), "+OK\r\n");
    EXPECT_EQ(c.Cmd({"SET", KeyOn(n, "long"), "v"}), "+OK\r\n");
  }
  RawClient c0(ports_[0]);
  const std::string now = c0.Cmd({"STORMKV.CLOCK", "GET"});
  const std::string advanced = c0.Cmd({"STORMKV.CLOCK", "ADVANCE", "1001"});
  EXPECT_EQ(advanced, Int(clock_->NowMs()));
  for (int n = 0; n < 3; ++n) {
    RawClient c(ports_[static_cast<size_t>(n)]);
    EXPECT_EQ(c.Cmd({"STORMKV.CLOCK", "GET"}), Int(clock_->NowMs()));
    EXPECT_NE(c.Cmd({"STORMKV.CLOCK", "GET"}), now);
    EXPECT_EQ(c.Cmd({"DBSIZE"}), Int(1)) << "node " << n;
    EXPECT_EQ(c.Cmd({"EXISTS", KeyOn(n, "short")}), Int(0));
  }
  std::string stats = RawClient(ports_[2]).Cmd({"INFO", "stats"});
  EXPECT_NE(stats.find("expired_keys:1\r\n"), std::string::npos) << stats;
  // SET on another node moves the same clock.
  const int64_t later = clock_->NowMs() + 60000;
  EXPECT_EQ(RawClient(ports_[1]).Cmd({"STORMKV.CLOCK", "SET", std::to_string(later)}), Int(later));
  EXPECT_EQ(c0.Cmd({"STORMKV.CLOCK", "GET"}), Int(later));
  EXPECT_EQ(clock_->NowMs(), later);
}

TEST_F(ClusterServerTest, TransactionsFollowTheSlotRules) {
  RawClient c(ports_[0]);
  const std::string a = KeyOn(0), b = KeyOn(0, "{" + a + "}"), other = KeyOn(1);
  // One slot of this node: runs.
  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"SET", a, "1"}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"INCR", b}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"EXEC"}), "*2\r\n+OK\r\n:1\r\n");
  // A key of another node: MOVED while queuing, then EXECABORT (Redis 7.0.15's replies).
  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"SET", other, "1"}),
            "-MOVED " + std::to_string(HashSlot(other)) + " 127.0.0.1:" + std::to_string(ports_[1]) +
                "\r\n");
  EXPECT_EQ(c.Cmd({"EXEC"}), "-EXECABORT Transaction discarded because of previous errors.\r\n");
  // Two slots of this node: each command queues, EXEC refuses with CROSSSLOT, nothing applied.
  const std::string d = KeyOn(0, "d");
  ASSERT_NE(HashSlot(d), HashSlot(a));
  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"SET", a, "2"}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"SET", d, "2"}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"EXEC"}), "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
  EXPECT_EQ(c.Cmd({"GET", a}), Bulk("1"));
  EXPECT_EQ(c.Cmd({"EXISTS", d}), Int(0));
  EXPECT_EQ(c.Cmd({"WATCH", a, d}), "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
  // WATCH of a key of another slot of this node: an expiry breaks it, as standalone.
  EXPECT_EQ(c.Cmd({"SET", d, "v", "PX", "100"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"WATCH", d}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"SET", a, "3"}), "+QUEUED\r\n");
  clock_->Advance(std::chrono::milliseconds(200));
  EXPECT_EQ(c.Cmd({"EXEC"}), "*-1\r\n");
  EXPECT_EQ(c.Cmd({"GET", a}), Bulk("1"));
  // ... and a watched key of the transaction's slot, broken by another client's write.
  EXPECT_EQ(c.Cmd({"WATCH", b}), "+OK\r\n");
  EXPECT_EQ(RawClient(ports_[0]).Cmd({"SET", b, "9"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"SET", a, "4"}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"EXEC"}), "*-1\r\n");
  EXPECT_EQ(c.Cmd({"WATCH", b}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"SET", a, "5"}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"EXEC"}), "*1\r\n+OK\r\n");
}

// EVAL inside MULTI on a cluster node: the replies of a real Redis 7.0.15 cluster (tools/lib.sh
// start_redis_cluster, the same commands by redis-cli): scripts of one slot queue and run; a
// script whose key another node owns is MOVED while queuing and so is a script declaring keys of
// two slots (CROSSSLOT), each aborting the transaction. A script that writes a key it did not
// declare: Redis 7.0 runs it (a script without a shebang may reach any key of its node); serve
// refuses it by default and its error is that command's reply only (--cluster-lenient-scripts
// gives Redis's rule).
TEST_F(ClusterServerTest, EvalInsideMultiFollowsTheSlotRules) {
  RawClient c(ports_[0]);
  const std::string a = KeyOn(0), tagged = "{" + a + "}x", other = KeyOn(1);
  const std::string d = KeyOn(0, "d");
  ASSERT_NE(HashSlot(d), HashSlot(a));
  const std::string incr = "return redis.call('INCR', KEYS[1])";
  const std::string get = "return redis.call('GET', KEYS[1])";
  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"EVAL", incr, "1", a}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"EVAL", get, "1", tagged}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"EXEC"}), "*2\r\n:1\r\n$-1\r\n");

  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"EVAL", "return 1", "1", other}),
            "-MOVED " + std::to_string(HashSlot(other)) + " 127.0.0.1:" + std::to_string(ports_[1]) +
                "\r\n");
  EXPECT_EQ(c.Cmd({"EXEC"}), "-EXECABORT Transaction discarded because of previous errors.\r\n");

  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"EVAL", "return 1", "2", a, d}),
            "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
  EXPECT_EQ(c.Cmd({"EXEC"}), "-EXECABORT Transaction discarded because of previous errors.\r\n");

  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"EVAL", get, "1", a}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"EVAL", "return redis.call('SET', '" + d + "', 'v')", "1", a}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"INCR", a}), "+QUEUED\r\n");
  const std::string exec = c.Cmd({"EXEC"});
  EXPECT_EQ(exec.rfind("*3\r\n$1\r\n1\r\n-", 0), 0u) << exec;
  EXPECT_NE(exec.find("-ERR Script attempted to access a key not declared in KEYS: '" + d + "'"),
            std::string::npos) << exec;
  EXPECT_NE(exec.find("\r\n:2\r\n"), std::string::npos) << exec;
  EXPECT_EQ(c.Cmd({"EXISTS", d}), Int(0));
  EXPECT_EQ(c.Cmd({"GET", a}), Bulk("2"));
}

TEST_F(ClusterServerTest, AnswersAsAClusterNode) {
  RawClient c(ports_[2]);
  EXPECT_EQ(c.Cmd({"SELECT", "1"}), "-ERR SELECT is not allowed in cluster mode\r\n");
  EXPECT_EQ(c.Cmd({"SELECT", "0"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"READONLY"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"READWRITE"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"CLUSTER", "FOO"}), "-ERR unknown subcommand 'FOO'. Try CLUSTER HELP.\r\n");
  EXPECT_EQ(c.Cmd({"CONFIG", "GET", "cluster-enabled"}),
            "*2\r\n" + Bulk("cluster-enabled") + Bulk("yes"));
  EXPECT_NE(c.Cmd({"INFO", "cluster"}).find("# Cluster\r\ncluster_enabled:1\r\n"), std::string::npos);
  EXPECT_NE(c.Cmd({"INFO"}).find("redis_mode:cluster\r\n"), std::string::npos);
  EXPECT_NE(c.Cmd({"HELLO", "3"}).find(Bulk("mode") + Bulk("cluster")), std::string::npos);
}

TEST(ClusterServerOptionsTest, BadOptionsAreRefusedAndLeaveNothingListening) {
  auto start = [](int nodes, int port, const std::string& bind = "127.0.0.1") {
    ClusterServerOptions o;
    o.nodes = nodes;
    o.server.port = port;
    o.server.bind = bind;
    return ClusterServer::Start(std::move(o));
  };
  EXPECT_EQ(start(0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(start(16385, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(start(3, 65534).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(start(3, -1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(start(3, 0, "not-an-ip").status().code(), StatusCode::kInvalidArgument);
  ClusterServerOptions unix_socket;
  unix_socket.server.port = 0;
  unix_socket.server.unixsocket = "/tmp/stormkv-cluster-test.sock";
  EXPECT_EQ(ClusterServer::Start(std::move(unix_socket)).status().code(),
            StatusCode::kInvalidArgument);
  // Node 1's port is taken: Unavailable naming it, and node 0's port (bound first) is freed.
  Result<std::unique_ptr<ClusterServer>> first = start(1, 0);
  ASSERT_TRUE(first.ok()) << first.status();
  const int taken = (*first)->ports()[0];
  ASSERT_GT(taken, 1);
  Result<std::unique_ptr<ClusterServer>> clash = start(2, taken - 1);
  ASSERT_FALSE(clash.ok()) << "two servers listen on port " << taken;
  EXPECT_EQ(clash.status().code(), StatusCode::kUnavailable);
  // (taken - 1 may be another program's: then the message names it and there is nothing to free.)
  if (clash.status().message().find("127.0.0.1:" + std::to_string(taken) + ":") != std::string::npos) {
    EXPECT_FALSE(RawClient(taken - 1).ok()) << "port " << taken - 1 << " still listening";
  } else {
    EXPECT_NE(clash.status().message().find("127.0.0.1:" + std::to_string(taken - 1) + ":"),
              std::string::npos)
        << clash.status();
  }
  // The embedded cluster refuses addresses it cannot announce.
  MemoryBackendOptions m;
  m.cluster_nodes = 2;
  m.cluster_addresses = {"127.0.0.1:7000"};
  EXPECT_EQ(NewMemoryClusterBackend(m).status().code(), StatusCode::kInvalidArgument);
  m.cluster_addresses = {"127.0.0.1:7000", "127.0.0.1:70000"};
  EXPECT_EQ(NewMemoryClusterBackend(m).status().code(), StatusCode::kInvalidArgument);
  m.cluster_addresses = {"127.0.0.1:7000", ":7001"};
  EXPECT_EQ(NewMemoryClusterBackend(m).status().code(), StatusCode::kInvalidArgument);
  m.cluster_addresses = {"10.0.0.1:7000", "10.0.0.2:7001"};
  Result<std::unique_ptr<KvBackend>> ok = NewMemoryClusterBackend(m);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(AsMemoryClusterBackend(ok->get())->Nodes()[1].address, "10.0.0.2:7001");
  Result<Reply> moved = (*ok)->Run({"CLUSTER", "SLOTS"});
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->elements()[1].elements()[2].elements()[0], Reply::Bulk("10.0.0.2"));
}

}  // namespace
}  // namespace stormkv
