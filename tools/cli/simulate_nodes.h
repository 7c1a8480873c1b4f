// tools/cli/simulate_nodes.h — `stormkv simulate` per node: a run on a cluster backend (the
// embedded cluster, memory://?cluster=N or --cluster N, or a real one, redis-cluster://...) is
// measured node by node — keys, bytes by
// key family, used_memory and its peak, and whether each node fits the budget (the budget is per
// node, as maxmemory is) — and the cluster fits when every node does. Every run also records
// used_memory over simulated time (per node) for --plot, an SVG written without any dependency.
#ifndef STORMKV_TOOLS_CLI_SIMULATE_NODES_H_
#define STORMKV_TOOLS_CLI_SIMULATE_NODES_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "simulate.h"
#include "slot_spread.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv::cli {

// Keys and MEMORY USAGE bytes by key family of `kv` (every key under the schema's prefix), biggest
// first; each key also into `tally` when given.
Result<std::vector<FamilyBytes>> MeasureFamilies(KvBackend& kv, const KeySchema& schema,
                                                 SlotTally* tally);

// One key per node of an embedded cluster, in node order (`stem` + a number, each owned by its
// node; node 0 owns slot 0), else {stem}: to send a node-local command to every node.
std::vector<std::string> NodeProbeKeys(KvBackend& kv, const std::string& stem);

// Follows the nodes of `kv` through a run: each node of an embedded cluster or each master of a
// Redis Cluster (RedisClusterBackend::Nodes(), at the start of the run), else `kv` itself as the
// one node.
class NodeTracker {
 public:
  // `live_server`: a real server (its used_memory_peak predates the run: only samples count).
  // `expected_alerts`: sets the timeline's sampling step (about 400 samples per run).
  NodeTracker(KvBackend& kv, bool live_server, int64_t expected_alerts);
  bool is_cluster() const { return cluster_; }
  std::size_t size() const { return nodes_.size(); }

  // Reads every node's used_memory (and peak) now; appends a timeline sample at `simulated_ms`.
  Status Sample(int64_t simulated_ms);
  // Sample() every sampling step of processed alerts.
  Status MaybeSample(int64_t processed, int64_t simulated_ms) {
    return processed % step_ == 0 ? Sample(simulated_ms) : Status::Ok();
  }
  // Final per-node figures into r->nodes (clusters only; r->fits becomes "every node fits") and
  // the timeline into r->timeline.
  Status Finish(const KeySchema& schema, SimulationResult* r);

 private:
  struct Node {
    NodeResult result;
    KvBackend* kv = nullptr;
    bool sampled = false;
    int64_t baseline_buffers = 0;
  };
  bool cluster_ = false;
  bool live_server_ = false;
  int64_t step_ = 1;
  std::vector<Node> nodes_;
  std::vector<MemorySample> timeline_;
};

// The per-node section of the text report (empty without nodes): one row per node, then the
// bytes of each family per node, the busiest node, and the cluster verdict.
std::string RenderNodes(const SimulationResult& r);
// The cluster verdict line, e.g. "cluster fits: every node's peak is under its 256 MB budget
// (busiest: node 1, 2.6 MB = 1.02%)".
std::string ClusterVerdict(const SimulationResult& r);
// The "nodes" array of --json: node, address, slots, keys, key_bytes, used_memory_bytes,
// peak_bytes, baseline_bytes, dataset_growth_bytes (NodeResult), fits, families.
nlohmann::ordered_json NodesJson(const SimulationResult& r);

// An SVG chart of used_memory over simulated time, one line per node (and per layout when several
// results are given), with the budget line (or, when the budget is far above the curves, a note
// saying how far).
std::string PlotSvg(const std::vector<SimulationResult>& results);
// PlotSvg written to `path`; the error names the file.
Status WritePlot(const std::vector<SimulationResult>& results, const std::string& path);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_SIMULATE_NODES_H_
