// tests/cluster/cluster_nodes.h — direct access to the nodes of a test Redis Cluster, below any
// KvBackend: the tests use it to read the real cluster state (role, cluster_state, maxmemory) and
// to drive faults (CLUSTER FAILOVER, SETSLOT, MIGRATE) on one node.
#ifndef STORMKV_TESTS_CLUSTER_CLUSTER_NODES_H_
#define STORMKV_TESTS_CLUSTER_CLUSTER_NODES_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "stormkv/status.h"

namespace stormkv::testing {

struct NodeAddr {
  std::string host;
  int port = 0;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

// The seeds of "redis-cluster://host:port[,host:port...]" (no credentials in test URLs).
// A malformed URL is an InvalidArgument naming it.
Result<std::vector<NodeAddr>> ParseClusterSeeds(const std::string& url);

// One command on one node over a fresh hiredis connection (1 s connect and reply timeout). The
// reply flattened to text: a status or bulk string as is, an integer in decimal, an error as
// "ERR..." in the Status (kServerError), an array as its elements joined by '\n'.
Result<std::string> NodeCommand(const NodeAddr& node, const std::vector<std::string>& argv);

// The "field:value" lines of INFO <section> (or CLUSTER INFO when section == "cluster").
Result<std::map<std::string, std::string>> NodeInfo(const NodeAddr& node,
                                                     const std::string& section);

// One line of CLUSTER NODES.
struct ClusterNodeLine {
  std::string id;
  NodeAddr addr;
  bool myself = false;
  bool master = false;
  bool failed = false;  // "fail" or "fail?" flag
  std::string master_id;  // replicas: their master's id
  std::vector<std::pair<int, int>> slots;  // masters: the slot ranges they own
};
Result<std::vector<ClusterNodeLine>> ClusterNodes(const NodeAddr& node);

// Waits (polling the real state every 20 ms) until every node of `nodes` reports
// cluster_state:ok, agrees on `masters` masters that own all 16384 slots, every replica's link
// is up, and every node's CLUSTER NODES flags each node master or replica as that node says it
// is; Timeout naming what was still missing after `deadline`.
Status WaitClusterHealthy(const std::vector<NodeAddr>& nodes, int masters,
                          std::chrono::milliseconds deadline);

// The master that owns `slot` in `nodes` (a CLUSTER NODES answer), or nullptr.
const ClusterNodeLine* SlotOwner(const std::vector<ClusterNodeLine>& nodes, int slot);

}  // namespace stormkv::testing

#endif  // STORMKV_TESTS_CLUSTER_CLUSTER_NODES_H_
