// stormkv/server/batch_clock.h — the system clock, read once per batch of a client's commands.
//
// `stormkv serve` (system clock) gives its store this clock and the server the same one
// (ServerOptions::batch_clock). The server opens a Batch when it starts on the commands of one
// read — a pipeline of up to 16 KiB — and every read of this clock on that thread while the
// batch is open (the store's lazy and active expiry, TIME, EXEC, scripts) sees the instant read
// when the batch began, as if the batch ran in no time. Elsewhere (other threads, no batch open)
// it reads the system clock. A pipelined INCR paid two clock reads per command before (the
// client's last-interaction time and the store's), about 4% of its time.
//
// What a client can tell: commands of one pipeline see one instant (TIME answers the same value
// for each, a key cannot expire between two of them), as all commands of a Redis EXEC or script
// do. Between batches time moves as the system clock does.
//
//   auto clock = std::make_shared<server::BatchClock>();
//   memory_options.clock = clock;  options.batch_clock = clock;
//
// Thread-safety: all methods may be called concurrently; a Batch belongs to its thread.
#ifndef STORMKV_SERVER_BATCH_CLOCK_H_
#define STORMKV_SERVER_BATCH_CLOCK_H_

#include <cstdint>

#include "stormkv/clock.h"

namespace stormkv::server {

class BatchClock final : public Clock {
  struct Open {  // the batch open on this thread
    const BatchClock* clock;
    int64_t us;
  };

 public:
  int64_t NowMs() const override { return NowUs() / 1000; }
  int64_t NowUs() const override { return open_.clock == this ? open_.us : SystemUs(); }

  // Opens a batch on this thread for `clock` (nullptr: no batch clock; now_ms() still reads the
  // system clock once) until destroyed. Batches nest: the inner one's instant is read anew.
  class Batch {
   public:
    explicit Batch(const BatchClock* clock) : saved_(open_), us_(SystemUs()) {
      if (clock != nullptr) open_ = Open{clock, us_};
    }
    ~Batch() { open_ = saved_; }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    // The batch's instant (the system clock when the batch opened).
    int64_t now_ms() const { return us_ / 1000; }

   private:
    Open saved_;
    int64_t us_;
  };

 private:
  static int64_t SystemUs() { return SystemClock().NowUs(); }
  static inline thread_local Open open_ = {nullptr, 0};
};

}  // namespace stormkv::server

#endif  // STORMKV_SERVER_BATCH_CLOCK_H_
