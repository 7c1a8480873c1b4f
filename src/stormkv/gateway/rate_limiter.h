// stormkv/gateway/rate_limiter.h — RateLimiter: GCRA (generic cell rate algorithm) per client.
//
// A client may spend `burst` units at once and then `rate` units per `period`. State is one
// STRING per client, KeySchema::Key(family::kRateLimit, client_id), holding the theoretical
// arrival time (µs since the epoch); it expires exactly when the bucket is full again, so idle
// clients cost nothing. One atomic script per Allow() (lua/rate_limit.lua; native twin).
// A stored arrival time that is not a number or lies further ahead than now + burst intervals
// (no valid state does: a corrupt value, or a clock that went back) counts as a full bucket and
// is replaced by the next allowed request, so retry_after_ms and reset_after_ms stay within
// [0, burst * period / rate].
//
// For Alertmanager callers answer a denial with 503 and Retry-After = ceil(retry_after_ms/1000):
// Alertmanager retries only 5xx.
//
// Thread-safety: immutable after construction; every method may be called concurrently.
#ifndef STORMKV_GATEWAY_RATE_LIMITER_H_
#define STORMKV_GATEWAY_RATE_LIMITER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "stormkv/clock.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv {

struct RateLimitOptions {
  int64_t burst = 100;  // units that may be spent at once (bucket size). >= 1
  int64_t rate = 100;   // units replenished per `period`. >= 1
  std::chrono::milliseconds period = std::chrono::seconds(1);  // > 0
};

struct RateDecision {
  bool allowed = false;
  int64_t remaining = 0;       // units still available right after this decision
  int64_t retry_after_ms = 0;  // denied: when the same request would be allowed; allowed: 0
  int64_t reset_after_ms = 0;  // when the bucket will be full again (0 = full now)
};

class RateLimiter {
 public:
  // REQUIRES: options valid (see RateLimitOptions); invalid options make every Allow() return
  // InvalidArgument.
  RateLimiter(KvBackend& kv, std::shared_ptr<const Clock> clock, KeySchema schema,
              RateLimitOptions options = {});

  // Spends `cost` units of `client_id`'s bucket if available. A denied request spends nothing.
  // cost 0 only reads the state. Errors: InvalidArgument for an empty client_id, cost < 0 or
  // cost > burst (it could never be allowed); the backend's Status otherwise.
  Result<RateDecision> Allow(std::string_view client_id, int64_t cost = 1);

  std::string KeyFor(std::string_view client_id) const;

  const RateLimitOptions& options() const { return options_; }

 private:
  KvBackend& kv_;
  std::shared_ptr<const Clock> clock_;
  KeySchema schema_;
  RateLimitOptions options_;
};

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_RATE_LIMITER_H_
