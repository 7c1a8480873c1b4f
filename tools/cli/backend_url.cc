#include "backend_url.h"

#include <cctype>

#include "stormkv/memory_backend.h"
#include "stormkv/shm_backend.h"
#include "stormkv/redis_backend.h"
#include "stormkv/redis_cluster_backend.h"
#include "units.h"

namespace stormkv::cli {
namespace {

constexpr std::string_view kAccepted =
    "accepted: memory, memory://?allocator=debian|upstream&cluster=N&strict=0|1, "
    "redis://[user:password@]host:port/db, unix:///path/to/redis.sock?db=N, "
    "redis-cluster://[user:password@]host:port[,host:port...], shm://name?size=256mb";

Status Bad(std::string_view url, std::string_view why) {
  return Status::InvalidArgument("bad backend URL '" + std::string(url) + "': " + std::string(why) +
                                 " (" + std::string(kAccepted) + ")");
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string MaskPassword(std::string_view url) {
  std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  std::size_t start = scheme + 3;
  std::size_t at = url.find('@', start);
  std::size_t slash = url.find('/', start);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  std::size_t colon = url.find(':', start);
  std::string out(url.substr(0, start));
  if (colon != std::string_view::npos && colon < at) {
    out += std::string(url.substr(start, colon - start)) + ":***";
  } else {
    out += "***";
  }
  out += std::string(url.substr(at));
  return out;
}

// Query "a=b&c=d" -> calls fn(name, value); stops at the first error.
template <typename Fn>
Status ForEachParam(std::string_view query, Fn fn) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    std::size_t eq = item.find('=');
    std::string_view name = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    STORMKV_RETURN_IF_ERROR(fn(name, value));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return Status::Ok();
}

}  // namespace

Result<BackendUrl> ParseBackendUrl(std::string_view text) {
  BackendUrl out;
  out.text = std::string(text);
  out.display = MaskPassword(text);
  if (text.empty()) return Bad(text, "empty");
  if (text == "memory" || StartsWith(text, "memory://") || StartsWith(text, "memory?")) {
    out.kind = BackendKind::kMemory;
    std::size_t q = text.find('?');
    std::string_view query = q == std::string_view::npos ? "" : text.substr(q + 1);
    std::string_view path = text.substr(0, q);
    if (path != "memory" && path != "memory://") return Bad(text, "memory takes no host or path");
    STORMKV_RETURN_IF_ERROR(ForEachParam(query, [&](std::string_view n, std::string_view v) {
      if (n == "allocator" && v == "debian") {
        out.allocator = AllocatorProfile::kDebian;
      } else if (n == "allocator" && v == "upstream") {
        out.allocator = AllocatorProfile::kUpstream;
      } else if (n == "allocator") {
        return Bad(text, "allocator must be debian or upstream");
      } else if (n == "cluster") {
        int nodes = 0;
        bool digits = !v.empty() && v.size() <= 5;
        for (char c : v) digits = digits && c >= '0' && c <= '9';
        if (digits) nodes = std::stoi(std::string(v));
        if (!digits || nodes < 1 || nodes > 16384) {
          return Bad(text, "cluster must be a number of nodes from 1 to 16384 (each node owns at "
                           "least one of the 16384 hash slots)");
        }
        out.cluster_nodes = nodes;
      } else if (n == "strict" && (v == "0" || v == "1")) {
        out.cluster_strict_scripts = v == "1";
      } else if (n == "strict") {
        return Bad(text, "strict must be 0 or 1");
      } else {
        return Bad(text, "unknown memory option '" + std::string(n) + "'");
      }
      return Status::Ok();
    }));
    return out;
  }
  if (StartsWith(text, "redis://")) {
    out.kind = BackendKind::kRedis;
    Result<RedisEndpoint> ep = ParseRedisUrl(text);
    if (!ep.ok()) return ep.status();
    return out;
  }
  if (StartsWith(text, "redis-cluster://")) {
    out.kind = BackendKind::kRedis;
    out.cluster = true;
    Result<RedisClusterSeeds> seeds = ParseRedisClusterUrl(text);  // the cluster backend's parser
    if (!seeds.ok()) return seeds.status();
    return out;
  }
  if (StartsWith(text, "unix://")) {
    out.kind = BackendKind::kRedis;
    Result<RedisEndpoint> ep = ParseRedisUrl(text);
    if (!ep.ok()) return ep.status();
    return out;
  }
  if (StartsWith(text, "shm://")) {
    out.kind = BackendKind::kShm;
    Result<ShmBackendOptions> shm = ParseShmUrl(text);  // the shm backend's own parser
    if (!shm.ok()) return Bad(text, shm.status().message());
    out.shm_name = shm->name.empty() ? shm->file : shm->name;
    out.shm_size_bytes = shm->size;
    return out;
  }
  if (StartsWith(text, "rediss://")) return Bad(out.display, "TLS (rediss://) is not supported");
  return Bad(out.display, "unknown scheme");
}

Result<std::unique_ptr<KvBackend>> OpenBackend(const BackendUrl& url,
                                               const OpenBackendOptions& options) {
  switch (url.kind) {
    case BackendKind::kMemory: {
      MemoryBackendOptions mo;
      mo.clock = options.clock;
      mo.allocator = url.allocator;
      mo.seed = options.seed;
      mo.fresh_server = options.fresh_server;
      mo.cluster_nodes = url.cluster_nodes;
      mo.cluster_strict_scripts = url.cluster_strict_scripts;
      return NewMemoryBackend(mo);
    }
    case BackendKind::kShm:
      return OpenShmBackend(url.text);
    case BackendKind::kRedis: {
      RedisOptions ro;
      ro.url = url.text;
      ro.connect_eagerly = true;
      return NewRedisBackendFromUrl(url.text, ro);  // redis://, unix:// or redis-cluster://
    }
  }
  return Status::Internal("unknown backend kind");
}

}  // namespace stormkv::cli
