// backends/memory/memory_node.h — what the cluster mode (cluster_*.cc) needs from the in-process
// store: one store configured as a cluster node, with the script-call hook installed. Private to
// backends/memory.
#ifndef STORMKV_BACKENDS_MEMORY_MEMORY_NODE_H_
#define STORMKV_BACKENDS_MEMORY_MEMORY_NODE_H_

#include <memory>

#include "store.h"
#include "stormkv/memory_backend.h"

namespace stormkv::memstore {

// The embedded store of NewMemoryBackend(options) (options.cluster_nodes is ignored) as a
// Redis Cluster node: StoreConfig::cluster_node set (the cluster memory profile), and `hook`
// (with `ctx`) called for every command a script runs on it (store.h, ScriptCallHook).
// Fails with NewMemoryBackend's InvalidArgument for bad options.
Result<std::unique_ptr<KvBackend>> NewMemoryClusterNodeStore(const MemoryBackendOptions& options,
                                                             ScriptCallHook hook, void* ctx);

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_MEMORY_NODE_H_
