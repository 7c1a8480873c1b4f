// backends/memory/cluster_backend.cc — the embedded cluster (stormkv/memory_cluster.h): the slot
// ranges of redis-cli, the router over ClusterNodes, and the keyspace-wide commands.
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <map>
#include <string_view>

#include "cluster_keys.h"
#include "cluster_node.h"
#include "stormkv/key_schema.h"
#include "stormkv/memory_cluster.h"

namespace stormkv {

Result<std::vector<ClusterSlotRange>> ClusterCreateSlotRanges(int masters) {
  if (masters < 1 || masters > kHashSlots) {
    return Status::InvalidArgument("a cluster has 1 to 16384 masters (each owns at least one of "
                                   "the 16384 hash slots), not " + std::to_string(masters));
  }
  // redis-cli's clusterManagerCommandCreate: a float cursor advanced by 16384/masters, each
  // master's last slot lround(cursor + per_master - 1), the last master up to 16383.
  const float per_master = static_cast<float>(kHashSlots) / static_cast<float>(masters);
  std::vector<ClusterSlotRange> out;
  long first = 0;
  float cursor = 0.0f;
  for (int i = 0; i < masters; ++i) {
    long last = std::lround(cursor + per_master - 1);
    if (last > kHashSlots - 1 || i == masters - 1) last = kHashSlots - 1;
    if (last < first) last = first;
    out.push_back({static_cast<int>(first), static_cast<int>(last)});
    first = last + 1;
    cursor += per_master;
  }
  if (first != kHashSlots || out.back().first > out.back().last) {
    return Status::Internal("slot split for " + std::to_string(masters) + " masters is not a cover");
  }
  return out;
}

namespace {

using memstore::ClusterNode;
using memstore::ClusterRoute;
using memstore::ClusterTopology;
using memstore::CommandKeys;

std::string NodeId(int index) {
  // Deterministic 40-hex ids (splitmix64 of the index), so that runs compare.
  std::string id;
  uint64_t x = static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ull + 0x5354524D4B56ull;
  while (id.size() < 40) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, z);
    id += buf;
  }
  id.resize(40);
  return id;
}

bool IsInteger(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "keys=3,expires=1,avg_ttl=5" -> its integer parts; false when a part is not name=integer.
bool ParseCounts(std::string_view v, std::vector<std::pair<std::string, int64_t>>* out) {
  out->clear();
  while (!v.empty()) {
    std::size_t comma = v.find(',');
    std::string_view part = v.substr(0, comma);
    std::size_t eq = part.find('=');
    int64_t x = 0;
    if (eq == std::string_view::npos || !IsInteger(part.substr(eq + 1), &x)) return false;
    out->emplace_back(std::string(part.substr(0, eq)), x);
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
  }
  return !out->empty();
}

// INFO texts of every node merged into one (memory_cluster.h): sections in order of first
// appearance, each field once. A field that is an integer wherever it appears is summed (missing
// = 0), except maxmemory (per node: kept when the nodes agree); "a=1,b=2" counts (keyspace,
// errorstats) summed part by part, avg_ttl weighted by expires; any other field kept when every
// node that has it agrees, left out otherwise.
std::string MergeInfo(const std::vector<std::string>& texts) {
  struct Field {
    std::string name;
    std::vector<std::string> values;  // one per node that has it
  };
  struct Section {
    std::string header;
    std::vector<Field> fields;
  };
  std::vector<Section> sections;
  for (const std::string& text : texts) {
    std::string_view t = text;
    Section* cur = nullptr;
    while (!t.empty()) {
      std::size_t eol = t.find("\r\n");
      std::string_view line = t.substr(0, eol);
      t = eol == std::string_view::npos ? std::string_view() : t.substr(eol + 2);
      if (line.empty()) continue;
      if (line.front() == '#') {
        cur = nullptr;
        for (Section& sec : sections) {
          if (sec.header == line) cur = &sec;
        }
        if (cur == nullptr) {
          sections.push_back({std::string(line), {}});
          cur = &sections.back();
        }
        continue;
      }
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || cur == nullptr) continue;
      std::string_view name = line.substr(0, colon);
      Field* f = nullptr;
      for (Field& x : cur->fields) {
        if (x.name == name) f = &x;
      }
      if (f == nullptr) {
        cur->fields.push_back({std::string(name), {}});
        f = &cur->fields.back();
      }
      f->values.emplace_back(line.substr(colon + 1));
    }
  }
  std::string out;
  std::vector<std::pair<std::string, int64_t>> counts;
  for (const Section& sec : sections) {
    if (!out.empty()) out += "\r\n";
    out += sec.header + "\r\n";
    for (const Field& f : sec.fields) {
      bool all_int = f.name != "maxmemory";
      bool all_counts = true;
      bool all_same = true;
      int64_t sum = 0;
      std::vector<std::pair<std::string, int64_t>> summed;
      double ttl_weight = 0;
      for (const std::string& v : f.values) {
        int64_t x = 0;
        if (IsInteger(v, &x)) {
          sum += x;
        } else {
          all_int = false;
        }
        if (v != f.values[0]) all_same = false;
        if (all_counts && ParseCounts(v, &counts)) {
          if (summed.empty()) {
            for (const auto& c : counts) summed.emplace_back(c.first, 0);
          }
          if (counts.size() != summed.size()) {
            all_counts = false;
            continue;
          }
          int64_t expires = 0;
          for (std::size_t i = 0; i < counts.size(); ++i) {
            if (counts[i].first != summed[i].first) all_counts = false;
            if (counts[i].first == "expires") expires = counts[i].second;
            if (counts[i].first == "avg_ttl") {
              ttl_weight += static_cast<double>(expires) * static_cast<double>(counts[i].second);
            } else {
              summed[i].second += counts[i].second;
            }
          }
        } else {
          all_counts = false;
        }
      }
      std::string value;
      if (all_int && f.name != "maxmemory") {
        value = std::to_string(sum);
      } else if (all_counts && !summed.empty() && !all_int) {
        int64_t expires = 0;
        for (const auto& c : summed) {
          if (c.first == "expires") expires = c.second;
        }
        for (const auto& c : summed) {
          int64_t x = c.second;
          if (c.first == "avg_ttl") {
            x = expires > 0 ? static_cast<int64_t>(ttl_weight / static_cast<double>(expires)) : 0;
          }
          if (!value.empty()) value += ',';
          value += c.first + "=" + std::to_string(x);
        }
      } else if (all_same && f.values.size() == texts.size()) {
        value = f.values[0];
      } else {
        continue;
      }
      out += f.name + ":" + value + "\r\n";
    }
  }
  return out;
}

class MemoryCluster final : public MemoryClusterBackend {
 public:
  explicit MemoryCluster(std::shared_ptr<const ClusterTopology> topology)
      : topology_(std::move(topology)) {}

  // One store per node; the first bad option fails them all.
  Status Init(const MemoryBackendOptions& options) {
    for (std::size_t i = 0; i < topology_->ranges.size(); ++i) {
      MemoryBackendOptions node = options;
      node.cluster_nodes = 0;
      node.seed = options.seed + i;
      nodes_.push_back(std::make_unique<ClusterNode>(static_cast<int>(i), topology_));
      STORMKV_RETURN_IF_ERROR(nodes_.back()->Init(node));
    }
    return Status::Ok();
  }

  Result<Reply> Run(const Command& argv) override {
    CommandKeys keys = memstore::KeysOf(argv);
    switch (keys.route) {
      case ClusterRoute::kKeyed:
      case ClusterRoute::kScript: {
        const int slot = memstore::SlotOfKeys(argv, keys.positions);
        if (slot == -2) return Status::InvalidArgument(std::string(memstore::kErrCrossSlot));
        return Owner(slot).RunChecked(argv, keys);
      }
      case ClusterRoute::kCluster:
        return RunCluster(argv, keys);
      case ClusterRoute::kFanOut:
        return RunFanOut(argv, keys);
      case ClusterRoute::kSelect:
      case ClusterRoute::kKeyless:
        return nodes_[0]->RunChecked(argv, keys);
    }
    return Status::Internal("unknown cluster route");
  }

  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override {
    std::vector<Result<Reply>> out;
    out.reserve(cmds.size());
    for (const Command& c : cmds) out.push_back(Run(c));
    return out;
  }

  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override {
    const int slot = memstore::SlotOfKeyList(keys);
    if (slot == -2) return Status::InvalidArgument(std::string(memstore::kErrCrossSlot));
    return Owner(slot).EvalChecked(script, keys, args);
  }

  std::string Describe() const override {
    return "memory://?cluster=" + std::to_string(nodes_.size());
  }

  std::vector<MemoryClusterNode> Nodes() const override {
    std::vector<MemoryClusterNode> out;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      MemoryClusterNode n;
      n.index = static_cast<int>(i);
      n.id = topology_->ids[i];
      n.address = topology_->addresses[i];
      n.slots = topology_->ranges[i];
      n.backend = nodes_[i].get();
      out.push_back(std::move(n));
    }
    return out;
  }

  int NodeOfSlot(int slot) const override {
    if (slot < 0 || slot >= kHashSlots) return -1;
    return topology_->owner[static_cast<std::size_t>(slot)];
  }

 private:
  ClusterNode& Owner(int slot) {
    if (slot < 0) return *nodes_[0];
    return *nodes_[topology_->owner[static_cast<std::size_t>(slot)]];
  }

  Result<Reply> RunCluster(const Command& argv, const CommandKeys& keys) {
    if (argv.size() >= 3) {
      const std::string sub = memstore::LowerName(argv[1]);
      if (sub == "countkeysinslot" || sub == "getkeysinslot") {
        int64_t slot = 0;
        if (IsInteger(argv[2], &slot) && slot >= 0 && slot < kHashSlots) {
          return Owner(static_cast<int>(slot)).ClusterCommand(argv);
        }
      }
    }
    return nodes_[0]->RunChecked(argv, keys);
  }

  Result<Reply> RunFanOut(const Command& argv, const CommandKeys& keys) {
    const std::string name = memstore::LowerName(argv[0]);
    if (name == "scan") return Scan(argv);
    std::vector<Result<Reply>> replies;
    replies.reserve(nodes_.size());
    if (name == "config" && argv.size() >= 2 && memstore::LowerName(argv[1]) == "get") {
      for (auto& n : nodes_) replies.push_back(n->RunChecked(argv, keys));
      for (const Result<Reply>& r : replies) {
        if (!r.ok()) return r;
      }
      for (std::size_t i = 1; i < replies.size(); ++i) {
        if (!(*replies[i] == *replies[0])) {
          std::string msg = "CONFIG GET " + (argv.size() > 2 ? argv[2] : std::string()) +
                            ": the nodes disagree:";
          for (std::size_t j = 0; j < replies.size(); ++j) {
            msg += " " + topology_->addresses[j] + "=" + replies[j]->ToString();
          }
          return Status::ServerError(msg);
        }
      }
      return replies[0];
    }
    for (auto& n : nodes_) replies.push_back(n->RunChecked(argv, keys));
    if (name == "dbsize") {
      int64_t sum = 0;
      for (const Result<Reply>& r : replies) {
        if (!r.ok()) return r;
        if (r->is_integer()) sum += r->integer();
      }
      return Reply::Integer(sum);
    }
    if (name == "info") {
      std::vector<std::string> texts;
      for (const Result<Reply>& r : replies) {
        if (!r.ok()) return r;
        texts.push_back(r->str());
      }
      std::string merged = MergeInfo(texts);
      for (std::size_t i = 0; i < texts.size(); ++i) {
        const std::string p = "node" + std::to_string(i) + "_";
        merged += "\r\n# Node " + std::to_string(i) + "\r\n" + p + "address:" +
                  topology_->addresses[i] + "\r\n";
        std::string_view t = texts[i];
        while (!t.empty()) {
          std::size_t eol = t.find("\r\n");
          std::string_view line = t.substr(0, eol);
          t = eol == std::string_view::npos ? std::string_view() : t.substr(eol + 2);
          if (line.empty() || line.front() == '#') continue;
          merged += p;
          merged.append(line);
          merged += "\r\n";
        }
      }
      return Reply::Bulk(std::move(merged));
    }
    if (name == "keys") {
      std::vector<Reply> all;
      for (const Result<Reply>& r : replies) {
        if (!r.ok()) return r;
        for (const Reply& k : r->elements()) all.push_back(k);
      }
      return Reply::Array(std::move(all));
    }
    // FLUSHDB, FLUSHALL, CONFIG SET/RESETSTAT, SCRIPT, DEBUG: the first error, else node 0's reply.
    for (const Result<Reply>& r : replies) {
      if (!r.ok()) return r;
    }
    return replies[0];
  }

  // SCAN over every node: cursor = node_cursor * 16384 + the first slot of the node scanned.
  Result<Reply> Scan(const Command& argv) {
    if (argv.size() < 2) return StatusFromErrorReply("ERR wrong number of arguments for 'scan' command");
    uint64_t cursor = 0;
    const std::string& cs = argv[1];
    auto [p, ec] = std::from_chars(cs.data(), cs.data() + cs.size(), cursor);
    if (cs.empty() || ec != std::errc() || p != cs.data() + cs.size()) {
      return StatusFromErrorReply("ERR invalid cursor");
    }
    const int first_slot = static_cast<int>(cursor % kHashSlots);
    std::size_t node = topology_->owner[static_cast<std::size_t>(first_slot)];
    if (topology_->ranges[node].first != first_slot) return StatusFromErrorReply("ERR invalid cursor");
    Command sub = argv;
    uint64_t node_cursor = cursor / kHashSlots;
    // A node that is done without a key hands over to the next one in the same call, so an
    // empty cluster answers ["0", []] as an empty server does.
    while (true) {
      sub[1] = std::to_string(node_cursor);
      Result<Reply> r = nodes_[node]->store().Run(sub);
      if (!r.ok()) return r;
      if (!r->is_array() || r->elements().size() != 2) {
        return Status::Internal("SCAN: unexpected reply");
      }
      uint64_t next = 0;
      const std::string& ns = r->elements()[0].str();
      std::from_chars(ns.data(), ns.data() + ns.size(), next);
      const bool empty = r->elements()[1].elements().empty();
      if (next == 0 && empty && node + 1 < nodes_.size()) {
        ++node;
        node_cursor = 0;
        continue;
      }
      uint64_t composite = 0;
      if (next != 0) {
        composite = next * kHashSlots + static_cast<uint64_t>(topology_->ranges[node].first);
      } else if (node + 1 < nodes_.size()) {
        composite = static_cast<uint64_t>(topology_->ranges[node + 1].first);
      }
      std::vector<Reply> out;
      out.push_back(Reply::Bulk(std::to_string(composite)));
      out.push_back(std::move(r->elements()[1]));
      return Reply::Array(std::move(out));
    }
  }

  std::shared_ptr<const ClusterTopology> topology_;
  std::vector<std::unique_ptr<ClusterNode>> nodes_;
};

}  // namespace

Result<std::unique_ptr<KvBackend>> NewMemoryClusterBackend(MemoryBackendOptions options) {
  Result<std::vector<ClusterSlotRange>> ranges = ClusterCreateSlotRanges(options.cluster_nodes);
  if (!ranges.ok()) {
    return Status::InvalidArgument("memory cluster: cluster_nodes: " + ranges.status().message());
  }
  const std::size_t n = ranges->size();
  if (!options.cluster_addresses.empty() && options.cluster_addresses.size() != n) {
    return Status::InvalidArgument("memory cluster: cluster_addresses has " +
                                   std::to_string(options.cluster_addresses.size()) +
                                   " entries for " + std::to_string(n) + " nodes");
  }
  auto topology = std::make_shared<ClusterTopology>();
  for (std::size_t i = 0; i < n; ++i) {
    std::string host = "127.0.0.1";
    int64_t port = 30001 + static_cast<int64_t>(i);
    if (!options.cluster_addresses.empty()) {
      const std::string& a = options.cluster_addresses[i];
      const std::size_t colon = a.rfind(':');
      if (colon == std::string::npos || colon == 0 || !IsInteger(std::string_view(a).substr(colon + 1), &port) ||
          port < 1 || port > 65535) {
        return Status::InvalidArgument("memory cluster: cluster_addresses[" + std::to_string(i) +
                                       "] = '" + a + "': expected host:port (port 1..65535)");
      }
      host = a.substr(0, colon);
    }
    topology->hosts.push_back(host);
    topology->ports.push_back(static_cast<int>(port));
    topology->addresses.push_back(host + ":" + std::to_string(port));
  }
  topology->ranges = std::move(*ranges);
  topology->owner.assign(kHashSlots, 0);
  topology->strict_scripts = options.cluster_strict_scripts;
  for (std::size_t i = 0; i < topology->ranges.size(); ++i) {
    for (int s = topology->ranges[i].first; s <= topology->ranges[i].last; ++s) {
      topology->owner[static_cast<std::size_t>(s)] = static_cast<uint16_t>(i);
    }
    topology->ids.push_back(NodeId(static_cast<int>(i)));
  }
  auto cluster = std::make_unique<MemoryCluster>(std::move(topology));
  STORMKV_RETURN_IF_ERROR(cluster->Init(options));
  return std::unique_ptr<KvBackend>(std::move(cluster));
}

MemoryClusterBackend* AsMemoryClusterBackend(KvBackend* kv) {
  return dynamic_cast<MemoryClusterBackend*>(kv);
}

}  // namespace stormkv
