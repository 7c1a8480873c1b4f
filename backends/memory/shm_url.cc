// backends/memory/shm_url.cc — the shm:// URL (ParseShmUrl, OpenShmBackend).
#include <cstdint>
#include <string>

#include "shm_internal.h"
#include "stormkv/byte_size.h"
#include "store_internal.h"

namespace stormkv {

Result<ShmBackendOptions> ParseShmUrl(std::string_view url) {
  constexpr std::string_view kScheme = "shm://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("shm URL '" + std::string(url) + "' must start with shm://");
  }
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  ShmBackendOptions o;
  if (!rest.empty() && rest[0] == '/') {
    o.file = std::string(rest);
    o.name = std::string(rest.substr(rest.rfind('/') + 1));
  } else {
    o.name = std::string(rest);
  }
  Result<shm::Target> t = shm::TargetFor(o.name, o.file);
  if (!t.ok())
    return Status::InvalidArgument("shm URL '" + std::string(url) + "': " + t.status().message());
  auto bad = [&](std::string_view what) {
    return Status::InvalidArgument("shm URL '" + std::string(url) + "': " + std::string(what));
  };
  auto truthy = [](std::string_view v) {
    return v == "1" || v == "true" || v == "yes" || v == "ok";
  };
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (kv.empty()) continue;
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
    if (k == "size") {
      // The one size parser (stormkv/byte_size.h): what --budget and --shm-size take.
      Result<int64_t> n = ParseByteSize(v);
      if (!n.ok() || *n == 0 || *n > (int64_t{1} << 46)) {
        return bad("size '" + std::string(v) + "' is not a size (e.g. 256mb, 256mib, 1gb)");
      }
      o.size = *n;
    } else if (k == "create") {
      o.open = truthy(v) ? ShmBackendOptions::OpenMode::kCreateOrAttach
                         : ShmBackendOptions::OpenMode::kAttach;
    } else if (k == "clock") {
      if (v == "virtual") {
        o.clock_mode = ShmClockMode::kVirtual;
      } else if (v == "real") {
        o.clock_mode = ShmClockMode::kReal;
      } else {
        return bad("clock must be virtual or real");
      }
    } else if (k == "maxmemory") {
      Result<int64_t> n = ParseByteSize(v);
      if (!n.ok()) return bad("maxmemory '" + std::string(v) + "' is not a size (e.g. 100mb)");
      o.store.maxmemory = *n;
    } else if (k == "policy") {
      memstore::Policy p;
      if (!memstore::ParsePolicy(v, &p))
        return bad("unknown maxmemory policy '" + std::string(v) + "'");
      o.store.maxmemory_policy = std::string(v);
    } else if (k == "preallocate") {
      o.preallocate = truthy(v);
    } else if (k == "stale") {
      o.allow_stale = truthy(v);
    } else if (k == "inconsistent") {
      o.allow_inconsistent = truthy(v);
    } else if (k == "lock_timeout_ms") {
      int64_t ms = 0;
      if (!memstore::ParseLL(v, &ms) || ms < 0) return bad("lock_timeout_ms must be >= 0");
      o.lock_timeout = std::chrono::milliseconds(ms);
    } else {
      return bad("unknown parameter '" + std::string(k) +
                 "' (size, create, clock, maxmemory, policy, preallocate, stale, inconsistent, "
                 "lock_timeout_ms)");
    }
  }
  return o;
}

Result<std::unique_ptr<KvBackend>> OpenShmBackend(std::string_view url) {
  Result<ShmBackendOptions> o = ParseShmUrl(url);
  if (!o.ok()) return o.status();
  Result<std::unique_ptr<ShmBackend>> b = NewShmBackend(*o);
  if (!b.ok()) return b.status();
  return std::unique_ptr<KvBackend>(std::move(*b));
}

}  // namespace stormkv
