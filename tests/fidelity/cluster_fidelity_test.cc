// Cluster fidelity: does the embedded cluster's memory profile (+16 bytes per key in the main
// dict, MEMORY USAGE counting a 40-byte entry, +723,976 bytes per empty node) match real Redis
// 7.0 cluster nodes?
//
// 1. ClusterNodeCalibration (the calibration run for the cluster profile): a private standalone
//    redis-server and a private one-node cluster (same binary, same settings, all 16384 slots
//    added), warmed up alike: the empty node's used_memory over the standalone's, and the per-key
//    cost of DEBUG POPULATE on both (the measurement; DEBUG POPULATE is not replicated).
// 2. ClusterShapeFidelity: every calibration shape of ../shared/redis-memory/calibrate.py, its
//    keys that the first master of the test cluster owns (STORMKV_REDIS_CLUSTER_URL), loaded into
//    that master and into the embedded 3-node cluster: used_memory delta per key within 1% and
//    MEMORY USAGE exact. A master's used_memory also moves with what replication and the cluster
//    bus buffer (the replication backlog fills as the writes stream to the replica), so the
//    compared figure is used_memory - mem_replication_backlog - mem_clients_slaves -
//    mem_cluster_links, read on a fresh connection while it is the node's only client.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include "cluster/cluster_nodes.h"
#include "common/test_env.h"
#include "common/test_util.h"
#include "fidelity/calibration_shapes.h"
#include "redis/private_redis.h"
#include "stormkv/clock.h"
#include "stormkv/key_schema.h"
#include "stormkv/memory_backend.h"
#include "stormkv/memory_cluster.h"
#include "stormkv/memory_model.h"
#include "stormkv/redis_backend.h"

namespace stormkv::fidelity {
namespace {

using stormkv::testing::ClusterNodeLine;
using stormkv::testing::NodeAddr;
using stormkv::testing::NodeCommand;
using stormkv::testing::NodeInfo;

int64_t Field(const std::map<std::string, std::string>& m, const char* name) {
  auto it = m.find(name);
  return it == m.end() ? 0 : std::strtoll(it->second.c_str(), nullptr, 10);
}

// The dataset side of a node's used_memory (see the file comment), on a fresh connection.
// mem_clients_normal is not subtracted: Redis 7.0 adds a client's share to it only when the
// server's cron next visits that client, so the fresh reading connection's own 17,160 bytes are
// in it in some readings and not in others (measured on a test-cluster master: 10 of 200 idle
// readings, 5 of 400 with the reader on a contended core). Subtracted, those readings came out
// 17,160 (or, with a just-closed reader not yet freed, 11,056) bytes below the floor, and the
// lowest of Settled's readings was one of them: a whole load's per-key figure off by 11-17 B.
// Settled reads only once no client but its reader is connected, so the reader's footprint is
// the same in every reading and cancels out of every difference (a just-closed reader the server
// has not freed yet only adds to a reading, and the lowest reading leaves it out).
Result<int64_t> DatasetSide(const NodeAddr& node) {
  Result<std::map<std::string, std::string>> m = NodeInfo(node, "memory");
  if (!m.ok()) return m.status();
  return Field(*m, "used_memory") - Field(*m, "mem_replication_backlog") -
         Field(*m, "mem_clients_slaves") - Field(*m, "mem_cluster_links");
}

// Waits (bounded, 10 s) until db 0's dicts are not rehashing (serverCron finishes it in the
// background), then reads the figure 12 times 60 ms apart and keeps the lowest: a cluster node
// allocates cluster-bus messages and buffers for a moment now and then (measured: up to +25 KB in
// single readings on the test cluster's masters, back to the same floor in between).
Result<int64_t> Settled(const NodeAddr& node) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    Result<std::string> ht = NodeCommand(node, {"DEBUG", "HTSTATS", "0"});
    if (!ht.ok()) {
      return ht.status().WithContext("DEBUG HTSTATS (nodes need --enable-debug-command local)");
    }
    if (ht->find("rehashing target") == std::string::npos) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Timeout(node.ToString() + ": db dict still rehashing after 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // A connection closed just before (the loader's) still holds memory until the server has
  // processed the close: wait until the reading connection is the only client.
  for (int attempt = 0;; ++attempt) {
    Result<std::map<std::string, std::string>> c = NodeInfo(node, "clients");
    if (!c.ok()) return c.status();
    if (Field(*c, "connected_clients") == 1) break;
    if (attempt == 250) {
      return Status::Unavailable(node.ToString() + ": other clients stay connected (" +
                                 c->at("connected_clients") + "): cannot measure used_memory");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int64_t low = INT64_MAX;
  for (int i = 0; i < 12; ++i) {
    Result<int64_t> v = DatasetSide(node);
    if (!v.ok()) return v.status();
    low = std::min(low, *v);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  return low;
}

std::unique_ptr<KvBackend> NewEmbedded(AllocatorProfile p, int nodes) {
  MemoryBackendOptions o;
  o.clock = std::make_shared<ManualClock>();
  o.allocator = p;
  o.cluster_nodes = nodes;
  return NewMemoryBackend(o).value();
}

// MEMORY USAGE of a 4-byte embstr: the key's sds + the dict entry (24, 40 on a cluster node)
// + the embstr's block, whose size class tells the quantum (calibrate.py detect_quantum).
Result<AllocatorProfile> DetectProfile(const NodeAddr& node, const std::string& key, bool cluster) {
  STORMKV_RETURN_IF_ERROR(NodeCommand(node, {"SET", key, "vvvv"}).status());
  Result<std::string> mu = NodeCommand(node, {"MEMORY", "USAGE", key});
  STORMKV_RETURN_IF_ERROR(NodeCommand(node, {"DEL", key}).status());
  if (!mu.ok()) return mu.status();
  const int64_t v = std::strtoll(mu->c_str(), nullptr, 10);
  for (AllocatorProfile p : {AllocatorProfile::kDebian, AllocatorProfile::kUpstream}) {
    const int64_t want = static_cast<int64_t>(
        model::SdsAlloc(key.size(), p) + model::kDictEntry +
        (cluster ? model::kClusterDictEntryMetadata : 0) +
        model::JeSize(model::kRobj + 3 + 4 + 1, p));
    if (v == want) return p;
  }
  return Status::Internal("unknown allocator profile: MEMORY USAGE " + *mu);
}

// Runs each command the measurements use once (its latency histogram is then allocated); the
// keys share `key`'s slot.
Status WarmUp(const NodeAddr& node, const std::string& tag) {
  const std::string key = "{" + tag + "}";
  for (const std::vector<std::string>& c :
       std::vector<std::vector<std::string>>{{"SET", key, "x"},
                                             {"SET", key, "x", "EX", "300"},
                                             {"INCR", key + "i"},
                                             {"INCRBY", key + "i", "5"},
                                             {"EXPIRE", key + "i", "300"},
                                             {"HSET", key + "h", "a", "b"},
                                             {"SADD", key + "s", "a"},
                                             {"MEMORY", "USAGE", key},
                                             {"OBJECT", "ENCODING", key},
                                             {"DEL", key},
                                             {"DEL", key + "i"},
                                             {"DEL", key + "h"},
                                             {"DEL", key + "s"},
                                             {"DBSIZE"},
                                             {"INFO", "memory"},
                                             {"DEBUG", "HTSTATS", "0"},
                                             {"FLUSHALL"}}) {
    Result<std::string> r = NodeCommand(node, c);
    if (!r.ok()) return r.status().WithContext(c[0]);
  }
  return Status::Ok();
}

TEST(ClusterNodeCalibration, EmptyNodeAndPerKeyCostOfAOneNodeCluster) {
  auto standalone = stormkv::testing::PrivateRedis::Start();
  ASSERT_OK(standalone.status());
  // A cluster node also listens on port + 10000 (its bus): pick a port whose pair is free too.
  Result<std::unique_ptr<stormkv::testing::PrivateRedis>> cluster =
      Status::Unavailable("no free loopback port pair (p, p + 10000) from 24200 up");
  const char* saved = std::getenv("STORMKV_PRIVATE_REDIS_PORT");
  const std::string saved_port = saved != nullptr ? saved : "";
  for (int p = 24200; p < 24400 && !cluster.ok(); ++p) {
    if (stormkv::testing::FindFreeLoopbackPort(p) != p ||
        stormkv::testing::FindFreeLoopbackPort(p + 10000) != p + 10000) {
      continue;
    }
    setenv("STORMKV_PRIVATE_REDIS_PORT", std::to_string(p).c_str(), 1);
    cluster = stormkv::testing::PrivateRedis::Start(
        {"--cluster-enabled", "yes", "--cluster-config-file", "{dir}/nodes.conf"});
  }
  if (saved != nullptr) {
    setenv("STORMKV_PRIVATE_REDIS_PORT", saved_port.c_str(), 1);
  } else {
    unsetenv("STORMKV_PRIVATE_REDIS_PORT");
  }
  ASSERT_OK(cluster.status());
  const NodeAddr s{"127.0.0.1", (*standalone)->port()};
  const NodeAddr c{"127.0.0.1", (*cluster)->port()};
  ASSERT_OK(NodeCommand(c, {"CLUSTER", "ADDSLOTSRANGE", "0", "16383"}).status());
  for (int i = 0; i < 200; ++i) {
    auto info = NodeInfo(c, "cluster");
    ASSERT_OK(info.status());
    if ((*info)["cluster_state"] == "ok") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto state = NodeInfo(c, "cluster");
  ASSERT_OK(state.status());
  ASSERT_EQ(state->at("cluster_state"), "ok");
  ASSERT_OK_AND_ASSIGN(AllocatorProfile profile, DetectProfile(s, "q", false));
  ASSERT_OK_AND_ASSIGN(AllocatorProfile cprofile, DetectProfile(c, "q", true));
  ASSERT_EQ(profile, cprofile);
  ASSERT_OK(WarmUp(s, "w"));
  ASSERT_OK(WarmUp(c, "w"));
  ASSERT_OK(NodeCommand(s, {"DEBUG", "POPULATE", "1"}).status());
  ASSERT_OK(NodeCommand(c, {"DEBUG", "POPULATE", "1"}).status());
  // The cluster node ran two commands the standalone could not (CLUSTER ADDSLOTSRANGE, CLUSTER
  // INFO): their latency histograms are not the node's profile. The modelled figure is the
  // issue's measurement (7.0.15, one-node cluster): +723,976 B; the node's own small structures
  // may differ by a few hundred bytes between runs and builds: 0.5%. Up to three rounds, each
  // figure judged on its own: a reading can still be a few KB off (a just-closed client not yet
  // freed; before DatasetSide stopped subtracting mem_clients_normal, the reader's own 17,160 B
  // came and went), and 400,000 keys make even 17 KB 0.04 bytes per key, well inside the 1% asked
  // of the per-key figure (with 100,000 it was 0.17, and one run of the full suite failed so).
  const double want_empty = static_cast<double>(model::ClusterNodeEmptyBytes(profile));
  constexpr int kKeys = 400000;
  double empty_extra = 0, per_key = 0;
  bool empty_ok = false, per_key_ok = false;
  for (int round = 0; round < 3 && !(empty_ok && per_key_ok); ++round) {
    ASSERT_OK(NodeCommand(s, {"FLUSHALL"}).status());
    ASSERT_OK(NodeCommand(c, {"FLUSHALL"}).status());
    ASSERT_OK_AND_ASSIGN(int64_t s0, Settled(s));
    ASSERT_OK_AND_ASSIGN(int64_t c0, Settled(c));
    ASSERT_OK(NodeCommand(s, {"DEBUG", "POPULATE", std::to_string(kKeys)}).status());
    ASSERT_OK(NodeCommand(c, {"DEBUG", "POPULATE", std::to_string(kKeys)}).status());
    ASSERT_OK_AND_ASSIGN(int64_t s1, Settled(s));
    ASSERT_OK_AND_ASSIGN(int64_t c1, Settled(c));
    empty_extra = static_cast<double>(c0 - s0 - 2 * model::kLatencyHistogramBytes);
    per_key = static_cast<double>((c1 - c0) - (s1 - s0)) / kKeys;
    std::printf("round %d: empty one-node cluster - empty standalone: %.0f bytes (model %.0f); "
                "per key (DEBUG POPULATE %d): %.3f bytes\n",
                round + 1, empty_extra, want_empty, kKeys, per_key);
    const bool this_empty_ok = std::fabs(empty_extra - want_empty) <= 0.005 * want_empty;
    const bool this_per_key_ok = std::fabs(per_key - 16) <= 0.16;
    empty_ok = empty_ok || this_empty_ok;
    per_key_ok = per_key_ok || this_per_key_ok;
  }
  // Within 0.5% of the model in some round; each round's figures are printed above.
  EXPECT_TRUE(empty_ok) << "empty one-node cluster - empty standalone, last " << empty_extra
                        << " bytes, model " << want_empty;
  // Within 1% of 16 bytes in some round.
  EXPECT_TRUE(per_key_ok) << "per key, last " << per_key << " bytes, model 16";
  // The embedded stores differ by exactly the modelled figure.
  std::unique_ptr<KvBackend> es = NewEmbedded(profile, 0), ec = NewEmbedded(profile, 1);
  EXPECT_EQ(*ec->UsedMemory() - *es->UsedMemory(), model::ClusterNodeEmptyBytes(profile));
  // MEMORY USAGE: the entry counts 40 instead of 24.
  Result<std::string> smu = NodeCommand(s, {"MEMORY", "USAGE", "key:1"});
  Result<std::string> cmu = NodeCommand(c, {"MEMORY", "USAGE", "key:1"});
  ASSERT_OK(smu.status());
  ASSERT_OK(cmu.status());
  EXPECT_EQ(std::stoll(*cmu) - std::stoll(*smu), 16);
}

class ClusterShapeFidelity : public ::testing::TestWithParam<Shape> {
 protected:
  void SetUp() override {
    STORMKV_NEED_SERVER("STORMKV_REDIS_CLUSTER_URL");
    auto seeds = stormkv::testing::ParseClusterSeeds(EnvOr("STORMKV_REDIS_CLUSTER_URL"));
    ASSERT_OK(seeds.status());
    auto nodes = stormkv::testing::ClusterNodes((*seeds)[0]);
    ASSERT_OK(nodes.status());
    const ClusterNodeLine* owner = stormkv::testing::SlotOwner(*nodes, 0);
    ASSERT_NE(owner, nullptr);
    master_ = owner->addr;
    range_ = owner->slots.front();
    // A warm-up key of the master's own slots.
    for (int i = 0;; ++i) {
      warm_ = "fidelity-warm:" + std::to_string(i);
      const int slot = HashSlot(warm_);
      if (slot >= range_.first && slot <= range_.second) break;
    }
    Result<std::string> policy = NodeCommand(master_, {"CONFIG", "GET", "maxmemory-policy"});
    ASSERT_OK(policy.status());
    saved_policy_ = policy->substr(policy->find('\n') + 1);  // "maxmemory-policy\n<value>"
    ASSERT_OK_AND_ASSIGN(profile_, DetectProfile(master_, warm_, true));
    ASSERT_OK(WarmUp(master_, warm_));
    RedisOptions ro;
    ro.url = "redis://" + master_.ToString() + "/0";
    ro.pool_size = 1;
    ro.command_timeout = std::chrono::milliseconds(30000);
    auto loader = NewRedisBackend(ro);
    ASSERT_OK(loader.status());
    loader_ = std::move(*loader);
  }
  void TearDown() override {
    if (loader_ == nullptr) return;
    EXPECT_OK(NodeCommand(master_, {"CONFIG", "SET", "maxmemory-policy", saved_policy_}).status());
    EXPECT_OK(NodeCommand(master_, {"FLUSHALL"}).status());
  }

  NodeAddr master_;
  std::pair<int, int> range_;
  std::string warm_;
  std::string saved_policy_;
  AllocatorProfile profile_ = AllocatorProfile::kDebian;
  std::unique_ptr<KvBackend> loader_;
};

TEST_P(ClusterShapeFidelity, UsedMemoryPerKeyAndMemoryUsageOnAMaster) {
  const Shape& shape = GetParam();
  const char* env = std::getenv("STORMKV_FIDELITY_N");
  const int n = env != nullptr && std::atoi(env) >= 300 ? std::atoi(env) : 3000;
  std::vector<Command> cmds;
  std::vector<std::string> keys;
  for (const Command& c : BuildCommands(shape, n)) {
    const int slot = HashSlot(c[1]);
    if (slot < range_.first || slot > range_.second) continue;
    if (keys.empty() || keys.back() != c[1]) keys.push_back(c[1]);
    cmds.push_back(c);
  }
  ASSERT_GT(keys.size(), static_cast<size_t>(n / 4));
  std::unique_ptr<KvBackend> mem = NewEmbedded(profile_, 3);
  KvBackend* node0 = AsMemoryClusterBackend(mem.get())->Nodes()[0].backend;
  if (shape.lru) {
    ASSERT_OK(NodeCommand(master_, {"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"}).status());
    ASSERT_OK(mem->ConfigSet("maxmemory", "8gb"));
    ASSERT_OK(mem->ConfigSet("maxmemory-policy", "allkeys-lru"));
  }
  // The master keeps its 256 MB budget; allkeys-lru under it is what disables shared integers.
  ASSERT_OK_AND_ASSIGN(int64_t mem_before, node0->UsedMemory());
  for (const Result<Reply>& r : mem->RunBatch(cmds)) ASSERT_OK(r);
  ASSERT_OK_AND_ASSIGN(int64_t mem_after, node0->UsedMemory());
  const double k = static_cast<double>(keys.size());
  const double mem_per_key = static_cast<double>(mem_after - mem_before) / k;
  // A hashtable set may still hold its old bucket array (tests/fidelity/fidelity_test.cc).
  double leftover = 0;
  if (shape.kind == Shape::Kind::kSet) {
    size_t old_slots = model::DictSlots(static_cast<size_t>(shape.members)) / 2;
    if (old_slots >= 4) leftover = 8.0 * static_cast<double>(old_slots);
  }
  auto within = [](double got, double want) { return std::fabs(got - want) <= 0.01 * want; };
  // The real figure: up to five loads. A live master's used_memory can still hold a few KB more
  // or less across a whole reading window (a just-closed client, the replication stream's
  // buffer; the reader's own 17,160 B no longer: see DatasetSide); another load does not.
  double real_per_key = 0;
  bool used_ok = false;
  std::string attempts;
  for (int attempt = 0; attempt < 5 && !used_ok; ++attempt) {
    ASSERT_OK(NodeCommand(master_, {"FLUSHALL"}).status());
    AsRedisBackend(loader_.get())->CloseIdleConnections();
    ASSERT_OK_AND_ASSIGN(int64_t real_before, Settled(master_));
    for (size_t i = 0; i < cmds.size(); i += 500) {
      std::vector<Command> chunk(cmds.begin() + static_cast<long>(i),
                                 cmds.begin() + static_cast<long>(std::min(cmds.size(), i + 500)));
      for (const Result<Reply>& r : loader_->RunBatch(chunk)) ASSERT_OK(r);
    }
    AsRedisBackend(loader_.get())->CloseIdleConnections();
    ASSERT_OK_AND_ASSIGN(int64_t real_after, Settled(master_));
    real_per_key = static_cast<double>(real_after - real_before) / k;
    attempts += (attempts.empty() ? "" : ", ") + std::to_string(real_per_key);
    used_ok = within(mem_per_key, real_per_key) ||
              (leftover > 0 && (within(mem_per_key + leftover, real_per_key) ||
                                within(mem_per_key - leftover, real_per_key)));
  }
  EXPECT_TRUE(used_ok) << shape.label << ": used_memory delta per key on a cluster master: real "
                       << attempts << " (each load), embedded node " << mem_per_key;
  int mismatches = 0;
  int64_t real_mu0 = 0, mem_mu0 = 0;
  for (size_t i = 0; i < keys.size(); i += std::max<size_t>(1, keys.size() / 25)) {
    Result<std::string> real_mu = NodeCommand(master_, {"MEMORY", "USAGE", keys[i], "SAMPLES", "0"});
    ASSERT_OK(real_mu.status());
    ASSERT_OK_AND_ASSIGN(std::optional<int64_t> mem_mu, mem->MemoryUsage(keys[i]));
    ASSERT_TRUE(mem_mu.has_value()) << keys[i];
    const int64_t real = std::stoll(*real_mu);
    if (i == 0) real_mu0 = real, mem_mu0 = *mem_mu;
    const double diff = std::fabs(static_cast<double>(real - *mem_mu));
    if (diff != 0 && !(leftover > 0 && diff == leftover) && ++mismatches <= 3) {
      ADD_FAILURE() << shape.label << ": MEMORY USAGE " << keys[i] << ": real " << real
                    << ", embedded " << *mem_mu;
    }
  }
  std::printf("%-22s keys=%zu used/key real %9.2f embedded %9.2f (%+.2f%%)  MU real %lld mem %lld"
              "  loads: %s\n",
              shape.label.c_str(), keys.size(), real_per_key, mem_per_key,
              100.0 * (mem_per_key - real_per_key) / real_per_key,
              static_cast<long long>(real_mu0), static_cast<long long>(mem_mu0), attempts.c_str());
}

INSTANTIATE_TEST_SUITE_P(Calibration, ClusterShapeFidelity, ::testing::ValuesIn(AllShapes()),
                         [](const ::testing::TestParamInfo<Shape>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace stormkv::fidelity
