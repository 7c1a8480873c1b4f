// tests/memcluster/cluster_memory_test.cc — the cluster memory profile of the embedded store: a
// Redis 7.0 cluster node's main-dict entry is 40 bytes instead of 24 (slot-to-key links; the
// expires dict's are not), MEMORY USAGE counts 40, and an empty node holds 723,976 bytes of slot
// tables more than a standalone server (stormkv/memory_model.h). memcluster_vs_redis_test and
// tests/fidelity check the same figures against the real test cluster.
#include <gtest/gtest.h>

#include <string>

#include "common/test_util.h"
#include "stormkv/clock.h"
#include "stormkv/key_schema.h"
#include "stormkv/memory_backend.h"
#include "stormkv/memory_cluster.h"
#include "stormkv/memory_model.h"

namespace stormkv {
namespace {

struct Pair {
  std::unique_ptr<KvBackend> standalone;
  std::unique_ptr<KvBackend> cluster;  // one node: every key on the same store
};

Pair Make(AllocatorProfile p) {
  auto clock = std::make_shared<ManualClock>();
  MemoryBackendOptions o;
  o.clock = clock;
  o.allocator = p;
  Pair out;
  out.standalone = NewMemoryBackend(o).value();
  o.cluster_nodes = 1;
  out.cluster = NewMemoryBackend(o).value();
  return out;
}

int64_t Used(KvBackend& kv) { return *kv.UsedMemory(); }

class ClusterMemoryTest : public ::testing::TestWithParam<AllocatorProfile> {};

TEST_P(ClusterMemoryTest, EmptyNodeHoldsTheSlotTables) {
  Pair p = Make(GetParam());
  EXPECT_EQ(Used(*p.cluster) - Used(*p.standalone), 723976);
  EXPECT_EQ(model::ClusterNodeEmptyBytes(GetParam()), 723976);
  // Three nodes: each one is a whole empty node.
  MemoryBackendOptions o;
  o.allocator = GetParam();
  o.cluster_nodes = 3;
  auto three = NewMemoryClusterBackend(o);
  ASSERT_OK(three.status());
  for (const MemoryClusterNode& n : AsMemoryClusterBackend(three->get())->Nodes()) {
    EXPECT_EQ(Used(*n.backend), Used(*p.standalone) + 723976);
  }
}

TEST_P(ClusterMemoryTest, EveryKeyCosts16BytesMoreInTheMainDictOnly) {
  const AllocatorProfile prof = GetParam();
  // 24 -> 40 bytes: jemalloc class 32 -> 48 (quantum 16) or 24 -> 40 (quantum 8): +16 either way.
  EXPECT_EQ(model::JeSize(model::kDictEntry + model::kClusterDictEntryMetadata, prof) -
                model::JeSize(model::kDictEntry, prof),
            16u);
  for (const bool ttl : {false, true}) {
    Pair p = Make(prof);
    const int64_t s0 = Used(*p.standalone), c0 = Used(*p.cluster);
    const int kKeys = 1000;
    for (int i = 0; i < kKeys; ++i) {
      Command set = {"SET", "key:" + std::to_string(i), "value-" + std::to_string(i)};
      if (ttl) set.insert(set.end(), {"PX", "600000"});
      ASSERT_OK(p.standalone->Run(set));
      ASSERT_OK(p.cluster->Run(set));
    }
    // The main dict's bucket arrays are the same size; only the entries grow (the expires
    // dict's entries do not).
    EXPECT_EQ((Used(*p.cluster) - c0) - (Used(*p.standalone) - s0), 16 * kKeys) << ttl;
    for (const std::string k : {"key:1", "key:999"}) {
      auto su = p.standalone->MemoryUsage(k);
      auto cu = p.cluster->MemoryUsage(k);
      ASSERT_OK(su.status());
      ASSERT_OK(cu.status());
      EXPECT_EQ(**cu - **su, 16) << k;  // MEMORY USAGE counts the 40-byte entry
    }
  }
}

TEST_P(ClusterMemoryTest, CollectionsPayOnlyForTheirKeyEntry) {
  Pair p = Make(GetParam());
  for (KvBackend* kv : {p.standalone.get(), p.cluster.get()}) {
    ASSERT_OK(kv->Run({"HSET", "h", "f1", "v1", "f2", "v2"}));
    ASSERT_OK(kv->Run({"SADD", "s", "a", "b", "c"}));
    ASSERT_OK(kv->Run({"ZADD", "z", "1", "a", "2", "b"}));
  }
  for (const char* k : {"h", "s", "z"}) {
    EXPECT_EQ(**p.cluster->MemoryUsage(k) - **p.standalone->MemoryUsage(k), 16) << k;
  }
  ASSERT_OK_AND_ASSIGN(auto info, p.cluster->Info("server"));
  EXPECT_EQ(info["redis_mode"], "cluster");
}

INSTANTIATE_TEST_SUITE_P(Profiles, ClusterMemoryTest,
                         ::testing::Values(AllocatorProfile::kDebian, AllocatorProfile::kUpstream),
                         [](const ::testing::TestParamInfo<AllocatorProfile>& i) {
                           return std::string(AllocatorProfileName(i.param));
                         });

}  // namespace
}  // namespace stormkv
