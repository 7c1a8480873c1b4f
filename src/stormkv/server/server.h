// stormkv/server/server.h — `stormkv serve`: any KvBackend (normally the embedded store) behind
// a Redis-compatible RESP2/RESP3 server, so clients in any language use the same hermetic,
// memory-faithful test double.
//
//   ServerOptions o;
//   o.backend = std::move(kv);               // e.g. from NewMemoryBackend
//   o.port = 0;                              // pick a free port
//   Result<std::unique_ptr<Server>> s = Server::Start(std::move(o));
//   int port = (*s)->port();                 // point any Redis client here
//   (*s)->Stop();
//
// What it answers (Redis 7.0's replies and error texts): the backend's commands; AUTH/HELLO
// 2|3 (with AUTH and SETNAME); PING ECHO SELECT(0 only: one database, "ERR DB index is out of
// range" otherwise) QUIT RESET; CLIENT ID/SETNAME/GETNAME/SETINFO/LIST/INFO; COMMAND
// [COUNT|INFO|DOCS|LIST|GETKEYS] with Redis 7.0's metadata for the served commands; INFO
// (server and clients sections added to the backend's); CONFIG GET/SET (the backend's
// parameters plus the server's own); FUNCTION FLUSH; MULTI/EXEC/DISCARD/WATCH/UNWATCH (EXEC
// runs atomically on the backend; EXECABORT after a queuing error; WATCH is broken by any
// client's write of the key, by FLUSHDB/FLUSHALL and by the key expiring or being evicted);
// EVAL/EVALSHA/EVAL_RO/EVALSHA_RO/SCRIPT: a script registered in the ScriptRegistry runs through
// KvBackend::Eval (its native twin on the embedded store), any other goes to the backend's own
// EVAL (the Lua engine); STORMKV.CLOCK GET | SET <ms> | ADVANCE <ms>, STORMKV.MEMORY; READONLY
// and READWRITE ("ERR This instance has cluster support disabled" unless in cluster mode).
//
// WATCH sees only writes made through this server: a shared segment written by another
// process (--shm) does not break a WATCH here.
//
// Limits as Redis's: proto-max-bulk-len and client-query-buffer-limit give Redis's protocol
// error and close the client; maxclients refuses with "ERR max number of clients reached";
// a client whose unsent replies exceed client_output_buffer_limit is disconnected (Redis's
// default for normal clients is no limit; ours is 1 GB so a client that pipelines without
// reading cannot exhaust the host).
//
// Thread-safety: Start/Stop/port from any thread; the server runs on its own thread.
#ifndef STORMKV_SERVER_SERVER_H_
#define STORMKV_SERVER_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "stormkv/kv_backend.h"
#include "stormkv/server/batch_clock.h"
#include "stormkv/status.h"

namespace stormkv {

// How STORMKV.CLOCK reads and moves the served store's clock. `set` and `advance` empty: the
// clock is the system clock, and SET/ADVANCE answer an error saying so.
struct ServerClock {
  std::function<int64_t()> now_ms;                 // required
  std::function<void(int64_t ms)> set_ms;          // jump to an absolute time (ms since epoch)
  std::function<void(int64_t delta_ms)> advance;   // move forward; REQUIRES delta_ms >= 0
};

// Cluster mode: the server is one node of a Redis Cluster (`stormkv serve --cluster N`; see
// stormkv/server/cluster_server.h, which starts every node). Its backend is that node alone: it
// answers CLUSTER and MOVED itself. The server then answers as a cluster node does: HELLO's
// mode and INFO's redis_mode "cluster", INFO cluster_enabled:1, CONFIG GET cluster-enabled
// "yes", SELECT n>0 "ERR SELECT is not allowed in cluster mode", READONLY/READWRITE OK, CLUSTER
// NODES/INFO verbatim and SLOTS/SHARDS with maps in RESP3; inside MULTI a command whose keys
// span slots gets CROSSSLOT and one for another node's slot MOVED (both make EXEC answer
// EXECABORT), and EXEC refuses queued keys of several slots with CROSSSLOT, as Redis 7.0 does.
struct ServerCluster {
  bool enabled = false;
  // For a slot 0..16383: "" when this node owns it, else "MOVED <slot> <host>:<port>".
  // Required when enabled.
  std::function<std::string(int slot)> redirect;
};

struct ServerOptions {
  // The store to serve. Required. Shared so tests can also use it in-process.
  std::shared_ptr<KvBackend> backend;
  // Loopback by default. A port of 0 picks a free one (see Server::port()). port < 0: no TCP.
  std::string bind = "127.0.0.1";
  int port = 6379;
  // A TCP socket already bound and listening to serve instead of binding bind:port (the server
  // owns it from Start on, also when Start fails). -1 = bind bind:port.
  int listen_fd = -1;
  // A unix socket path to listen on too ("" = none). An existing socket file is replaced.
  std::string unixsocket;
  // requirepass: clients must AUTH (or HELLO … AUTH default <pass>) first. "" = no password.
  std::string requirepass;
  int64_t maxclients = 10000;
  int64_t proto_max_bulk_len = int64_t{512} * 1024 * 1024;
  int64_t client_query_buffer_limit = int64_t{1024} * 1024 * 1024;
  int64_t client_output_buffer_limit = int64_t{1024} * 1024 * 1024;  // 0 = none
  // STORMKV.CLOCK. Empty now_ms: the system clock, read-only.
  ServerClock clock;
  // The backend's clock when it is a BatchClock (batch_clock.h): the server opens a batch on it
  // for each read's commands, so the store reads the system clock once per batch. nullptr: none.
  std::shared_ptr<const server::BatchClock> batch_clock;
  // STORMKV.MEMORY's text (the per-family report). Empty: the command answers an error.
  std::function<Result<std::string>(KvBackend&)> memory_report;
  // Standalone by default.
  ServerCluster cluster;
};

struct ServerStats {
  int64_t connected_clients = 0;
  int64_t total_connections_received = 0;
  int64_t rejected_connections = 0;
  int64_t total_commands_processed = 0;
  int64_t protocol_errors = 0;       // clients closed for malformed RESP
  int64_t output_limit_closes = 0;   // clients closed for an exceeded output buffer
};

class Server {
 public:
  virtual ~Server() = default;
  // Binds the listeners and starts serving on a thread of its own. InvalidArgument for bad
  // options (no backend, maxclients < 1); Unavailable naming the address when a bind fails.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);

  // The TCP port served (the chosen one when options.port was 0); -1 without TCP.
  virtual int port() const = 0;
  // Stops accepting, closes every client and joins the server thread. Idempotent; the
  // destructor calls it. Blocks until done.
  virtual void Stop() = 0;
  virtual ServerStats Stats() const = 0;
};

}  // namespace stormkv

#endif  // STORMKV_SERVER_SERVER_H_
