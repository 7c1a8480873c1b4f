// backends/redis/cluster_slots.h — internal: Redis Cluster's key -> slot function, the CLUSTER
// SLOTS reply, redirect replies, and where each command keeps its keys.
#ifndef STORMKV_BACKENDS_REDIS_CLUSTER_SLOTS_H_
#define STORMKV_BACKENDS_REDIS_CLUSTER_SLOTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/reply.h"
#include "stormkv/status.h"

namespace stormkv::redis_internal {

constexpr int kClusterSlots = kHashSlots;

// The slot of `key`: the project's one slot function (stormkv/key_schema.h).
inline int KeySlot(std::string_view key) { return HashSlot(key); }

// One range of the slot map: slots first..last (inclusive) served by the master host:port.
struct SlotRange {
  int first = 0;
  int last = 0;
  std::string host;
  int port = 0;
};

// The ranges of a CLUSTER SLOTS reply (replicas ignored). A master whose address is empty or
// "?" (unknown endpoint) gets `queried_host`, the host the reply came from, as Redis documents.
// Internal naming what is wrong for a reply of another shape, a slot outside 0..16383 or a
// range with first > last.
Result<std::vector<SlotRange>> ParseClusterSlots(const Reply& reply, std::string_view queried_host);

// A MOVED or ASK error reply: "MOVED 3999 127.0.0.1:6381".
struct Redirect {
  bool ask = false;
  int slot = 0;
  std::string host;  // may be empty: the replying node's host (Redis 7 "unknown endpoint")
  int port = 0;
};
// true and `*out` filled when `message` is a well-formed MOVED or ASK reply.
bool ParseRedirect(std::string_view message, Redirect* out);

// Where a command goes in a cluster.
enum class RouteKind {
  kKeyed,     // to the master of `slot`
  kAnyMaster, // keyless, one master is enough (the one of slot 0)
  kFanOut,    // keyspace-wide: see FanOutKind
};
enum class FanOutKind {
  kNone,
  kDbSize,        // sum of integers
  kAllMasters,    // run on every master, the first reply (FLUSHDB, CONFIG SET, SCRIPT LOAD...)
  kScriptExists,  // element-wise AND
  kKeys,          // concatenation
  kScan,          // composite cursor
  kInfo,          // merged text
  kConfigGet,     // equal on every master, or an error naming the disagreement
};
struct CommandRoute {
  RouteKind kind = RouteKind::kAnyMaster;
  FanOutKind fan_out = FanOutKind::kNone;
  int slot = 0;
};
// Routes `argv` (non-empty). InvalidArgument with Redis's "CROSSSLOT Keys in request don't hash
// to the same slot" when its keys are in different slots.
Status RouteCommand(const Command& argv, CommandRoute* out);
// The same check for a script's keys (slot 0 without keys, as a keyless command).
Status RouteKeys(const std::vector<std::string>& keys, CommandRoute* out);

// Redis's refusal text, as a Status (StatusFromErrorReply of it).
Status CrossSlotError();

}  // namespace stormkv::redis_internal

#endif  // STORMKV_BACKENDS_REDIS_CLUSTER_SLOTS_H_
