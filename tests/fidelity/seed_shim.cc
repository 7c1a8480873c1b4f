// tests/fidelity/seed_shim.cc — an LD_PRELOAD library that makes a redis-server's randomness
// reproducible, so that a test can model its dicts and skiplists exactly.
//
// Redis 7.0 seeds its dict hash function (SipHash-1-2) from getRandomBytes(), which reads 64
// bytes from /dev/urandom once; its skiplist levels come from libc random(). With this library
// preloaded:
//   - fopen("/dev/urandom") / fopen64 return a memory stream of 64 bytes derived from
//     STORMKV_SHIM_URANDOM_SEED (seeded_redis.h ShimUrandomBytes, the same function);
//   - random() is glibc's TYPE_3 generator seeded with STORMKV_SHIM_RANDOM_SEED (default 1);
//     srandom() is ignored, so the server's time-based srandom() does not reseed it.
// Every other call goes to libc. Used only by tests (fidelity/seeded_redis.cc).
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "fidelity/seeded_redis.h"
#include "stormkv/memory_model.h"

namespace {

unsigned char g_bytes[64];

uint64_t EnvSeed(const char* name) {
  const char* s = std::getenv(name);
  return s != nullptr ? std::strtoull(s, nullptr, 10) : 1;
}

FILE* FakeUrandom() {
  auto bytes = stormkv::fidelity::ShimUrandomBytes(EnvSeed("STORMKV_SHIM_URANDOM_SEED"));
  std::memcpy(g_bytes, bytes.data(), sizeof g_bytes);
  return fmemopen(g_bytes, sizeof g_bytes, "r");
}

using FopenFn = FILE* (*)(const char*, const char*);

std::mutex g_random_mu;
stormkv::model::GlibcRandom* g_random = nullptr;

}  // namespace

extern "C" {

FILE* fopen(const char* path, const char* mode) {
  if (path != nullptr && std::strcmp(path, "/dev/urandom") == 0) return FakeUrandom();
  static FopenFn real = reinterpret_cast<FopenFn>(dlsym(RTLD_NEXT, "fopen"));
  return real(path, mode);
}

FILE* fopen64(const char* path, const char* mode) {
  if (path != nullptr && std::strcmp(path, "/dev/urandom") == 0) return FakeUrandom();
  static FopenFn real = reinterpret_cast<FopenFn>(dlsym(RTLD_NEXT, "fopen64"));
  return real(path, mode);
}

long random(void) {  // NOLINT(runtime/int): libc's signature
  std::lock_guard<std::mutex> lock(g_random_mu);
  if (g_random == nullptr) {
    g_random = new stormkv::model::GlibcRandom(
        static_cast<uint32_t>(EnvSeed("STORMKV_SHIM_RANDOM_SEED")));
  }
  return g_random->Next();
}

void srandom(unsigned int) {}

}  // extern "C"
