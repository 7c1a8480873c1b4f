// tools/cli/workload.h — the alert workloads `stormkv simulate` replays: deterministic streams of
// alerts with virtual arrival times, generated from a seed.
//
//  * integration: shaped like a ~92-test gateway integration run — dedup, storm, rate-storm,
//    rate-limit, concurrency, multi-namespace and malformed-input tests, one namespace per test,
//    a few hundred alerts and a few dozen storms in well under a minute of gateway time;
//  * production: N distinct alerts firing and re-sent every few minutes, plus S storms of M
//    resources each, over T minutes;
//  * storm: one huge storm of N resources.
// Alerts look like real Prometheus/kube-state-metrics alerts (labels and annotations of
// realistic sizes), because the full-crd layout stores them.
#ifndef STORMKV_TOOLS_CLI_WORKLOAD_H_
#define STORMKV_TOOLS_CLI_WORKLOAD_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stormkv/gateway/signal.h"

namespace stormkv::cli {

// One alert as the gateway receives it.
struct SimAlert {
  std::string ns;
  std::string alertname;
  std::string severity;
  std::string client;  // the caller, for rate limiting (an Alertmanager replica)
  ResourceRef resource;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

// An alert due at `at_ms` (ms after the start of the run). `id` means something to its workload
// only.
struct ScheduledAlert {
  int64_t at_ms = 0;
  uint64_t id = 0;
};

class Workload {
 public:
  virtual ~Workload() = default;
  // One line: what this workload is ("92 tests, 705 alerts, 32 storms").
  virtual std::string Describe() const = 0;
  // Alerts the run will deliver (for the progress bar; retries not included).
  virtual int64_t ExpectedAlerts() const = 0;
  // The alerts due from the start.
  virtual std::vector<ScheduledAlert> Start() = 0;
  // The alert `id` stands for. Deterministic: the same id always gives the same alert.
  virtual SimAlert Materialize(uint64_t id) const = 0;
  // Alerts that follow the delivery of `id` at `at_ms` (e.g. Alertmanager re-sending a firing
  // alert). Default: none.
  virtual std::vector<ScheduledAlert> FollowUps(uint64_t id, int64_t at_ms) { return {}; }
};

struct ProductionParams {
  int64_t fingerprints = 10000;     // distinct non-storm alerts
  int64_t storms = 100;             // storms
  int64_t storm_resources = 50;     // resources per storm (one alert each)
  int64_t minutes = 30;             // length of the run
  int64_t repeat_minutes = 4;       // a firing alert is re-sent this often (0 = never)
  double storm_alerts_per_sec = 5;  // arrival rate of one storm's alerts
  int64_t namespaces = 0;           // 0 = one per 200 fingerprints (at least 10)
  int64_t clients = 0;  // Alertmanager replicas calling the gateway; 0 = enough for the load
};

struct StormParams {
  int64_t resources = 10000;    // distinct resources in the storm (one alert each)
  double alerts_per_sec = 100;  // arrival rate
};

std::unique_ptr<Workload> MakeIntegrationWorkload(uint64_t seed);
std::unique_ptr<Workload> MakeProductionWorkload(const ProductionParams& params, uint64_t seed);
std::unique_ptr<Workload> MakeStormWorkload(const StormParams& params, uint64_t seed);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_WORKLOAD_H_
