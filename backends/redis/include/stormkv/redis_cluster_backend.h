// stormkv/redis_cluster_backend.h — the KvBackend over a Redis Cluster (hiredis 0.14, RESP2).
//
//   RedisClusterOptions opts;
//   opts.url = "redis-cluster://:secret@10.0.0.1:7000,10.0.0.2:7000";
//   Result<std::unique_ptr<KvBackend>> kv = NewRedisClusterBackend(opts);
//
// The slot map comes from CLUSTER SLOTS, asked of the seeds first and later of the known nodes.
// Each master gets its own connection pool (the plain Redis backend's pool, one per master);
// replicas are never sent anything.
//
// Routing (what Redis Cluster requires, checked before anything is sent):
//  * A keyed command goes to the master of its key's slot: CRC16-XMODEM of the key mod 16384,
//    where a key with a hash tag ("{...}" with at least one byte between the first '{' and the
//    next '}') hashes only the tag; an empty "{}" hashes the whole key.
//  * Key positions: the first argument for single-key commands (and for any command this backend
//    does not know, when it has one); every argument for DEL, EXISTS, UNLINK, TOUCH, MGET, WATCH,
//    PFCOUNT, PFMERGE, SINTER/SUNION/SDIFF(STORE); every other one from the first for MSET and
//    MSETNX; the first two for RENAME(NX), SMOVE, LMOVE, RPOPLPUSH, COPY; the second for
//    MEMORY USAGE and OBJECT; KEYS from numkeys for EVAL, EVALSHA, FCALL (and Eval()).
//    Keys in different slots: refused with kInvalidArgument and Redis's own text
//    "CROSSSLOT Keys in request don't hash to the same slot", nothing sent.
//  * Keyspace-wide commands run on every master: DBSIZE (sum), FLUSHDB/FLUSHALL, CONFIG SET,
//    CONFIG RESETSTAT, SCRIPT LOAD/FLUSH/EXISTS, KEYS (concatenated), SCAN (below), INFO (below),
//    CONFIG GET (below). Other keyless commands (PING, TIME, CLIENT, DEBUG ...) go to the master
//    of slot 0. A master of the map that answers a fan-out command with READONLY (a replica now)
//    or refuses the connection: the map is refreshed and the fan-out runs again (backoff, within
//    retry_deadline).
//  * SCAN's cursor is composite: node_cursor * 16384 + s, where s is the lowest slot of the
//    master being scanned, in decimal (0 = start / done). Masters are scanned one after the
//    other in the order of their lowest slot. A key present on the cluster for the whole
//    iteration is returned as long as it stays on its master (a failover keeps it: the cursor
//    follows the slot to the promoted replica; a key migrated meanwhile to a master already
//    scanned can be missed, as with any cluster client).
//  * INFO: the masters' INFO texts merged: first every field summed over the masters when it is
//    an integer on all of them (used_memory, keys... maxmemory, counters; used_memory_peak is the
//    sum of the peaks), taken as-is when all masters agree on it, left out otherwise; keyspace
//    lines "dbN:keys=..,expires=..,avg_ttl=.." summed (avg_ttl weighted by expires); then for
//    each master i (in slot order) a section "# Node i" with "node<i>_address:host:port" and every
//    field of that master as "node<i>_<field>:<value>".
//  * CONFIG GET: asked of every master; when their replies are equal, that reply. When they
//    differ, the disagreement is not hidden behind one value: the call fails with kServerError
//    "CONFIG GET <pattern>: the masters disagree: host:port=value, ..." (address each master
//    through Nodes() to read them one by one).
//  * MEMORY USAGE: the key's owner.
//
// Redirections and retries (each call by itself; a call never waits past its deadline):
//  * MOVED: the slot map is refreshed (coalesced: one refresh in flight, and a thread whose
//    MOVED was answered by a refresh another thread made meanwhile does not refresh again; a
//    generation counter tells them apart), then the command is resent to the node MOVED named.
//    A redirect proves that the command did not run, so the resend is safe.
//  * ASK: ASKING + the command, once, on the node named; the map is not changed.
//  * TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN, READONLY (and no master known for the slot, or
//    a refused connection to the slot's master): retried with exponential backoff
//    (retry_backoff doubling up to retry_backoff_max) until retry_deadline has passed, the map
//    refreshed before each retry except for TRYAGAIN and LOADING; then kUnavailable naming the
//    slot, the node and the last error.
//  * More than max_redirects MOVED/ASK for one command: kUnavailable naming the slot and the
//    nodes visited (a redirect loop: the cluster's nodes disagree).
//  * A transport failure after sending (reset, EOF, timeout): kUnavailable / kTimeout at once,
//    never resent (the command may have run; the caller's retry contract covers it), and the next
//    call refreshes the map first.
//  * Periodic refresh: the first call after refresh_interval since the last refresh refreshes
//    (one thread; the others go on with the current map).
//  * Scripts: EVALSHA on the slot's master; SCRIPT LOAD once per script and master, and on
//    NOSCRIPT (a promoted replica has none: Redis 7.0 does not replicate SCRIPT LOAD) load on
//    that node and retry once.
//  * RunBatch: the commands are grouped per master, every group is written before any reply is
//    read (one round trip for the whole batch), replies come back in the caller's order.
//    Commands answered with a redirect or a retryable error are resent (after one map refresh or
//    backoff per round) as one pipeline per node, in their original order, all the commands of
//    one slot to one node; commands that got any other reply keep it. Fan-out commands inside a
//    batch split it: the commands before run first, then the fan-out one, then the rest.
//
// Errors follow kv_backend.h; messages name the node ("redis://127.0.0.1:7001/0: ...") and never
// a password. Thread-safety: every method may be called concurrently (see KvBackend).
#ifndef STORMKV_REDIS_CLUSTER_BACKEND_H_
#define STORMKV_REDIS_CLUSTER_BACKEND_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/kv_backend.h"
#include "stormkv/redis_backend.h"
#include "stormkv/status.h"

namespace stormkv {

struct RedisClusterOptions {
  // The seeds and the credentials (the same on every node):
  //   redis-cluster://[[user]:password@]host:port[,host:port...]
  // (port 6379 by default; user and password may be percent-encoded; IPv6 as [::1]:7000; no db:
  // a cluster has only db 0). Any one reachable seed is enough.
  std::string url = "redis-cluster://127.0.0.1:7000";
  // Per node, as in RedisOptions: connect (and AUTH) timeout, must be > 0.
  std::chrono::milliseconds connect_timeout{1000};
  // Per node: each socket read or write of a command; 0 = wait forever.
  std::chrono::milliseconds command_timeout{5000};
  // Per master: most connections open at once.
  std::size_t pool_size = 8;
  // Per master: how long a caller waits for a free pooled connection (then kTimeout).
  std::chrono::milliseconds pool_wait_timeout{5000};
  // How long one call may keep retrying TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN, READONLY, a
  // slot without a master, or a refused master, counted from its first failure. 0 = no retry.
  std::chrono::milliseconds retry_deadline{2000};
  // First backoff between retries, doubled each time up to retry_backoff_max. Must be > 0.
  std::chrono::milliseconds retry_backoff{10};
  std::chrono::milliseconds retry_backoff_max{200};
  // Most MOVED/ASK redirects one command follows. Must be > 0.
  int max_redirects = 5;
  // Refresh the slot map when it is older than this (checked on each call). 0 = never (MOVED
  // and errors still refresh).
  std::chrono::milliseconds refresh_interval{60000};
  // true: NewRedisClusterBackend reads the slot map and PINGs every master, so an unreachable
  // cluster, a bad password or a seed that is not a cluster node fails at creation. false: the
  // first call reads the map.
  bool connect_eagerly = true;
};

// A parsed redis-cluster:// URL.
struct RedisClusterSeeds {
  std::vector<RedisEndpoint> seeds;  // kTcp, db 0, user and password of the URL in each
  std::string user;                  // ACL user; empty = the default user
  std::string password;              // empty = no AUTH
  // "redis-cluster://host:port,host:port". Never contains the user or the password.
  std::string Describe() const;
};

// Parses `url` (grammar in RedisClusterOptions::url). InvalidArgument naming the problem: other
// scheme, no seed, an empty host, a port outside 1..65535, a db path or a query (a cluster has
// only db 0), bad percent-encoding, a user without a password. Messages mask the password.
Result<RedisClusterSeeds> ParseRedisClusterUrl(std::string_view url);

// What a cluster backend has done so far; for tests and diagnostics.
struct RedisClusterStats {
  int64_t refreshes = 0;          // slot maps fetched and installed (creation included)
  int64_t refresh_failures = 0;   // refresh attempts where no node answered CLUSTER SLOTS
  int64_t generation = 0;         // bumped by each installed map
  int64_t moved = 0;              // MOVED replies followed
  int64_t ask = 0;                // ASK replies followed
  int64_t retries = 0;            // resends after TRYAGAIN/CLUSTERDOWN/LOADING/MASTERDOWN/READONLY,
                                  // a refused master or a slot without master
  int64_t crossslot = 0;          // commands refused with CROSSSLOT before sending
  int64_t redirect_loops = 0;     // commands failed after max_redirects redirects
  int64_t transport_errors = 0;   // calls failed by a transport error after sending
  int64_t script_loads = 0;       // SCRIPT LOAD sent, summed over the nodes
  int64_t noscript_retries = 0;   // NOSCRIPT answered, reloaded and retried, summed
  std::size_t masters = 0;        // masters in the current map
  std::size_t nodes = 0;          // node objects created (masters of any map seen, and seeds)
};

// One master of the current map.
struct RedisClusterNode {
  std::string address;        // "host:port"
  KvBackend* backend;         // that master alone (a RedisBackend); valid while the cluster
                              // backend lives. Keyed commands for slots it does not own get
                              // MOVED errors back; keyspace-wide ones see only its keys.
  std::vector<std::pair<int, int>> slots;  // its slot ranges, inclusive, ascending
};

class RedisClusterBackend : public KvBackend {
 public:
  // The masters of the current map, ordered by their lowest slot (budget guard, triage).
  virtual std::vector<RedisClusterNode> Nodes() = 0;
  // Fetches the slot map now (from the known nodes, then the seeds). Unavailable when none
  // answers.
  virtual Status Refresh() = 0;
  // The slot of `key` (CRC16 with the hash-tag rule), as CLUSTER KEYSLOT answers.
  virtual int SlotOf(std::string_view key) const = 0;
  virtual RedisClusterStats Stats() const = 0;
};

// Creates the backend. InvalidArgument for a bad URL or option; with connect_eagerly:
// kUnavailable listing each seed's failure when no seed answers, InvalidArgument "<seed>: not a
// cluster node: use redis://..." when a seed runs without cluster mode, kUnavailable when the
// map leaves slots without a master, the AUTH error of a node.
Result<std::unique_ptr<KvBackend>> NewRedisClusterBackend(const RedisClusterOptions& options);

// `kv` as a RedisClusterBackend, or nullptr when it is another kind of backend.
RedisClusterBackend* AsRedisClusterBackend(KvBackend* kv);

// One factory for both Redis kinds, by scheme: redis:// and unix:// -> NewRedisBackend with
// `options` (url replaced); redis-cluster:// -> NewRedisClusterBackend with the connect/command/
// pool settings of `options` and the other cluster defaults. InvalidArgument for other schemes.
Result<std::unique_ptr<KvBackend>> NewRedisBackendFromUrl(std::string_view url,
                                                          const RedisOptions& options = {});

}  // namespace stormkv

#endif  // STORMKV_REDIS_CLUSTER_BACKEND_H_
