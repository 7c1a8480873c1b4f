#include "triage_cluster.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/memory_cluster.h"
#include "stormkv/redis_backend.h"
#include "stormkv/redis_cluster_backend.h"
#include "table.h"
#include "units.h"

namespace stormkv::cli {
namespace {

int64_t Round(double v) { return static_cast<int64_t>(v + 0.5); }

std::string RangesText(const std::vector<std::pair<int, int>>& ranges, int64_t* count) {
  std::string out;
  *count = 0;
  for (const auto& [first, last] : ranges) {
    if (!out.empty()) out += ",";
    out += first == last ? std::to_string(first)
                         : std::to_string(first) + "-" + std::to_string(last);
    *count += last - first + 1;
  }
  return out;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

int64_t FieldNum(const std::map<std::string, std::string>& f, const std::string& name) {
  auto it = f.find(name);
  if (it == f.end() || it->second.empty()) return -1;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  return end == it->second.c_str() ? -1 : v;
}

std::string FieldStr(const std::map<std::string, std::string>& f, const std::string& name) {
  auto it = f.find(name);
  return it == f.end() ? std::string() : it->second;
}

std::string NodeName(const NodeTriage& n) {
  return "node " + std::to_string(n.node) + " (" + n.address + ")";
}

std::string Ratio(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", x);
  return buf;
}

void ReadClusterInfo(KvBackend& kv, NodeTriage& n) {
  Result<Reply> info = kv.Run({"CLUSTER", "INFO"});
  if (!info.ok() || !info->is_bulk()) return;
  std::map<std::string, std::string> f = ParseInfo(info->str());
  n.cluster_state = FieldStr(f, "cluster_state");
  n.slots_assigned = FieldNum(f, "cluster_slots_assigned");
  n.slots_ok = FieldNum(f, "cluster_slots_ok");
  n.slots_pfail = FieldNum(f, "cluster_slots_pfail");
  n.slots_fail = FieldNum(f, "cluster_slots_fail");
  n.known_nodes = FieldNum(f, "cluster_known_nodes");
}

void VisitReplica(const ClusterTriageOptions& options, ReplicaTriage& rep) {
  if (!options.connect) return;
  Result<std::unique_ptr<KvBackend>> kv = options.connect(rep.address);
  if (!kv.ok()) {
    rep.error = kv.status().message();
    return;
  }
  std::unique_ptr<KvBackend> ro = MakeReadOnlyBackend(kv->get());
  std::map<std::string, std::string> info;
  for (const char* section : {"memory", "replication"}) {
    auto part = ro->Info(section);
    if (!part.ok()) {
      rep.error = std::string("INFO ") + section + ": " + part.status().message();
      return;
    }
    info.insert(part->begin(), part->end());
  }
  rep.visited = true;
  rep.master_link = FieldStr(info, "master_link_status");
  rep.used_memory = FieldNum(info, "used_memory");
  rep.maxmemory = FieldNum(info, "maxmemory");
  rep.policy = FieldStr(info, "maxmemory_policy");
}

// The families of one node by label.
std::map<std::string, const FamilyUsage*> FamiliesByLabel(const TriageReport& r) {
  std::map<std::string, const FamilyUsage*> out;
  for (const FamilyUsage& f : r.families) out[f.label] = &f;
  return out;
}

// Why `hot` is hot in `metric` (keys when by_keys, else bytes): the families above their mean
// per master and the hash tags holding a share of the excess.
std::string HotReasons(const ClusterTriageReport& r, const NodeTriage& hot,
                       const std::vector<const NodeTriage*>& live, bool by_keys) {
  const double count = static_cast<double>(live.size());
  auto value = [&](const FamilyUsage* f) {
    return f == nullptr ? 0.0 : by_keys ? static_cast<double>(f->keys) : f->bytes;
  };
  auto text = [&](double v) {
    return by_keys ? FormatCount(Round(v)) + " keys" : FormatBytes(Round(v));
  };
  std::map<std::string, const FamilyUsage*> mine = FamiliesByLabel(hot.report);
  std::vector<std::pair<double, std::string>> fams;  // excess, label
  std::set<std::string> labels;
  for (const NodeTriage* n : live) {
    for (const FamilyUsage& f : n->report.families) labels.insert(f.label);
  }
  for (const std::string& label : labels) {
    double sum = 0;
    for (const NodeTriage* n : live) {
      std::map<std::string, const FamilyUsage*> theirs = FamiliesByLabel(n->report);
      auto it = theirs.find(label);
      sum += value(it == theirs.end() ? nullptr : it->second);
    }
    auto it = mine.find(label);
    const double excess = value(it == mine.end() ? nullptr : it->second) - sum / count;
    if (excess > 0) fams.emplace_back(excess, label);
  }
  std::sort(fams.begin(), fams.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  const double node_value = by_keys ? static_cast<double>(hot.report.keys_scanned)
                                    : hot.report.total_key_bytes;
  double total = 0;
  for (const NodeTriage* n : live) {
    total += by_keys ? static_cast<double>(n->report.keys_scanned) : n->report.total_key_bytes;
  }
  const double node_excess = node_value - total / count;
  std::string out = "the families above their mean per master: ";
  for (std::size_t i = 0; i < fams.size() && i < 3; ++i) {
    out += (i ? ", " : "") + fams[i].second + " +" + text(fams[i].first);
  }
  if (fams.empty()) out += "none";
  out += "; ";
  const std::vector<TagUsage>& tags =
      by_keys ? hot.report.top_tags_by_keys : hot.report.top_tags_by_bytes;
  std::string named;
  int shown = 0;
  for (const TagUsage& t : tags) {
    const double v = by_keys ? static_cast<double>(t.keys) : t.bytes;
    if (shown == 3 || node_excess <= 0 || v < 0.1 * node_excess) break;
    named += (shown ? ", " : "") + std::string("{") + t.tag + "} " + text(v) + " (" +
             FormatPercent(v / node_value) + " of the node's)";
    ++shown;
  }
  if (shown > 0) {
    out += "the hash tags that make it hot (all keys of a tag share one slot): " + named +
           ". Give those keys tags that spread (stormkv tags storm keys by namespace and alert "
           "name), or move slots off this master (redis-cli --cluster reshard).";
  } else {
    out += "no single hash tag stands out";
    if (r.nodes.size() > 0 && hot.slot_count > 0) {
      out += "; it owns " + FormatCount(hot.slot_count) + " of 16,384 slots (" +
             FormatPercent(static_cast<double>(hot.slot_count) / kHashSlots) + ")";
    }
    out += ": rebalance the slots (redis-cli --cluster rebalance) or check which slots are "
           "busiest (CLUSTER COUNTKEYSINSLOT).";
  }
  return out;
}

std::string PercentEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::function<Result<std::unique_ptr<KvBackend>>(const std::string& address)> ReplicaConnector(
    const std::string& url) {
  Result<RedisClusterSeeds> seeds = ParseRedisClusterUrl(url);
  if (!seeds.ok()) return {};
  std::string auth;
  if (!seeds->password.empty()) {
    auth = PercentEncode(seeds->user) + ":" + PercentEncode(seeds->password) + "@";
  }
  return [auth](const std::string& address) -> Result<std::unique_ptr<KvBackend>> {
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Status::InvalidArgument("not a host:port address: '" + address + "'");
    }
    std::string host = address.substr(0, colon);
    if (host.find(':') != std::string::npos) host = "[" + host + "]";  // IPv6
    RedisOptions o;
    o.url = "redis://" + auth + host + address.substr(colon) + "/0";
    o.pool_size = 1;
    return NewRedisBackend(o);
  };
}

bool ClusterNodesEntry::master() const { return flags.find("master") != std::string::npos; }
bool ClusterNodesEntry::failed() const { return flags.find("fail") != std::string::npos; }

std::vector<ClusterNodesEntry> ParseClusterNodes(const std::string& text) {
  std::vector<ClusterNodesEntry> out;
  for (const std::string& line : Split(text, '\n')) {
    std::vector<std::string> f = Split(line, ' ');
    if (f.size() < 8) continue;
    ClusterNodesEntry e;
    e.id = f[0];
    e.address = f[1].substr(0, f[1].find('@'));
    e.flags = f[2];
    e.master_id = f[3];
    e.link_state = f[7];
    for (std::size_t i = 8; i < f.size(); ++i) e.slots += (i > 8 ? "," : "") + f[i];
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ClusterMember> ClusterMembers(KvBackend& kv) {
  std::vector<ClusterMember> out;
  if (RedisClusterBackend* rc = AsRedisClusterBackend(&kv)) {
    for (const RedisClusterNode& n : rc->Nodes()) {
      ClusterMember m;
      m.address = n.address;
      m.slots = RangesText(n.slots, &m.slot_count);
      m.backend = n.backend;
      out.push_back(std::move(m));
    }
  } else if (MemoryClusterBackend* mc = AsMemoryClusterBackend(&kv)) {
    for (const MemoryClusterNode& n : mc->Nodes()) {
      ClusterMember m;
      m.address = n.address;
      m.slots = RangesText({{n.slots.first, n.slots.last}}, &m.slot_count);
      m.backend = n.backend;
      out.push_back(std::move(m));
    }
  }
  return out;
}

void MergeNodeReports(ClusterTriageReport& report, const TriageOptions& options) {
  TriageReport& t = report.total;
  t = TriageReport();
  t.backend = report.backend;
  t.dbsize = 0;
  std::map<std::string, FamilyUsage> fams;
  std::vector<TagUsage> tags_keys, tags_bytes;
  MemoryInfo& m = t.memory;
  m = MemoryInfo();
  auto add = [](int64_t& into, int64_t v) {
    if (v >= 0) into = (into < 0 ? 0 : into) + v;
  };
  bool all_maxmemory = true;
  std::set<std::string> policies, versions;
  for (const NodeTriage& n : report.nodes) {
    if (!n.reachable) continue;
    const TriageReport& r = n.report;
    t.dbsize += std::max<int64_t>(r.dbsize, 0);
    t.keys_scanned += r.keys_scanned;
    t.keys_inspected += r.keys_inspected;
    t.sampled = t.sampled || r.sampled;
    t.memory_usage_supported = t.memory_usage_supported && r.memory_usage_supported;
    for (const FamilyUsage& f : r.families) {
      FamilyUsage& u = fams[f.label];
      u.label = f.label;
      u.is_stormkv = f.is_stormkv;
      u.keys += f.keys;
      u.inspected_keys += f.inspected_keys;
      u.bytes += f.bytes;
      u.no_ttl_keys += f.no_ttl_keys;
      u.no_ttl_bytes += f.no_ttl_bytes;
    }
    t.total_key_bytes += r.total_key_bytes;
    t.no_ttl_keys += r.no_ttl_keys;
    t.no_ttl_bytes += r.no_ttl_bytes;
    t.stormkv_no_ttl_keys += r.stormkv_no_ttl_keys;
    t.stormkv_no_ttl_bytes += r.stormkv_no_ttl_bytes;
    for (KeyInfo k : r.top_keys) {
      k.node = n.node;
      t.top_keys.push_back(std::move(k));
    }
    for (KeyInfo k : r.big_keys) {
      k.node = n.node;
      t.big_keys.push_back(std::move(k));
    }
    tags_keys.insert(tags_keys.end(), r.top_tags_by_keys.begin(), r.top_tags_by_keys.end());
    tags_bytes.insert(tags_bytes.end(), r.top_tags_by_bytes.begin(), r.top_tags_by_bytes.end());
    const MemoryInfo& nm = r.memory;
    add(m.used_memory, nm.used_memory);
    add(m.used_memory_peak, nm.used_memory_peak);
    add(m.used_memory_rss, nm.used_memory_rss);
    add(m.dataset, nm.dataset);
    add(m.overhead, nm.overhead);
    add(m.startup, nm.startup);
    add(m.scripts, nm.scripts);
    add(m.lua_vm, nm.lua_vm);
    add(m.cached_scripts, nm.cached_scripts);
    add(m.clients_normal, nm.clients_normal);
    add(m.clients_replicas, nm.clients_replicas);
    add(m.evicted_keys, nm.evicted_keys);
    add(m.oom_rejections, nm.oom_rejections);
    if (nm.maxmemory > 0) {
      add(m.maxmemory, nm.maxmemory);
    } else {
      all_maxmemory = false;
    }
    policies.insert(nm.policy);
    versions.insert(nm.redis_version);
  }
  if (!all_maxmemory) m.maxmemory = 0;  // one master without a limit: the cluster has none
  m.policy = policies.size() == 1 ? *policies.begin() : "mixed";
  m.redis_version = versions.size() == 1 ? *versions.begin() : "mixed";
  if (m.used_memory > 0 && m.used_memory_rss > 0) {
    m.fragmentation_ratio =
        static_cast<double>(m.used_memory_rss) / static_cast<double>(m.used_memory);
  }
  for (auto& [label, f] : fams) t.families.push_back(f);
  std::sort(t.families.begin(), t.families.end(), [](const FamilyUsage& a, const FamilyUsage& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    if (a.keys != b.keys) return a.keys > b.keys;
    return a.label < b.label;
  });
  auto by_bytes = [](const KeyInfo& a, const KeyInfo& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.key < b.key;
  };
  std::sort(t.top_keys.begin(), t.top_keys.end(), by_bytes);
  t.top_keys.resize(std::min<std::size_t>(t.top_keys.size(), std::max(options.top, 0)));
  std::sort(t.big_keys.begin(), t.big_keys.end(), by_bytes);
  const std::size_t top_tags = static_cast<std::size_t>(std::max(options.top_tags, 0));
  std::sort(tags_keys.begin(), tags_keys.end(), [](const TagUsage& a, const TagUsage& b) {
    return a.keys != b.keys ? a.keys > b.keys : a.tag < b.tag;
  });
  tags_keys.resize(std::min(tags_keys.size(), top_tags));
  std::sort(tags_bytes.begin(), tags_bytes.end(), [](const TagUsage& a, const TagUsage& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.tag < b.tag;
  });
  tags_bytes.resize(std::min(tags_bytes.size(), top_tags));
  t.top_tags_by_keys = std::move(tags_keys);
  t.top_tags_by_bytes = std::move(tags_bytes);
  t.findings = AnalyzeKeyFindings(t, options);
}

std::vector<Finding> AnalyzeClusterFindings(const ClusterTriageReport& r,
                                            const TriageOptions& options) {
  std::vector<Finding> out;
  auto add = [&](Severity s, std::string code, std::string msg, int node) {
    out.push_back({s, std::move(code), std::move(msg), node});
  };
  std::vector<const NodeTriage*> live;
  for (const NodeTriage& n : r.nodes) {
    if (!n.reachable) {
      add(Severity::kError, "node-unreachable",
          NodeName(n) + ", master of slots " + n.slots + ", did not answer: " + n.error +
              ". Its keys are not in this report, and the gateway's writes to its slots fail.",
          n.node);
      continue;
    }
    live.push_back(&n);
    if (!n.cluster_state.empty() && n.cluster_state != "ok") {
      add(Severity::kError, "cluster-state",
          NodeName(n) + " reports cluster_state:" + n.cluster_state + " (slots assigned " +
              std::to_string(n.slots_assigned) + ", ok " + std::to_string(n.slots_ok) +
              ", pfail " + std::to_string(n.slots_pfail) + ", fail " +
              std::to_string(n.slots_fail) +
              "): it refuses every command with CLUSTERDOWN, so the gateway's writes fail. "
              "Check CLUSTER NODES for failed masters without a replica to promote.",
          n.node);
    } else if (n.cluster_state == "ok" &&
               (n.slots_fail > 0 || n.slots_pfail > 0 ||
                (n.slots_assigned >= 0 && n.slots_assigned < kHashSlots))) {
      add(Severity::kWarning, "cluster-state",
          NodeName(n) + " reports cluster_state:ok but slots assigned " +
              std::to_string(n.slots_assigned) + " of 16384, pfail " +
              std::to_string(n.slots_pfail) + ", fail " + std::to_string(n.slots_fail) +
              ": keys of the missing or failing slots cannot be read or written.",
          n.node);
    }
  }
  if (r.topology_known) {
    for (const NodeTriage* n : live) {
      int healthy = 0;
      for (const ReplicaTriage& rep : n->replicas) healthy += rep.healthy;
      if (healthy > 0) continue;
      std::string why = n->replicas.empty() ? "has no replica"
                                            : "has no healthy replica (" +
                                                  std::to_string(n->replicas.size()) +
                                                  " listed, each failed, disconnected or with "
                                                  "its replication link down)";
      add(Severity::kWarning, "master-without-replica",
          NodeName(*n) + ", master of slots " + n->slots + ", " + why +
              ": if it fails, its slots have no copy to promote and the cluster goes down "
              "(cluster-require-full-coverage) or loses those slots' keys.",
          n->node);
    }
  }
  if (live.size() > 1) {
    std::set<int64_t> maxmemories;
    std::set<std::string> policies;
    for (const NodeTriage* n : live) {
      maxmemories.insert(n->report.memory.maxmemory);
      policies.insert(n->report.memory.policy);
    }
    if (maxmemories.size() > 1 || policies.size() > 1) {
      std::string list;
      for (const NodeTriage* n : live) {
        const MemoryInfo& m = n->report.memory;
        list += (list.empty() ? "" : "; ") + NodeName(*n) + " maxmemory " +
                (m.maxmemory == 0 ? std::string("unlimited") : FormatBytes(m.maxmemory)) + " " +
                (m.policy.empty() ? std::string("?") : m.policy);
      }
      std::string what = maxmemories.size() > 1 && policies.size() > 1 ? "maxmemory and policy"
                         : maxmemories.size() > 1                        ? "maxmemory"
                                                                         : "maxmemory-policy";
      std::string why;
      if (maxmemories.size() > 1) {
        why += " Every master holds about the same share of the gateway's keys, so the smallest "
               "maxmemory is the cluster's real budget: that master fills up first.";
      }
      if (policies.size() > 1) {
        why += " When full, a master with another policy behaves differently (one refuses "
               "writes with OOM, another silently evicts gateway state).";
      }
      add(Severity::kWarning, "maxmemory-differs",
          "The masters' " + what + " differ: " + list + "." + why +
              " CONFIG SET the same values on every master (and its replicas), and put them "
              "in each node's redis.conf.",
          -1);
    }
  }
  int64_t keys = 0;
  double bytes = 0;
  for (const NodeTriage* n : live) {
    keys += n->report.keys_scanned;
    bytes += n->report.total_key_bytes;
  }
  if (live.size() > 1 && keys >= options.hot_shard_min_keys) {
    const double count = static_cast<double>(live.size());
    const double mean_keys = static_cast<double>(keys) / count, mean_bytes = bytes / count;
    for (const NodeTriage* n : live) {
      const double kr = static_cast<double>(n->report.keys_scanned) / mean_keys;
      const double br = mean_bytes > 0 ? n->report.total_key_bytes / mean_bytes : 0;
      if (kr < options.hot_shard_ratio && br < options.hot_shard_ratio) continue;
      const bool by_keys = kr >= br;
      add(Severity::kWarning, "hot-shard",
          NodeName(*n) + ", master of slots " + n->slots + ", is a hot shard: it holds " +
              Ratio(kr) + " the mean keys per master (" + FormatCount(n->report.keys_scanned) +
              " of " + FormatCount(keys) + ") and " + Ratio(br) + " the mean key bytes (" +
              FormatBytes(Round(n->report.total_key_bytes)) + " of " +
              FormatBytes(Round(bytes)) + "); it fills up (and hits maxmemory) first. By " +
              (by_keys ? "keys" : "bytes") + ", " + HotReasons(r, *n, live, by_keys),
          n->node);
    }
  }
  SortFindings(out);
  return out;
}

Result<ClusterTriageReport> RunClusterTriage(const std::vector<ClusterMember>& members,
                                             const std::string& backend_description,
                                             const ClusterTriageOptions& options) {
  ClusterTriageReport r;
  r.backend = backend_description;
  Status first_error = Status::Ok();
  std::vector<ClusterNodesEntry> topology;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const ClusterMember& m = members[i];
    NodeTriage n;
    n.node = static_cast<int>(i);
    n.address = m.address;
    n.slots = m.slots;
    n.slot_count = m.slot_count;
    std::unique_ptr<KvBackend> ro = MakeReadOnlyBackend(m.backend);
    Result<TriageReport> report = RunTriage(*ro, options.triage);
    if (!report.ok()) {
      n.reachable = false;
      n.error = report.status().message();
      if (first_error.ok()) first_error = report.status().WithContext(m.address);
      r.nodes.push_back(std::move(n));
      continue;
    }
    n.report = std::move(report).value();
    n.report.findings = AnalyzeServerFindings(n.report, options.triage);
    for (Finding& f : n.report.findings) f.node = n.node;
    for (KeyInfo& k : n.report.top_keys) k.node = n.node;
    for (KeyInfo& k : n.report.big_keys) k.node = n.node;
    for (const std::string& note : n.report.notes) r.notes.push_back(NodeName(n) + ": " + note);
    ReadClusterInfo(*ro, n);
    Result<Reply> id = ro->Run({"CLUSTER", "MYID"});
    if (id.ok() && id->is_bulk()) n.id = id->str();
    if (topology.empty()) {
      Result<Reply> nodes = ro->Run({"CLUSTER", "NODES"});
      if (nodes.ok() && nodes->is_bulk()) topology = ParseClusterNodes(nodes->str());
    }
    r.nodes.push_back(std::move(n));
  }
  if (std::none_of(r.nodes.begin(), r.nodes.end(),
                   [](const NodeTriage& n) { return n.reachable; })) {
    return first_error.ok() ? Status::Unavailable("the cluster has no master") : first_error;
  }
  r.topology_known = !topology.empty();
  if (!r.topology_known) {
    r.notes.push_back("CLUSTER NODES was not answered: replicas are not known");
  }
  for (NodeTriage& n : r.nodes) {
    if (n.id.empty()) continue;
    for (const ClusterNodesEntry& e : topology) {
      if (e.master() || e.master_id != n.id) continue;
      ReplicaTriage rep;
      rep.address = e.address;
      rep.id = e.id;
      rep.flags = e.flags;
      rep.link_state = e.link_state;
      if (!e.failed()) VisitReplica(options, rep);
      rep.healthy = !e.failed() && e.link_state == "connected" &&
                    (!rep.visited || rep.master_link == "up");
      n.replicas.push_back(std::move(rep));
    }
  }
  MergeNodeReports(r, options.triage);
  r.findings = AnalyzeClusterFindings(r, options.triage);
  // A server finding every master shares word for word is reported once, for the cluster.
  std::map<std::tuple<int, std::string, std::string>, int> shared;
  int live = 0;
  for (const NodeTriage& n : r.nodes) {
    live += n.reachable;
    for (const Finding& f : n.report.findings) {
      ++shared[{static_cast<int>(f.severity), f.code, f.message}];
    }
  }
  for (const auto& [key, count] : shared) {
    if (count < live || live < 2) continue;
    r.findings.push_back({static_cast<Severity>(std::get<0>(key)), std::get<1>(key),
                          "every master: " + std::get<2>(key), -1});
  }
  for (NodeTriage& n : r.nodes) {
    for (Finding& f : n.report.findings) {
      f.message = NodeName(n) + ": " + f.message;
      if (live >= 2 && shared[{static_cast<int>(f.severity), f.code,
                               f.message.substr(NodeName(n).size() + 2)}] >= live) {
        continue;
      }
      r.findings.push_back(f);
    }
  }
  r.findings.insert(r.findings.end(), r.total.findings.begin(), r.total.findings.end());
  SortFindings(r.findings);
  return r;
}

std::string RenderClusterTriageText(const ClusterTriageReport& r, const TriageOptions&) {
  std::ostringstream os;
  os << "stormkv triage " << r.backend;
  if (!r.total.memory.redis_version.empty()) {
    os << " (Redis " << r.total.memory.redis_version << ")";
  }
  os << "\n\n";
  auto bytes = [](int64_t b) { return b < 0 ? std::string("?") : FormatBytes(b); };
  os << "Masters (INFO memory of each; keys and key bytes from SCAN and MEMORY USAGE)\n";
  Table t({"node", "address", "slots", "keys", "key bytes", "used_memory", "peak", "maxmemory",
           "policy", "replicas", "state"},
          3);
  for (const NodeTriage& n : r.nodes) {
    if (!n.reachable) {
      t.AddRow({std::to_string(n.node), n.address, n.slots, "?", "?", "?", "?", "?", "?", "?",
                "unreachable"});
      continue;
    }
    const MemoryInfo& m = n.report.memory;
    int healthy = 0;
    for (const ReplicaTriage& rep : n.replicas) healthy += rep.healthy;
    std::string max = m.maxmemory == 0 ? "unlimited" : bytes(m.maxmemory);
    if (m.maxmemory > 0 && m.used_memory >= 0) {
      max += " (" + FormatPercent(static_cast<double>(m.used_memory) /
                                  static_cast<double>(m.maxmemory)) +
             ")";
    }
    t.AddRow({std::to_string(n.node), n.address, n.slots,
              FormatCount(n.report.keys_scanned),
              (n.report.sampled ? "~" : "") + FormatBytes(Round(n.report.total_key_bytes)),
              bytes(m.used_memory), bytes(m.used_memory_peak), max,
              m.policy.empty() ? "?" : m.policy,
              r.topology_known ? std::to_string(healthy) + "/" + std::to_string(n.replicas.size())
                               : "?",
              n.cluster_state.empty() ? "?" : n.cluster_state});
  }
  t.AddSeparator();
  t.AddRow({"total", "", "", FormatCount(r.total.keys_scanned),
            (r.total.sampled ? "~" : "") + FormatBytes(Round(r.total.total_key_bytes)),
            bytes(r.total.memory.used_memory), "", "", "", "", ""});
  os << t.Render(2);

  bool any_replica = false;
  for (const NodeTriage& n : r.nodes) any_replica = any_replica || !n.replicas.empty();
  if (any_replica) {
    os << "\nReplicas (INFO only, no key is read)\n";
    Table rt({"replica", "of node", "flags", "link", "used_memory", "maxmemory", "policy"}, 1);
    for (const NodeTriage& n : r.nodes) {
      for (const ReplicaTriage& rep : n.replicas) {
        std::string link = rep.link_state;
        if (rep.visited) link += ", master_link " + rep.master_link;
        if (!rep.error.empty()) link += " (not visited: " + rep.error + ")";
        rt.AddRow({rep.address, std::to_string(n.node), rep.flags, link,
                   rep.visited ? bytes(rep.used_memory) : "?",
                   rep.visited ? (rep.maxmemory == 0 ? "unlimited" : bytes(rep.maxmemory)) : "?",
                   rep.visited ? rep.policy : "?"});
      }
    }
    os << rt.Render(2);
  }
  os << "\n" << RenderKeysSection(r.total);

  if (!r.total.families.empty()) {
    std::vector<std::string> headers = {"keys (bytes) by family"};
    for (const NodeTriage& n : r.nodes) headers.push_back("node " + std::to_string(n.node));
    Table f(headers);
    for (const FamilyUsage& fam : r.total.families) {
      std::vector<std::string> row = {fam.label};
      for (const NodeTriage& n : r.nodes) {
        std::string cell = n.reachable ? "0" : "?";
        for (const FamilyUsage& x : n.report.families) {
          if (x.label != fam.label) continue;
          cell = FormatCount(x.keys) + " (" + (x.inspected_keys < x.keys ? "~" : "") +
                 FormatBytes(Round(x.bytes)) + ")";
        }
        row.push_back(cell);
      }
      f.AddRow(row);
    }
    os << "\n" << f.Render(2);
  }
  bool any_tag = false;
  for (const NodeTriage& n : r.nodes) {
    any_tag = any_tag ||
              (!n.report.top_tags_by_keys.empty() && n.report.top_tags_by_keys[0].keys > 1);
  }
  if (any_tag) {
    os << "\nHash tags with the most keys (a tag's keys share one slot; tags of one key left out)\n";
    Table tt({"node", "tag", "keys", "bytes"}, 1);
    for (const NodeTriage& n : r.nodes) {
      for (std::size_t i = 0; i < n.report.top_tags_by_keys.size() && i < 3; ++i) {
        const TagUsage& tag = n.report.top_tags_by_keys[i];
        if (tag.keys < 2) break;
        std::string name = "{" + tag.tag + "}";
        if (name.size() > 50) name = name.substr(0, 47) + "...";
        tt.AddRow({std::to_string(n.node), name, FormatCount(tag.keys),
                   (tag.inspected_keys < tag.keys ? "~" : "") + FormatBytes(Round(tag.bytes))});
      }
    }
    os << tt.Render(2);
  }
  os << RenderTopKeys(r.total) << RenderNotes(r.notes) << RenderFindings(r.findings);
  return os.str();
}

nlohmann::ordered_json ClusterTriageJson(const ClusterTriageReport& r) {
  using json = nlohmann::ordered_json;
  const TriageReport& t = r.total;
  json j;
  j["backend"] = r.backend;
  j["redis_version"] = t.memory.redis_version;
  j["cluster"] = true;
  j["masters"] = r.nodes.size();
  json nodes = json::array();
  for (const NodeTriage& n : r.nodes) {
    json e;
    e["node"] = n.node;
    e["address"] = n.address;
    e["id"] = n.id;
    e["slots"] = n.slots;
    e["slot_count"] = n.slot_count;
    e["reachable"] = n.reachable;
    if (!n.reachable) e["error"] = n.error;
    e["cluster_state"] = n.cluster_state;
    e["cluster_slots_assigned"] = n.slots_assigned;
    e["cluster_slots_fail"] = n.slots_fail;
    e["cluster_slots_pfail"] = n.slots_pfail;
    e["dbsize"] = n.report.dbsize;
    e["keys"] = n.report.keys_scanned;
    e["keys_inspected"] = n.report.keys_inspected;
    e["sampled"] = n.report.sampled;
    e["key_bytes"] = Round(n.report.total_key_bytes);
    e["memory"] = MemoryJson(n.report.memory);
    e["families"] = FamiliesJson(n.report);
    e["top_tags"] = TagsJson(n.report.top_tags_by_keys);
    e["top_tags_by_bytes"] = TagsJson(n.report.top_tags_by_bytes);
    json reps = json::array();
    for (const ReplicaTriage& rep : n.replicas) {
      reps.push_back({{"address", rep.address},
                      {"id", rep.id},
                      {"flags", rep.flags},
                      {"link_state", rep.link_state},
                      {"visited", rep.visited},
                      {"error", rep.error},
                      {"master_link_status", rep.master_link},
                      {"used_memory", rep.used_memory},
                      {"maxmemory", rep.maxmemory},
                      {"maxmemory_policy", rep.policy},
                      {"healthy", rep.healthy}});
    }
    e["replicas"] = reps;
    std::vector<Finding> mine;
    for (const Finding& f : r.findings) {
      if (f.node == n.node) mine.push_back(f);
    }
    e["findings"] = FindingsJson(mine);
    nodes.push_back(std::move(e));
  }
  j["nodes"] = nodes;
  j["dbsize"] = t.dbsize;
  j["keys_scanned"] = t.keys_scanned;
  j["keys_inspected"] = t.keys_inspected;
  j["sampled"] = t.sampled;
  j["memory"] = MemoryJson(t.memory);
  j["families"] = FamiliesJson(t);
  j["total_key_bytes"] = Round(t.total_key_bytes);
  j["keys_without_ttl"] = {{"keys", Round(t.no_ttl_keys)},
                           {"bytes", Round(t.no_ttl_bytes)},
                           {"stormkv_keys", Round(t.stormkv_no_ttl_keys)},
                           {"stormkv_bytes", Round(t.stormkv_no_ttl_bytes)}};
  j["top_keys"] = KeysJson(t.top_keys);
  j["big_keys"] = KeysJson(t.big_keys);
  j["top_tags"] = TagsJson(t.top_tags_by_keys);
  j["findings"] = FindingsJson(r.findings);
  j["notes"] = r.notes;
  j["errors"] = HasErrors(r.findings);
  return j;
}

}  // namespace stormkv::cli
