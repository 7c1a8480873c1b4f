// The cluster backend's keyspace-wide commands: every master, one after the other.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "cluster_backend_impl.h"

namespace stormkv::redis_internal {
namespace {

bool ParseI64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool IsNumber(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string tmp(s);
  char* end = nullptr;
  *out = std::strtod(tmp.c_str(), &end);
  return end != nullptr && *end == '\0';
}

// Fields that describe a server rather than count something: never summed. Their value when
// every master agrees, else left out.
bool IsSetting(std::string_view name) {
  static const std::set<std::string_view> kSettings = {
      "maxmemory", "tcp_port", "process_id", "uptime_in_seconds", "uptime_in_days", "hz",
      "configured_hz", "lru_clock", "arch_bits", "server_time_usec", "cluster_enabled",
      "io_threads_active", "aof_enabled", "rdb_last_save_time", "total_system_memory",
      "redis_git_dirty", "atomicvar_api", "monotonic_clock", "lazyfree_pending_objects",
      "mem_allocator", "active_defrag_running", "loading", "async_loading", "rdb_bgsave_in_progress",
      "aof_rewrite_in_progress", "aof_rewrite_scheduled", "module_fork_in_progress",
      "master_repl_offset", "second_repl_offset", "repl_backlog_active", "repl_backlog_size",
      "repl_backlog_first_byte_offset", "repl_backlog_histlen", "io_threaded_reads_processed",
      "io_threaded_writes_processed"};
  return kSettings.count(name) != 0;
}

// One merged value of a field that `values.size()` of `masters` masters have.
//  * "k=v,k=v" lists (keyspace, errorstats, commandstats): integers summed, other numbers averaged
//    over the masters that have the field (avg_ttl weighted by expires), fields only some have
//    summed over those.
//  * settings (IsSetting): the common value, or nothing when the masters differ.
//  * integers: summed; other numbers: averaged; text: the common value, or nothing.
std::optional<std::string> MergeInfoValues(std::string_view name,
                                           const std::vector<std::string_view>& values,
                                           size_t masters) {
  if (values.empty()) return std::nullopt;
  bool all_equal = std::all_of(values.begin(), values.end(),
                               [&](std::string_view v) { return v == values.front(); });
  if (IsSetting(name)) {
    if (all_equal && values.size() == masters) return std::string(values.front());
    return std::nullopt;
  }
  std::string_view first = values.front();
  if (first.find('=') != std::string_view::npos) {
    // Subfield names in the first value's order; sums and counts per subfield.
    std::vector<std::string> names;
    std::map<std::string, std::vector<std::string_view>> parts;
    for (std::string_view v : values) {
      while (!v.empty()) {
        size_t comma = v.find(',');
        std::string_view item = v.substr(0, comma);
        size_t eq = item.find('=');
        if (eq == std::string_view::npos) return all_equal ? std::optional<std::string>(first)
                                                           : std::nullopt;
        std::string sub(item.substr(0, eq));
        if (parts.find(sub) == parts.end()) names.push_back(sub);
        parts[sub].push_back(item.substr(eq + 1));
        v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
      }
    }
    std::string out;
    for (const std::string& sub : names) {
      std::optional<std::string> m;
      if (sub == "avg_ttl" && parts.count("expires") != 0 &&
          parts["expires"].size() == parts[sub].size()) {
        int64_t weighted = 0, expires = 0;
        for (size_t i = 0; i < parts[sub].size(); ++i) {
          int64_t t = 0, e = 0;
          if (!ParseI64(parts[sub][i], &t) || !ParseI64(parts["expires"][i], &e)) break;
          weighted += t * e;
          expires += e;
        }
        m = std::to_string(expires > 0 ? weighted / expires : 0);
      } else {
        m = MergeInfoValues(sub, parts[sub], parts[sub].size());
      }
      if (!m) continue;
      if (!out.empty()) out += ",";
      out += sub + "=" + *m;
    }
    return out;
  }
  int64_t sum = 0;
  bool all_int = true;
  double dsum = 0;
  bool all_num = true;
  for (std::string_view v : values) {
    int64_t i = 0;
    double d = 0;
    if (ParseI64(v, &i)) {
      sum += i;
      dsum += static_cast<double>(i);
    } else if (IsNumber(v, &d)) {
      all_int = false;
      dsum += d;
    } else {
      all_int = all_num = false;
    }
  }
  if (all_int) return std::to_string(sum);
  if (all_num) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", dsum / static_cast<double>(values.size()));
    return std::string(buf);
  }
  if (all_equal) return std::string(first);
  return std::nullopt;
}

}  // namespace

Result<std::shared_ptr<const ClusterTopology>> ClusterBackend::MastersForFanOut() {
  BeforeCall();
  std::shared_ptr<const ClusterTopology> topo = topology();
  if (!topo || topo->masters.empty()) {
    STORMKV_RETURN_IF_ERROR(RefreshSince(generation_.load(std::memory_order_acquire), nullptr));
    topo = topology();
  }
  if (!topo || topo->masters.empty()) {
    return Status::Unavailable(seeds_text_ + ": no master in the slot map");
  }
  return topo;
}

Result<Reply> ClusterBackend::RunFanOut(FanOutKind kind, const Command& argv) {
  if (kind == FanOutKind::kScan) return Scan(argv);
  if (kind == FanOutKind::kInfo) return InfoAll(argv);
  if (kind == FanOutKind::kConfigGet) return ConfigGetAll(argv);
  // A master of the map that answers READONLY is a replica now (a failover the map has not seen),
  // one that refuses the connection may have been replaced: the map is refreshed and the whole
  // fan-out runs again on the new masters (so a fan-out command may run more than once on a
  // master; all of them are idempotent).
  // Right after a failover some nodes may still describe the old map: refreshed and retried with
  // backoff within retry_deadline.
  Backoff backoff(opts_);
  for (;;) {
    const uint64_t generation = generation_.load(std::memory_order_acquire);
    bool stale = false;
    Result<Reply> r = RunFanOutOnce(kind, argv, &stale);
    if (!stale) return r;
    (void)RefreshSince(generation, nullptr);
    if (!backoff.Next()) return r;
    retries_.fetch_add(1, std::memory_order_relaxed);
  }
}

Result<Reply> ClusterBackend::RunFanOutOnce(FanOutKind kind, const Command& argv, bool* stale) {
  *stale = false;
  Result<std::shared_ptr<const ClusterTopology>> topo = MastersForFanOut();
  if (!topo.ok()) return topo.status();
  std::optional<Reply> first;
  Status first_error;
  int64_t sum = 0;
  std::vector<Reply> keys;
  std::vector<Reply> exists;
  for (const ClusterMaster& m : (*topo)->masters) {
    bool sent = true;
    Result<Reply> r = m.node->Call(argv, false, &sent);
    if (!r.ok()) {
      // Every master is still tried (FLUSHDB empties what it can); the first error is reported.
      if (first_error.ok()) first_error = r.status();
      if (r.status().message().rfind("READONLY", 0) == 0 || (!sent && r.status().IsUnavailable())) {
        *stale = true;
      }
      continue;
    }
    switch (kind) {
      case FanOutKind::kDbSize:
        if (!r->is_integer()) return Status::Internal(m.address + ": DBSIZE answered " + r->ToString());
        sum += r->integer();
        break;
      case FanOutKind::kKeys:
        if (!r->is_array()) return Status::Internal(m.address + ": KEYS answered " + r->ToString());
        for (Reply& k : r->elements()) keys.push_back(std::move(k));
        break;
      case FanOutKind::kScriptExists:
        if (!r->is_array()) {
          return Status::Internal(m.address + ": SCRIPT EXISTS answered " + r->ToString());
        }
        if (exists.empty()) {
          exists = r->elements();
        } else {
          for (size_t i = 0; i < exists.size() && i < r->elements().size(); ++i) {
            if (r->elements()[i].integer() == 0) exists[i] = Reply::Integer(0);
          }
        }
        break;
      default:
        break;
    }
    if (!first) first = std::move(r).value();
  }
  if (!first_error.ok()) return first_error;
  switch (kind) {
    case FanOutKind::kDbSize:
      return Reply::Integer(sum);
    case FanOutKind::kKeys:
      return Reply::Array(std::move(keys));
    case FanOutKind::kScriptExists:
      return Reply::Array(std::move(exists));
    default:
      return std::move(*first);
  }
}

// SCAN cursor [MATCH p] [COUNT n] [TYPE t]. Cursor = node_cursor * 16384 + s (s: the lowest
// slot of the master being scanned).
Result<Reply> ClusterBackend::Scan(const Command& argv) {
  if (argv.size() < 2) return Status::InvalidArgument("ERR wrong number of arguments for 'scan' command");
  uint64_t cursor = 0;
  if (!ParseU64(argv[1], &cursor)) return Status::InvalidArgument("ERR invalid cursor");
  Result<std::shared_ptr<const ClusterTopology>> topo_r = MastersForFanOut();
  if (!topo_r.ok()) return topo_r.status();
  const ClusterTopology& topo = **topo_r;
  const ClusterMaster* m = nullptr;
  uint64_t node_cursor = 0;
  if (cursor == 0) {
    m = &topo.masters.front();
  } else {
    int slot = static_cast<int>(cursor % kClusterSlots);
    node_cursor = cursor / kClusterSlots;
    m = topo.OwnerOf(slot);
    if (m == nullptr) {
      return Status::Unavailable(seeds_text_ + ": SCAN: no master serves slot " +
                                 std::to_string(slot) + " (the cursor's master)");
    }
  }
  // A master finished with an empty page goes on to the next one in the same call, so an empty
  // cluster answers "0" at once and no page is empty only because a master was.
  Command node_cmd = argv;
  for (;;) {
    node_cmd[1] = std::to_string(node_cursor);
    bool sent = true;
    Result<Reply> r = m->node->Call(node_cmd, false, &sent);
    if (!r.ok()) return r.status();
    if (!r->is_array() || r->elements().size() != 2 || !r->elements()[1].is_array()) {
      return Status::Internal(m->address + ": SCAN answered " + r->ToString());
    }
    uint64_t next = 0;
    if (!ParseU64(r->elements()[0].str(), &next)) {
      return Status::Internal(m->address + ": SCAN answered the cursor " + r->elements()[0].str());
    }
    uint64_t composite = 0;
    const ClusterMaster* after = nullptr;
    if (next != 0) {
      if (next > (std::numeric_limits<uint64_t>::max() - kClusterSlots) / kClusterSlots) {
        return Status::Internal(m->address + ": SCAN cursor " + std::to_string(next) +
                                " too large to combine with a slot");
      }
      composite = next * kClusterSlots + static_cast<uint64_t>(m->min_slot);
    } else {
      // The next master in slot order; none left: done.
      for (const ClusterMaster& x : topo.masters) {
        if (x.min_slot > m->min_slot && (after == nullptr || x.min_slot < after->min_slot)) {
          after = &x;
        }
      }
      if (after != nullptr) composite = static_cast<uint64_t>(after->min_slot);
    }
    if (after != nullptr && r->elements()[1].elements().empty()) {
      m = after;
      node_cursor = 0;
      continue;
    }
    std::vector<Reply> out;
    out.push_back(Reply::Bulk(std::to_string(composite)));
    out.push_back(std::move(r->elements()[1]));
    return Reply::Array(std::move(out));
  }
}

Result<Reply> ClusterBackend::InfoAll(const Command& argv) {
  Result<std::shared_ptr<const ClusterTopology>> topo_r = MastersForFanOut();
  if (!topo_r.ok()) return topo_r.status();
  const ClusterTopology& topo = **topo_r;
  std::vector<std::string> texts;
  std::vector<std::map<std::string, std::string>> fields;
  for (const ClusterMaster& m : topo.masters) {
    bool sent = true;
    Result<Reply> r = m.node->Call(argv, false, &sent);
    if (!r.ok()) return r.status();
    if (!r->is_bulk() && !r->is_status()) {
      return Status::Internal(m.address + ": INFO answered " + r->ToString());
    }
    texts.push_back(r->str());
    fields.push_back(ParseInfo(texts.back()));
  }
  // Sections and field names in the order the first master gives them; fields that only other
  // masters have (an errorstat, a db line) join the section of the first master that has them.
  std::vector<std::pair<std::string, std::vector<std::string>>> sections;
  std::set<std::string> placed;
  for (const std::string& text : texts) {
    size_t section = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      if (line[0] == '#') {
        auto it = std::find_if(sections.begin(), sections.end(),
                               [&](const auto& x) { return x.first == line; });
        if (it == sections.end()) {
          sections.emplace_back(line, std::vector<std::string>{});
          it = sections.end() - 1;
        }
        section = static_cast<size_t>(it - sections.begin());
        continue;
      }
      std::string name = line.substr(0, line.find(':'));
      if (sections.empty()) sections.emplace_back("", std::vector<std::string>{});
      if (placed.insert(name).second) sections[section].second.push_back(name);
    }
  }
  std::string text;
  for (const auto& [header, names] : sections) {
    if (!header.empty()) text += header + "\r\n";
    for (const std::string& name : names) {
      std::vector<std::string_view> values;
      for (const auto& f : fields) {
        auto it = f.find(name);
        if (it != f.end()) values.push_back(it->second);
      }
      std::optional<std::string> merged = MergeInfoValues(name, values, fields.size());
      if (merged) text += name + ":" + *merged + "\r\n";
    }
  }
  text += "# Cluster nodes\r\ncluster_masters:" + std::to_string(topo.masters.size()) + "\r\n";
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string p = "node" + std::to_string(i) + "_";
    text += "# Node " + std::to_string(i) + "\r\n" + p + "address:" + topo.masters[i].address +
            "\r\n";
    for (const auto& [name, value] : fields[i]) text += p + name + ":" + value + "\r\n";
  }
  return Reply::Bulk(std::move(text));
}

Result<Reply> ClusterBackend::ConfigGetAll(const Command& argv) {
  Result<std::shared_ptr<const ClusterTopology>> topo_r = MastersForFanOut();
  if (!topo_r.ok()) return topo_r.status();
  const ClusterTopology& topo = **topo_r;
  std::vector<Reply> replies;
  for (const ClusterMaster& m : topo.masters) {
    bool sent = true;
    Result<Reply> r = m.node->Call(argv, false, &sent);
    if (!r.ok()) return r.status();
    replies.push_back(std::move(r).value());
  }
  bool same = true;
  for (const Reply& r : replies) same = same && r == replies.front();
  if (same) return std::move(replies.front());
  std::string what = argv.size() >= 3 ? argv[2] : std::string();
  std::string msg = "CONFIG GET " + what + ": the masters disagree:";
  for (size_t i = 0; i < replies.size(); ++i) {
    std::string v;
    const std::vector<Reply>& e = replies[i].elements();
    for (size_t j = 1; j < e.size(); j += 2) v += (j > 1 ? "," : "") + e[j].str();
    msg += (i > 0 ? ", " : " ") + topo.masters[i].address + "=" + v;
  }
  return Status::ServerError(msg + " (read each master through Nodes())");
}

}  // namespace stormkv::redis_internal
