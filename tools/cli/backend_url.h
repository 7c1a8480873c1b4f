// tools/cli/backend_url.h — the --backend / URL argument of every stormkv command.
//
//   memory                         the embedded store (default); Debian allocator profile
//   memory://?allocator=upstream   the embedded store imitating an upstream Redis build
//   memory://?cluster=3[&strict=0] the embedded store as a 3-master Redis Cluster
//                                  (stormkv/memory_cluster.h; strict=0: Redis's own script rules)
//   redis://[user:pass@]host:port/db, rediss is not supported, unix:///path.sock?db=N
//   redis-cluster://[user:pass@]host:port[,host:port...]  a Redis Cluster (any reachable seed)
//   shm://name?size=256mb[&create=1]  a shared embedded store (see stormkv/shm_backend.h)
#ifndef STORMKV_TOOLS_CLI_BACKEND_URL_H_
#define STORMKV_TOOLS_CLI_BACKEND_URL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "stormkv/clock.h"
#include "stormkv/kv_backend.h"
#include "stormkv/memory_model.h"
#include "stormkv/status.h"

namespace stormkv::cli {

enum class BackendKind { kMemory, kRedis, kShm };

struct BackendUrl {
  BackendKind kind = BackendKind::kMemory;
  std::string text;     // the URL as given (may hold a password: never print it, use display)
  std::string display;  // the URL with any password replaced by "***"
  bool cluster = false;  // kRedis: a redis-cluster:// URL (every master of a Redis Cluster)
  AllocatorProfile allocator = AllocatorProfile::kDebian;  // kMemory only
  int cluster_nodes = 0;                                   // kMemory only: 0 = standalone
  bool cluster_strict_scripts = true;                      // kMemory only
  std::string shm_name;                                    // kShm only
  int64_t shm_size_bytes = 0;                              // kShm only
};

// Parses a backend URL as listed above. InvalidArgument, naming what is wrong and what is
// accepted, for an unknown scheme, a malformed redis/unix URL (checked again by the Redis
// backend's own parser), an unknown memory option, or an shm URL without a name.
Result<BackendUrl> ParseBackendUrl(std::string_view text);

struct OpenBackendOptions {
  // Clock of the embedded store (expiry, TIME). nullptr = the system clock.
  std::shared_ptr<const Clock> clock;
  // Seed of the embedded store's samplers.
  uint64_t seed = 1;
  // The embedded store imitates a freshly started server (MemoryBackendOptions::fresh_server).
  bool fresh_server = false;
};

// Opens the backend and, for Redis, checks that the server answers PING (a cluster: reads the
// slot map and PINGs every master; a seed without cluster mode is an InvalidArgument saying so).
// Failure: InvalidArgument for a URL the backend rejects or an unsupported backend (an shm
// segment that does not exist without create=1: "... does not exist"); Unavailable / Timeout, naming
// the server, when it cannot be reached; Internal when a backend is not built into this binary.
Result<std::unique_ptr<KvBackend>> OpenBackend(const BackendUrl& url,
                                               const OpenBackendOptions& options = {});

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_BACKEND_URL_H_
