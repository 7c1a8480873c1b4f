// An outside project using the installed stormkv::redis alone: a URL is parsed and a lazily
// connecting backend is created (no server needed); the first command reports the server
// as unreachable, as a clear Unavailable/Timeout.
#include <stormkv/redis_backend.h>

#include <cstdio>

int main() {
  stormkv::RedisOptions options;
  options.url = "redis://127.0.0.1:1/0";
  options.connect_eagerly = false;
  options.connect_timeout = std::chrono::milliseconds(200);
  stormkv::Result<std::unique_ptr<stormkv::KvBackend>> kv = stormkv::NewRedisBackend(options);
  if (!kv.ok()) {
    std::fprintf(stderr, "NewRedisBackend: %s\n", kv.status().ToString().c_str());
    return 1;
  }
  stormkv::Result<std::optional<std::string>> got = (*kv)->Get("consumer:key");
  if (got.ok() || !(got.status().IsUnavailable() || got.status().IsTimeout())) {
    std::fprintf(stderr, "expected unreachable, got %s\n", got.status().ToString().c_str());
    return 1;
  }
  std::printf("consumer ok: %s (%s)\n", (*kv)->Describe().c_str(),
              got.status().ToString().c_str());
  return 0;
}
