// stormkv/clock.h — the one clock: wall time in milliseconds, real or virtual.
//
// Everything time-dependent in stormkv (memory-backend expiry, gateway windows, the `now`
// argument of every script) reads an injected Clock, so tests move time instead of sleeping.
// Thread-safety: all methods may be called concurrently.
#ifndef STORMKV_CLOCK_H_
#define STORMKV_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace stormkv {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch. Never decreases for ManualClock; SystemClock follows
  // the system's real-time clock.
  virtual int64_t NowMs() const = 0;
  // Microseconds since the Unix epoch (TIME command). Default: NowMs() * 1000.
  virtual int64_t NowUs() const { return NowMs() * 1000; }
  // Waits `d` of this clock's time (callers that poll, e.g. the Pipeline's busy wait). Default:
  // sleeps `d` of real time. ManualClock moves itself forward by `d` instead, so a wait in a
  // test costs no real time and is seen in virtual time.
  virtual void SleepFor(std::chrono::microseconds d) const;
};

// The real-time clock (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  int64_t NowUs() const override;
  // A process-wide instance.
  static std::shared_ptr<SystemClock> Shared();
};

// A virtual clock that only moves when told to. Starts at `start_ms` (default: a fixed
// instant, 2024-05-01T12:00:00Z, so runs are reproducible).
class ManualClock final : public Clock {
 public:
  static constexpr int64_t kDefaultStartMs = 1714564800000;
  explicit ManualClock(int64_t start_ms = kDefaultStartMs) : now_us_(start_ms * 1000) {}

  int64_t NowMs() const override { return now_us_.load(std::memory_order_acquire) / 1000; }
  int64_t NowUs() const override { return now_us_.load(std::memory_order_acquire); }

  // Moves time forward by `d` (negative durations are ignored: time never goes back).
  void Advance(std::chrono::microseconds d) {
    if (d.count() > 0) now_us_.fetch_add(d.count(), std::memory_order_acq_rel);
  }
  // Sets the time; ignored if `ms` is earlier than now.
  void SetMs(int64_t ms);
  // A virtual wait: time moves to (now at the call) + d unless another thread moved it meanwhile,
  // after at most 1 ms of real time. Concurrent waiters thus overlap as real sleepers do (99
  // threads waiting 20 ms move the clock by about 20 ms, not 99 x 20 ms), and the thread being
  // waited for gets real CPU time to finish; one wait costs at most 1 ms of real time.
  void SleepFor(std::chrono::microseconds d) const override;

 private:
  mutable std::atomic<int64_t> now_us_;
};

}  // namespace stormkv

#endif  // STORMKV_CLOCK_H_
