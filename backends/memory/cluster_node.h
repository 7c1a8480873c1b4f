// backends/memory/cluster_node.h — one master of the embedded cluster: an in-process store with a
// cluster node's memory profile, the slots it owns, and Redis 7.0's per-node cluster rules
// (MOVED for keys it does not own, CROSSSLOT, SELECT, CLUSTER subcommands, the script-key
// checks through the store's ScriptCallHook). Private to backends/memory.
#ifndef STORMKV_BACKENDS_MEMORY_CLUSTER_NODE_H_
#define STORMKV_BACKENDS_MEMORY_CLUSTER_NODE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster_keys.h"
#include "stormkv/kv_backend.h"
#include "stormkv/memory_backend.h"
#include "stormkv/memory_cluster.h"

namespace stormkv::memstore {

// The cluster's layout, the same for every node; immutable once built.
struct ClusterTopology {
  std::vector<ClusterSlotRange> ranges;  // node i owns ranges[i]
  std::vector<uint16_t> owner;           // slot -> node index (16384 entries)
  std::vector<std::string> ids;          // 40 hex digits per node
  std::vector<std::string> addresses;    // "<host>:<port>" per node
  std::vector<std::string> hosts;
  std::vector<int> ports;
  bool strict_scripts = true;
};

class ClusterNode final : public KvBackend {
 public:
  ClusterNode(int index, std::shared_ptr<const ClusterTopology> topology);
  // Creates the node's store from `options` (NewMemoryBackend's errors for bad options). Call
  // once, before any other method.
  Status Init(const MemoryBackendOptions& options);

  // KvBackend: this node alone, with the per-node rules (a key it does not own: MOVED).
  Result<Reply> Run(const Command& argv) override;
  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override;
  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override;
  std::string Describe() const override;

  // Runs `argv`, whose keys (`keys`, all in one slot this node owns, or none) the caller checked.
  Result<Reply> RunChecked(const Command& argv, const CommandKeys& keys);
  // Eval with `keys` already checked (one slot this node owns, or none).
  Result<Reply> EvalChecked(const Script& script, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args);
  // CLUSTER <subcommand> as this node answers it (COUNTKEYSINSLOT and GETKEYSINSLOT count this
  // node's keys).
  Result<Reply> ClusterCommand(const Command& argv);
  // The node's store with no cluster rules at all.
  KvBackend& store() { return *store_; }
  int index() const { return index_; }

 private:
  static std::optional<Reply> ScriptHook(void* ctx, const Command& argv);
  std::optional<Reply> CheckScriptCommand(const Command& argv) const;
  // The MOVED / CROSSSLOT error for `slot` (SlotOfKeys' result), or nullopt when it is ours.
  std::optional<Status> SlotError(int slot) const;

  const int index_;
  const std::shared_ptr<const ClusterTopology> topology_;
  std::unique_ptr<KvBackend> store_;
};

// SELECT on a cluster: SELECT 0 is OK, any other index "ERR SELECT is not allowed in cluster
// mode"; Redis's texts for a wrong arity and an index that is not a 32-bit integer.
Reply ClusterSelectReply(const Command& argv);
// CLUSTER KEYSLOT / SLOTS / SHARDS / INFO / MYID / NODES of `topology` as node `self` answers them;
// nullopt for the subcommands that need a node's keys (COUNTKEYSINSLOT, GETKEYSINSLOT) or that
// are unknown (the caller answers those).
std::optional<Reply> ClusterTopologyReply(const ClusterTopology& topology, int self,
                                          const Command& argv);

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_CLUSTER_NODE_H_
