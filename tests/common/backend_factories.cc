#include "common/backend_factories.h"

#include <cstdlib>

#include "stormkv/memory_backend.h"

namespace stormkv {

// "redis" joins when the Redis backend lands.
std::vector<std::string> AllBackendNames() { return {"memory", "redis"}; }

std::string BackendParamName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

std::string TestRedisUrl() {
  const char* url = std::getenv("STORMKV_REDIS_URL");
  return url ? url : "";
}

MakeBackendOutcome MakeTestBackend(const std::string& name) {
  MakeBackendOutcome out;
  if (name == "memory") {
    TestBackend tb;
    tb.name = name;
    tb.clock = std::make_shared<ManualClock>();
    MemoryBackendOptions opts;
    opts.clock = tb.clock;
    tb.kv = NewMemoryBackend(opts);
    std::shared_ptr<ManualClock> clock = tb.clock;
    tb.advance = [clock](std::chrono::milliseconds d) {
      clock->Advance(d);
      return Status::Ok();
    };
    out.backend = std::move(tb);
    return out;
  }
  if (name == "redis") {
    if (TestRedisUrl().empty()) {
      const char* require = std::getenv("STORMKV_REQUIRE_REDIS");
      if (require && std::string(require) == "1") {
        out.error = Status::Unavailable(
            "STORMKV_REQUIRE_REDIS=1 but STORMKV_REDIS_URL is not set: Redis was promised and is not there");
      } else {
        out.skip_reason = "STORMKV_REDIS_URL is not set (tools/test.sh starts a server and sets it)";
      }
      return out;
    }
    return MakeRedisTestBackend();
  }
  out.error = Status::InvalidArgument("unknown test backend '" + name + "'");
  return out;
}

}  // namespace stormkv
