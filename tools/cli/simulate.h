// tools/cli/simulate.h — `stormkv simulate`: how much Redis memory does an alert workload need,
// with which storage layout, and does it fit a budget?
//
// Not a formula: each alert of the workload is POSTed, as a one-alert Alertmanager webhook body,
// to the real gateway Pipeline (adapter, RateLimiter, Deduplicator, StormDetector,
// StormAggregator) on a real backend, with a ManualClock that jumps from one alert to the next, so
// a 30-minute production hour runs in seconds. Then the keys are measured (SCAN + MEMORY USAGE by
// key family) together with the backend's used_memory and its peak during the run.
//
// On Redis the run writes under a fresh, unique key prefix (as long as "stormkv:"), keeps the keys'
// TTLs in step with the virtual clock (PTTL/PEXPIRE, like the test harness), and deletes every key
// it wrote at the end, one DEL per hash slot (a cluster refuses a DEL across slots with CROSSSLOT).
// It never runs FLUSHDB or CONFIG SET.
#ifndef STORMKV_TOOLS_CLI_SIMULATE_H_
#define STORMKV_TOOLS_CLI_SIMULATE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "backend_url.h"
#include "slot_spread.h"
#include "stormkv/gateway/layouts.h"
#include "stormkv/status.h"
#include "workload.h"

namespace stormkv::cli {

enum class Scenario { kIntegration, kProduction, kStorm };

// "integration" / "production" / "storm".
const char* ScenarioName(Scenario s);
// Inverse of ScenarioName; InvalidArgument listing the choices otherwise.
Result<Scenario> ParseScenario(std::string_view name);

struct SimulateOptions {
  Scenario scenario = Scenario::kIntegration;
  ProductionParams production;
  StormParams storm;
  BackendUrl backend;                                // default: memory
  std::vector<Layout> layouts = {Layout::kCompact};  // one run per layout, each on a fresh store
  int64_t budget_bytes = 256LL << 20;
  uint64_t seed = 1;
  // Storm aggregation: resources listed per storm (more only count as overflow).
  int64_t max_resources = 1000;
  // Redis only: how often (virtual time) the keys' TTLs are moved in step with the clock.
  int64_t ttl_sync_ms = 5000;
  // > 0: also report how the keys would spread over a Redis Cluster of this many masters with
  // the even slot split of `redis-cli --cluster create` (slot_spread.h). 0: only on a cluster
  // backend, over its real slot map.
  int64_t cluster_masters = 0;
  bool progress = true;
  // > 0 (--cluster N): run on the embedded store as an N-master cluster (backend memory only)
  // and report each node (simulate_nodes.h). On a cluster backend the report is per node anyway.
  int cluster_nodes = 0;
  // The gateway keys' prefix. "": "stormkv:" on the embedded store, a fresh "sim<4 chars>:" on
  // Redis. Set: that prefix on both (to compare an embedded run with a real one key for key:
  // keys without a hash tag hash their prefix too). Must not contain '{' or '}'.
  std::string key_prefix;
};

struct FamilyBytes {
  std::string family;  // "dedup", "storm-agg", ... ("other" for keys outside the key schema)
  int64_t keys = 0;
  int64_t bytes = 0;  // sum of MEMORY USAGE
};

// One node of a cluster run (simulate_nodes.h): the budget applies to each node, as maxmemory does.
struct NodeResult {
  int node = 0;            // 0-based, in slot order
  std::string address;     // "127.0.0.1:30001" (embedded: a label only)
  std::string slots;       // "0-5460"
  int64_t keys = 0;        // gateway keys on the node
  int64_t key_bytes = 0;   // their MEMORY USAGE
  int64_t used_memory_bytes = 0;
  int64_t peak_bytes = 0;
  int64_t baseline_bytes = 0;  // used_memory before the run (its first sample)
  // used_memory_bytes - baseline_bytes without what replication and the cluster bus took
  // meanwhile (mem_replication_backlog, mem_clients_slaves, mem_cluster_links: a real master's
  // backlog fills as writes stream to its replica; the embedded store has no replica): the
  // run's own growth, the figure the embedded cluster predicts for a real one.
  int64_t dataset_growth_bytes = 0;
  bool fits = false;       // peak_bytes <= the budget and no OOM error in the run
  std::vector<FamilyBytes> families;  // biggest first
};

// used_memory of each node (one entry for a single server) at a point of simulated time.
struct MemorySample {
  int64_t simulated_ms = 0;
  std::vector<int64_t> used;
};

struct AlertCounts {
  int64_t delivered = 0;         // alerts that reached the gateway (retries included)
  int64_t created = 0;           // new fingerprint, no storm: one RemediationRequest each
  int64_t duplicates = 0;        // known fingerprint: dedup record updated
  int64_t storm_aggregated = 0;  // part of a storm: added to its aggregation
  int64_t storms_opened = 0;     // aggregations created (one RemediationRequest per storm)
  int64_t storms_closed = 0;     // storms whose window ended in the run: final request emitted
  int64_t rate_limited = 0;      // denied by the rate limiter (re-sent after Retry-After)
  int64_t dropped = 0;           // still denied after 3 re-sends: given up, as Alertmanager does
  int64_t oom_errors = 0;        // writes refused with OOM
  int64_t other_errors = 0;
};

struct SimulationResult {
  std::string scenario;
  std::string workload;   // Workload::Describe()
  std::string backend;    // "memory", "redis://127.0.0.1:6379/0"
  std::string allocator;  // memory: "debian" or "upstream" (the modelled Redis build)
  std::string layout;
  std::string key_prefix;
  bool shared_server = false;  // a Redis server: used_memory includes what else it holds
  uint64_t seed = 0;
  int64_t budget_bytes = 0;
  int64_t used_memory_bytes = 0;      // used_memory at the end of the run
  int64_t peak_bytes = 0;             // highest used_memory during the run
  int64_t baseline_bytes = 0;         // used_memory before the run
  int64_t key_bytes = 0;              // sum of the families' bytes
  bool fits = false;                  // peak_bytes <= budget_bytes and no OOM error
  std::vector<FamilyBytes> families;  // biggest first
  std::optional<SlotSpread> spread;   // keys and bytes per cluster master, when asked for
  std::vector<NodeResult> nodes;      // per node, on a cluster backend (fits: every node fits)
  std::vector<MemorySample> timeline;  // used_memory over simulated time (--plot)
  AlertCounts alerts;
  int64_t simulated_ms = 0;  // virtual time covered
  int64_t wall_ms = 0;       // real time the run took
  std::optional<std::string> first_error;
  std::vector<std::string> notes;
};

// Runs the workload once per layout in options.layouts, each on a fresh backend (memory) or
// under a fresh key prefix (Redis).
// Failure: the backend's Status when it cannot be opened or becomes unreachable (Unavailable /
// Timeout), InvalidArgument for a bad option; errors of single alerts are counted instead.
Result<std::vector<SimulationResult>> RunSimulations(const SimulateOptions& options);

// The report for one result, or the side-by-side comparison for several.
std::string RenderSimulationText(const std::vector<SimulationResult>& results);
// One object per result, as documented in the --help text.
nlohmann::ordered_json SimulationJson(const SimulationResult& r);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_SIMULATE_H_
