// stormkv/memory_backend.h — the embedded store: a hermetic KvBackend.
//
// An in-process hash map with Redis 7.0 command semantics, lazy + active expiry driven by an
// injected Clock, memory accounting that predicts what Redis 7.0 would report (used_memory,
// used_memory_peak, MEMORY USAGE) from the calibrated model in stormkv/memory_model.h, and
// maxmemory enforcement with Redis's rule (checked before each deny-oom command, so one write may
// overshoot) and eviction policies. Registered scripts run as their native twins (or as Lua, see
// ScriptMode); EVAL/EVALSHA/EVAL_RO/EVALSHA_RO/SCRIPT run any Lua on the embedded engine
// (stormkv/lua_engine.h), all under the store's lock.
//
// Thread-safety: the whole store is guarded by one mutex; every method may be called from any
// thread. Eval and the scripting commands hold the lock for the whole script, so scripts are
// atomic.
#ifndef STORMKV_MEMORY_BACKEND_H_
#define STORMKV_MEMORY_BACKEND_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "stormkv/clock.h"
#include "stormkv/kv_backend.h"
#include "stormkv/lua_engine.h"
#include "stormkv/memory_model.h"

namespace stormkv {

// How KvBackend::Eval runs a registered Script on an embedded store.
enum class ScriptMode {
  kTwin,  // its native C++ twin (the default: fastest); a script without a twin runs as Lua
  kLua,   // its Lua text on the embedded Lua engine, as Redis would run it
};

struct MemoryBackendOptions {
  // Time source for expiry and TIME. nullptr = SystemClock::Shared().
  std::shared_ptr<const Clock> clock;
  // Which Redis build to imitate: Debian's package (jemalloc quantum 16, the default) or an
  // upstream build (quantum 8).
  AllocatorProfile allocator = AllocatorProfile::kDebian;
  // Initial maxmemory in bytes (0 = unlimited; negative is refused) and policy, as CONFIG SET
  // would take them (case-insensitive; an unknown policy is refused).
  int64_t maxmemory = 0;
  std::string maxmemory_policy = "noeviction";
  // Seed of the eviction sampler and of active expiry sampling (deterministic runs).
  uint64_t seed = 1;
  // Run Redis-like active expiry cycles (every 100 ms of clock time, checked on each command).
  bool active_expiry = true;
  // used_memory of the empty store (>= 0, or -1). -1 = the calibrated empty-server figure of `allocator`
  // (model::EmptyServer: an empty Redis 7.0 after every command ran once, 1,433,168 bytes for
  // Debian). Set it to imitate another starting point, e.g. a brand-new server (964,160).
  int64_t baseline_used_memory = -1;
  // Imitate a freshly started server instead of a warmed one: used_memory starts at
  // model::FreshServerUsedMemory (914,672 bytes for Debian) and grows, once each, by a command's
  // latency histogram on its first call (24,688 bytes; EVALSHA and SCRIPT LOAD count for a
  // script) and by the script cache entry of each script Eval runs — what a new Redis 7.0
  // allocates as a workload begins. `stormkv simulate` uses it.
  bool fresh_server = false;
  // The per-process randomness of the imitated server: its dict hash seed (16 bytes; which
  // buckets a collection's elements occupy decides when its incremental rehash finishes, so
  // MEMORY USAGE of a hashtable mid-rehash) and the seed of its random() (skiplist node levels).
  // A real server draws both at start; a server started with the same seeds (the fidelity
  // tests' seed_shim) reports what the store reports, byte for byte.
  std::array<uint8_t, 16> dict_hash_seed{};
  uint32_t zset_level_seed = 1;
  // Eval of a registered script: twin or Lua (ScriptMode). EVAL, EVALSHA, EVAL_RO, EVALSHA_RO
  // and SCRIPT through Run always use the Lua engine.
  ScriptMode script_mode = ScriptMode::kTwin;
  // The Lua engine's limits (runaway instructions, heap cap, reply size) and its log sink.
  LuaEngineOptions lua;
  // Redis Cluster mode (stormkv/memory_cluster.h): 0 = one standalone server (the default); N =
  // a cluster of N masters in this process, each owning the slot range `redis-cli --cluster
  // create` gives it, with Redis 7.0's cluster rules and a cluster node's memory profile. Every
  // option above applies to each node (maxmemory is per node, as on a real cluster). Valid:
  // 0..16384 (see NewMemoryBackend).
  int cluster_nodes = 0;
  // Cluster mode: a script may touch only keys it declares in KEYS (all in one slot, since the
  // call is refused with CROSSSLOT otherwise). Stricter than Redis 7.0, which lets a script reach
  // any key its node owns -- a small test cluster then passes what a larger production cluster
  // fails. false = Redis 7.0's rules alone (a key of another node fails).
  bool cluster_strict_scripts = true;
  // Cluster mode: the address each node announces, "host:port", one per node in slot order
  // (CLUSTER SLOTS / SHARDS / NODES, and MOVED's target). Empty = "127.0.0.1:<30001 + i>", where
  // nothing listens; `stormkv serve --cluster N` passes the addresses it listens on. Refused
  // (InvalidArgument) unless it is empty or has cluster_nodes entries, each a non-empty host and
  // a port 1..65535.
  std::vector<std::string> cluster_addresses;
};

// Creates an empty store. Its used_memory starts at the modelled baseline of an empty server.
// Besides the Redis INFO sections, INFO stormkv reports stormkv_real_bytes: the store's own heap
// footprint, estimated by walking its structures (O(keys)).
// Scripts: the OOM state is computed once as a script starts (like Redis 7.0). A script whose
// Lua text has a `#!lua` shebang without no-writes or allow-oom is refused at its start while
// over maxmemory ("OOM command not allowed when used memory > 'maxmemory'."); allow-oom lets its
// deny-oom commands run; a legacy script (no shebang) starts, and its first deny-oom command
// fails unless it has already written. Under Lua the error carries Redis's
// " script: <sha>, on @user_script:<line>." suffix; a twin returns the plain text (it cannot
// know the line).
// Lua (EVAL..., SCRIPT, and Eval in kLua mode or of a script without a twin): one LuaEngine per
// store, created on first use, run under the store's lock; its script cache is the store's
// (SCRIPT FLUSH empties it, FLUSHDB does not). Every command a script runs — a twin's
// ScriptContext::Call and Lua's redis.call alike — goes through one path (lua_host.h's
// StoreScriptContext); commands the store does not know get "ERR Unknown Redis command called
// from script", Redis's no-script commands "ERR This Redis command is not allowed from script".
// Errors: InvalidArgument naming the option for anything the store would otherwise have to
// guess: an unknown maxmemory_policy (the message lists the known ones), a negative maxmemory,
// a baseline_used_memory below -1, an allocator profile that does not exist, cluster_nodes
// outside 0..16384. With cluster_nodes > 0 the store is a cluster (NewMemoryClusterBackend,
// stormkv/memory_cluster.h).
Result<std::unique_ptr<KvBackend>> NewMemoryBackend(MemoryBackendOptions options = {});

}  // namespace stormkv

#endif  // STORMKV_MEMORY_BACKEND_H_
