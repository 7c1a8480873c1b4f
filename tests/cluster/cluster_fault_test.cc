// Cluster faults under the ingest Pipeline, on real Redis Clusters: a stream of webhooks goes
// through a Pipeline over the cluster backend while the cluster is failed over, loses a master to
// SIGKILL, or migrates a slot live. A delivery that fails (503) is delivered again, as
// Alertmanager retries it. Afterwards the decisions, the emitted requests and the stored keys must
// equal a fault-free run on the embedded store that saw the same deliveries (the alerts processed
// before a failure were delivered twice), exactly; the storm-rate counters compare by type and TTL
// (pipeline.h: an alert whose aggregation failed may have been counted).
//
// The shared cluster of tools/test.sh (STORMKV_REDIS_CLUSTER_URL / _NODES) serves the cases that
// can put it back as they found it (a manual failover fails back, a migrated slot migrates back,
// a changed maxmemory is restored) and checks it is healthy before and after; SIGKILL needs a
// node restarted, so that case owns a private 3 + 3 cluster (tests/redis/private_cluster.h).
// Waiting for the cluster polls its real state with a deadline. With STORMKV_REQUIRE_REDIS=1 a
// missing cluster is a failure.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_nodes.h"
#include "common/test_env.h"
#include "common/test_util.h"
#include "fault/fault_util.h"
#include "gateway/payloads.h"
#include "integration/fixture.h"
#include "redis/private_cluster.h"
#include "stormkv/gateway/pipeline.h"
#include "stormkv/key_schema.h"
#include "stormkv/memory_backend.h"
#include "stormkv/redis_cluster_backend.h"

namespace stormkv::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kTtlSlackMs = 120000;  // Redis TTLs run in real time during a case
constexpr int kPayloads = 48;

std::string Env(const char* name) { return EnvOr(name); }

// Payload p: 6 new alerts over 6 namespaces x 3 alert names (each on a pod of its own, so every
// one goes through storm detection and the storms open and aggregate), then a repeat of payload
// p - 1's first alert (a duplicate). The storms' slots cover every master.
std::vector<TestAlert> PayloadAlerts(int p) {
  static const char* kNames[] = {"KubePodCrashLooping", "HighLatency", "DiskFull"};
  std::vector<TestAlert> out;
  auto alert = [](int q, int j) {
    TestAlert a;
    a.ns = "ns" + std::to_string((q + j) % 6);
    a.name = kNames[(q * 7 + j) % 3];
    a.resource = "pod-" + std::to_string(q) + "-" + std::to_string(j);
    a.severity = "warning";
    return a;
  };
  for (int j = 0; j < 6; ++j) out.push_back(alert(p, j));
  if (p > 0) out.push_back(alert(p - 1, 0));
  return out;
}

PipelineOptions Options(const std::string& prefix) {
  PipelineOptions o;
  o.keys.prefix = prefix;
  o.rate_limit_enabled = false;
  o.storm.rate_threshold = 1000;  // pattern storms: the rate counter is not exact under faults
  o.storm.pattern_threshold = 3;
  // A delivery cut half-way leaves its alert's record unfinished; with time standing still the
  // retry resumes it only after the lease: 0 here.
  o.dedup.unfinished_lease = milliseconds(0);
  return o;
}

std::string Describe(const AlertDecision& d) {
  std::ostringstream os;
  os << d.index << " " << OutcomeName(d.outcome) << " rr=" << d.remediation_request
     << " count=" << d.occurrence_count << " first=" << d.first_seen_ms << " last=" << d.last_seen_ms
     << " opened=" << d.storm_opened << " storm_alerts=" << d.storm_alert_count
     << " resources=" << d.storm_resource_count;
  return os.str();
}

std::size_t FirstFailed(const IngestResult& r) {
  for (const AlertDecision& d : r.decisions) {
    if (!d.status.ok()) return d.index;
  }
  return r.decisions.size();
}

// One delivery of a payload: the payload, how many of its alerts were processed (all of them when
// it succeeded), and what the pipeline said.
struct Delivery {
  int payload = 0;
  std::size_t processed = 0;
  bool ok = false;
  IngestResult result;
};

struct StreamRun {
  std::vector<Delivery> deliveries;
  std::map<std::string, fault::KeyState> keys;
  int failed = 0;
};

// Delivers payloads [from, to) in order; `before(p)` runs before payload p. A failed delivery is
// delivered again until it succeeds or `give_up` has passed since its first failure.
void Stream(Pipeline& pipeline, int from, int to, const std::function<void(int)>& before,
            StreamRun* run, milliseconds give_up = milliseconds(30000)) {
  for (int p = from; p < to; ++p) {
    if (before) before(p);
    const std::string body = Webhook(PayloadAlerts(p));
    const auto until = std::chrono::steady_clock::now() + give_up;
    for (;;) {
      Delivery d;
      d.payload = p;
      d.result = pipeline.Ingest(body);
      d.ok = d.result.status.ok();
      d.processed = d.ok ? d.result.decisions.size() : FirstFailed(d.result);
      run->deliveries.push_back(d);
      if (d.ok) break;
      ++run->failed;
      ASSERT_LT(std::chrono::steady_clock::now(), until)
          << "payload " << p << " still fails: " << d.result.status;
      // Polls the cluster through the gateway's own retry (bounded by `until`).
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
}

// The fault-free equivalent on a fresh embedded store at the same time: every delivery of `got`,
// a failed one cut to the alerts it processed.
StreamRun Reference(const StreamRun& got, int64_t now_ms, const std::string& prefix) {
  StreamRun want;
  MemoryBackendOptions mo;
  auto clock = std::make_shared<ManualClock>(now_ms);
  mo.clock = clock;
  std::unique_ptr<KvBackend> kv = NewMemoryBackend(mo).value();
  Pipeline pipeline(*kv, clock, Options(prefix));
  for (const Delivery& g : got.deliveries) {
    std::vector<TestAlert> alerts = PayloadAlerts(g.payload);
    alerts.resize(g.processed);
    Delivery d;
    d.payload = g.payload;
    d.ok = g.ok;
    d.processed = g.processed;
    if (!alerts.empty()) d.result = pipeline.Ingest(Webhook(alerts));
    EXPECT_OK(d.result.status);
    want.deliveries.push_back(d);
  }
  Result<std::map<std::string, fault::KeyState>> keys = fault::Snapshot(*kv, prefix);
  EXPECT_OK(keys.status());
  if (keys.ok()) want.keys = *keys;
  return want;
}

// The differences between a run and its reference ("" when none).
std::string Compare(const StreamRun& want, const StreamRun& got) {
  std::ostringstream os;
  if (want.deliveries.size() != got.deliveries.size()) os << "different number of deliveries\n";
  for (std::size_t i = 0; i < want.deliveries.size() && i < got.deliveries.size(); ++i) {
    const Delivery& w = want.deliveries[i];
    const Delivery& g = got.deliveries[i];
    for (std::size_t k = 0; k < g.processed && k < w.result.decisions.size(); ++k) {
      const std::string ws = Describe(w.result.decisions[k]);
      const std::string gs = Describe(g.result.decisions[k]);
      if (ws != gs) {
        os << "payload " << g.payload << " delivery " << i << ": got  " << gs << "\n      want "
           << ws << "\n";
      }
    }
    if (g.ok) {
      std::vector<std::string> wn, gn;
      for (const RemediationRequest& r : w.result.requests) wn.push_back(r.name);
      for (const RemediationRequest& r : g.result.requests) gn.push_back(r.name);
      if (wn != gn) os << "payload " << g.payload << ": emitted requests differ\n";
    }
  }
  os << fault::Diff(want.keys, got.keys, kTtlSlackMs, {"storm-rate:"});
  return os.str();
}

Result<int64_t> ServerTimeMs(KvBackend& kv) {
  Result<Reply> r = kv.Run({"TIME"});
  if (!r.ok()) return r.status();
  if (!r->is_array() || r->elements().size() != 2) return Status::Internal("TIME " + r->ToString());
  return std::stoll(r->elements()[0].str()) * 1000 + std::stoll(r->elements()[1].str()) / 1000;
}

std::unique_ptr<KvBackend> ConnectGateway(const std::string& url) {
  RedisClusterOptions o;
  o.url = url;
  o.retry_deadline = milliseconds(15000);  // rides out an automatic failover (node timeout 1 s)
  o.refresh_interval = milliseconds(0);    // refreshes counted here come from events only
  Result<std::unique_ptr<KvBackend>> kv = NewRedisClusterBackend(o);
  EXPECT_TRUE(kv.ok()) << kv.status();
  return kv.ok() ? std::move(kv).value() : nullptr;
}

// Polls `done` every 20 ms until it holds or `deadline` passes; false then.
bool PollUntil(const std::function<bool()>& done, milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

std::string Role(const NodeAddr& n) {
  auto info = NodeInfo(n, "replication");
  return info.ok() ? (*info)["role"] : "";
}

// Runs one command on one node and gives its reply as text.
using NodeRunner = std::function<Result<std::string>(const std::vector<std::string>&)>;

// Promotes a replica with CLUSTER FAILOVER: waits until its link to its master is up, asks, and
// polls until it reports role:master; asks again when a manual failover timed out (Redis gives
// up on one after twice the node timeout), until `deadline`.
Status PromoteReplica(const NodeRunner& run, const std::string& name, milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::string last;
  auto field = [&](const char* f) {
    Result<std::string> info = run({"INFO", "replication"});
    if (!info.ok()) {
      last = info.status().ToString();
      return std::string();
    }
    return InfoField(*info, f);
  };
  while (std::chrono::steady_clock::now() < until) {
    if (field("role") == "master") return Status::Ok();
    if (field("master_link_status") != "up") {
      last = "replica link not up";
      std::this_thread::sleep_for(milliseconds(20));
      continue;
    }
    Result<std::string> asked = run({"CLUSTER", "FAILOVER"});
    if (!asked.ok()) last = asked.status().ToString();
    PollUntil([&] { return field("role") == "master"; }, milliseconds(5000));
  }
  return Status::Timeout(name + " did not become master within " +
                         std::to_string(deadline.count()) + " ms (" + last + ")");
}

// The shared cluster: its six nodes from STORMKV_REDIS_CLUSTER_NODES (host:port:pid:dir,...).
class SharedClusterFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    STORMKV_NEED_SERVER("STORMKV_REDIS_CLUSTER_URL");
    STORMKV_NEED_SERVER("STORMKV_REDIS_CLUSTER_NODES");
    url_ = Env("STORMKV_REDIS_CLUSTER_URL");
    const std::string nodes = Env("STORMKV_REDIS_CLUSTER_NODES");
    std::stringstream ss(nodes);
    std::string entry;
    while (std::getline(ss, entry, ',')) {
      const std::size_t c1 = entry.find(':');
      const std::size_t c2 = entry.find(':', c1 + 1);
      ASSERT_NE(c2, std::string::npos) << "bad STORMKV_REDIS_CLUSTER_NODES entry " << entry;
      nodes_.push_back(NodeAddr{entry.substr(0, c1), std::stoi(entry.substr(c1 + 1, c2 - c1 - 1))});
    }
    ASSERT_EQ(nodes_.size(), 6u);
    ASSERT_OK(WaitClusterHealthy(nodes_, 3, seconds(20)));
    kv_ = ConnectGateway(url_);
    ASSERT_NE(kv_, nullptr);
    ASSERT_OK(kv_->FlushDb());
  }
  void TearDown() override {
    if (kv_) EXPECT_OK(kv_->FlushDb());
    if (!nodes_.empty()) {
      Status healthy = WaitClusterHealthy(nodes_, 3, seconds(20));
      EXPECT_TRUE(healthy.ok()) << "the case left the cluster unhealthy: " << healthy;
    }
  }

  // The CLUSTER NODES line of `addr` (as node 0 sees it).
  Result<ClusterNodeLine> Line(const NodeAddr& addr) {
    auto lines = ClusterNodes(nodes_[0]);
    if (!lines.ok()) return lines.status();
    for (const ClusterNodeLine& l : *lines) {
      if (l.addr.port == addr.port) return l;
    }
    return Status::Internal(addr.ToString() + " not in CLUSTER NODES");
  }
  // A replica of the master at `master`.
  Result<NodeAddr> ReplicaOf(const NodeAddr& master) {
    Result<ClusterNodeLine> m = Line(master);
    if (!m.ok()) return m.status();
    auto lines = ClusterNodes(nodes_[0]);
    if (!lines.ok()) return lines.status();
    for (const ClusterNodeLine& l : *lines) {
      if (!l.master && l.master_id == m->id) return l.addr;
    }
    return Status::Internal("no replica of " + master.ToString());
  }
  NodeAddr AddrOf(const std::string& hostport) {
    const std::size_t c = hostport.rfind(':');
    return NodeAddr{hostport.substr(0, c), std::stoi(hostport.substr(c + 1))};
  }
  // Manual failover on `replica` (PromoteReplica), then every node healthy.
  Status FailOverTo(const NodeAddr& replica) {
    STORMKV_RETURN_IF_ERROR(PromoteReplica(
        [&](const std::vector<std::string>& argv) { return NodeCommand(replica, argv); },
        replica.ToString(), seconds(40)));
    // Every node's view has it as a master (the views converge over the cluster bus).
    const bool agreed = PollUntil([&] {
      for (const NodeAddr& n : nodes_) {
        auto lines = ClusterNodes(n);
        if (!lines.ok()) return false;
        bool seen = false;
        for (const ClusterNodeLine& l : *lines) seen = seen || (l.addr.port == replica.port && l.master);
        if (!seen) return false;
      }
      return true;
    }, seconds(20));
    if (!agreed) return Status::Timeout("not every node sees " + replica.ToString() + " as master");
    return WaitClusterHealthy(nodes_, 3, seconds(20));
  }

  std::string url_;
  std::vector<NodeAddr> nodes_;
  std::unique_ptr<KvBackend> kv_;
};

TEST_F(SharedClusterFaultTest, ManualFailoverMidStreamKeepsExactCounts) {
  RedisClusterBackend* c = AsRedisClusterBackend(kv_.get());
  std::vector<RedisClusterNode> masters = c->Nodes();
  ASSERT_EQ(masters.size(), 3u);
  const NodeAddr old_master = AddrOf(masters[1].address);
  ASSERT_OK_AND_ASSIGN(NodeAddr replica, ReplicaOf(old_master));
  ASSERT_OK_AND_ASSIGN(int64_t now, ServerTimeMs(*kv_));
  auto clock = std::make_shared<ManualClock>(now);
  const std::string prefix = "clfo:";
  Pipeline pipeline(*kv_, clock, Options(prefix));

  StreamRun got;
  RedisClusterStats before{};
  Stream(pipeline, 0, kPayloads, [&](int p) {
    if (p == 12) {
      before = c->Stats();
      // Asynchronous in Redis: the payloads that follow meet the failover as it happens.
      ASSERT_OK(NodeCommand(replica, {"CLUSTER", "FAILOVER"}).status());
    }
    if (p == 24) {
      ASSERT_TRUE(PollUntil([&] { return Role(replica) == "master"; }, seconds(20)))
          << "the manual failover did not complete";
    }
  }, &got);
  const RedisClusterStats after = c->Stats();
  ASSERT_OK_AND_ASSIGN(got.keys, fault::Snapshot(*kv_, prefix));
  StreamRun want = Reference(got, now, prefix);
  EXPECT_EQ(Compare(want, got), "");
  EXPECT_EQ(got.failed, 0) << "a manual failover loses nothing: every redirect is resent";
  EXPECT_GE(after.moved - before.moved, 1) << "the old master answered MOVED";
  EXPECT_LE(after.refreshes - before.refreshes, 3) << "no MOVED loop";
  EXPECT_EQ(after.redirect_loops, 0);
  EXPECT_GE(after.script_loads - before.script_loads, 1)
      << "the promoted replica had no scripts (Redis 7.0 does not replicate SCRIPT LOAD)";
  std::cout << "[ cluster  ] manual failover: " << got.deliveries.size() << " deliveries, "
            << (after.moved - before.moved) << " MOVED, " << (after.refreshes - before.refreshes)
            << " refreshes, " << (after.retries - before.retries) << " retries, "
            << (after.script_loads - before.script_loads) << " script loads\n";

  // Put the cluster back: the old master takes over again.
  ASSERT_OK(FailOverTo(old_master));
}

// Moves `slot` from `from` to `to` as redis-cli --cluster reshard does: IMPORTING on the target,
// MIGRATING on the source, MIGRATE key by key until the slot is empty (`between` runs after each
// key), SETSLOT NODE on the target, the source, then every other node.
Status MigrateSlot(const std::vector<NodeAddr>& nodes, int slot, const ClusterNodeLine& from,
                   const ClusterNodeLine& to, const std::function<void()>& between) {
  const std::string s = std::to_string(slot);
  STORMKV_RETURN_IF_ERROR(NodeCommand(to.addr, {"CLUSTER", "SETSLOT", s, "IMPORTING", from.id}).status());
  STORMKV_RETURN_IF_ERROR(NodeCommand(from.addr, {"CLUSTER", "SETSLOT", s, "MIGRATING", to.id}).status());
  if (between) between();
  for (;;) {
    Result<std::string> keys = NodeCommand(from.addr, {"CLUSTER", "GETKEYSINSLOT", s, "1"});
    if (!keys.ok()) return keys.status();
    if (keys->empty()) break;
    STORMKV_RETURN_IF_ERROR(NodeCommand(from.addr, {"MIGRATE", to.addr.host,
                                                    std::to_string(to.addr.port), *keys, "0",
                                                    "5000"})
                                .status());
    if (between) between();
  }
  STORMKV_RETURN_IF_ERROR(NodeCommand(to.addr, {"CLUSTER", "SETSLOT", s, "NODE", to.id}).status());
  STORMKV_RETURN_IF_ERROR(NodeCommand(from.addr, {"CLUSTER", "SETSLOT", s, "NODE", to.id}).status());
  for (const NodeAddr& n : nodes) {
    if (n.port == to.addr.port || n.port == from.addr.port) continue;
    if (Role(n) != "master") continue;  // replicas learn it from their masters
    STORMKV_RETURN_IF_ERROR(NodeCommand(n, {"CLUSTER", "SETSLOT", s, "NODE", to.id}).status());
  }
  return Status::Ok();
}

TEST_F(SharedClusterFaultTest, LiveSlotMigrationFollowsAskAndTryAgain) {
  RedisClusterBackend* c = AsRedisClusterBackend(kv_.get());
  // One storm of the stream (ns1 x HighLatency): its keys share one slot, moved half-way.
  KeySchemaOptions kso;
  kso.prefix = "clmig:";
  KeySchema schema(kso);
  const int slot = HashSlot(schema.StormKey(family::kStormPattern, "ns1", "HighLatency"));
  ASSERT_OK_AND_ASSIGN(std::vector<ClusterNodeLine> lines, ClusterNodes(nodes_[0]));
  const ClusterNodeLine* from = SlotOwner(lines, slot);
  ASSERT_NE(from, nullptr);
  const ClusterNodeLine* to = nullptr;
  for (const ClusterNodeLine& l : lines) {
    if (l.master && !l.slots.empty() && l.id != from->id) to = &l;
  }
  ASSERT_NE(to, nullptr);
  const ClusterNodeLine src = *from, dst = *to;

  ASSERT_OK_AND_ASSIGN(int64_t now, ServerTimeMs(*kv_));
  auto clock = std::make_shared<ManualClock>(now);
  Pipeline pipeline(*kv_, clock, Options(kso.prefix));
  StreamRun got;
  std::atomic<int> at_payload{0};
  std::atomic<bool> migrated{false};
  std::atomic<bool> migrating{false};
  Status migration;
  const RedisClusterStats before = c->Stats();
  std::thread mover;
  Stream(pipeline, 0, kPayloads, [&](int p) {
    at_payload = p;
    if (p == 8) {
      mover = std::thread([&] {
        // After each key: let the stream meet the half-moved slot (2 payloads, or a TRYAGAIN /
        // ASK retry of the gateway), bounded.
        migration = MigrateSlot(nodes_, slot, src, dst, [&] {
          migrating = true;
          const int at = at_payload.load();
          const RedisClusterStats s0 = c->Stats();
          PollUntil([&] {
            RedisClusterStats s = c->Stats();
            return at_payload.load() >= at + 2 || s.retries > s0.retries || s.ask > s0.ask + 2;
          }, milliseconds(3000));
        });
        migrating = true;
        migrated = true;
      });
      // The slot is MIGRATING before the stream goes on.
      ASSERT_TRUE(PollUntil([&] { return migrating.load(); }, seconds(10)));
    }
    if (p == 40) {
      ASSERT_TRUE(PollUntil([&] { return migrated.load(); }, seconds(60))) << "migration hangs";
    }
  }, &got);
  if (mover.joinable()) mover.join();
  ASSERT_OK(migration);
  const RedisClusterStats after = c->Stats();
  ASSERT_OK_AND_ASSIGN(got.keys, fault::Snapshot(*kv_, kso.prefix));
  StreamRun want = Reference(got, now, kso.prefix);
  EXPECT_EQ(Compare(want, got), "");
  EXPECT_EQ(got.failed, 0) << "redirects are resent: nothing fails";
  EXPECT_GT(after.ask - before.ask, 0) << "no ASK was followed: the stream missed the migration";
  EXPECT_EQ(after.redirect_loops, 0);
  std::cout << "[ cluster  ] slot " << slot << " migrated live: " << (after.ask - before.ask)
            << " ASK, " << (after.moved - before.moved) << " MOVED, "
            << (after.retries - before.retries) << " retries (TRYAGAIN), "
            << (after.refreshes - before.refreshes) << " refreshes\n";

  // Put the slot back where it was (no traffic now).
  ASSERT_OK(MigrateSlot(nodes_, slot, dst, src, nullptr));
  ASSERT_OK(WaitClusterHealthy(nodes_, 3, seconds(20)));
}

TEST_F(SharedClusterFaultTest, DifferingMaxmemoryOnOneMasterIsCaughtByTheBudgetGuard) {
  ASSERT_OK(integration::CheckBudgetConfig(*kv_));
  RedisClusterBackend* c = AsRedisClusterBackend(kv_.get());
  const RedisClusterNode odd = c->Nodes()[2];
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> was, odd.backend->ConfigGet("maxmemory"));
  ASSERT_TRUE(was.has_value());
  ASSERT_OK(odd.backend->ConfigSet("maxmemory", "128mb"));
  Status guard = integration::CheckBudgetConfig(*kv_);
  ASSERT_OK(odd.backend->ConfigSet("maxmemory", *was));  // restore before asserting
  ASSERT_FALSE(guard.ok()) << "one master at 128 MB, the others at 256 MB";
  EXPECT_NE(guard.message().find("disagree"), std::string::npos) << guard;
  EXPECT_NE(guard.message().find(odd.address + "=134217728"), std::string::npos) << guard;
  ASSERT_OK(integration::CheckBudgetConfig(*kv_));
}

// SIGKILL of a master: the replica takes over after cluster-node-timeout (the CLUSTERDOWN
// window), the stream goes on. Then the killed node comes back as a replica with an empty script
// cache and is promoted again by a manual failover: EVALSHA meets NOSCRIPT there (the gateway had
// loaded its scripts on that node before the kill), loads and retries.
TEST(PrivateClusterFaultTest, SigkilledMasterThenNoscriptOnThePromotedReplica) {
  Result<std::unique_ptr<PrivateCluster>> started = PrivateCluster::Start(3, 1);
  ASSERT_TRUE(started.ok()) << started.status();
  PrivateCluster& cluster = **started;  // node i + 3 replicates node i
  std::unique_ptr<KvBackend> kv = ConnectGateway(cluster.Url());
  ASSERT_NE(kv, nullptr);
  RedisClusterBackend* c = AsRedisClusterBackend(kv.get());
  ASSERT_OK_AND_ASSIGN(int64_t now, ServerTimeMs(*kv));
  auto clock = std::make_shared<ManualClock>(now);
  const std::string prefix = "clkill:";
  Pipeline pipeline(*kv, clock, Options(prefix));

  auto offsets_equal = [&](int master, int replica) {
    Result<Reply> m = cluster.Run(master, {"INFO", "replication"});
    Result<Reply> r = cluster.Run(replica, {"INFO", "replication"});
    if (!m.ok() || !r.ok()) return false;
    const std::string mo = InfoField(m->str(), "master_repl_offset");
    return !mo.empty() && mo == InfoField(r->str(), "master_repl_offset");
  };
  StreamRun got;
  RedisClusterStats before_kill{};
  Stream(pipeline, 0, kPayloads, [&](int p) {
    if (p == 16) {
      // Every acknowledged write has reached the replica: the kill loses none of them.
      ASSERT_TRUE(PollUntil([&] { return offsets_equal(0, 3); }, seconds(10)));
      before_kill = c->Stats();
      ASSERT_OK(cluster.node(0).Kill());
    }
  }, &got);
  const RedisClusterStats after_kill = c->Stats();
  Result<int> owner = cluster.OwnerOf(0, 1);
  ASSERT_TRUE(owner.ok()) << owner.status();
  EXPECT_EQ(*owner, 3) << "node 3 took over node 0's slots";
  EXPECT_LE(after_kill.redirect_loops, 0);
  std::cout << "[ cluster  ] SIGKILL of a master: " << got.failed << " failed deliveries (resent), "
            << (after_kill.retries - before_kill.retries) << " retries, "
            << (after_kill.transport_errors - before_kill.transport_errors)
            << " transport errors, " << (after_kill.refreshes - before_kill.refreshes)
            << " refreshes\n";

  // The killed node returns (same port, same nodes.conf) as node 3's replica, is promoted.
  ASSERT_OK(cluster.node(0).Restart());
  ASSERT_TRUE(PollUntil([&] {
    Result<Reply> r = cluster.Run(0, {"INFO", "replication"});
    return r.ok() && InfoField(r->str(), "role") == "slave" &&
           InfoField(r->str(), "master_link_status") == "up";
  }, seconds(30))) << "node 0 did not rejoin as a replica";
  ASSERT_OK(PromoteReplica(
      [&](const std::vector<std::string>& argv) -> Result<std::string> {
        Result<Reply> r = cluster.Run(0, argv);
        if (!r.ok()) return r.status();
        return r->str();
      },
      "node 0", seconds(40)));
  ASSERT_TRUE(PollUntil([&] {
    // Every node's view agrees (they converge over the cluster bus).
    for (int i = 0; i < cluster.size(); ++i) {
      Result<int> o = cluster.OwnerOf(0, i);
      if (!o.ok() || *o != 0) return false;
    }
    return true;
  }, seconds(30))) << "node 0 was not promoted back in every node's view";
  const RedisClusterStats before_back = c->Stats();
  Stream(pipeline, kPayloads, kPayloads + 16, nullptr, &got);
  const RedisClusterStats after_back = c->Stats();
  EXPECT_GE(after_back.noscript_retries - before_back.noscript_retries, 1)
      << "the promoted replica had no scripts: NOSCRIPT, SCRIPT LOAD, retry";
  // A MOVED loop refreshes on every redirect of every command; right after a promotion some
  // nodes may still describe the old map for a moment, and under load a payload or two may
  // meet that and refresh again (9 were once seen on a loaded machine): at most one refresh per
  // payload streamed is still no loop. The manual failover's exact "refreshes once" is
  // RedisClusterFaultTest.FailoverRefreshesOnceAndReloadsScripts.
  EXPECT_LE(after_back.refreshes - before_back.refreshes, 16)
      << "no MOVED loop: " << (after_back.moved - before_back.moved) << " MOVED, "
      << (after_back.retries - before_back.retries) << " retries";
  std::cout << "[ cluster  ] promoted back: " << (after_back.noscript_retries -
                                                   before_back.noscript_retries)
            << " NOSCRIPT retries, " << (after_back.refreshes - before_back.refreshes)
            << " refreshes, " << (after_back.moved - before_back.moved) << " MOVED\n";

  ASSERT_OK_AND_ASSIGN(got.keys, fault::Snapshot(*kv, prefix));
  StreamRun want = Reference(got, now, prefix);
  EXPECT_EQ(Compare(want, got), "");
}

}  // namespace
}  // namespace stormkv::testing
