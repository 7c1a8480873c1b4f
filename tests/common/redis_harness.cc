// Placeholder until the Redis backend lands (issue: Real Redis backend over hiredis).
#include "common/backend_factories.h"

namespace stormkv {

MakeBackendOutcome MakeRedisTestBackend() {
  MakeBackendOutcome out;
  out.error = Status::Unavailable("the Redis backend is not built yet");
  return out;
}

}  // namespace stormkv
