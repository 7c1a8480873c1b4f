// backends/memory/cluster_keys.h — which arguments of a command are keys, and the slot rules a
// Redis Cluster applies to them (cluster mode of the embedded store). Private to backends/memory.
#ifndef STORMKV_BACKENDS_MEMORY_CLUSTER_KEYS_H_
#define STORMKV_BACKENDS_MEMORY_CLUSTER_KEYS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/kv_backend.h"

namespace stormkv::memstore {

inline constexpr std::string_view kErrCrossSlot =
    "CROSSSLOT Keys in request don't hash to the same slot";
inline constexpr std::string_view kErrSelectCluster = "ERR SELECT is not allowed in cluster mode";
inline constexpr std::string_view kErrNonLocalKey =
    "ERR Script attempted to access a non local key in a cluster node";

// What a command does on a cluster.
enum class ClusterRoute {
  kKeyed,     // runs on the owner of its keys' slot (node 0 when it names none)
  kScript,    // EVAL/EVALSHA/EVAL_RO/EVALSHA_RO: keyed by its declared KEYS
  kKeyless,   // PING, TIME, ECHO...: node 0
  kFanOut,    // DBSIZE, FLUSHDB, SCAN, INFO, CONFIG, SCRIPT, DEBUG, KEYS: every node
  kSelect,    // SELECT: answered by the cluster rules
  kCluster,   // CLUSTER <subcommand>
};

struct CommandKeys {
  ClusterRoute route = ClusterRoute::kKeyed;
  std::vector<std::size_t> positions;  // argv indices of the keys
};

// Redis 7.0's key positions for `argv` (the store's commands and the common others): the first
// argument; every argument of DEL, UNLINK, EXISTS, TOUCH, MGET, WATCH, SINTER, SUNION, SDIFF;
// every other one of MSET/MSETNX; the first two of RENAME(NX), SMOVE, RPOPLPUSH, LMOVE, COPY;
// the second of MEMORY USAGE and OBJECT <sub>; numkeys KEYS after argv[2] for the EVAL family
// (none when numkeys is not a valid count: the command's own error then comes from the node).
CommandKeys KeysOf(const Command& argv);

// The common slot of the keys at `positions`, -1 without keys, -2 when they span slots.
int SlotOfKeys(const Command& argv, const std::vector<std::size_t>& positions);
// The same for a list of keys.
int SlotOfKeyList(const std::vector<std::string>& keys);

// ASCII lower case of a command name.
std::string LowerName(std::string_view name);

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_CLUSTER_KEYS_H_
