// tests/cli/cli_triage_cluster_test.cc — the cluster triage (tools/cli/triage_cluster.*),
// hermetic: the findings on pure data (hot shard, differing maxmemory/policy, cluster state,
// masters without replica, unreachable masters), CLUSTER NODES parsing, and a whole run over the
// embedded cluster (memory://?cluster=3). The same run on the real test cluster is in
// cli_triage_cluster_redis_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "stormkv/key_schema.h"
#include "stormkv/memory_backend.h"
#include "stormkv/memory_cluster.h"
#include "triage_cluster.h"

namespace stormkv::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

FamilyUsage Family(const std::string& label, int64_t keys, double bytes) {
  FamilyUsage f;
  f.label = label;
  f.is_stormkv = label.rfind("stormkv:", 0) == 0;
  f.keys = keys;
  f.inspected_keys = keys;
  f.bytes = bytes;
  return f;
}

NodeTriage Node(int index, int64_t dedup_keys, int64_t agg_keys) {
  NodeTriage n;
  n.node = index;
  n.address = "10.0.0." + std::to_string(index + 1) + ":7000";
  n.id = std::string(40, static_cast<char>('a' + index));
  n.slots = std::to_string(index * 5461) + "-" + std::to_string(index * 5461 + 5460);
  n.slot_count = 5461;
  n.cluster_state = "ok";
  n.slots_assigned = 16384;
  n.slots_ok = 16384;
  n.slots_pfail = n.slots_fail = 0;
  TriageReport& r = n.report;
  r.dbsize = dedup_keys + agg_keys;
  r.keys_scanned = r.keys_inspected = r.dbsize;
  r.families.push_back(Family("stormkv:dedup:*", dedup_keys, 100.0 * dedup_keys));
  if (agg_keys > 0) r.families.push_back(Family("stormkv:storm-agg:*", agg_keys, 400.0 * agg_keys));
  r.total_key_bytes = 100.0 * dedup_keys + 400.0 * agg_keys;
  r.memory.used_memory = 2 << 20;
  r.memory.maxmemory = 256LL << 20;
  r.memory.policy = "noeviction";
  ReplicaTriage rep;
  rep.address = "10.0.1." + std::to_string(index + 1) + ":7000";
  rep.flags = "slave";
  rep.link_state = "connected";
  rep.visited = true;
  rep.master_link = "up";
  rep.healthy = true;
  n.replicas.push_back(rep);
  return n;
}

// Three balanced masters: 1,000 dedup keys each.
ClusterTriageReport Balanced() {
  ClusterTriageReport r;
  r.backend = "redis-cluster://10.0.0.1:7000 (3 masters)";
  r.topology_known = true;
  for (int i = 0; i < 3; ++i) r.nodes.push_back(Node(i, 1000, 0));
  return r;
}

const Finding* Find(const std::vector<Finding>& fs, const std::string& code, int node = -2) {
  for (const Finding& f : fs) {
    if (f.code == code && (node == -2 || f.node == node)) return &f;
  }
  return nullptr;
}

std::vector<std::string> Codes(const std::vector<Finding>& fs) {
  std::vector<std::string> out;
  for (const Finding& f : fs) out.push_back(f.code);
  return out;
}

TEST(ClusterTriageFindings, BalancedHealthyClusterHasNone) {
  TriageOptions o;
  EXPECT_THAT(Codes(AnalyzeClusterFindings(Balanced(), o)), ::testing::IsEmpty());
}

TEST(ClusterTriageFindings, HotShardByKeysNamesItsFamilyAndHashTag) {
  ClusterTriageReport r = Balanced();
  // Node 1 also holds one storm of 2,500 aggregation keys, all under one hash tag.
  r.nodes[1] = Node(1, 1000, 2500);
  r.nodes[1].report.top_tags_by_keys = {{"payments:KubePodCrashLooping", 2500, 2500, 1e6},
                                        {"fp-1", 1, 1, 100}};
  r.nodes[1].report.top_tags_by_bytes = r.nodes[1].report.top_tags_by_keys;
  TriageOptions o;
  std::vector<Finding> fs = AnalyzeClusterFindings(r, o);
  ASSERT_EQ(fs.size(), 1u) << ::testing::PrintToString(Codes(fs));
  const Finding& f = fs[0];
  EXPECT_EQ(f.code, "hot-shard");
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.node, 1);
  // 3,500 of 5,500 keys = 1.91x the mean; bytes 1.1 MB of 1.3 MB = 2.54x.
  EXPECT_THAT(f.message, HasSubstr("10.0.0.2:7000"));
  EXPECT_THAT(f.message, HasSubstr("1.91x the mean keys"));
  EXPECT_THAT(f.message, HasSubstr("2.54x the mean key bytes"));
  EXPECT_THAT(f.message, HasSubstr("stormkv:storm-agg:*"));
  EXPECT_THAT(f.message, HasSubstr("{payments:KubePodCrashLooping}"));
  EXPECT_THAT(f.message, Not(HasSubstr("{fp-1}"))) << "a one-key tag does not make a shard hot";
  EXPECT_THAT(f.message, Not(HasSubstr("stormkv:dedup:*"))) << "dedup is at its mean";
}

TEST(ClusterTriageFindings, HotShardThresholdIsOnePointFiveTheMean) {
  TriageOptions o;
  // Node 0 with 1,600 keys against 1,000 + 1,000: mean 1,200, ratio 1.33: not hot.
  ClusterTriageReport r = Balanced();
  r.nodes[0] = Node(0, 1600, 0);
  EXPECT_EQ(Find(AnalyzeClusterFindings(r, o), "hot-shard"), nullptr);
  // 2,000 against 1,000 + 1,000: mean 1,333, ratio exactly 1.5: hot.
  r.nodes[0] = Node(0, 2000, 0);
  const std::vector<Finding> fs = AnalyzeClusterFindings(r, o);
  const Finding* hot = Find(fs, "hot-shard", 0);
  ASSERT_NE(hot, nullptr);
  EXPECT_THAT(hot->message, HasSubstr("1.50x the mean keys"));
  // No tag holds a share of the excess: the message says so and points at the slots.
  EXPECT_THAT(hot->message, HasSubstr("no single hash tag stands out"));
  EXPECT_THAT(hot->message, HasSubstr("stormkv:dedup:*"));
}

TEST(ClusterTriageFindings, HotShardByBytesAlone) {
  ClusterTriageReport r = Balanced();
  // Same keys everywhere, but node 2's keys are 4x bigger.
  r.nodes[2].report.families[0].bytes *= 4;
  r.nodes[2].report.total_key_bytes *= 4;
  TriageOptions o;
  const std::vector<Finding> fs = AnalyzeClusterFindings(r, o);
  const Finding* hot = Find(fs, "hot-shard", 2);
  ASSERT_NE(hot, nullptr);
  EXPECT_THAT(hot->message, HasSubstr("1.00x the mean keys"));
  EXPECT_THAT(hot->message, HasSubstr("2.00x the mean key bytes"));
  EXPECT_THAT(hot->message, HasSubstr("By bytes"));
}

TEST(ClusterTriageFindings, FewKeysAreNoHotShard) {
  ClusterTriageReport r;
  r.topology_known = true;
  r.nodes = {Node(0, 30, 0), Node(1, 2, 0), Node(2, 2, 0)};
  TriageOptions o;
  EXPECT_EQ(Find(AnalyzeClusterFindings(r, o), "hot-shard"), nullptr) << "34 keys: noise";
  o.hot_shard_min_keys = 10;
  EXPECT_NE(Find(AnalyzeClusterFindings(r, o), "hot-shard", 0), nullptr);
}

TEST(ClusterTriageFindings, DifferingMaxmemoryOrPolicy) {
  TriageOptions o;
  ClusterTriageReport r = Balanced();
  r.nodes[2].report.memory.maxmemory = 128LL << 20;
  std::vector<Finding> fs = AnalyzeClusterFindings(r, o);
  const Finding* d = Find(fs, "maxmemory-differs", -1);
  ASSERT_NE(d, nullptr) << ::testing::PrintToString(Codes(fs));
  EXPECT_EQ(d->severity, Severity::kWarning);
  EXPECT_THAT(d->message, HasSubstr("maxmemory differ"));
  EXPECT_THAT(d->message, HasSubstr("node 2 (10.0.0.3:7000) maxmemory 128 MB noeviction"));
  EXPECT_THAT(d->message, HasSubstr("node 0 (10.0.0.1:7000) maxmemory 256 MB noeviction"));

  r = Balanced();
  r.nodes[0].report.memory.policy = "allkeys-lru";
  fs = AnalyzeClusterFindings(r, o);
  d = Find(fs, "maxmemory-differs", -1);
  ASSERT_NE(d, nullptr);
  EXPECT_THAT(d->message, HasSubstr("maxmemory-policy differ"));
  EXPECT_THAT(d->message, HasSubstr("256 MB allkeys-lru"));

  r.nodes[1].report.memory.maxmemory = 0;
  fs = AnalyzeClusterFindings(r, o);
  d = Find(fs, "maxmemory-differs", -1);
  ASSERT_NE(d, nullptr);
  EXPECT_THAT(d->message, HasSubstr("maxmemory and policy differ"));
  EXPECT_THAT(d->message, HasSubstr("maxmemory unlimited"));
}

TEST(ClusterTriageFindings, ClusterStateNotOkIsAnError) {
  ClusterTriageReport r = Balanced();
  r.nodes[0].cluster_state = "fail";
  r.nodes[0].slots_ok = 10923;
  r.nodes[0].slots_fail = 5461;
  TriageOptions o;
  std::vector<Finding> fs = AnalyzeClusterFindings(r, o);
  const Finding* f = Find(fs, "cluster-state", 0);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_THAT(f->message, HasSubstr("cluster_state:fail"));
  EXPECT_THAT(f->message, HasSubstr("fail 5461"));
  // ok, but slots failing: a warning.
  r = Balanced();
  r.nodes[1].slots_pfail = 3;
  fs = AnalyzeClusterFindings(r, o);
  f = Find(fs, "cluster-state", 1);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kWarning);
}

TEST(ClusterTriageFindings, MasterWithoutAHealthyReplica) {
  ClusterTriageReport r = Balanced();
  r.nodes[0].replicas.clear();
  r.nodes[2].replicas[0].master_link = "down";
  r.nodes[2].replicas[0].healthy = false;
  TriageOptions o;
  std::vector<Finding> fs = AnalyzeClusterFindings(r, o);
  const Finding* none = Find(fs, "master-without-replica", 0);
  ASSERT_NE(none, nullptr);
  EXPECT_THAT(none->message, HasSubstr("has no replica"));
  const Finding* down = Find(fs, "master-without-replica", 2);
  ASSERT_NE(down, nullptr);
  EXPECT_THAT(down->message, HasSubstr("no healthy replica"));
  EXPECT_EQ(Find(fs, "master-without-replica", 1), nullptr);
  // Without the topology (CLUSTER NODES unanswered) nothing is claimed about replicas.
  r.topology_known = false;
  EXPECT_EQ(Find(AnalyzeClusterFindings(r, o), "master-without-replica"), nullptr);
}

TEST(ClusterTriageFindings, UnreachableMasterIsAnErrorAndLeftOutOfTheMeans) {
  ClusterTriageReport r = Balanced();
  r.nodes[1].reachable = false;
  r.nodes[1].error = "connection refused";
  r.nodes[1].report = TriageReport();
  TriageOptions o;
  std::vector<Finding> fs = AnalyzeClusterFindings(r, o);
  const Finding* f = Find(fs, "node-unreachable", 1);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_THAT(f->message, HasSubstr("connection refused"));
  EXPECT_EQ(Find(fs, "hot-shard"), nullptr) << "the two others are balanced";
  EXPECT_EQ(Find(fs, "maxmemory-differs"), nullptr);
}

TEST(ClusterTriageMerge, TotalsAreTheSumOfTheMasters) {
  ClusterTriageReport r = Balanced();
  r.nodes[1] = Node(1, 1000, 2500);
  KeyInfo big;
  big.key = "stormkv:storm-agg:{x}:1";
  big.bytes = 5000;
  r.nodes[1].report.top_keys = {big};
  TriageOptions o;
  MergeNodeReports(r, o);
  EXPECT_EQ(r.total.keys_scanned, 5500);
  EXPECT_DOUBLE_EQ(r.total.total_key_bytes, 3000 * 100.0 + 2500 * 400.0);
  ASSERT_EQ(r.total.families.size(), 2u);
  EXPECT_EQ(r.total.families[0].label, "stormkv:storm-agg:*");
  EXPECT_EQ(r.total.families[1].keys, 3000);
  EXPECT_EQ(r.total.memory.used_memory, 3 * (2 << 20));
  EXPECT_EQ(r.total.memory.maxmemory, 3 * (256LL << 20));
  EXPECT_EQ(r.total.memory.policy, "noeviction");
  ASSERT_EQ(r.total.top_keys.size(), 1u);
  EXPECT_EQ(r.total.top_keys[0].node, 1);
  r.nodes[0].report.memory.maxmemory = 0;
  r.nodes[2].report.memory.policy = "allkeys-lru";
  MergeNodeReports(r, o);
  EXPECT_EQ(r.total.memory.maxmemory, 0) << "one master without a limit: no cluster limit";
  EXPECT_EQ(r.total.memory.policy, "mixed");
}

TEST(ClusterNodesText, ParsesMastersReplicasAndFlags) {
  const std::string text =
      "1503caac95443d9fade0944c8422052580c26fc8 127.0.0.1:23641@33641 slave "
      "dde84d8af4ad3f9e1733c5990adc7cc11b8b3946 0 1796182464171 2 connected\n"
      "7d9a28eeabcda81040757c895f44ae384f929172 127.0.0.1:27318@37318 myself,master - 0 "
      "1796182463000 1 connected 0-5460\n"
      "dde84d8af4ad3f9e1733c5990adc7cc11b8b3946 127.0.0.1:26870@36870,host-b master - 0 0 2 "
      "connected 5461-10921 10922\n"
      "ad33063ee227345bc6beb73fab7a8816d08c7418 127.0.0.1:29464@39464 slave,fail "
      "7d9a28eeabcda81040757c895f44ae384f929172 0 1796182464070 1 disconnected\n"
      "garbage line\n";
  std::vector<ClusterNodesEntry> e = ParseClusterNodes(text);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].address, "127.0.0.1:23641");
  EXPECT_FALSE(e[0].master());
  EXPECT_EQ(e[0].master_id, "dde84d8af4ad3f9e1733c5990adc7cc11b8b3946");
  EXPECT_TRUE(e[1].master());
  EXPECT_EQ(e[1].slots, "0-5460");
  EXPECT_EQ(e[2].address, "127.0.0.1:26870");
  EXPECT_EQ(e[2].slots, "5461-10921,10922");
  EXPECT_TRUE(e[3].failed());
  EXPECT_EQ(e[3].link_state, "disconnected");
}

// A whole run over the embedded cluster: each node read by itself, read-only.
TEST(ClusterTriageRun, EmbeddedClusterReportsEveryNodeAndAHotShard) {
  MemoryBackendOptions mo;
  mo.cluster_nodes = 3;
  mo.maxmemory = 256LL << 20;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> kv, NewMemoryClusterBackend(mo));
  // 300 dedup keys spread by their own tags, and one storm of 400 keys under one tag.
  for (int i = 0; i < 300; ++i) {
    ASSERT_OK(kv->Run({"SET", "stormkv:dedup:{fp" + std::to_string(i) + "}", "x", "EX", "600"})
                  .status());
  }
  const std::string tag = "shop:HighLatency";
  for (int i = 0; i < 400; ++i) {
    ASSERT_OK(kv->Run({"SET", "stormkv:storm-agg:{" + tag + "}:" + std::to_string(i),
                       std::string(100, 'v'), "EX", "600"})
                  .status());
  }
  const int hot = AsMemoryClusterBackend(kv.get())->NodeOfSlot(HashSlot("{" + tag + "}"));
  std::vector<ClusterMember> members = ClusterMembers(*kv);
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].slots, "0-5460");
  EXPECT_EQ(members[2].slot_count, 16384 - 10923);
  ClusterTriageOptions o;
  o.triage.progress = false;
  ASSERT_OK_AND_ASSIGN(ClusterTriageReport r, RunClusterTriage(members, kv->Describe(), o));
  ASSERT_EQ(r.nodes.size(), 3u);
  int64_t keys = 0;
  for (const NodeTriage& n : r.nodes) {
    EXPECT_TRUE(n.reachable);
    EXPECT_EQ(n.cluster_state, "ok");
    EXPECT_EQ(n.id.size(), 40u);
    EXPECT_EQ(n.report.memory.maxmemory, 256LL << 20);
    EXPECT_TRUE(n.replicas.empty());
    keys += n.report.keys_scanned;
  }
  EXPECT_EQ(keys, 700);
  EXPECT_EQ(r.total.keys_scanned, 700);
  EXPECT_TRUE(r.topology_known);
  const Finding* f = Find(r.findings, "hot-shard", hot);
  ASSERT_NE(f, nullptr) << RenderClusterTriageText(r, o.triage);
  EXPECT_THAT(f->message, HasSubstr("the hash tags that make it hot"));
  EXPECT_THAT(f->message, HasSubstr("{" + tag + "}"));
  EXPECT_THAT(f->message, HasSubstr("stormkv:storm-agg:*"));
  // The embedded cluster has no replicas: every master is flagged.
  for (int i = 0; i < 3; ++i) EXPECT_NE(Find(r.findings, "master-without-replica", i), nullptr);
  EXPECT_EQ(Find(r.findings, "maxmemory-differs"), nullptr);
  // The same policy everywhere: one finding for the cluster, not one per master.
  const Finding* policy = Find(r.findings, "eviction-policy");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->node, -1);
  EXPECT_THAT(policy->message, HasSubstr("every master"));
  // Text and JSON carry the same findings.
  const std::string text = RenderClusterTriageText(r, o.triage);
  EXPECT_THAT(text, HasSubstr("hot-shard"));
  EXPECT_THAT(text, HasSubstr("{" + tag + "}"));
  nlohmann::ordered_json j = ClusterTriageJson(r);
  ASSERT_EQ(j["nodes"].size(), 3u);
  EXPECT_EQ(j["nodes"][hot]["keys"], r.nodes[hot].report.keys_scanned);
  EXPECT_GE(r.nodes[hot].report.keys_scanned, 400);
  bool hot_in_node = false;
  for (const auto& nf : j["nodes"][hot]["findings"]) hot_in_node |= nf["code"] == "hot-shard";
  EXPECT_TRUE(hot_in_node);
  EXPECT_EQ(j["findings"].size(), r.findings.size());
  // Read-only: nothing changed.
  ASSERT_OK_AND_ASSIGN(int64_t n, kv->DbSize());
  EXPECT_EQ(n, 700);
}

TEST(ClusterTriageRun, DifferingNodeMaxmemoryOnTheEmbeddedCluster) {
  MemoryBackendOptions mo;
  mo.cluster_nodes = 3;
  mo.maxmemory = 256LL << 20;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> kv, NewMemoryClusterBackend(mo));
  std::vector<ClusterMember> members = ClusterMembers(*kv);
  ASSERT_OK(members[1].backend->Run({"CONFIG", "SET", "maxmemory", "2000000"}).status());
  ClusterTriageOptions o;
  o.triage.progress = false;
  ASSERT_OK_AND_ASSIGN(ClusterTriageReport r, RunClusterTriage(members, kv->Describe(), o));
  const Finding* d = Find(r.findings, "maxmemory-differs", -1);
  ASSERT_NE(d, nullptr);
  EXPECT_THAT(d->message, HasSubstr("node 1 (" + members[1].address + ") maxmemory 1.91 MB"));
  // The node over its limit has its own finding, an error.
  const Finding* over = Find(r.findings, "maxmemory-below-used", 1);
  ASSERT_NE(over, nullptr) << RenderClusterTriageText(r, o.triage);
  EXPECT_EQ(over->severity, Severity::kError);
  EXPECT_THAT(over->message, HasSubstr("node 1 (" + members[1].address + "): used_memory"));
  EXPECT_EQ(Find(r.findings, "maxmemory-below-used", 0), nullptr);
}

TEST(ClusterTriageRun, StandaloneBackendHasNoMembers) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> kv, NewMemoryBackend({}));
  EXPECT_TRUE(ClusterMembers(*kv).empty());
}

}  // namespace
}  // namespace stormkv::cli
