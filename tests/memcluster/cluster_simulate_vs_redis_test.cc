// tests/memcluster/cluster_simulate_vs_redis_test.cc — issue 14 item 3's check: for 3 nodes and
// the same seed, `simulate --cluster 3` (the embedded cluster) predicts each node's used_memory
// growth as `simulate --backend redis-cluster://...` measures it on the real test cluster of
// tools/test.sh (STORMKV_REDIS_CLUSTER_URL), for the integration and a small production scenario.
//
// The compared figure is NodeResult::dataset_growth_bytes: used_memory at the end of the run over
// its start, without what replication and the cluster bus took meanwhile (mem_replication_backlog,
// mem_clients_slaves, mem_cluster_links: the embedded store has no replica). Both runs use one key
// prefix, so that every key lands on the same node. The embedded store predicts a freshly started
// server (a latency histogram, 24,688 B, on each command's first call; an empty script cache),
// so every master gets CONFIG RESETSTAT and SCRIPT FLUSH before each real run.
//
// A real master's figure moves from run to run with what the clients' buffers hold when it is
// read (Redis 7.0 resizes query and reply buffers in clientsCron, on the real clock): from a few
// KB on an idle machine to ~50 KB per node (8%) under load. So each scenario runs 3 times on the
// cluster and the median per node is compared within 8%, every figure printed. On an idle
// machine the integration scenario agrees within 0.1% per node and production within 2% (one
// run of each in the report of the ctools branch); the 8% bound is what holds under CI's load.
// Labels memcluster, redis, cluster; RESOURCE_LOCK redis-cluster; with STORMKV_REQUIRE_REDIS=1 a
// missing cluster fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backend_url.h"
#include "common/test_env.h"
#include "common/test_util.h"
#include "simulate.h"
#include "stormkv/kv_backend.h"
#include "stormkv/redis_cluster_backend.h"

namespace stormkv::cli {
namespace {

class ClusterSimulateVsRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    STORMKV_NEED_SERVER("STORMKV_REDIS_CLUSTER_URL");
    url_ = EnvOr("STORMKV_REDIS_CLUSTER_URL");
    RedisClusterOptions o;
    o.url = url_;
    Result<std::unique_ptr<KvBackend>> kv = NewRedisClusterBackend(o);
    ASSERT_TRUE(kv.ok()) << url_ << ": " << kv.status();
    kv_ = std::move(kv).value();
  }

  // Every master as a freshly started server sees it: no latency histogram, no cached script,
  // and the replica's REPLCONF ACK (every second) already back.
  void LikeFreshServers() {
    ASSERT_OK(kv_->Run({"CONFIG", "RESETSTAT"}).status());
    ASSERT_OK(kv_->Run({"SCRIPT", "FLUSH"}).status());
    // RESETSTAT frees the histograms; REPLCONF's comes back within a second, before the run or
    // during it. Wait for it, so that it is in the baseline (asked with LATENCY HISTOGRAM,
    // which the run never sends).
    for (const RedisClusterNode& n : AsRedisClusterBackend(kv_.get())->Nodes()) {
      bool acked = false;
      for (int i = 0; i < 100 && !acked; ++i) {
        Result<Reply> h = n.backend->Run({"LATENCY", "HISTOGRAM", "replconf"});
        ASSERT_OK(h.status());
        acked = h->is_array() && !h->elements().empty();
        if (!acked) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      ASSERT_TRUE(acked) << n.address << ": no REPLCONF ACK from its replica within 5 s";
    }
  }

  // One embedded prediction against `runs` real runs of the same seed and key prefix; each
  // node's median measured growth within `tolerance` of the prediction. Prints every figure.
  void Compare(SimulateOptions o, const char* name, int runs, double tolerance) {
    o.progress = false;
    o.cluster_nodes = 3;
    // One prefix for both (8 bytes, as "stormkv:"), so that every key lands on the same node:
    // keys without a hash tag hash their prefix.
    std::random_device rd;
    o.key_prefix = "sim";
    for (int i = 0; i < 4; ++i) o.key_prefix += "abcdefghijklmnopqrstuvwxyz0123456789"[rd() % 36];
    o.key_prefix += ":";
    Result<std::vector<SimulationResult>> predicted = RunSimulations(o);
    ASSERT_OK(predicted.status());
    const SimulationResult& p = predicted->front();
    ASSERT_EQ(p.nodes.size(), 3u);
    o.cluster_nodes = 0;
    ASSERT_OK_AND_ASSIGN(o.backend, ParseBackendUrl(url_));
    std::vector<std::vector<int64_t>> growth(3);
    for (int run = 0; run < runs; ++run) {
      LikeFreshServers();
      if (HasFatalFailure()) return;
      Result<std::vector<SimulationResult>> measured = RunSimulations(o);
      ASSERT_OK(measured.status());
      const SimulationResult& m = measured->front();
      ASSERT_EQ(m.nodes.size(), 3u) << "simulate on redis-cluster:// reports each master";
      for (std::size_t i = 0; i < 3; ++i) {
        const NodeResult& pn = p.nodes[i];
        const NodeResult& mn = m.nodes[i];
        EXPECT_EQ(pn.slots, mn.slots) << i;
        // A key or two may expire a moment earlier or later on the real clock.
        EXPECT_NEAR(static_cast<double>(pn.keys), static_cast<double>(mn.keys),
                    0.01 * static_cast<double>(mn.keys) + 1)
            << name << " node " << i;
        EXPECT_GT(mn.dataset_growth_bytes, 0) << name << " node " << i;
        growth[i].push_back(mn.dataset_growth_bytes);
        std::printf("%s run %d node %zu: predicted growth %lld B, measured %lld B (%+.2f%%)\n",
                    name, run, i, static_cast<long long>(pn.dataset_growth_bytes),
                    static_cast<long long>(mn.dataset_growth_bytes),
                    100.0 * static_cast<double>(pn.dataset_growth_bytes -
                                                mn.dataset_growth_bytes) /
                        static_cast<double>(mn.dataset_growth_bytes));
      }
    }
    for (std::size_t i = 0; i < 3; ++i) {
      std::vector<int64_t> g = growth[i];
      std::sort(g.begin(), g.end());
      const int64_t median = g[g.size() / 2];
      const double dev = static_cast<double>(p.nodes[i].dataset_growth_bytes - median) /
                         static_cast<double>(median);
      std::printf("%s node %zu: predicted %lld B, median of %d real runs %lld B: deviation "
                  "%+.2f%%\n",
                  name, i, static_cast<long long>(p.nodes[i].dataset_growth_bytes), runs,
                  static_cast<long long>(median), 100 * dev);
      EXPECT_LE(std::fabs(dev), tolerance)
          << name << " node " << i << ": predicted " << p.nodes[i].dataset_growth_bytes
          << " B, median measured " << median << " B";
    }
  }

  std::string url_;
  std::unique_ptr<KvBackend> kv_;
};

TEST_F(ClusterSimulateVsRedisTest, IntegrationScenarioPerNodeGrowth) {
  SimulateOptions o;
  o.scenario = Scenario::kIntegration;
  Compare(o, "integration", 3, 0.08);
}

TEST_F(ClusterSimulateVsRedisTest, ProductionScenarioPerNodeGrowth) {
  SimulateOptions o;
  o.scenario = Scenario::kProduction;
  o.production.fingerprints = 1000;
  o.production.storms = 10;
  o.production.storm_resources = 10;
  o.production.minutes = 10;
  Compare(o, "production", 3, 0.08);
}

}  // namespace
}  // namespace stormkv::cli
