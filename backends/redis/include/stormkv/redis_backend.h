// stormkv/redis_backend.h — the KvBackend over a real Redis server (hiredis 0.14, RESP2, no TLS).
//
//   RedisOptions opts;
//   opts.url = "redis://:secret@127.0.0.1:6379/2";
//   Result<std::unique_ptr<KvBackend>> kv = NewRedisBackend(opts);
//
// Connections come from a thread-safe pool: each call checks one out (RAII) for its whole round
// trip and gives it back. A connection that failed at the transport level (reset, EOF, timeout)
// is discarded, and an idle one that the server closed meanwhile (restart, CLIENT KILL) is
// detected at checkout and replaced, so a server restart between two calls is transparent.
// Scripts run with EVALSHA: SCRIPT LOAD once per script and server, and on NOSCRIPT (cache lost
// after a restart, failover or SCRIPT FLUSH) load again and retry once. EVAL is never sent.
//
// Errors (one mapping function): error replies keep the server's exact text and take their code
// from StatusFromErrorReply (kv_backend.h). Transport failures are kUnavailable (refused, reset,
// closed, unresolvable host) or kTimeout (connect or command timeout, pool wait); their messages
// start with the server as Describe() shows it ("redis://127.0.0.1:6379/0: Connection refused").
// No message ever contains the password.
//
// Thread-safety: every method may be called concurrently (see KvBackend).
#ifndef STORMKV_REDIS_BACKEND_H_
#define STORMKV_REDIS_BACKEND_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv {

struct RedisOptions {
  // Which server and database, and the credentials:
  //   redis://[[user]:password@]host[:port][/db]   (port 6379 and db 0 by default; user and
  //                                                 password may be percent-encoded; IPv6 as [::1])
  //   unix://[[user]:password@]/path/to.sock[?db=N]
  // A password alone sends AUTH password; user and password send AUTH user password (ACL).
  std::string url = "redis://127.0.0.1:6379/0";
  // Time allowed to open one connection: TCP/unix connect, then each of AUTH and SELECT.
  // Must be > 0.
  std::chrono::milliseconds connect_timeout{1000};
  // Time allowed for each socket read or write of a command, batch or script; 0 = wait forever.
  // A command that times out leaves its connection out of sync, so the connection is discarded.
  std::chrono::milliseconds command_timeout{5000};
  // Most connections open at once. A caller that finds all of them checked out waits.
  std::size_t pool_size = 8;
  // How long a caller waits for a free pooled connection before failing with kTimeout.
  std::chrono::milliseconds pool_wait_timeout{5000};
  // true: NewRedisBackend opens one connection and PINGs, so a bad address, password or db fails
  // at creation. false: the first command connects.
  bool connect_eagerly = true;
};

// A parsed Redis URL.
struct RedisEndpoint {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;      // kTcp: host name or address (IPv6 without brackets)
  int port = 6379;       // kTcp
  std::string path;      // kUnix: socket path
  int db = 0;            // SELECTed after connecting when not 0
  std::string user;      // ACL user; empty = the default user
  std::string password;  // empty = no AUTH

  // "redis://host:port/db" ("redis://[::1]:6379/0" for IPv6) or "unix:///path?db=N".
  // Never contains the user or the password.
  std::string Describe() const;
};

// Parses `url` (grammar in RedisOptions::url). InvalidArgument naming the problem for anything
// else: unknown scheme (rediss:// too: hiredis 0.14 has no TLS), empty host, port outside
// 1..65535, db not a non-negative integer, relative unix path, unknown query parameter, bad
// percent-encoding, a user without a password. Error messages show the URL with the password
// replaced by "***".
Result<RedisEndpoint> ParseRedisUrl(std::string_view url);

// What a RedisBackend has done so far; for tests and diagnostics.
struct RedisBackendStats {
  int64_t connects = 0;          // connections opened (connect + AUTH + SELECT succeeded)
  int64_t connect_failures = 0;  // attempts to open a connection that failed
  int64_t discarded = 0;         // connections dropped: transport error, timeout, or found dead
  int64_t script_loads = 0;      // SCRIPT LOAD commands sent
  int64_t noscript_retries = 0;  // EVALSHA answered NOSCRIPT, reloaded and retried
  std::size_t open = 0;          // connections open now (idle + checked out)
  std::size_t idle = 0;          // connections open and idle in the pool now
};

// The Redis KvBackend's extra operations. NewRedisBackend returns one of these behind the
// KvBackend pointer; AsRedisBackend() recovers it.
class RedisBackend : public KvBackend {
 public:
  // Closes every pooled connection that is not checked out right now; later calls reconnect.
  // Used before measuring the server's memory (each open connection holds buffers).
  virtual void CloseIdleConnections() = 0;
  // Counters and pool occupancy.
  virtual RedisBackendStats Stats() const = 0;
  // The server this backend talks to.
  virtual const RedisEndpoint& endpoint() const = 0;
};

// Creates a Redis backend. InvalidArgument for a bad URL or option (connect_timeout <= 0,
// pool_size 0); with connect_eagerly, the connection error (kUnavailable, kTimeout, or the
// AUTH/SELECT error reply with the server named in front).
Result<std::unique_ptr<KvBackend>> NewRedisBackend(const RedisOptions& options);

// `kv` as a RedisBackend, or nullptr when it is another kind of backend.
RedisBackend* AsRedisBackend(KvBackend* kv);

}  // namespace stormkv

#endif  // STORMKV_REDIS_BACKEND_H_
