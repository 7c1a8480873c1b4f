// tests/redis/private_cluster.h — a throw-away Redis Cluster owned by one test (cluster backend
// tests that move slots, fail nodes over or stop them; the shared cluster of tools/test.sh stays
// untouched).
//
// Built from PrivateRedis servers in cluster mode (cluster-node-timeout 1000 ms, diskless
// replication without delay), joined by hand like redis-cli --cluster create does: a config
// epoch per node, CLUSTER ADDSLOTSRANGE (the 16384 slots split evenly over the masters in
// order), CLUSTER MEET, CLUSTER REPLICATE; then waited for (bounded) until every node reports
// cluster_state:ok, knows every node, and every replica's link is up. Stopped by pid with its
// servers.
#ifndef STORMKV_TESTS_REDIS_PRIVATE_CLUSTER_H_
#define STORMKV_TESTS_REDIS_PRIVATE_CLUSTER_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "redis/private_redis.h"
#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv::testing {

class PrivateCluster {
 public:
  // `masters` masters (node i owns the i-th share of the slots), then `replicas` replicas per
  // master (node masters + r * masters + i replicates master i). `extra_args` go to every node.
  static Result<std::unique_ptr<PrivateCluster>> Start(int masters, int replicas,
                                                       std::vector<std::string> extra_args = {});

  int size() const { return static_cast<int>(nodes_.size()); }
  PrivateRedis& node(int i) { return *nodes_[static_cast<size_t>(i)]; }
  int port(int i) const { return nodes_[static_cast<size_t>(i)]->port(); }
  // "redis-cluster://127.0.0.1:p0,..." (every node a seed), with `userinfo@` when given.
  std::string Url(const std::string& userinfo = "") const;
  // CLUSTER MYID of node i.
  const std::string& id(int i) const { return ids_[static_cast<size_t>(i)]; }

  // One command on node i over a plain connection of its own (password from `password`).
  Result<Reply> Run(int i, const Command& argv);
  // Waits until every running node in `nodes` (all when empty) reports cluster_state:ok and
  // the same number of known nodes; Timeout naming what is missing after `deadline`.
  Status WaitHealthy(std::chrono::milliseconds deadline, std::vector<int> nodes = {});
  // The index of the node that owns `slot` as node `asked` sees it (-1 when none).
  Result<int> OwnerOf(int slot, int asked);

  void set_password(std::string pw) { password_ = std::move(pw); }

 private:
  PrivateCluster() = default;
  std::vector<std::unique_ptr<PrivateRedis>> nodes_;
  std::vector<std::string> ids_;
  std::string password_;
};

// The CLUSTER INFO / INFO fields ("name:value" lines) of a reply text.
std::string InfoField(const std::string& text, const std::string& name);

}  // namespace stormkv::testing

#endif  // STORMKV_TESTS_REDIS_PRIVATE_CLUSTER_H_
