// tools/cli/slot_spread.h — how a simulation's keys spread over the masters of a Redis Cluster.
//
// Every key lives in one of 16384 hash slots (stormkv::HashSlot: the CRC16 of its {hash tag}),
// and each master serves some slot ranges. `stormkv simulate` tallies its keys and their MEMORY
// USAGE bytes per slot, then sums them per master, either over the cluster's real slot map (a
// redis-cluster:// backend) or over the even split `redis-cli --cluster create` makes for N
// masters (--cluster-masters N on any backend: a sizing forecast).
#ifndef STORMKV_TOOLS_CLI_SLOT_SPREAD_H_
#define STORMKV_TOOLS_CLI_SLOT_SPREAD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv::cli {

// Keys and bytes per hash slot.
struct SlotTally {
  std::vector<int64_t> keys = std::vector<int64_t>(kHashSlots, 0);
  std::vector<int64_t> bytes = std::vector<int64_t>(kHashSlots, 0);
  void Add(std::string_view key, int64_t key_bytes);
};

// Slots [first, last] served by `master`.
struct SlotRange {
  int first = 0;
  int last = 0;
  std::string master;
};

// The split of `redis-cli --cluster create` over `masters` masters (>= 1): contiguous ranges of
// 16384/masters slots, rounded to the nearest slot (3 masters: 0-5460, 5461-10922, 10923-16383),
// named "master-1", "master-2", ...
std::vector<SlotRange> EvenSlotRanges(int masters);

// The slot ranges of a live cluster from CLUSTER SLOTS run on `kv` (each range's master named
// "host:port"). InvalidArgument when the server is not a cluster node; its error otherwise.
Result<std::vector<SlotRange>> LiveSlotRanges(KvBackend& kv);

struct MasterShare {
  std::string master;
  int64_t slots = 0;
  int64_t keys = 0;
  int64_t bytes = 0;
};

struct SlotSpread {
  std::string source;                // "3 masters, even split (redis-cli --cluster create)", ...
  std::vector<MasterShare> masters;  // in slot order
  // The busiest master's keys (bytes) over the mean per master; 0 without keys.
  double busiest_keys_ratio = 0;
  double busiest_bytes_ratio = 0;
};

// Sums `tally` per master of `ranges` (a master with several ranges is summed once).
SlotSpread SpreadOver(const SlotTally& tally, const std::vector<SlotRange>& ranges,
                      std::string source);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_SLOT_SPREAD_H_
