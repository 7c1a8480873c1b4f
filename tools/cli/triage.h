// tools/cli/triage.h — `stormkv triage URL`: where a live Redis's memory goes, and what is wrong.
//
// Strictly read-only: every command goes through a guard that refuses anything but INFO, DBSIZE,
// SCAN, TYPE, PTTL, MEMORY USAGE and OBJECT ENCODING (so no write, no CONFIG, no SCRIPT, ever).
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
};

// One inspected key.
struct KeyInfo {
  std::string key;
  std::string type;      // "string", "hash", ... ("" if unknown)
  std::string encoding;  // OBJECT ENCODING ("" if unknown)
  int64_t bytes = -1;    // MEMORY USAGE (-1 if unknown)
  int64_t pttl = -2;     // PTTL: -1 no expiry
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

// The findings for a report's figures (fills nothing else). Exposed for tests.
std::vector<Finding> AnalyzeFindings(const TriageReport& report, const TriageOptions& options);

// Human-readable report (several sections, ends with the findings).
std::string RenderTriageText(const TriageReport& report, const TriageOptions& options);
// The report as one JSON object.
nlohmann::ordered_json TriageJson(const TriageReport& report);

// True when any finding has Severity::kError.
bool HasErrors(const TriageReport& report);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_TRIAGE_H_
