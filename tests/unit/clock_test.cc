#include "stormkv/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace stormkv {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(ManualClockTest, StartsAtAFixedInstant) {
  ManualClock c;
  EXPECT_EQ(c.NowMs(), ManualClock::kDefaultStartMs);
  EXPECT_EQ(c.NowMs(), 1714564800000);  // 2024-05-01T12:00:00Z
  EXPECT_EQ(c.NowUs(), ManualClock::kDefaultStartMs * 1000);
  ManualClock d(5000);
  EXPECT_EQ(d.NowMs(), 5000);
  EXPECT_EQ(d.NowUs(), 5000000);
}

TEST(ManualClockTest, AdvanceMovesForwardOnly) {
  ManualClock c(1000);
  c.Advance(milliseconds(250));
  EXPECT_EQ(c.NowMs(), 1250);
  c.Advance(microseconds(1500));
  EXPECT_EQ(c.NowUs(), 1251500);
  EXPECT_EQ(c.NowMs(), 1251);  // truncated, not rounded
  c.Advance(microseconds(-1000000));
  EXPECT_EQ(c.NowUs(), 1251500);
  c.Advance(microseconds(0));
  EXPECT_EQ(c.NowUs(), 1251500);
  c.Advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(c.NowMs(), 1251 + int64_t{365} * 24 * 3600 * 1000);
}

TEST(ManualClockTest, SetMsNeverGoesBack) {
  ManualClock c(1000);
  c.SetMs(5000);
  EXPECT_EQ(c.NowMs(), 5000);
  EXPECT_EQ(c.NowUs(), 5000000);
  c.SetMs(4000);
  EXPECT_EQ(c.NowMs(), 5000);
  c.Advance(microseconds(300));
  c.SetMs(5000);  // would drop the 300 us
  EXPECT_EQ(c.NowUs(), 5000300);
  c.SetMs(5001);
  EXPECT_EQ(c.NowUs(), 5001000);
}

TEST(ManualClockTest, ConcurrentAdvancesAllCount) {
  ManualClock c(0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.Advance(microseconds(1));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.NowUs(), 40000);
}

TEST(ManualClockTest, SleepForIsAVirtualWait) {
  ManualClock c(0);
  c.SleepFor(milliseconds(20));
  EXPECT_EQ(c.NowUs(), 20000) << "alone, a wait moves the clock by exactly its length";
  c.SleepFor(microseconds(0));
  c.SleepFor(microseconds(-5));
  EXPECT_EQ(c.NowUs(), 20000);
}

TEST(ManualClockTest, ConcurrentSleepersOverlapLikeRealOnes) {
  // 40 threads each waiting 20 ms, 10 times: one after the other that would be 8 s of virtual
  // time; waits that overlap move the clock once for all of them.
  ManualClock c(0);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 40; ++t) {
    threads.emplace_back([&] {
      ready.fetch_add(1);
      while (ready.load() < 40) std::this_thread::yield();
      for (int i = 0; i < 10; ++i) c.SleepFor(milliseconds(20));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(c.NowUs(), 10 * 20000) << "each thread's own waits follow one another";
  EXPECT_LT(c.NowUs(), 4 * 1000 * 1000) << "overlapping waits must not add up";
}

TEST(ManualClockTest, ConcurrentSetMsKeepsTheLatest) {
  ManualClock c(0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, t] {
      for (int i = 0; i < 1000; ++i) c.SetMs(i * 4 + t);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.NowMs(), 999 * 4 + 3);
}

class FixedClock final : public Clock {
 public:
  int64_t NowMs() const override { return 1234; }
};

TEST(ClockTest, DefaultNowUsIsMillisecondsTimesThousand) {
  FixedClock c;
  EXPECT_EQ(c.NowUs(), 1234000);
}

TEST(SystemClockTest, FollowsTheSystemClock) {
  using namespace std::chrono;
  auto shared = SystemClock::Shared();
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared.get(), SystemClock::Shared().get());
  int64_t before = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  int64_t ms = shared->NowMs();
  int64_t us = shared->NowUs();
  int64_t after = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after);
  EXPECT_GE(us / 1000, ms);
  EXPECT_LE(us / 1000, after);
}

}  // namespace
}  // namespace stormkv
