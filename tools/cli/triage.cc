#include "triage.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <random>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "key_families.h"
#include "progress.h"
#include "stormkv/forwarding_backend.h"
#include "stormkv/key_schema.h"
#include "table.h"
#include "units.h"

namespace stormkv::cli {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Status CheckReadOnly(const Command& argv) {
  if (argv.empty()) return Status::Internal("triage is read-only: refusing an empty command");
  std::string cmd = Upper(argv[0]);
  std::string sub = argv.size() > 1 ? Upper(argv[1]) : "";
  if (cmd == "INFO" || cmd == "DBSIZE" || cmd == "SCAN" || cmd == "TYPE" || cmd == "PTTL" ||
      cmd == "PING" || (cmd == "MEMORY" && sub == "USAGE") ||
      (cmd == "OBJECT" && sub == "ENCODING") ||
      (cmd == "CLUSTER" && (sub == "INFO" || sub == "NODES" || sub == "SLOTS" ||
                            sub == "SHARDS" || sub == "MYID" || sub == "KEYSLOT"))) {
    return Status::Ok();
  }
  return Status::Internal("triage is read-only: refusing " + cmd + (sub.empty() ? "" : " " + sub));
}

class ReadOnlyBackend final : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;

  Result<Reply> Run(const Command& argv) override {
    STORMKV_RETURN_IF_ERROR(CheckReadOnly(argv));
    return ForwardingBackend::Run(argv);
  }
  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override {
    for (const Command& c : cmds) {
      Status s = CheckReadOnly(c);
      if (!s.ok()) return std::vector<Result<Reply>>(cmds.size(), s);
    }
    return ForwardingBackend::RunBatch(cmds);
  }
  Result<Reply> Eval(const Script&, const std::vector<std::string>&,
                     const std::vector<std::string>&) override {
    return Status::Internal("triage is read-only: refusing EVAL");
  }
};

int64_t Num(const std::map<std::string, std::string>& info, const std::string& name) {
  auto it = info.find(name);
  if (it == info.end() || it->second.empty()) return -1;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  return end == it->second.c_str() ? -1 : v;
}

double Real(const std::map<std::string, std::string>& info, const std::string& name) {
  auto it = info.find(name);
  if (it == info.end() || it->second.empty()) return -1;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  return end == it->second.c_str() ? -1 : v;
}

// "count=3,rejected_calls=0" -> 3.
int64_t ErrorStatCount(const std::map<std::string, std::string>& info, const std::string& name) {
  auto it = info.find(name);
  if (it == info.end()) return 0;
  std::size_t p = it->second.find("count=");
  if (p == std::string::npos) return 0;
  return std::strtoll(it->second.c_str() + p + 6, nullptr, 10);
}

void ReadInfo(KvBackend& kv, TriageReport& r) {
  std::map<std::string, std::string> info;
  for (const char* section : {"server", "memory", "stats", "errorstats"}) {
    auto part = kv.Info(section);
    if (part.ok()) {
      info.insert(part->begin(), part->end());
    } else {
      r.notes.push_back(std::string("INFO ") + section + " failed: " + part.status().message());
    }
  }
  MemoryInfo& m = r.memory;
  m.used_memory = Num(info, "used_memory");
  m.used_memory_peak = Num(info, "used_memory_peak");
  m.used_memory_rss = Num(info, "used_memory_rss");
  m.dataset = Num(info, "used_memory_dataset");
  m.overhead = Num(info, "used_memory_overhead");
  m.startup = Num(info, "used_memory_startup");
  m.scripts = Num(info, "used_memory_scripts");
  m.lua_vm = Num(info, "used_memory_vm_eval");
  if (m.lua_vm < 0) m.lua_vm = Num(info, "used_memory_lua");
  m.cached_scripts = Num(info, "number_of_cached_scripts");
  m.clients_normal = Num(info, "mem_clients_normal");
  m.clients_replicas = Num(info, "mem_clients_slaves");
  m.fragmentation_ratio = Real(info, "mem_fragmentation_ratio");
  m.maxmemory = Num(info, "maxmemory");
  auto pol = info.find("maxmemory_policy");
  if (pol != info.end()) m.policy = pol->second;
  m.evicted_keys = Num(info, "evicted_keys");
  m.oom_rejections = ErrorStatCount(info, "errorstat_OOM");
  auto ver = info.find("redis_version");
  if (ver != info.end()) m.redis_version = ver->second;
}

struct FamilyAcc {
  KeyFamily family;
  int64_t keys = 0;
  int64_t inspected = 0;
  int64_t inspected_bytes = 0;
  int64_t inspected_no_ttl = 0;
  int64_t inspected_no_ttl_bytes = 0;
};

std::string Approx(const TriageReport& r) { return r.sampled ? "~" : ""; }

// The hash tag of `key` ("" when it has none: the whole key is hashed).
std::string_view TagOf(std::string_view key) {
  std::string_view tag = HashTag(key);
  return tag.size() == key.size() ? std::string_view() : tag;
}

struct TagAcc {
  int64_t keys = 0;
  int64_t inspected = 0;
  int64_t inspected_bytes = 0;
};

// The `top` biggest tags by keys and by bytes; bytes extrapolated as for families.
void TopTags(const std::unordered_map<std::string, TagAcc>& tags, double mean_bytes_per_key,
             int top, TriageReport& r) {
  std::vector<TagUsage> all;
  all.reserve(tags.size());
  for (const auto& [tag, acc] : tags) {
    TagUsage u;
    u.tag = tag;
    u.keys = acc.keys;
    u.inspected_keys = acc.inspected;
    u.bytes = acc.inspected > 0 ? static_cast<double>(acc.inspected_bytes) *
                                      static_cast<double>(acc.keys) /
                                      static_cast<double>(acc.inspected)
                                : mean_bytes_per_key * static_cast<double>(acc.keys);
    all.push_back(std::move(u));
  }
  const std::size_t n = std::min<std::size_t>(all.size(), static_cast<std::size_t>(std::max(top, 0)));
  auto by_keys = [](const TagUsage& a, const TagUsage& b) {
    if (a.keys != b.keys) return a.keys > b.keys;
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.tag < b.tag;
  };
  auto by_bytes = [](const TagUsage& a, const TagUsage& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    if (a.keys != b.keys) return a.keys > b.keys;
    return a.tag < b.tag;
  };
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), by_keys);
  r.top_tags_by_keys.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), by_bytes);
  r.top_tags_by_bytes.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInfo:
      return "info";
  }
  return "info";
}

std::unique_ptr<KvBackend> MakeReadOnlyBackend(KvBackend* target) {
  return std::make_unique<ReadOnlyBackend>(target);
}

bool HasErrors(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.severity == Severity::kError; });
}

bool HasErrors(const TriageReport& report) { return HasErrors(report.findings); }

void SortFindings(std::vector<Finding>& findings) {
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    return static_cast<int>(a.severity) > static_cast<int>(b.severity);
  });
}

Result<TriageReport> RunTriage(KvBackend& kv, const TriageOptions& options) {
  TriageReport r;
  r.backend = kv.Describe();
  Result<int64_t> dbsize = kv.DbSize();
  if (!dbsize.ok()) return dbsize.status().WithContext("DBSIZE");
  r.dbsize = *dbsize;
  ReadInfo(kv, r);

  const int64_t sample = std::max<int64_t>(options.sample, 1);
  std::map<std::string, FamilyAcc> families;
  std::unordered_map<std::string, TagAcc> tags;
  std::unordered_set<uint64_t> seen;
  std::vector<std::string> reservoir;
  std::mt19937_64 rng(options.seed);
  ProgressBar scan_bar("scanning keys", std::max<int64_t>(r.dbsize, 1), options.progress);
  std::string cursor = "0";
  do {
    Result<ScanPage> page = kv.Scan(cursor, "", 1000);
    if (!page.ok()) return page.status().WithContext("SCAN");
    for (std::string& key : page->keys) {
      if (!seen.insert(std::hash<std::string>{}(key)).second) continue;
      KeyFamily fam = ClassifyKey(key);
      FamilyAcc& acc = families[fam.label];
      if (acc.keys == 0) acc.family = fam;
      ++acc.keys;
      ++r.keys_scanned;
      std::string_view tag = TagOf(key);
      if (!tag.empty()) ++tags[std::string(tag)].keys;
      if (static_cast<int64_t>(reservoir.size()) < sample) {
        reservoir.push_back(std::move(key));
      } else {
        std::uniform_int_distribution<int64_t> pick(0, r.keys_scanned - 1);
        int64_t j = pick(rng);
        if (j < sample) reservoir[j] = std::move(key);
      }
    }
    scan_bar.Update(r.keys_scanned);
    cursor = page->cursor;
  } while (cursor != "0");
  scan_bar.Finish();
  r.sampled = r.keys_scanned > static_cast<int64_t>(reservoir.size());

  std::vector<KeyInfo> inspected;
  inspected.reserve(reservoir.size());
  bool encoding_supported = true;
  ProgressBar inspect_bar("inspecting keys", static_cast<int64_t>(reservoir.size()),
                          options.progress);
  constexpr std::size_t kBatch = 256;
  for (std::size_t i = 0; i < reservoir.size(); i += kBatch) {
    std::size_t n = std::min(kBatch, reservoir.size() - i);
    std::vector<Command> cmds;
    cmds.reserve(n * 4);
    for (std::size_t k = i; k < i + n; ++k) {
      cmds.push_back({"TYPE", reservoir[k]});
      cmds.push_back({"PTTL", reservoir[k]});
      cmds.push_back({"MEMORY", "USAGE", reservoir[k]});
      cmds.push_back({"OBJECT", "ENCODING", reservoir[k]});
    }
    std::vector<Result<Reply>> replies = kv.RunBatch(cmds);
    for (std::size_t k = 0; k < n; ++k) {
      const Result<Reply>& type = replies[4 * k];
      const Result<Reply>& pttl = replies[4 * k + 1];
      const Result<Reply>& mem = replies[4 * k + 2];
      const Result<Reply>& enc = replies[4 * k + 3];
      if (!type.ok()) {
        if (type.status().IsUnavailable() || type.status().IsTimeout()) {
          return type.status().WithContext("TYPE");
        }
        continue;
      }
      if (type->str() == "none") continue;  // deleted since SCAN saw it
      KeyInfo info;
      info.key = reservoir[i + k];
      info.type = type->str();
      if (pttl.ok() && pttl->is_integer()) info.pttl = pttl->integer();
      if (mem.ok() && mem->is_integer()) {
        info.bytes = mem->integer();
      } else if (!mem.ok()) {
        r.memory_usage_supported = false;
      }
      if (enc.ok()) {
        info.encoding = enc->str();
      } else {
        encoding_supported = false;
      }
      inspected.push_back(std::move(info));
    }
    inspect_bar.Update(static_cast<int64_t>(i + n));
  }
  inspect_bar.Finish();
  r.keys_inspected = static_cast<int64_t>(inspected.size());
  if (!r.memory_usage_supported) {
    r.notes.push_back("this backend does not answer MEMORY USAGE: key sizes are unknown");
  }
  if (!encoding_supported) {
    r.notes.push_back("this backend does not answer OBJECT ENCODING: encodings are not shown");
  }
  if (r.sampled) {
    r.notes.push_back("sampled " + FormatCount(r.keys_inspected) + " of " +
                      FormatCount(r.keys_scanned) +
                      " keys: per-family bytes and TTL figures are extrapolated (marked ~)");
  }

  int64_t all_bytes = 0, all_inspected = 0, all_no_ttl = 0, all_no_ttl_bytes = 0;
  for (const KeyInfo& k : inspected) {
    FamilyAcc& acc = families[ClassifyKey(k.key).label];
    int64_t bytes = std::max<int64_t>(k.bytes, 0);
    ++acc.inspected;
    acc.inspected_bytes += bytes;
    std::string_view tag = TagOf(k.key);
    if (!tag.empty()) {
      auto t = tags.find(std::string(tag));
      if (t != tags.end()) {
        ++t->second.inspected;
        t->second.inspected_bytes += bytes;
      }
    }
    ++all_inspected;
    all_bytes += bytes;
    if (k.pttl == -1) {
      ++acc.inspected_no_ttl;
      acc.inspected_no_ttl_bytes += bytes;
      ++all_no_ttl;
      all_no_ttl_bytes += bytes;
    }
  }
  for (auto& [label, acc] : families) {
    FamilyUsage u;
    u.label = label;
    u.is_stormkv = acc.family.is_stormkv;
    u.keys = acc.keys;
    u.inspected_keys = acc.inspected;
    if (acc.inspected > 0) {
      double scale = static_cast<double>(acc.keys) / static_cast<double>(acc.inspected);
      u.bytes = static_cast<double>(acc.inspected_bytes) * scale;
      u.no_ttl_keys = static_cast<double>(acc.inspected_no_ttl) * scale;
      u.no_ttl_bytes = static_cast<double>(acc.inspected_no_ttl_bytes) * scale;
    } else if (all_inspected > 0) {
      double per_key = static_cast<double>(acc.keys) / static_cast<double>(all_inspected);
      u.bytes = static_cast<double>(all_bytes) * per_key;
      u.no_ttl_keys = static_cast<double>(all_no_ttl) * per_key;
      u.no_ttl_bytes = static_cast<double>(all_no_ttl_bytes) * per_key;
    }
    r.total_key_bytes += u.bytes;
    r.no_ttl_keys += u.no_ttl_keys;
    r.no_ttl_bytes += u.no_ttl_bytes;
    if (u.is_stormkv) {
      r.stormkv_no_ttl_keys += u.no_ttl_keys;
      r.stormkv_no_ttl_bytes += u.no_ttl_bytes;
    }
    r.families.push_back(std::move(u));
  }
  std::sort(r.families.begin(), r.families.end(), [](const FamilyUsage& a, const FamilyUsage& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    if (a.keys != b.keys) return a.keys > b.keys;
    return a.label < b.label;
  });
  TopTags(tags,
          all_inspected > 0 ? static_cast<double>(all_bytes) / static_cast<double>(all_inspected)
                            : 0.0,
          options.top_tags, r);

  std::sort(inspected.begin(), inspected.end(), [](const KeyInfo& a, const KeyInfo& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.key < b.key;
  });
  for (const KeyInfo& k : inspected) {
    if (k.bytes >= options.big_key_bytes) r.big_keys.push_back(k);
  }
  inspected.resize(std::min<std::size_t>(inspected.size(), std::max(options.top, 0)));
  r.top_keys = std::move(inspected);
  r.findings = AnalyzeFindings(r, options);
  return r;
}

std::vector<Finding> AnalyzeFindings(const TriageReport& r, const TriageOptions& options) {
  std::vector<Finding> out = AnalyzeServerFindings(r, options);
  std::vector<Finding> keys = AnalyzeKeyFindings(r, options);
  out.insert(out.end(), keys.begin(), keys.end());
  SortFindings(out);
  return out;
}

std::vector<Finding> AnalyzeServerFindings(const TriageReport& r, const TriageOptions& options) {
  std::vector<Finding> out;
  auto add = [&](Severity s, std::string code, std::string msg) {
    out.push_back({s, std::move(code), std::move(msg)});
  };
  const MemoryInfo& m = r.memory;
  const std::string& policy = m.policy;
  const bool noeviction = policy.empty() || policy == "noeviction";
  const bool allkeys = policy.rfind("allkeys-", 0) == 0;
  const bool volatile_policy = policy.rfind("volatile-", 0) == 0;
  constexpr int64_t kTinyMaxmemory = 16LL << 20;

  if (m.maxmemory > 0 && m.used_memory > m.maxmemory) {
    std::string msg = "used_memory " + FormatBytes(m.used_memory) + " is above maxmemory " +
                      FormatBytes(m.maxmemory) + ". ";
    if (noeviction) {
      msg +=
          "With policy noeviction every write command fails with \"OOM command not allowed "
          "when used memory > 'maxmemory'\" — the gateway cannot record a single alert. ";
    } else if (allkeys) {
      msg += "With policy " + policy +
             " Redis evicts keys on every write to get back under the "
             "limit, so live gateway state (dedup records, storm aggregations) is being thrown "
             "away, and writes fail with OOM when eviction cannot free enough. ";
    } else {
      msg += "With policy " + policy +
             " only keys with a TTL can be evicted; once they are gone "
             "every write fails with OOM. ";
    }
    if (m.maxmemory < kTinyMaxmemory) {
      msg += "A maxmemory of " + FormatBytes(m.maxmemory) +
             " is absurdly small (an empty Redis "
             "uses about 1 MB): it looks like a leftover CONFIG SET maxmemory from a test helper "
             "— that setting is server-wide and survives FLUSHDB. ";
    }
    msg +=
        "Deleting data will not help if the limit is wrong: restore it, e.g. CONFIG SET "
        "maxmemory 256mb (size it with `stormkv simulate`).";
    add(Severity::kError, "maxmemory-below-used", msg);
  } else if (m.maxmemory > 0 && m.maxmemory < kTinyMaxmemory) {
    add(Severity::kWarning, "maxmemory-tiny",
        "maxmemory is only " + FormatBytes(m.maxmemory) + " (used " + FormatBytes(m.used_memory) +
            "): an empty Redis already uses about 1 MB, so a "
            "small burst of writes will hit OOM. This looks like a test leftover (CONFIG SET "
            "maxmemory survives FLUSHDB), not a production budget.");
  } else if (m.maxmemory > 0 && m.used_memory >= 0 &&
             static_cast<double>(m.used_memory) >= 0.9 * static_cast<double>(m.maxmemory)) {
    add(Severity::kWarning, "maxmemory-near",
        "used_memory " + FormatBytes(m.used_memory) + " is " +
            FormatPercent(static_cast<double>(m.used_memory) / static_cast<double>(m.maxmemory)) +
            " of maxmemory " + FormatBytes(m.maxmemory) + ": little headroom left.");
  } else if (m.maxmemory == 0) {
    add(Severity::kInfo, "maxmemory-unset",
        "No maxmemory is set: Redis grows until the machine runs out of memory. Set a budget "
        "(size gateway state with `stormkv simulate`).");
  }

  if (!policy.empty()) {
    if (noeviction) {
      add(Severity::kInfo, "eviction-policy",
          "Policy noeviction: when full, writes fail with OOM errors instead of silently "
          "dropping gateway state, so the gateway sees and reports the failure.");
    } else if (allkeys) {
      add(Severity::kWarning, "eviction-policy",
          "Policy " + policy +
              ": when full, Redis silently evicts any key — live dedup records "
              "(duplicates get notified again) and storm aggregations (one storm splits into "
              "several "
              "RemediationRequests) included. Prefer noeviction for gateway state.");
    } else if (volatile_policy) {
      add(Severity::kWarning, "eviction-policy",
          "Policy " + policy +
              ": when full, Redis evicts keys that have a TTL — every gateway "
              "key has one, so gateway state goes first" +
              std::string(policy == "volatile-ttl"
                              ? " (the keys closest to expiry: rate-limit buckets and storm "
                                "windows about to close)"
                              : "") +
              ", while keys without a TTL stay. Prefer noeviction for gateway state.");
    }
  }

  if (m.oom_rejections > 0) {
    add(Severity::kWarning, "oom-rejections",
        FormatCount(m.oom_rejections) +
            " commands have been refused with OOM since the server "
            "started (INFO errorstats): writes have already been lost.");
  }
  if (m.evicted_keys > 0) {
    add(Severity::kWarning, "evicted-keys",
        FormatCount(m.evicted_keys) +
            " keys have been evicted since the server started "
            "(INFO stats evicted_keys): state was dropped to make room.");
  }

  if (m.cached_scripts > options.max_cached_scripts) {
    std::string msg = FormatCount(m.cached_scripts) + " scripts are in the script cache";
    if (m.scripts >= 0) msg += " (" + FormatBytes(m.scripts) + " inside used_memory";
    if (m.lua_vm >= 0) msg += ", Lua VM " + FormatBytes(m.lua_vm) + " outside it";
    if (m.scripts >= 0) msg += ")";
    msg +=
        ": a client sends EVAL with a different script body each time — values formatted "
        "into the Lua text instead of passed as KEYS/ARGV. Redis 7.0 keeps every EVAL body "
        "until SCRIPT FLUSH, so the cache grows without bound. Use one script text with "
        "EVALSHA (as stormkv does), then SCRIPT FLUSH once the client is fixed.";
    add(Severity::kWarning, "script-cache-growth", msg);
  }
  if (m.fragmentation_ratio > 1.5 && m.used_memory > (64LL << 20) &&
      m.used_memory_rss - m.used_memory > (100LL << 20)) {
    add(Severity::kWarning, "fragmentation",
        "mem_fragmentation_ratio is " + std::to_string(m.fragmentation_ratio).substr(0, 4) +
            ": the process holds " + FormatBytes(m.used_memory_rss) + " of RAM for " +
            FormatBytes(m.used_memory) + " of data (consider activedefrag or a restart).");
  }
  if (m.clients_normal > (32LL << 20) && m.used_memory > 0 &&
      m.clients_normal * 4 > m.used_memory) {
    add(Severity::kWarning, "client-buffers",
        "client buffers take " + FormatBytes(m.clients_normal) + " (" +
            FormatPercent(static_cast<double>(m.clients_normal) /
                          static_cast<double>(m.used_memory)) +
            " of used_memory): slow readers or huge pipelines.");
  }
  SortFindings(out);
  return out;
}

std::vector<Finding> AnalyzeKeyFindings(const TriageReport& r, const TriageOptions& options) {
  std::vector<Finding> out;
  auto add = [&](Severity s, std::string code, std::string msg) {
    out.push_back({s, std::move(code), std::move(msg)});
  };

  if (r.stormkv_no_ttl_keys > 0.5) {
    std::string fams;
    for (const FamilyUsage& f : r.families) {
      if (!f.is_stormkv || f.no_ttl_keys < 0.5) continue;
      if (!fams.empty()) fams += ", ";
      fams += f.label + " " + Approx(r) + FormatCount(static_cast<int64_t>(f.no_ttl_keys + 0.5));
    }
    add(Severity::kWarning, "gateway-keys-without-ttl",
        Approx(r) + FormatCount(static_cast<int64_t>(r.stormkv_no_ttl_keys + 0.5)) +
            " gateway keys (" + Approx(r) +
            FormatBytes(static_cast<int64_t>(r.stormkv_no_ttl_bytes)) + ") have no TTL: " + fams +
            ". Gateway state is meant to expire (dedup records, storm "
            "windows, rate-limit buckets); these stay forever and accumulate. Something wrote "
            "them outside the atomic scripts (or PERSISTed them).");
  }
  double other_no_ttl = r.no_ttl_keys - r.stormkv_no_ttl_keys;
  if (other_no_ttl > 0.5) {
    add(Severity::kInfo, "keys-without-ttl",
        Approx(r) + FormatCount(static_cast<int64_t>(other_no_ttl + 0.5)) + " other keys (" +
            Approx(r) + FormatBytes(static_cast<int64_t>(r.no_ttl_bytes - r.stormkv_no_ttl_bytes)) +
            ") have no TTL; they stay until deleted.");
  }

  if (!r.big_keys.empty()) {
    const KeyInfo& b = r.big_keys.front();
    add(Severity::kWarning, "big-keys",
        FormatCount(static_cast<int64_t>(r.big_keys.size())) + " key(s) of " +
            FormatBytes(options.big_key_bytes) + " or more" +
            (r.sampled ? " among the sampled keys" : "") + "; the biggest is '" + b.key + "' (" +
            b.type + (b.encoding.empty() ? "" : ", " + b.encoding) + ", " + FormatBytes(b.bytes) +
            "). Big keys block Redis while they are read, copied or "
            "deleted.");
  }

  if (r.dbsize == 0) add(Severity::kInfo, "empty", "The database holds no keys.");
  SortFindings(out);
  return out;
}

}  // namespace stormkv::cli
