// tools/cli/triage.h — `stormkv triage URL`: where a live Redis's memory goes, and what is wrong.
//
// Strictly read-only: every command goes through a guard that refuses anything but PING, INFO,
// DBSIZE, SCAN, TYPE, PTTL, MEMORY USAGE, OBJECT ENCODING and CLUSTER INFO / NODES / SLOTS /
// SHARDS / MYID / KEYSLOT (so no write, no CONFIG, no SCRIPT, ever).
//
// This file is one server's report (a standalone Redis, or one master of a cluster);
// triage_cluster.h builds the cluster report out of one of these per master.
#ifndef STORMKV_TOOLS_CLI_TRIAGE_H_
#define STORMKV_TOOLS_CLI_TRIAGE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv::cli {

struct TriageOptions {
  // Inspect every key when the database holds at most this many; otherwise a uniform random
  // sample of this many keys, and per-family bytes are extrapolated (and labelled estimated).
  int64_t sample = 100000;
  // How many of the biggest keys to list.
  int top = 10;
  // A key at least this big is reported as a big key.
  int64_t big_key_bytes = 1 << 20;
  // More cached scripts than this is reported as script-cache growth.
  int64_t max_cached_scripts = 100;
  // How many hash tags to keep in TriageReport::top_tags_by_keys / _by_bytes.
  int top_tags = 10;
  // Cluster reports: a master holding at least this many times the mean keys or key bytes per
  // master is a hot shard ...
  double hot_shard_ratio = 1.5;
  // ... when the cluster holds at least this many keys (below it the spread is noise).
  int64_t hot_shard_min_keys = 100;
  // Seed of the sampler (reproducible samples).
  uint64_t seed = 1;
  // Draw a progress bar on stderr (only when it is a terminal).
  bool progress = true;
};

enum class Severity { kInfo, kWarning, kError };
// "info", "warning", "error".
const char* SeverityName(Severity s);

struct Finding {
  Severity severity = Severity::kInfo;
  std::string code;     // stable identifier, e.g. "maxmemory-below-used"
  std::string message;  // plain language: what is wrong, what it causes, what to do
  // Cluster reports: the index of the master the finding is about (in slot order), -1 for a
  // finding about the whole cluster (and always -1 in a standalone report).
  int node = -1;
};

// One inspected key.
struct KeyInfo {
  std::string key;
  std::string type;      // "string", "hash", ... ("" if unknown)
  std::string encoding;  // OBJECT ENCODING ("" if unknown)
  int64_t bytes = -1;    // MEMORY USAGE (-1 if unknown)
  int64_t pttl = -2;     // PTTL: -1 no expiry
  int node = -1;         // cluster reports: the master holding it (-1 standalone)
};

struct FamilyUsage {
  std::string label;  // key_families.h
  bool is_stormkv = false;
  int64_t keys = 0;            // exact: counted during SCAN
  int64_t inspected_keys = 0;  // keys whose size/TTL were read
  double bytes = 0;            // extrapolated when inspected_keys < keys
  double no_ttl_keys = 0;      // extrapolated likewise
  double no_ttl_bytes = 0;
};

// The keys sharing one Redis Cluster hash tag ("{...}" in the key: they all live in one slot).
struct TagUsage {
  std::string tag;             // the bytes between the braces
  int64_t keys = 0;            // exact: counted during SCAN
  int64_t inspected_keys = 0;  // keys whose size was read
  double bytes = 0;            // extrapolated when inspected_keys < keys
};

// The INFO figures triage uses; -1 (or "") when the server does not report one.
struct MemoryInfo {
  int64_t used_memory = -1, used_memory_peak = -1, used_memory_rss = -1;
  int64_t dataset = -1, overhead = -1, startup = -1;
  int64_t scripts = -1;         // used_memory_scripts (script bodies + dicts; inside used_memory)
  int64_t lua_vm = -1;          // used_memory_vm_eval / used_memory_lua (outside used_memory)
  int64_t cached_scripts = -1;  // number_of_cached_scripts
  int64_t clients_normal = -1, clients_replicas = -1;
  double fragmentation_ratio = -1;
  int64_t maxmemory = -1;
  std::string policy;
  int64_t evicted_keys = -1;
  int64_t oom_rejections = -1;  // errorstat_OOM count
  std::string redis_version;
};

struct TriageReport {
  std::string backend;  // Describe() of the backend
  int64_t dbsize = -1;
  int64_t keys_scanned = 0;
  int64_t keys_inspected = 0;
  bool sampled = false;  // keys_inspected < keys_scanned: figures are estimates
  bool memory_usage_supported = true;
  std::vector<FamilyUsage> families;  // biggest first
  double total_key_bytes = 0;
  double no_ttl_keys = 0, no_ttl_bytes = 0;
  double stormkv_no_ttl_keys = 0, stormkv_no_ttl_bytes = 0;
  std::vector<KeyInfo> top_keys;  // biggest first
  std::vector<KeyInfo> big_keys;  // >= big_key_bytes, biggest first
  // The hash tags holding the most keys (at most TriageOptions::top_tags), most keys first, and
  // those holding the most bytes (likewise), biggest first. Keys without a tag are not counted.
  std::vector<TagUsage> top_tags_by_keys, top_tags_by_bytes;
  MemoryInfo memory;
  std::vector<Finding> findings;   // errors first
  std::vector<std::string> notes;  // caveats about the figures
};

// Wraps `target` so that only triage's read-only commands reach it; any other command returns
// Internal("triage is read-only: refusing <CMD>") without being sent.
std::unique_ptr<KvBackend> MakeReadOnlyBackend(KvBackend* target);

// Collects the report over `kv` (which should be the read-only wrapper). Failure: the Status of
// the first command that failed in a way that makes the report meaningless (server unreachable,
// SCAN refused). Unsupported inspection commands (MEMORY / OBJECT on a store without them) only
// add a note.
Result<TriageReport> RunTriage(KvBackend& kv, const TriageOptions& options);

// The findings for a report's figures (fills nothing else), errors first. Exposed for tests.
// AnalyzeFindings = AnalyzeServerFindings (the server's INFO: maxmemory, policy, OOM, evictions,
// script cache, fragmentation, client buffers) + AnalyzeKeyFindings (the keys: no TTL, big keys,
// empty). A cluster report runs the first per master and the second over all keys.
std::vector<Finding> AnalyzeFindings(const TriageReport& report, const TriageOptions& options);
std::vector<Finding> AnalyzeServerFindings(const TriageReport& report,
                                           const TriageOptions& options);
std::vector<Finding> AnalyzeKeyFindings(const TriageReport& report, const TriageOptions& options);
// Errors first, then warnings, then infos; stable otherwise.
void SortFindings(std::vector<Finding>& findings);

// Human-readable report (several sections, ends with the findings).
std::string RenderTriageText(const TriageReport& report, const TriageOptions& options);
// The report as one JSON object.
nlohmann::ordered_json TriageJson(const TriageReport& report);

// The pieces of both reports (standalone and cluster), so that they share one format.
// The key-family table ("Keys: ..." header included) and the keys-without-TTL line.
std::string RenderKeysSection(const TriageReport& report);
// "Biggest keys" (empty when there are none), with a node column when the keys carry one.
std::string RenderTopKeys(const TriageReport& report);
// The "note: ..." lines (empty without notes).
std::string RenderNotes(const std::vector<std::string>& notes);
// "Findings" with one wrapped entry each, then the verdict line.
std::string RenderFindings(const std::vector<Finding>& findings);
nlohmann::ordered_json MemoryJson(const MemoryInfo& m);
nlohmann::ordered_json FamiliesJson(const TriageReport& report);
nlohmann::ordered_json KeysJson(const std::vector<KeyInfo>& keys);
nlohmann::ordered_json TagsJson(const std::vector<TagUsage>& tags);
// Each finding as {severity, code, message[, node]} ("node" only when the finding has one).
nlohmann::ordered_json FindingsJson(const std::vector<Finding>& findings);

// True when any finding has Severity::kError.
bool HasErrors(const TriageReport& report);
bool HasErrors(const std::vector<Finding>& findings);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_TRIAGE_H_
