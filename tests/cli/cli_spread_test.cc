// How `stormkv simulate` reports its keys per Redis Cluster master (tools/cli/slot_spread.h), and
// the spread itself: on the production scenario the busiest of 3 masters holds at most 1.25x the
// mean keys and bytes (the storms are tagged by namespace + alert name, not by namespace alone).
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "simulate.h"
#include "slot_spread.h"
#include "stormkv/key_schema.h"

namespace stormkv::cli {
namespace {

TEST(SlotSpread, EvenSplitIsRedisClisSplit) {
  std::vector<SlotRange> three = EvenSlotRanges(3);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[0].first, 0);
  EXPECT_EQ(three[0].last, 5460);
  EXPECT_EQ(three[1].first, 5461);
  EXPECT_EQ(three[1].last, 10922);
  EXPECT_EQ(three[2].first, 10923);
  EXPECT_EQ(three[2].last, 16383);
  EXPECT_EQ(three[2].master, "master-3");
  for (int n : {1, 2, 5, 7, 100, 16384}) {
    std::vector<SlotRange> r = EvenSlotRanges(n);
    ASSERT_EQ(r.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(r.front().first, 0);
    EXPECT_EQ(r.back().last, kHashSlots - 1);
    for (std::size_t i = 1; i < r.size(); ++i) {
      EXPECT_EQ(r[i].first, r[i - 1].last + 1) << n;
      EXPECT_LE(r[i].first, r[i].last) << n;
    }
  }
}

TEST(SlotSpread, SumsPerMasterAndRatesTheBusiest) {
  SlotTally tally;
  tally.Add("foo", 100);  // slot 12182: master-3
  tally.Add("bar", 50);   // slot 5061: master-1
  tally.Add("{bar}x", 50);
  tally.Add("{bar}y", 50);
  SlotSpread sp = SpreadOver(tally, EvenSlotRanges(3), "test");
  ASSERT_EQ(sp.masters.size(), 3u);
  EXPECT_EQ(sp.masters[0].keys, 3);
  EXPECT_EQ(sp.masters[0].bytes, 150);
  EXPECT_EQ(sp.masters[1].keys, 0);
  EXPECT_EQ(sp.masters[2].keys, 1);
  EXPECT_EQ(sp.masters[2].bytes, 100);
  EXPECT_EQ(sp.masters[0].slots, 5461);
  EXPECT_DOUBLE_EQ(sp.busiest_keys_ratio, 3.0 * 3 / 4);
  EXPECT_DOUBLE_EQ(sp.busiest_bytes_ratio, 150.0 * 3 / 250);
  // A master owning two ranges is one master.
  SlotSpread two = SpreadOver(tally, {{0, 99, "a"}, {100, 8191, "b"}, {8192, 16383, "a"}}, "t");
  ASSERT_EQ(two.masters.size(), 2u);
  EXPECT_EQ(two.masters[0].slots, 100 + 8192);
  EXPECT_EQ(two.masters[0].keys, 1);  // foo
  EXPECT_EQ(two.masters[1].keys, 3);
}

TEST(SlotSpread, ProductionScenarioIsBalancedOverThreeMasters) {
  SimulateOptions o;
  o.scenario = Scenario::kProduction;
  o.cluster_masters = 3;
  o.progress = false;
  ASSERT_OK_AND_ASSIGN(std::vector<SimulationResult> rs, RunSimulations(o));
  ASSERT_EQ(rs.size(), 1u);
  ASSERT_TRUE(rs[0].spread.has_value());
  const SlotSpread& sp = *rs[0].spread;
  ASSERT_EQ(sp.masters.size(), 3u);
  int64_t keys = 0, bytes = 0;
  for (const MasterShare& m : sp.masters) {
    keys += m.keys;
    bytes += m.bytes;
  }
  EXPECT_EQ(bytes, rs[0].key_bytes);
  EXPECT_GT(keys, 10000);
  EXPECT_LE(sp.busiest_keys_ratio, 1.25) << keys << " keys";
  EXPECT_LE(sp.busiest_bytes_ratio, 1.25) << bytes << " bytes";
  const std::string text = RenderSimulationText(rs);
  EXPECT_NE(text.find("keys per cluster master (3 masters, even slot split"), std::string::npos)
      << text;
  EXPECT_NE(text.find("busiest master: "), std::string::npos) << text;
  nlohmann::ordered_json j = SimulationJson(rs[0]);
  ASSERT_TRUE(j.contains("cluster_spread"));
  EXPECT_EQ(j["cluster_spread"]["masters"].size(), 3u);
}

}  // namespace
}  // namespace stormkv::cli
