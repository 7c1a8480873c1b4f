// RedisBackend against the harness server (STORMKV_REDIS_URL): replies, error mapping,
// pipelining, scripts and NOSCRIPT, the pool, and the harness's advance/cleanup.
#include "stormkv/redis_backend.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "stormkv/redis_cluster_backend.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

Script MakeScript(std::string name, std::string lua) {
  return Script(std::move(name), std::move(lua),
                [](ScriptContext&, const std::vector<std::string>&, const std::vector<std::string>&)
                    -> Result<Reply> { return Status::Internal("no twin in this test"); });
}

class RedisBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    STORMKV_SETUP_BACKEND("redis", tb_);
    kv_ = tb_->kv.get();
    redis_ = AsRedisBackend(kv_);
    ASSERT_NE(redis_, nullptr);
  }
  void TearDown() override {
    if (tb_ && tb_->cleanup) tb_->cleanup();
  }
  // A second backend on the same server with its own options.
  std::unique_ptr<KvBackend> Open(size_t pool_size,
                                   std::chrono::milliseconds pool_wait = std::chrono::milliseconds(100)) {
    RedisOptions o;
    o.url = TestRedisUrl();
    o.pool_size = pool_size;
    o.pool_wait_timeout = pool_wait;
    Result<std::unique_ptr<KvBackend>> kv = NewRedisBackend(o);
    EXPECT_OK(kv);
    return kv.ok() ? std::move(kv).value() : nullptr;
  }

  std::optional<TestBackend> tb_;
  KvBackend* kv_ = nullptr;
  RedisBackend* redis_ = nullptr;
};

TEST_F(RedisBackendTest, DescribeNamesTheServerAsTheUrlDoes) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint ep, ParseRedisUrl(TestRedisUrl()));
  EXPECT_EQ(kv_->Describe(), ep.Describe());
  EXPECT_EQ(kv_->Describe().rfind("redis://", 0), 0u);
}

TEST_F(RedisBackendTest, OneFactoryPicksByScheme) {
  // redis:// gives the plain backend (redis-cluster://: RedisClusterBackendTest's half).
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> p, NewRedisBackendFromUrl(TestRedisUrl()));
  EXPECT_EQ(AsRedisClusterBackend(p.get()), nullptr);
  EXPECT_NE(AsRedisBackend(p.get()), nullptr);
  ASSERT_OK(p->Run({"PING"}).status());
}

TEST_F(RedisBackendTest, RepliesOfEveryType) {
  ASSERT_OK_AND_ASSIGN(Reply ok, kv_->Run({"SET", "k", std::string("a\0b", 3)}));
  EXPECT_EQ(ok, Reply::Ok());
  ASSERT_OK_AND_ASSIGN(Reply bulk, kv_->Run({"GET", "k"}));
  EXPECT_EQ(bulk, Reply::Bulk(std::string("a\0b", 3)));
  ASSERT_OK_AND_ASSIGN(Reply nil, kv_->Run({"GET", "missing"}));
  EXPECT_TRUE(nil.is_nil());
  ASSERT_OK_AND_ASSIGN(Reply n, kv_->Run({"INCRBY", "n", "-5"}));
  EXPECT_EQ(n, Reply::Integer(-5));
  ASSERT_OK(kv_->Run({"HSET", "h", "f", "v"}));
  ASSERT_OK_AND_ASSIGN(Reply arr, kv_->Run({"HMGET", "h", "f", "nope"}));
  EXPECT_EQ(arr, Reply::Array({Reply::Bulk("v"), Reply::Nil()}));
  ASSERT_OK_AND_ASSIGN(Reply pong, kv_->Run({"PING"}));
  EXPECT_EQ(pong, Reply::StatusText("PONG"));
}

TEST_F(RedisBackendTest, ErrorRepliesKeepTheServerTextAndCode) {
  ASSERT_OK(kv_->Run({"SET", "s", "x"}));
  Result<Reply> wrong = kv_->Run({"HSET", "s", "f", "v"});
  EXPECT_TRUE(wrong.status().IsWrongType()) << wrong.status();
  EXPECT_EQ(wrong.status().message(),
            "WRONGTYPE Operation against a key holding the wrong kind of value");
  Result<Reply> notint = kv_->Run({"INCR", "s"});
  EXPECT_TRUE(notint.status().IsInvalidArgument()) << notint.status();
  EXPECT_EQ(notint.status().message(), "ERR value is not an integer or out of range");
  Result<Reply> unknown = kv_->Run({"NOSUCHCOMMAND"});
  EXPECT_TRUE(unknown.status().IsInvalidArgument()) << unknown.status();
  EXPECT_NE(unknown.status().message().find("unknown command"), std::string::npos);
  EXPECT_TRUE(kv_->Run({}).status().IsInvalidArgument());
}

TEST_F(RedisBackendTest, BatchKeepsOrderAndErrorsDoNotStopIt) {
  std::vector<Command> cmds = {{"SET", "a", "1"}, {"INCR", "a"}, {"HSET", "a", "f", "v"}, {},
                               {"INCR", "a"},     {"GET", "a"}};
  std::vector<Result<Reply>> r = kv_->RunBatch(cmds);
  ASSERT_EQ(r.size(), cmds.size());
  EXPECT_EQ(*r[0], Reply::Ok());
  EXPECT_EQ(*r[1], Reply::Integer(2));
  EXPECT_TRUE(r[2].status().IsWrongType()) << r[2].status();
  EXPECT_TRUE(r[3].status().IsInvalidArgument()) << r[3].status();
  EXPECT_EQ(*r[4], Reply::Integer(3));
  EXPECT_EQ(*r[5], Reply::Bulk("3"));
  EXPECT_TRUE(kv_->RunBatch({}).empty());
}

TEST_F(RedisBackendTest, LargeBatch) {
  std::vector<Command> cmds;
  const std::string value(100, 'v');
  for (int i = 0; i < 5000; ++i) cmds.push_back({"SET", std::to_string(i), value});
  for (const Result<Reply>& r : kv_->RunBatch(cmds)) ASSERT_OK(r);
  ASSERT_OK_AND_ASSIGN(int64_t n, kv_->DbSize());
  EXPECT_EQ(n, 5000);
}

TEST_F(RedisBackendTest, TransportFailureInABatchMarksTheRestAndTheNextCallReconnects) {
  std::unique_ptr<KvBackend> one = Open(1);
  ASSERT_NE(one, nullptr);
  ASSERT_OK_AND_ASSIGN(Reply id, one->Run({"CLIENT", "ID"}));
  std::vector<Result<Reply>> r =
      one->RunBatch({{"SET", "a", "1"},
                     {"CLIENT", "KILL", "ID", std::to_string(id.integer()), "SKIPME", "no"},
                     {"GET", "a"},
                     {"GET", "b"}});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_OK(r[0]);
  EXPECT_OK(r[1]);  // the server answers +OK to a client killing itself, then closes
  for (int i : {2, 3}) {
    EXPECT_TRUE(r[i].status().IsUnavailable()) << r[i].status();
    EXPECT_NE(r[i].status().message().find(one->Describe()), std::string::npos) << r[i].status();
  }
  ASSERT_OK_AND_ASSIGN(Reply a, one->Run({"GET", "a"}));
  EXPECT_EQ(a, Reply::Bulk("1"));
  RedisBackendStats stats = AsRedisBackend(one.get())->Stats();
  EXPECT_EQ(stats.connects, 2);
  EXPECT_EQ(stats.discarded, 1);
}

// The server closes the connection while the batch is still being sent: the send fails with
// EPIPE/ECONNRESET (MSG_NOSIGNAL: no SIGPIPE kills the test process), nothing hangs, and every
// command whose reply never came gets the transport error.
TEST_F(RedisBackendTest, ConnectionClosedWhileSendingABigBatchIsAnErrorNotASignal) {
  std::unique_ptr<KvBackend> one = Open(1);
  ASSERT_NE(one, nullptr);
  ASSERT_OK_AND_ASSIGN(Reply id, one->Run({"CLIENT", "ID"}));
  std::vector<Command> cmds = {
      {"CLIENT", "KILL", "ID", std::to_string(id.integer()), "SKIPME", "no"}};
  const std::string value(4096, 'v');
  for (int i = 0; i < 20000; ++i) cmds.push_back({"SET", "big:" + std::to_string(i), value});
  std::vector<Result<Reply>> r = one->RunBatch(cmds);
  ASSERT_EQ(r.size(), cmds.size());
  for (size_t i = 1; i < r.size(); ++i) {
    ASSERT_TRUE(r[i].status().IsUnavailable()) << i << ": " << r[i].status();
  }
  EXPECT_NE(r.back().status().message().find(one->Describe()), std::string::npos);
  ASSERT_OK(one->Run({"PING"}));
  ASSERT_OK_AND_ASSIGN(int64_t n, kv_->DbSize());
  EXPECT_EQ(n, 0);
}

TEST_F(RedisBackendTest, KilledIdleConnectionIsReplacedTransparently) {
  std::unique_ptr<KvBackend> one = Open(1);
  ASSERT_NE(one, nullptr);
  ASSERT_OK_AND_ASSIGN(Reply id, one->Run({"CLIENT", "ID"}));
  ASSERT_OK(kv_->Run({"CLIENT", "KILL", "ID", std::to_string(id.integer())}));
  ASSERT_OK_AND_ASSIGN(Reply pong, one->Run({"PING"}));
  EXPECT_EQ(pong, Reply::StatusText("PONG"));
  EXPECT_EQ(AsRedisBackend(one.get())->Stats().discarded, 1);
}

TEST_F(RedisBackendTest, EvalLoadsOnceThenEvalsha) {
  Script s = MakeScript("t_echo", "return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1, false}");
  int64_t loads = redis_->Stats().script_loads;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(Reply r, kv_->Eval(s, {"k1"}, {"a1", "41"}));
    EXPECT_EQ(
        r, Reply::Array({Reply::Bulk("k1"), Reply::Bulk("a1"), Reply::Integer(42), Reply::Nil()}));
  }
  EXPECT_EQ(redis_->Stats().script_loads - loads, 1);
  ASSERT_OK_AND_ASSIGN(Reply exists, kv_->Run({"SCRIPT", "EXISTS", s.sha1()}));
  EXPECT_EQ(exists, Reply::Array({Reply::Integer(1)}));
}

TEST_F(RedisBackendTest, NoscriptAfterScriptFlushIsReloadedTransparently) {
  Script s = MakeScript("t_incr", "return redis.call('INCR', KEYS[1])");
  ASSERT_OK(kv_->Eval(s, {"c"}, {}));
  ASSERT_OK(kv_->Run({"SCRIPT", "FLUSH"}));
  ASSERT_OK_AND_ASSIGN(Reply r, kv_->Eval(s, {"c"}, {}));
  EXPECT_EQ(r, Reply::Integer(2));
  EXPECT_EQ(redis_->Stats().noscript_retries, 1);
  EXPECT_EQ(redis_->Stats().script_loads, 2);
}

TEST_F(RedisBackendTest, ErrorsRaisedInsideScriptsKeepTheirCode) {
  Script hset = MakeScript("t_hset", "return redis.call('HSET', KEYS[1], 'f', 'v')");
  ASSERT_OK(kv_->Run({"SET", "s", "x"}));
  Result<Reply> wrong = kv_->Eval(hset, {"s"}, {});
  EXPECT_TRUE(wrong.status().IsWrongType()) << wrong.status();
  EXPECT_EQ(wrong.status().message().rfind("WRONGTYPE Operation against a key", 0), 0u);

  Script broken = MakeScript("t_broken", "return undefined_global.x");
  Result<Reply> err = kv_->Eval(broken, {}, {});
  EXPECT_TRUE(err.status().IsScriptError()) << err.status();

  Script set = MakeScript("t_set", "return redis.call('SET', KEYS[1], 'v')");
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> mm, kv_->ConfigGet("maxmemory"));
  ASSERT_OK(kv_->ConfigSet("maxmemory", "1"));
  Result<Reply> oom = kv_->Eval(set, {"o"}, {});
  Result<Reply> oom_plain = kv_->Run({"SET", "o", "v"});
  ASSERT_OK(kv_->ConfigSet("maxmemory", *mm));
  EXPECT_TRUE(oom.status().IsOutOfMemory()) << oom.status();
  EXPECT_EQ(
      oom.status().message().rfind("OOM command not allowed when used memory > 'maxmemory'.", 0),
      0u);
  EXPECT_TRUE(oom_plain.status().IsOutOfMemory()) << oom_plain.status();
  EXPECT_EQ(oom_plain.status().message(),
            "OOM command not allowed when used memory > 'maxmemory'.");
}

TEST_F(RedisBackendTest, PoolIsThreadSafeAndBounded) {
  // 8 threads share 3 connections: on a loaded machine a checkout may wait well over 100 ms.
  std::unique_ptr<KvBackend> pooled = Open(3, std::chrono::seconds(10));
  ASSERT_NE(pooled, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        if (!pooled->Run({"INCR", "ctr"}).ok()) failures++;
        if (i % 50 == 0 && !pooled->RunBatch({{"INCR", "ctr"}, {"DECR", "ctr"}})[1].ok())
          failures++;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> ctr, kv_->Get("ctr"));
  EXPECT_EQ(ctr, "2400");
  RedisBackendStats s = AsRedisBackend(pooled.get())->Stats();
  EXPECT_LE(s.open, 3u);
  EXPECT_LE(s.connects, 3);
  EXPECT_EQ(s.discarded, 0);
  AsRedisBackend(pooled.get())->CloseIdleConnections();
  EXPECT_EQ(AsRedisBackend(pooled.get())->Stats().open, 0u);
  ASSERT_OK(pooled->Run({"PING"}));
}

TEST_F(RedisBackendTest, PoolWaitTimesOutWhenEveryConnectionIsBusy) {
  std::unique_ptr<KvBackend> one = Open(1);
  ASSERT_NE(one, nullptr);
  RedisBackend* r = AsRedisBackend(one.get());
  std::thread blocker([&] { EXPECT_OK(one->Run({"BLPOP", "never", "1"})); });
  while (r->Stats().idle != 0) std::this_thread::yield();  // blocker holds the one connection
  auto start = std::chrono::steady_clock::now();
  Result<Reply> busy = one->Run({"PING"});
  auto waited = std::chrono::steady_clock::now() - start;
  blocker.join();
  EXPECT_TRUE(busy.status().IsTimeout()) << busy.status();
  EXPECT_NE(busy.status().message().find("busy"), std::string::npos) << busy.status();
  EXPECT_LT(waited, std::chrono::milliseconds(900));
}

TEST_F(RedisBackendTest, AdvanceMovesTtlsForwardWithoutWaiting) {
  int64_t t0 = tb_->clock->NowMs();
  ASSERT_OK(kv_->Set("short", "v", {.ttl = std::chrono::milliseconds(10000)}));
  ASSERT_OK(kv_->Set("long", "v", {.ttl = std::chrono::milliseconds(60000)}));
  ASSERT_OK(kv_->Set("forever", "v"));
  ASSERT_OK(tb_->advance(std::chrono::milliseconds(9000)));
  EXPECT_EQ(tb_->clock->NowMs() - t0, 9000);
  ASSERT_OK_AND_ASSIGN(int64_t short_left, kv_->Pttl("short"));
  EXPECT_GT(short_left, 0);
  EXPECT_LE(short_left, 1000);
  ASSERT_OK(tb_->advance(std::chrono::milliseconds(1000)));
  ASSERT_OK_AND_ASSIGN(int64_t gone, kv_->Pttl("short"));
  EXPECT_EQ(gone, -2);
  ASSERT_OK_AND_ASSIGN(int64_t long_left, kv_->Pttl("long"));
  EXPECT_GT(long_left, 49000);
  EXPECT_LE(long_left, 50000);
  ASSERT_OK_AND_ASSIGN(int64_t forever, kv_->Pttl("forever"));
  EXPECT_EQ(forever, -1);
}

TEST_F(RedisBackendTest, HarnessClockStartsAtServerTime) {
  ASSERT_OK_AND_ASSIGN(Reply t, kv_->Run({"TIME"}));
  int64_t server_ms = std::stoll(t.elements()[0].str()) * 1000;
  EXPECT_LT(std::abs(server_ms - tb_->clock->NowMs()), 5000);
}

TEST_F(RedisBackendTest, CleanupFailsATestThatLeftConfigChangedAndRestoresIt) {
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> mm, kv_->ConfigGet("maxmemory"));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> pol, kv_->ConfigGet("maxmemory-policy"));
  ASSERT_OK(kv_->ConfigSet("maxmemory", "123mb"));
  ASSERT_OK(kv_->Set("leftover", "v"));
  EXPECT_NONFATAL_FAILURE(tb_->cleanup(), "changed maxmemory from");
  EXPECT_EQ(*kv_->ConfigGet("maxmemory"), mm);
  EXPECT_EQ(*kv_->ConfigGet("maxmemory-policy"), pol);
  EXPECT_EQ(*kv_->DbSize(), 0);
  ASSERT_OK(kv_->ConfigSet("maxmemory-policy", "allkeys-lru"));
  EXPECT_NONFATAL_FAILURE(tb_->cleanup(), "changed maxmemory-policy from");
  EXPECT_EQ(*kv_->ConfigGet("maxmemory-policy"), pol);
}

}  // namespace
}  // namespace stormkv
