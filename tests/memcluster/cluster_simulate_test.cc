// tests/memcluster/cluster_simulate_test.cc — `stormkv simulate --cluster N` (tools/cli
// simulate_nodes.*): the per-node report of a run on the embedded cluster, its JSON and its
// --plot SVG.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/test_util.h"
#include "simulate.h"
#include "simulate_nodes.h"
#include "stormkv/memory_cluster.h"
#include "stormkv/memory_model.h"

namespace stormkv::cli {
namespace {

SimulateOptions Production(int cluster) {
  SimulateOptions o;
  o.scenario = Scenario::kProduction;
  o.production.fingerprints = 1000;
  o.production.storms = 10;
  o.production.storm_resources = 10;
  o.production.minutes = 10;
  o.cluster_nodes = cluster;
  o.progress = false;
  return o;
}

int64_t Sum(const std::vector<NodeResult>& nodes, int64_t NodeResult::*field) {
  int64_t s = 0;
  for (const NodeResult& n : nodes) s += n.*field;
  return s;
}

TEST(ClusterSimulate, ReportsEveryNodeAndTheClusterVerdict) {
  auto single = RunSimulations(Production(0));
  ASSERT_OK(single.status());
  auto three = RunSimulations(Production(3));
  ASSERT_OK(three.status());
  const SimulationResult& s = single->front();
  const SimulationResult& c = three->front();
  EXPECT_TRUE(s.nodes.empty());
  ASSERT_EQ(c.nodes.size(), 3u);
  EXPECT_EQ(c.backend, "memory://?cluster=3");
  // The same workload: the same keys, spread over the nodes.
  int64_t single_keys = 0;
  for (const FamilyBytes& f : s.families) single_keys += f.keys;
  EXPECT_EQ(Sum(c.nodes, &NodeResult::keys), single_keys);
  EXPECT_EQ(Sum(c.nodes, &NodeResult::key_bytes), c.key_bytes);
  // Each key's entry is 16 bytes bigger on a cluster node (MEMORY USAGE counts it).
  EXPECT_EQ(c.key_bytes - s.key_bytes, 16 * single_keys);
  const std::vector<ClusterSlotRange> ranges = *ClusterCreateSlotRanges(3);
  for (size_t i = 0; i < 3; ++i) {
    const NodeResult& n = c.nodes[i];
    EXPECT_EQ(n.node, static_cast<int>(i));
    EXPECT_EQ(n.slots, std::to_string(ranges[i].first) + "-" + std::to_string(ranges[i].last));
    EXPECT_GT(n.keys, single_keys / 5) << i;  // the storm tags spread the keys
    EXPECT_TRUE(n.fits);
    EXPECT_GE(n.peak_bytes, n.used_memory_bytes);
    // Above an empty cluster node: at least its keys.
    EXPECT_GT(n.used_memory_bytes - model::FreshServerUsedMemory(AllocatorProfile::kDebian) -
                  model::ClusterNodeEmptyBytes(AllocatorProfile::kDebian),
              n.key_bytes);
    int64_t fam_keys = 0;
    for (const FamilyBytes& f : n.families) fam_keys += f.keys;
    EXPECT_EQ(fam_keys, n.keys);
  }
  EXPECT_EQ(Sum(c.nodes, &NodeResult::used_memory_bytes), c.used_memory_bytes);
  EXPECT_TRUE(c.fits);
  const std::string text = RenderSimulationText(*three);
  EXPECT_NE(text.find("per node (3 masters"), std::string::npos) << text;
  EXPECT_NE(text.find("bytes by key family per node"), std::string::npos) << text;
  EXPECT_NE(text.find("cluster fits: every node's peak is under its 256 MB budget"),
            std::string::npos)
      << text;
  nlohmann::ordered_json j = SimulationJson(c);
  ASSERT_TRUE(j.contains("nodes"));
  ASSERT_EQ(j["nodes"].size(), 3u);
  for (const auto& n : j["nodes"]) {
    for (const char* field :
         {"node", "keys", "used_memory_bytes", "peak_bytes", "fits", "families"}) {
      EXPECT_TRUE(n.contains(field)) << field;
    }
  }
  EXPECT_FALSE(SimulationJson(s).contains("nodes"));
}

TEST(ClusterSimulate, TheBudgetIsPerNode) {
  SimulateOptions o = Production(3);
  auto fit = RunSimulations(o);
  ASSERT_OK(fit.status());
  const SimulationResult& r = fit->front();
  int64_t busiest = 0, total = 0;
  for (const NodeResult& n : r.nodes) {
    busiest = std::max(busiest, n.peak_bytes);
    total += n.peak_bytes;
  }
  // A budget between the busiest node's peak and the cluster's total: the cluster fits.
  o.budget_bytes = busiest + 1;
  auto at = RunSimulations(o);
  ASSERT_OK(at.status());
  EXPECT_TRUE(at->front().fits);
  ASSERT_LT(o.budget_bytes, total);
  // Just below the busiest node's peak: that node (at least) does not fit.
  o.budget_bytes = busiest - 1;
  auto below = RunSimulations(o);
  ASSERT_OK(below.status());
  EXPECT_FALSE(below->front().fits);
  int over = 0;
  for (const NodeResult& n : below->front().nodes) over += n.fits ? 0 : 1;
  EXPECT_GE(over, 1);
  EXPECT_NE(RenderSimulationText(*below).find("cluster does NOT fit"), std::string::npos);
}

TEST(ClusterSimulate, BadCombinationsAreClearErrors) {
  SimulateOptions o = Production(3);
  o.cluster_masters = 3;
  EXPECT_TRUE(RunSimulations(o).status().IsInvalidArgument());
  o = Production(3);
  o.backend = *ParseBackendUrl("redis://127.0.0.1:1/0");
  EXPECT_TRUE(RunSimulations(o).status().IsInvalidArgument());
  o = Production(3);
  o.backend = *ParseBackendUrl("memory://?cluster=2");
  auto contradict = RunSimulations(o);
  EXPECT_TRUE(contradict.status().IsInvalidArgument());
  EXPECT_NE(contradict.status().message().find("cluster=2"), std::string::npos);
  o = Production(0);
  o.cluster_nodes = 16385;
  EXPECT_TRUE(RunSimulations(o).status().IsInvalidArgument());
}

TEST(ClusterSimulate, PlotDrawsOneLinePerNodeAndTheBudget) {
  SimulateOptions o = Production(3);
  auto r = RunSimulations(o);
  ASSERT_OK(r.status());
  ASSERT_GT(r->front().timeline.size(), 50u);
  EXPECT_EQ(r->front().timeline.front().simulated_ms, 0);
  EXPECT_EQ(r->front().timeline.back().simulated_ms, r->front().simulated_ms);
  for (const MemorySample& m : r->front().timeline) ASSERT_EQ(m.used.size(), 3u);
  // 256 MB is far above a few MB: the chart zooms and names the budget.
  std::string svg = PlotSvg(*r);
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  size_t lines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 3u);
  EXPECT_NE(svg.find("node 2"), std::string::npos);
  EXPECT_NE(svg.find("off the chart"), std::string::npos);
  // A budget near the curves: the dashed budget line is drawn.
  int64_t busiest = 0;
  for (const NodeResult& n : r->front().nodes) busiest = std::max(busiest, n.peak_bytes);
  o.budget_bytes = busiest * 2;
  auto near = RunSimulations(o);
  ASSERT_OK(near.status());
  svg = PlotSvg(*near);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
  EXPECT_EQ(svg.find("off the chart"), std::string::npos);
  const std::string path = ::testing::TempDir() + "memcluster_plot.svg";
  ASSERT_OK(WritePlot(*near, path));
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), svg);
  EXPECT_FALSE(WritePlot(*near, "/nonexistent-dir/x.svg").ok());
  // A single server plots one line.
  auto one = RunSimulations(Production(0));
  ASSERT_OK(one.status());
  svg = PlotSvg(*one);
  lines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u);
}

}  // namespace
}  // namespace stormkv::cli
