// server::BatchClock: the system clock read once per batch of a client's commands, on the
// server's thread only; and `stormkv serve`'s use of it (one instant per pipelined read).
#include "stormkv/server/batch_clock.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

#include "raw_client.h"
#include "stormkv/memory_backend.h"
#include "stormkv/server/server.h"

namespace stormkv::server {
namespace {

// Spins until the system clock is past `us` (a microsecond or so): no sleep.
void WaitPast(int64_t us) {
  while (SystemClock().NowUs() <= us) {
  }
}

TEST(BatchClock, OneInstantPerBatchOnItsThreadOnly) {
  BatchClock clock, other;
  const int64_t before = SystemClock().NowUs();
  EXPECT_GE(clock.NowUs(), before);  // no batch open: the system clock
  int64_t instant = 0;
  {
    BatchClock::Batch batch(&clock);
    instant = clock.NowUs();
    EXPECT_GE(instant, before);
    EXPECT_EQ(batch.now_ms(), instant / 1000);
    WaitPast(instant);
    EXPECT_EQ(clock.NowUs(), instant);  // still the batch's instant
    EXPECT_EQ(clock.NowMs(), instant / 1000);
    EXPECT_GT(other.NowUs(), instant);  // another clock: no batch open on it
    int64_t seen_elsewhere = 0;
    std::thread([&] { seen_elsewhere = clock.NowUs(); }).join();
    EXPECT_GT(seen_elsewhere, instant);  // another thread: the system clock
    {
      BatchClock::Batch inner(&clock);  // nests: a new instant, the outer one back after it
      WaitPast(clock.NowUs());
      EXPECT_GT(clock.NowUs(), instant);
    }
    EXPECT_EQ(clock.NowUs(), instant);
  }
  EXPECT_GT(clock.NowUs(), instant);  // closed: the system clock again
  BatchClock::Batch none(nullptr);    // no clock: opens nothing, reads the instant for now_ms
  EXPECT_GE(none.now_ms(), instant / 1000);
  const int64_t t = clock.NowUs();
  WaitPast(t);
  EXPECT_GT(clock.NowUs(), t);
}

TEST(BatchClock, ServeAnswersOnePipelinedReadAtOneInstant) {
  auto clock = std::make_shared<BatchClock>();
  MemoryBackendOptions mo;
  mo.clock = clock;
  ServerOptions o;
  o.backend = std::shared_ptr<KvBackend>(NewMemoryBackend(mo).value());
  o.batch_clock = clock;
  o.port = 0;
  auto s = Server::Start(std::move(o));
  ASSERT_TRUE(s.ok()) << s.status();
  RawClient c((*s)->port());
  ASSERT_TRUE(c.ok());
  // One write of three commands (one read on loopback): both TIMEs answer the batch's instant,
  // and a key set to expire in 1 ms is still there for the GET of the same batch.
  c.Send("*1\r\n$4\r\nTIME\r\n*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nPX\r\n$1\r\n1\r\n"
         "*1\r\n$4\r\nTIME\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  const std::string t1 = c.ReadReply();
  EXPECT_EQ(c.ReadReply(), "+OK\r\n");
  const std::string t2 = c.ReadReply();
  EXPECT_EQ(t1, t2);
  EXPECT_EQ(c.ReadReply(), "$1\r\nv\r\n");
  // A later read: a later instant, and the key expired by then.
  WaitPast(SystemClock().NowUs() + 2000);
  EXPECT_NE(c.Cmd({"TIME"}), t1);
  EXPECT_EQ(c.Cmd({"GET", "k"}), "$-1\r\n");
  (*s)->Stop();
}

}  // namespace
}  // namespace stormkv::server
