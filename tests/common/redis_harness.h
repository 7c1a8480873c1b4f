// tests/common/redis_harness.h — helpers of the Redis test backend (redis_harness.cc), for suites
// that drive a Redis server directly (fidelity, redis).
#ifndef STORMKV_TESTS_COMMON_REDIS_HARNESS_H_
#define STORMKV_TESTS_COMMON_REDIS_HARNESS_H_

#include <chrono>

#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv {

// Moves every key's TTL of `kv`'s database forward by `d` without waiting (miniredis
// FastForward): for each key with an expiry, PTTL, then PEXPIRE with the remainder, or DEL when
// the remainder is <= 0. Keys without expiry are untouched. Pipelined.
Status AdvanceRedisTtls(KvBackend& kv, std::chrono::milliseconds d);

}  // namespace stormkv

#endif  // STORMKV_TESTS_COMMON_REDIS_HARNESS_H_
