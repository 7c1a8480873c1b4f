// tools/cli/triage_cluster.h — `stormkv triage redis-cluster://...`: every master of a cluster
// triaged by itself, then the cluster as a whole.
//
// Read-only as the standalone triage (triage.h): each master is addressed alone (its own
// connection pool, RedisClusterBackend::Nodes(); the embedded cluster's nodes for
// memory://?cluster=N) through the read-only guard, so SCAN sees that master's keys and MEMORY
// USAGE goes to each key's owner. The topology comes from CLUSTER NODES and the state from each
// master's CLUSTER INFO. Replicas are visited for INFO only (memory, replication link): no key of
// a replica is read, so no READONLY is ever sent.
//
// Findings (stable codes; Finding::node says which master, -1 = the cluster):
//   per master   every server finding of triage.h (maxmemory-below-used, maxmemory-near,
//                maxmemory-tiny, maxmemory-unset, eviction-policy, oom-rejections,
//                evicted-keys, script-cache-growth, fragmentation, client-buffers),
//                cluster-state (error: CLUSTER INFO of that master says cluster_state is not
//                ok, or slots are failing), master-without-replica (warning: no replica, or
//                none whose link is up), node-unreachable (error: the master did not answer;
//                the others are still triaged).
//   the cluster  maxmemory-differs (warning: the masters' maxmemory or maxmemory-policy are not
//                all equal, each master's value named), hot-shard (warning: a master holds at
//                least hot_shard_ratio x the mean keys or key bytes per master; the families and
//                hash tags that make it hot are named), and the key findings of triage.h over
//                all keys (gateway-keys-without-ttl, keys-without-ttl, big-keys, empty).
#ifndef STORMKV_TOOLS_CLI_TRIAGE_CLUSTER_H_
#define STORMKV_TOOLS_CLI_TRIAGE_CLUSTER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "stormkv/kv_backend.h"
#include "stormkv/status.h"
#include "triage.h"

namespace stormkv::cli {

// One master as the cluster backend addresses it.
struct ClusterMember {
  std::string address;  // "host:port"
  std::string slots;    // "0-5460" or "0-100,200-300"
  int64_t slot_count = 0;
  KvBackend* backend = nullptr;  // that master alone (not owned)
};

// The masters of `kv` in slot order when it is a cluster backend (redis-cluster:// or the
// embedded memory://?cluster=N); empty for any other backend.
std::vector<ClusterMember> ClusterMembers(KvBackend& kv);

// A replica as CLUSTER NODES lists it, and what its INFO said when it was visited.
struct ReplicaTriage {
  std::string address;
  std::string id;
  std::string flags;         // CLUSTER NODES flags, e.g. "slave" or "slave,fail"
  std::string link_state;    // CLUSTER NODES: "connected" / "disconnected"
  bool visited = false;      // INFO was read
  std::string error;         // why it could not be visited ("" when visited or not tried)
  std::string master_link;   // INFO replication master_link_status ("up", "down", "")
  int64_t used_memory = -1;
  int64_t maxmemory = -1;
  std::string policy;
  // Counts as a replica: not failed, connected, and (when visited) its link to the master up.
  bool healthy = false;
};

struct NodeTriage {
  int node = 0;  // index in slot order
  std::string address;
  std::string id;  // CLUSTER NODES id ("" when unknown)
  std::string slots;
  int64_t slot_count = 0;
  bool reachable = true;
  std::string error;  // why the master could not be triaged (reachable == false)
  // That master's own report: its memory, keys, families, tags; findings = its server findings.
  TriageReport report;
  // CLUSTER INFO of that master ("" when not answered).
  std::string cluster_state;
  int64_t slots_assigned = -1, slots_ok = -1, slots_pfail = -1, slots_fail = -1;
  int64_t known_nodes = -1;
  std::vector<ReplicaTriage> replicas;
};

struct ClusterTriageReport {
  std::string backend;
  std::vector<NodeTriage> nodes;
  // Every master's keys together (families, TTLs, biggest keys with their node, memory summed);
  // its findings are the key findings over the whole cluster.
  TriageReport total;
  // Every finding, the masters' and the cluster's, errors first.
  std::vector<Finding> findings;
  std::vector<std::string> notes;
  bool topology_known = false;  // CLUSTER NODES answered (replicas known)
};

struct ClusterTriageOptions {
  TriageOptions triage;  // per master (sample: at most this many keys inspected per master)
  // Opens a plain connection to a replica ("host:port"), for its INFO. Unset: replicas are not
  // visited (their CLUSTER NODES state still counts).
  std::function<Result<std::unique_ptr<KvBackend>>(const std::string& address)> connect;
};

// ClusterTriageOptions::connect for a redis-cluster:// URL: plain connections with the URL's
// credentials (1 s connect and 5 s command timeouts, one connection). Unset for other URLs.
std::function<Result<std::unique_ptr<KvBackend>>(const std::string& address)> ReplicaConnector(
    const std::string& url);

// Triages every member, then the cluster. Fails only when no master answers at all.
Result<ClusterTriageReport> RunClusterTriage(const std::vector<ClusterMember>& members,
                                             const std::string& backend_description,
                                             const ClusterTriageOptions& options);

// The cluster findings (every finding above except the per-master server findings, which are
// already in each node's report) for the report's figures; pure, exposed for tests.
std::vector<Finding> AnalyzeClusterFindings(const ClusterTriageReport& report,
                                            const TriageOptions& options);
// Fills total (merged) from the nodes' reports; pure, exposed for tests.
void MergeNodeReports(ClusterTriageReport& report, const TriageOptions& options);

// A parsed line of CLUSTER NODES.
struct ClusterNodesEntry {
  std::string id, address, flags, master_id, link_state, slots;
  bool master() const;
  bool failed() const;  // "fail" or "fail?" flagged
};
// Parses CLUSTER NODES' text; lines that do not parse are skipped.
std::vector<ClusterNodesEntry> ParseClusterNodes(const std::string& text);

std::string RenderClusterTriageText(const ClusterTriageReport& report,
                                    const TriageOptions& options);
nlohmann::ordered_json ClusterTriageJson(const ClusterTriageReport& report);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_TRIAGE_CLUSTER_H_
