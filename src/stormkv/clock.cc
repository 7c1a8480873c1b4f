#include "stormkv/clock.h"

#include <thread>

namespace stormkv {

int64_t SystemClock::NowMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::NowUs() const {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

void Clock::SleepFor(std::chrono::microseconds d) const {
  if (d.count() > 0) std::this_thread::sleep_for(d);
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

void ManualClock::SleepFor(std::chrono::microseconds d) const {
  if (d.count() <= 0) return;
  int64_t start = now_us_.load(std::memory_order_acquire);
  std::this_thread::sleep_for(std::min<std::chrono::microseconds>(d, std::chrono::milliseconds(1)));
  // Only if nobody else moved the time while this thread slept.
  now_us_.compare_exchange_strong(start, start + d.count(), std::memory_order_acq_rel);
}

}  // namespace stormkv
