#include "stormkv/clock.h"

namespace stormkv {

int64_t SystemClock::NowMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::NowUs() const {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::shared_ptr<SystemClock> SystemClock::Shared() {
  static const auto clock = std::make_shared<SystemClock>();
  return clock;
}

void ManualClock::SetMs(int64_t ms) {
  int64_t target = ms * 1000;
  int64_t cur = now_us_.load(std::memory_order_acquire);
  while (cur < target && !now_us_.compare_exchange_weak(cur, target, std::memory_order_acq_rel)) {
  }
}

}  // namespace stormkv
