// tests/fidelity/seeded_redis.h — a private redis-server whose hash seed and skiplist levels are
// known, and the store configured to match it.
//
// Redis 7.0 hashes dict keys with SipHash-1-2 under a per-process random seed and draws skiplist
// levels from random(): two fresh servers disagree on when a hashtable's incremental rehash
// finishes (it depends on which buckets are occupied) and on the size of skiplist nodes. A
// byte-exact differential therefore needs a server with a known seed: SeededRedis starts one
// with seed_shim.so preloaded (see seed_shim.cc) and tells the store the same seeds.
#ifndef STORMKV_TESTS_FIDELITY_SEEDED_REDIS_H_
#define STORMKV_TESTS_FIDELITY_SEEDED_REDIS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace stormkv::fidelity {

// The 64 bytes the shim serves as /dev/urandom for `seed` (an LCG; any fixed bytes would do).
inline std::array<uint8_t, 64> ShimUrandomBytes(uint64_t seed) {
  std::array<uint8_t, 64> b{};
  uint64_t x = seed;
  for (auto& byte : b) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    byte = static_cast<uint8_t>(x >> 56);
  }
  return b;
}

// The dict hash seed a Redis 7.0 derives from those bytes: getRandomBytes() is HMAC-SHA256 in
// counter mode keyed by the 64 bytes read from /dev/urandom; the first 16 bytes (counter 0) go
// to dictSetHashFunctionSeed.
std::array<uint8_t, 16> RedisDictSeed(const std::array<uint8_t, 64>& urandom);

// SHA-256 of `data` (FIPS 180-4), for RedisDictSeed and its test.
std::array<uint8_t, 32> Sha256(const uint8_t* data, size_t n);

}  // namespace stormkv::fidelity

#endif  // STORMKV_TESTS_FIDELITY_SEEDED_REDIS_H_
