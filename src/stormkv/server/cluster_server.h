// stormkv/server/cluster_server.h — `stormkv serve --cluster N`: the embedded store as a Redis
// Cluster of N masters (stormkv/memory_cluster.h), one Server (stormkv/server/server.h) per node
// on a port of its own, so that cluster clients (redis-cli -c, redis-py's RedisCluster,
// go-redis's ClusterClient) discover the nodes and follow MOVED to them.
//
//   ClusterServerOptions o;
//   o.nodes = 3;
//   o.server.port = 0;                        // N free ports (else node i on port + i)
//   Result<std::unique_ptr<ClusterServer>> c = ClusterServer::Start(std::move(o));
//   for (const MemoryClusterNode& n : (*c)->nodes()) ...  // n.address: "127.0.0.1:<port>"
//
// The nodes announce the addresses they listen on (CLUSTER SLOTS / SHARDS / NODES, MOVED),
// each answers as a node of a real cluster (ServerCluster in server.h), all share one clock:
// STORMKV.CLOCK SET / ADVANCE on any node moves the whole cluster's time and runs every node's
// expiry at once; STORMKV.MEMORY and INFO report the node asked. No replicas.
//
// Thread-safety: Start/Stop from any thread; each node's server runs on a thread of its own,
// the nodes' stores have a lock each (a node thread may reach another node's store through
// the clock commands).
#ifndef STORMKV_SERVER_CLUSTER_SERVER_H_
#define STORMKV_SERVER_CLUSTER_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "stormkv/kv_backend.h"
#include "stormkv/memory_backend.h"
#include "stormkv/memory_cluster.h"
#include "stormkv/server/server.h"
#include "stormkv/status.h"

namespace stormkv {

struct ClusterServerOptions {
  // Masters, 1..16384 (each owns the slot range `redis-cli --cluster create` gives it).
  int nodes = 3;
  // Every node's store (clock, allocator, maxmemory per node, policy, seed). cluster_nodes and
  // cluster_addresses are set by Start.
  MemoryBackendOptions memory;
  // Every node's server: bind, requirepass, limits, clock, memory_report. port: the first
  // node's; node i listens on port + i; 0 = a free port for each node. backend, listen_fd,
  // unixsocket and cluster must be left unset (Start fills in what it needs).
  ServerOptions server;
  // The host the nodes announce. "" = server.bind, or 127.0.0.1 when bind is 0.0.0.0 (::1 for ::).
  std::string announce_host;
};

class ClusterServer {
 public:
  // Binds every node's port first, then builds the cluster with those addresses and starts the
  // servers. InvalidArgument for bad options (nodes outside 1..16384, port + nodes - 1 above
  // 65535, a set backend/unixsocket/listen_fd, a bind that is not an IP address, a store option
  // NewMemoryBackend refuses); Unavailable naming the address when a bind fails. Nothing keeps
  // listening after a failure.
  static Result<std::unique_ptr<ClusterServer>> Start(ClusterServerOptions options);

  virtual ~ClusterServer() = default;
  // The nodes in slot order, each with the address it listens on and announces.
  virtual const std::vector<MemoryClusterNode>& nodes() const = 0;
  // The TCP port of each node, in slot order.
  virtual std::vector<int> ports() const = 0;
  // The whole cluster in-process (routes like a cluster client; stormkv/memory_cluster.h).
  virtual std::shared_ptr<KvBackend> cluster() const = 0;
  // Stops every node's server (see Server::Stop). Idempotent; the destructor calls it.
  virtual void Stop() = 0;
};

}  // namespace stormkv

#endif  // STORMKV_SERVER_CLUSTER_SERVER_H_
