#include "slot_spread.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "stormkv/memory_cluster.h"

namespace stormkv::cli {

void SlotTally::Add(std::string_view key, int64_t key_bytes) {
  const int slot = HashSlot(key);
  ++keys[static_cast<std::size_t>(slot)];
  bytes[static_cast<std::size_t>(slot)] += key_bytes;
}

std::vector<SlotRange> EvenSlotRanges(int masters) {
  masters = std::clamp(masters, 1, kHashSlots);
  std::vector<SlotRange> out;
  // The embedded cluster's split (stormkv/memory_cluster.h): redis-cli's own computation.
  const std::vector<ClusterSlotRange> ranges = *ClusterCreateSlotRanges(masters);
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    out.push_back({ranges[i].first, ranges[i].last, "master-" + std::to_string(i + 1)});
  }
  return out;
}

Result<std::vector<SlotRange>> LiveSlotRanges(KvBackend& kv) {
  Result<Reply> r = kv.Run({"CLUSTER", "SLOTS"});
  if (!r.ok()) {
    if (r.status().message().find("cluster support disabled") != std::string::npos) {
      return Status::InvalidArgument("not a cluster node: " + r.status().message());
    }
    return r.status();
  }
  if (!r->is_array()) return Status::Corruption("CLUSTER SLOTS: expected an array");
  std::vector<SlotRange> out;
  for (const Reply& range : r->elements()) {
    if (!range.is_array() || range.elements().size() < 3 || !range.elements()[0].is_integer() ||
        !range.elements()[1].is_integer() || !range.elements()[2].is_array() ||
        range.elements()[2].elements().size() < 2) {
      return Status::Corruption("CLUSTER SLOTS: unexpected entry shape");
    }
    const Reply& master = range.elements()[2];
    const std::string host = master.elements()[0].is_bulk() ? master.elements()[0].str() : "?";
    const std::string port = master.elements()[1].is_integer()
                                 ? std::to_string(master.elements()[1].integer())
                                 : "?";
    out.push_back({static_cast<int>(range.elements()[0].integer()),
                   static_cast<int>(range.elements()[1].integer()), host + ":" + port});
  }
  std::sort(out.begin(), out.end(),
            [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
  return out;
}

SlotSpread SpreadOver(const SlotTally& tally, const std::vector<SlotRange>& ranges,
                      std::string source) {
  SlotSpread out;
  out.source = std::move(source);
  std::map<std::string, std::size_t> index;
  for (const SlotRange& r : ranges) {
    auto [it, added] = index.emplace(r.master, out.masters.size());
    if (added) out.masters.push_back({r.master, 0, 0, 0});
    MasterShare& m = out.masters[it->second];
    for (int s = std::max(r.first, 0); s <= std::min(r.last, kHashSlots - 1); ++s) {
      ++m.slots;
      m.keys += tally.keys[static_cast<std::size_t>(s)];
      m.bytes += tally.bytes[static_cast<std::size_t>(s)];
    }
  }
  if (out.masters.empty()) return out;
  int64_t keys = 0, bytes = 0, max_keys = 0, max_bytes = 0;
  for (const MasterShare& m : out.masters) {
    keys += m.keys;
    bytes += m.bytes;
    max_keys = std::max(max_keys, m.keys);
    max_bytes = std::max(max_bytes, m.bytes);
  }
  const double n = static_cast<double>(out.masters.size());
  if (keys > 0) out.busiest_keys_ratio = static_cast<double>(max_keys) * n / static_cast<double>(keys);
  if (bytes > 0) {
    out.busiest_bytes_ratio = static_cast<double>(max_bytes) * n / static_cast<double>(bytes);
  }
  return out;
}

}  // namespace stormkv::cli
