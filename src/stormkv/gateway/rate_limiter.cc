#include "stormkv/gateway/rate_limiter.h"

#include <algorithm>
#include <utility>

#include "stormkv/gateway/scripts.h"

namespace stormkv {

RateLimiter::RateLimiter(KvBackend& kv, std::shared_ptr<const Clock> clock, KeySchema schema,
                         RateLimitOptions options)
    : kv_(kv), clock_(std::move(clock)), schema_(std::move(schema)), options_(options) {}

std::string RateLimiter::KeyFor(std::string_view client_id) const {
  return schema_.Key(family::kRateLimit, client_id);
}

Result<RateDecision> RateLimiter::Allow(std::string_view client_id, int64_t cost) {
  const RateLimitOptions& o = options_;
  if (o.burst < 1 || o.rate < 1 || o.period.count() <= 0) {
    return Status::InvalidArgument("rate limit: burst and rate must be >= 1 and period > 0");
  }
  if (client_id.empty()) return Status::InvalidArgument("rate limit: empty client id");
  if (cost < 0 || cost > o.burst) {
    return Status::InvalidArgument("rate limit: cost " + std::to_string(cost) +
                                   " outside [0, burst=" + std::to_string(o.burst) + "]");
  }
  const int64_t interval_us = std::max<int64_t>(1, o.period.count() * 1000 / o.rate);
  auto reply = kv_.Eval(GatewayScript(ScriptId::kRateLimit), {KeyFor(client_id)},
                        {std::to_string(clock_->NowMs()), std::to_string(interval_us),
                         std::to_string(o.burst), std::to_string(cost)});
  if (!reply.ok()) return ScriptFailure(reply.status(), "rate limit");
  STORMKV_RETURN_IF_ERROR(CheckReplyShape(*reply, 4, 4, "rate limit"));
  const auto& e = reply->elements();
  RateDecision out;
  out.allowed = e[0].integer() != 0;
  out.remaining = e[1].integer();
  out.retry_after_ms = e[2].integer();
  out.reset_after_ms = e[3].integer();
  return out;
}

}  // namespace stormkv
