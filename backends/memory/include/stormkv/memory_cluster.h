// stormkv/memory_cluster.h — the embedded store as a Redis Cluster: N masters in one process.
//
//   MemoryBackendOptions opts;
//   opts.cluster_nodes = 3;              // or the URL memory://?cluster=3
//   Result<std::unique_ptr<KvBackend>> kv = NewMemoryClusterBackend(opts);
//
// Each node is an embedded store (stormkv/memory_backend.h) with a Redis 7.0 cluster node's
// memory profile (+16 bytes per key for the slot-to-key links, +723,976 bytes for the empty
// node's slot tables; stormkv/memory_model.h) that owns the slot range `redis-cli --cluster
// create` gives it (ClusterCreateSlotRanges). The backend routes like a cluster client that
// never sees a redirect, and refuses what a real cluster refuses, with Redis 7.0.15's texts:
//  * A keyed command goes to the owner of its key's slot (stormkv::HashSlot: CRC16 of the hash
//    tag; an empty "{}" hashes the whole key). Keys of one command in different slots:
//    "CROSSSLOT Keys in request don't hash to the same slot" (kInvalidArgument), nothing runs.
//    Key positions: the first argument; every argument of DEL, UNLINK, EXISTS, TOUCH, MGET; the
//    third of MEMORY USAGE and OBJECT; KEYS by numkeys for EVAL, EVALSHA, EVAL_RO, EVALSHA_RO.
//  * Scripts (Eval, EVAL...) run on the owner of their KEYS' slot (node 0 without keys). A
//    command inside the script on a key the node does not own, or on keys of several slots:
//    "ERR Script attempted to access a non local key in a cluster node" (Redis 7.0 allows keys
//    of other slots of the same node). By default (cluster_strict_scripts) stricter: a key the
//    script did not declare in KEYS fails with "ERR Script attempted to access a key not
//    declared in KEYS: '<key>' ..." -- on a real cluster the same script succeeds or fails
//    depending on which node the key's slot lands on.
//  * SELECT 0 is OK; SELECT n: "ERR SELECT is not allowed in cluster mode" (also in scripts).
//  * CLUSTER KEYSLOT / COUNTKEYSINSLOT / GETKEYSINSLOT / SLOTS / SHARDS / INFO / MYID / NODES
//    answer as the cluster would (nodes at options.cluster_addresses, by default
//    "127.0.0.1:30001"..., deterministic 40-hex ids, no replicas; SHARDS in its RESP2 form, flat
//    name/value arrays, shards in slot order); other subcommands get Redis's unknown-subcommand
//    text.
//  * Keyspace-wide commands run on every node: DBSIZE (sum), FLUSHDB/FLUSHALL, CONFIG SET and
//    RESETSTAT, SCRIPT, DEBUG (every node; the first node's reply), SCAN (a composite cursor:
//    node_cursor * 16384 + the node's first slot; the nodes one after the other), INFO (merged:
//    a field summed when it is an integer on every node, kept when all agree, left out
//    otherwise; the keyspace line summed; then "# Node i" sections with "node<i>_<field>"),
//    CONFIG GET (the common reply, or kServerError naming each node's value when they differ).
//    Other keyless commands (PING, TIME, ECHO...) go to node 0.
// RunBatch runs the commands one after the other, each routed alone (not atomic as a whole, as
// on a cluster). Thread-safety: every node has its own lock; a call holds one node's lock at a
// time, so fan-out commands are not atomic across nodes (as on a real cluster).
#ifndef STORMKV_MEMORY_CLUSTER_H_
#define STORMKV_MEMORY_CLUSTER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/kv_backend.h"
#include "stormkv/memory_backend.h"
#include "stormkv/status.h"

namespace stormkv {

// Slots [first, last], inclusive.
struct ClusterSlotRange {
  int first = 0;
  int last = 0;
};

// The slot ranges `redis-cli --cluster create` gives `masters` masters, in order: contiguous,
// 16384 / masters slots each as redis-cli computes it (single-precision running cursor, rounded
// to the nearest slot, the last master up to 16383). 3 masters: 0-5460, 5461-10922,
// 10923-16383. redis-cli itself needs at least 3 masters; 1 and 2 follow the same rule.
// InvalidArgument when masters is outside 1..16384.
Result<std::vector<ClusterSlotRange>> ClusterCreateSlotRanges(int masters);

// One node of an embedded cluster.
struct MemoryClusterNode {
  int index = 0;            // 0-based, in slot order
  std::string id;           // 40 hex digits, as CLUSTER NODES / SLOTS show it
  std::string address;      // options.cluster_addresses[index], or "127.0.0.1:<30001 + index>"
  ClusterSlotRange slots;   // the range it owns
  // That node alone: keyed commands for slots it does not own get "MOVED <slot> <address>",
  // keyspace-wide commands (DBSIZE, SCAN, INFO, FLUSHDB...) see only its keys. Valid while the
  // cluster backend lives.
  KvBackend* backend = nullptr;
};

class MemoryClusterBackend : public KvBackend {
 public:
  // The nodes, in slot order.
  virtual std::vector<MemoryClusterNode> Nodes() const = 0;
  // The index of the node owning `slot` (0..16383).
  virtual int NodeOfSlot(int slot) const = 0;
};

// Creates the cluster: options.cluster_nodes nodes (1..16384), each built from `options` (its
// clock, allocator profile, maxmemory and policy, seeds: node i uses seed + i), announcing
// options.cluster_addresses. InvalidArgument when cluster_nodes is outside 1..16384, for
// cluster_addresses of another length or with an entry that is not "host:port", or for an
// option NewMemoryBackend refuses.
Result<std::unique_ptr<KvBackend>> NewMemoryClusterBackend(MemoryBackendOptions options);

// `kv` as a MemoryClusterBackend, or nullptr when it is another kind of backend.
MemoryClusterBackend* AsMemoryClusterBackend(KvBackend* kv);

}  // namespace stormkv

#endif  // STORMKV_MEMORY_CLUSTER_H_
