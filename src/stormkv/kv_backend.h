// stormkv/kv_backend.h — the KvBackend contract: a key-value store with Redis 7.0 semantics.
//
// Two implementations: the embedded store (backends/memory, NewMemoryBackend) and real Redis
// over hiredis (backends/redis, NewRedisBackend). Gateway code sees only this interface.
//
// Thread-safety: every method of every KvBackend may be called concurrently from any thread.
//
// Error model (the same on every backend):
//  * A command that Redis would answer with an error reply returns a non-ok Status carrying the
//    exact Redis text: WRONGTYPE... -> kWrongType; OOM... -> kOutOfMemory; other ERR... (syntax,
//    arity, "value is not an integer or out of range", unknown command) -> kInvalidArgument or
//    kServerError. The command then has changed nothing.
//  * Transport problems are kUnavailable / kTimeout with a message naming the server (never the
//    password). Whether a write reached the server before a transport error is unknown.
//  * A missing key is not an error: GET answers nil, TTL answers -2, and so on (Redis semantics).
#ifndef STORMKV_KV_BACKEND_H_
#define STORMKV_KV_BACKEND_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stormkv/reply.h"
#include "stormkv/status.h"

namespace stormkv {

class Script;

// A command as Redis sees it: argv[0] is the command name (case-insensitive), the rest are its
// arguments as raw bytes, e.g. {"SET", "k", "v", "EX", "300"}.
using Command = std::vector<std::string>;

// Condition for EXPIRE / PEXPIRE (Redis 7.0 options NX, XX, GT, LT).
enum class ExpireCondition { kAlways, kNx, kXx, kGt, kLt };

struct SetOptions {
  std::optional<std::chrono::milliseconds> ttl;  // sent as PX; must be > 0
  bool nx = false;         // only set if the key does not exist
  bool xx = false;         // only set if the key exists
  bool keep_ttl = false;   // KEEPTTL: keep the existing expiry
};

// One script call of an EvalBatch: what Eval takes. `script` must outlive the batch (registered
// scripts live for the process lifetime).
struct ScriptCall {
  const Script* script = nullptr;
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

struct ScanPage {
  std::string cursor;              // "0" when the iteration is complete
  std::vector<std::string> keys;   // may contain duplicates across pages (Redis guarantee)
};

class KvBackend {
 public:
  virtual ~KvBackend() = default;

  // ---- the primitive surface (what implementations provide) ---------------------------------

  // Runs one command atomically and returns its reply.
  // Supported: GET SET DEL EXISTS TYPE INCR INCRBY DECRBY EXPIRE PEXPIRE TTL PTTL PERSIST
  // HSET HSETNX HGET HMGET HGETALL HINCRBY HDEL HLEN HEXISTS SADD SREM SISMEMBER SCARD SMEMBERS
  // ZADD ZREM ZCARD ZSCORE ZRANGEBYSCORE ZREMRANGEBYSCORE SCAN DBSIZE FLUSHDB TIME PING
  // MEMORY USAGE, INFO [memory|stats|keyspace|errorstats|server], CONFIG GET/SET maxmemory and
  // maxmemory-policy (the Redis backend passes any command through).
  // Success: the command's Redis reply. Failure: see the error model above.
  virtual Result<Reply> Run(const Command& argv) = 0;

  // Runs `cmds` in order as one pipeline (one round trip per batch on Redis; not atomic as a
  // whole). Returns one entry per command, in order; an error reply becomes that entry's
  // non-ok Status and does not stop later commands. On a transport failure, every command not
  // yet answered gets the transport Status.
  virtual std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) = 0;

  // Runs `script` atomically with KEYS = `keys` and ARGV = `args`.
  // Redis: EVALSHA of script.lua (SCRIPT LOAD once; on NOSCRIPT load again and retry once).
  // Memory: script.native_twin under the store's lock, through the same primitives, so OOM and
  // WRONGTYPE apply inside the script as in Redis. A script must touch only `keys`.
  // Success: the script's reply. Failure: the first error the script raised (its code follows
  // the error model: WRONGTYPE inside a script is still kWrongType, OOM still kOutOfMemory), or
  // kScriptError for a failure of the script itself.
  virtual Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args) = 0;

  // Runs `calls` in order, each exactly as Eval(*call.script, call.keys, call.args) would run it,
  // as one pipeline where the backend has one: Redis sends every EVALSHA of the batch in one
  // round trip (SCRIPT LOAD first for a script this connection pool has not loaded); the cluster
  // backend one pipeline per master, written to all masters before any is read. Each call is
  // atomic; the batch is NOT: other clients' commands may run between two of its calls.
  // Returns one entry per call, in order, each what Eval would return; an error (a script
  // error, OOM, WRONGTYPE...) fails that entry only and does not stop later calls. Calls whose
  // keys live on one node run on it in the given order. On a transport failure, every call not
  // yet answered gets the transport Status: whether it ran is unknown, as for Eval; a call
  // never runs twice. Limit (Redis): a SCRIPT FLUSH on the server while a batch is in flight
  // makes its later calls answer NOSCRIPT without running; they are run again, in order, after
  // the others (a reordering only a concurrent flush can cause).
  // Default (the embedded stores, wrappers): Eval on this object for each call, in order, so a
  // wrapper that intercepts Eval sees every call of a batch. A null script fails its entry with
  // InvalidArgument.
  virtual std::vector<Result<Reply>> EvalBatch(const std::vector<ScriptCall>& calls);

  // Where this backend's data lives, for messages and reports: "memory", "shm://name",
  // "redis://host:port/db". Never contains a password.
  virtual std::string Describe() const = 0;

  // ---- typed helpers (non-virtual; built on Run, so every backend behaves the same) ---------
  // Each returns the Status of Run on failure.

  // The value of `key`, or nullopt when missing. WRONGTYPE if not a string.
  Result<std::optional<std::string>> Get(std::string_view key);
  // SET with options. true when set; false when NX/XX prevented it.
  Result<bool> Set(std::string_view key, std::string_view value, const SetOptions& opts = {});
  // DEL: number of keys removed (missing keys count 0).
  Result<int64_t> Del(const std::vector<std::string>& keys);
  // EXISTS: number of the given keys that exist (a key given twice counts twice).
  Result<int64_t> Exists(const std::vector<std::string>& keys);
  // TYPE: "string", "hash", "set", "zset" or "none" when missing.
  Result<std::string> Type(std::string_view key);
  // INCRBY: the new value. A missing key counts as 0. InvalidArgument when the value is not an
  // integer or the result would overflow int64.
  Result<int64_t> IncrBy(std::string_view key, int64_t delta);
  // PEXPIRE with a condition: true when the timeout was set, false when the key is missing or
  // the condition failed. A non-positive `ttl` deletes the key (Redis semantics) and returns true.
  Result<bool> PExpire(std::string_view key, std::chrono::milliseconds ttl,
                       ExpireCondition cond = ExpireCondition::kAlways);
  // PTTL: remaining ms; -1 when the key has no expiry; -2 when the key is missing.
  Result<int64_t> Pttl(std::string_view key);

  // HSET: number of fields that were added (not updated).
  Result<int64_t> HSet(std::string_view key,
                       const std::vector<std::pair<std::string, std::string>>& fields);
  // HGET: the value, or nullopt when the key or the field is missing.
  Result<std::optional<std::string>> HGet(std::string_view key, std::string_view field);
  // HGETALL: all field/value pairs (empty when the key is missing), in the backend's order.
  Result<std::vector<std::pair<std::string, std::string>>> HGetAll(std::string_view key);
  // HINCRBY: the field's new value.
  Result<int64_t> HIncrBy(std::string_view key, std::string_view field, int64_t delta);
  // HLEN: number of fields; 0 when missing.
  Result<int64_t> HLen(std::string_view key);

  // SADD: number of members added.
  Result<int64_t> SAdd(std::string_view key, const std::vector<std::string>& members);
  // SMEMBERS: all members (empty when missing), unordered.
  Result<std::vector<std::string>> SMembers(std::string_view key);
  // SCARD: cardinality; 0 when missing.
  Result<int64_t> SCard(std::string_view key);

  // ZADD one member: 1 when added, 0 when only its score changed.
  Result<int64_t> ZAdd(std::string_view key, double score, std::string_view member);
  // ZCARD: cardinality; 0 when missing.
  Result<int64_t> ZCard(std::string_view key);
  // ZSCORE: the score, or nullopt when the key or the member is missing.
  Result<std::optional<double>> ZScore(std::string_view key, std::string_view member);

  // One SCAN step. `match` is a glob ("" = all); `count` a hint; `type` "" = any.
  Result<ScanPage> Scan(std::string_view cursor, std::string_view match = "", int64_t count = 10,
                        std::string_view type = "");
  // Full SCAN iteration; calls `fn` once per key returned (duplicates removed). Every key that
  // exists for the whole iteration is visited. Stops early with fn's Status when not ok.
  Status ScanAll(std::string_view match, const std::function<Status(const std::string&)>& fn,
                 int64_t count = 1000, std::string_view type = "");

  // DBSIZE.
  Result<int64_t> DbSize();
  // FLUSHDB: removes every key of the current database.
  Status FlushDb();
  // MEMORY USAGE key SAMPLES 0: bytes, or nullopt when the key is missing.
  Result<std::optional<int64_t>> MemoryUsage(std::string_view key);
  // INFO <section> parsed into name -> value (all sections' fields merged when section is "").
  Result<std::map<std::string, std::string>> Info(std::string_view section = "");
  // used_memory from INFO memory.
  Result<int64_t> UsedMemory();
  // CONFIG GET name: the value, or nullopt when the parameter is unknown.
  Result<std::optional<std::string>> ConfigGet(std::string_view name);
  // CONFIG SET name value.
  Status ConfigSet(std::string_view name, std::string_view value);
};

// Parses one INFO text ("# Memory\r\nused_memory:123\r\n...") into name -> value.
std::map<std::string, std::string> ParseInfo(std::string_view text);

// Maps an error reply's text to a Status with the matching code and the same text
// ("WRONGTYPE ..." -> kWrongType, "OOM ..." -> kOutOfMemory, "NOSCRIPT"/"BUSY" -> kScriptError,
// "LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "MISCONF" -> kUnavailable (the
// command did not run and may succeed later), "CROSSSLOT ..." and "ERR ..." -> kInvalidArgument,
// others kServerError: "MOVED"/"ASK" too (a redirect that reaches a caller means a client that
// is not a cluster client talks to a cluster node; the cluster backend follows them itself).
// Errors raised inside a script (Redis 7.0 suffix " script: <sha>, on @user_script:N.") keep the
// code of the command that failed; Lua runtime errors and redis.call misuse are kScriptError.
// Both backends use it so the same reply text always gives the same code.
Status StatusFromErrorReply(std::string_view text);

}  // namespace stormkv

#endif  // STORMKV_KV_BACKEND_H_
