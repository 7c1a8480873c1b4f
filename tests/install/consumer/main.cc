// An outside project using the installed stormkv: the embedded store through the public API.
#include <stormkv/clock.h>
#include <stormkv/kv_backend.h>
#include <stormkv/memory_backend.h>

#include <cstdio>

int main() {
  auto clock = std::make_shared<stormkv::ManualClock>();
  stormkv::MemoryBackendOptions options;
  options.clock = clock;
  stormkv::Result<std::unique_ptr<stormkv::KvBackend>> made = stormkv::NewMemoryBackend(options);
  if (!made.ok()) {
    std::fprintf(stderr, "NewMemoryBackend: %s\n", made.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<stormkv::KvBackend> kv = std::move(*made);
  stormkv::Result<bool> set = kv->Set("consumer:key", "value");
  stormkv::Result<std::optional<std::string>> got = kv->Get("consumer:key");
  if (!set.ok() || !got.ok() || !got->has_value() || **got != "value") {
    std::fprintf(stderr, "round trip failed: %s\n", got.status().ToString().c_str());
    return 1;
  }
  std::printf("consumer ok: %s\n", kv->Describe().c_str());
  return 0;
}
