// Faults against private redis-server instances this test starts and stops itself: unreachable
// server, timeouts, wrong password / user / db, restart between calls, unix socket, a peer that
// is not Redis, replies of an unexpected type, SCRIPT FLUSH, CLIENT KILL, and a slow server
// (DEBUG SLEEP) under the gateway pipeline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/test_util.h"
#include "redis/private_redis.h"
#include "stormkv/clock.h"
#include "stormkv/gateway/pipeline.h"
#include "stormkv/redis_backend.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

using std::chrono::milliseconds;
using testing::PrivateRedis;

Result<std::unique_ptr<KvBackend>> Open(const std::string& url,
                                        milliseconds connect = milliseconds(1000),
                                        milliseconds command = milliseconds(2000),
                                        bool eager = true) {
  RedisOptions o;
  o.url = url;
  o.connect_timeout = connect;
  o.command_timeout = command;
  o.pool_size = 2;
  o.connect_eagerly = eager;
  return NewRedisBackend(o);
}

void ExpectMentions(const Status& s, const std::string& what) {
  EXPECT_NE(s.message().find(what), std::string::npos)
      << "'" << s.message() << "' lacks '" << what << "'";
}

// A loopback listener that never accepts: the kernel completes handshakes into its backlog until
// the backlog is full, after which SYNs are dropped and connect() hangs.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() {
    for (int c : clients_) close(c);
    close(fd_);
  }
  // Fills the accept backlog so that the next connect() gets no answer.
  void FillBacklog() {
    for (int i = 0; i < 4; ++i) {
      int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      clients_.push_back(c);
    }
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> clients_;
};

// A loopback peer that answers each read with the next canned reply (then closes).
class FakeServer {
 public:
  explicit FakeServer(std::vector<std::string> replies) : replies_(std::move(replies)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 4);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      for (const std::string& reply : replies_) {
        if (read(c, buf, sizeof buf) <= 0) break;
        if (write(c, reply.data(), reply.size()) < 0) break;
      }
      close(c);
    });
  }
  ~FakeServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string Url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

 private:
  std::vector<std::string> replies_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(RedisFaultTest, UnreachableServerIsUnavailableNamingHostPortWithinTheConnectTimeout) {
  int port = testing::FindFreeLoopbackPort(23113);
  ASSERT_NE(port, 0);
  std::string url = "redis://127.0.0.1:" + std::to_string(port) + "/0";
  auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<KvBackend>> kv = Open(url, milliseconds(500));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(kv.ok());
  EXPECT_TRUE(kv.status().IsUnavailable()) << kv.status();
  ExpectMentions(kv.status(), "127.0.0.1:" + std::to_string(port) + "/0");
  ExpectMentions(kv.status(), "refused");
  EXPECT_LT(took, milliseconds(500));
}

TEST(RedisFaultTest, ConnectTimeoutIsTimeoutAndDoesNotHang) {
  SilentListener silent;
  silent.FillBacklog();
  auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<KvBackend>> kv =
      Open("redis://127.0.0.1:" + std::to_string(silent.port()) + "/0", milliseconds(300));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(kv.ok());
  EXPECT_TRUE(kv.status().IsTimeout()) << kv.status();
  ExpectMentions(kv.status(), "127.0.0.1:" + std::to_string(silent.port()));
  EXPECT_GE(took, milliseconds(250));
  EXPECT_LT(took, milliseconds(1500));
}

TEST(RedisFaultTest, CommandTimeoutDiscardsTheConnectionAndTheNextCallWorks) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start());
  ASSERT_OK_AND_ASSIGN(auto kv, Open(server->Url(), milliseconds(1000), milliseconds(100)));
  auto start = std::chrono::steady_clock::now();
  Result<Reply> slow = kv->Run({"DEBUG", "SLEEP", "0.4"});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(slow.status().IsTimeout()) << slow.status();
  ExpectMentions(slow.status(), server->Url());
  EXPECT_LT(took, milliseconds(350));
  // The server sleeps a little longer: calls time out (each on a fresh connection) until it wakes.
  Result<Reply> pong = kv->Run({"PING"});
  for (int i = 0; i < 30 && !pong.ok(); ++i) {
    EXPECT_TRUE(pong.status().IsTimeout()) << pong.status();
    pong = kv->Run({"PING"});
  }
  ASSERT_OK(pong);
  EXPECT_GE(AsRedisBackend(kv.get())->Stats().discarded, 1);
}

TEST(RedisFaultTest, LazyBackendConnectsOnceTheServerIsUp) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start());
  ASSERT_OK(server->Stop());
  ASSERT_OK_AND_ASSIGN(auto kv, Open(server->Url(), milliseconds(500), milliseconds(1000), false));
  Result<Reply> down = kv->Run({"PING"});
  EXPECT_TRUE(down.status().IsUnavailable()) << down.status();
  ExpectMentions(down.status(), server->Url());
  ASSERT_OK(server->Restart());
  ASSERT_OK(kv->Run({"PING"}));
}

TEST(RedisFaultTest, WrongPasswordIsAClearErrorWithoutThePassword) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start({"--requirepass", "right-pw-1"}));
  std::string hostport = "127.0.0.1:" + std::to_string(server->port());
  Result<std::unique_ptr<KvBackend>> wrong = Open("redis://:hunter2-wrong@" + hostport + "/0");
  ASSERT_FALSE(wrong.ok());
  ExpectMentions(wrong.status(), "redis://" + hostport + "/0");
  ExpectMentions(wrong.status(), "AUTH failed");
  ExpectMentions(wrong.status(), "WRONGPASS");
  EXPECT_EQ(wrong.status().ToString().find("hunter2"), std::string::npos) << wrong.status();

  Result<std::unique_ptr<KvBackend>> none = Open("redis://" + hostport + "/0");
  ASSERT_FALSE(none.ok());
  ExpectMentions(none.status(), "redis://" + hostport + "/0");
  ExpectMentions(none.status(), "NOAUTH");

  ASSERT_OK_AND_ASSIGN(auto right, Open("redis://:right-pw-1@" + hostport + "/0"));
  ASSERT_OK(right->Set("k", "v"));
  EXPECT_EQ(right->Describe().find("right-pw"), std::string::npos);
}

TEST(RedisFaultTest, AclUserAndPassword) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start());
  ASSERT_OK_AND_ASSIGN(auto admin, Open(server->Url()));
  ASSERT_OK(admin->Run({"ACL", "SETUSER", "alice", "on", ">alice-pw", "~app:*", "+@all"}));
  std::string hostport = "127.0.0.1:" + std::to_string(server->port());
  ASSERT_OK_AND_ASSIGN(auto alice, Open("redis://alice:alice-pw@" + hostport + "/0"));
  ASSERT_OK(alice->Set("app:k", "v"));
  Result<bool> denied = alice->Set("other:k", "v");
  EXPECT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().message().rfind("NOPERM", 0), 0u) << denied.status();
  Result<std::unique_ptr<KvBackend>> bad = Open("redis://alice:bad-pw-xyz@" + hostport + "/0");
  ASSERT_FALSE(bad.ok());
  ExpectMentions(bad.status(), "WRONGPASS");
  EXPECT_EQ(bad.status().ToString().find("bad-pw-xyz"), std::string::npos);
}

TEST(RedisFaultTest, WrongDbIsInvalidArgumentNamingTheServer) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start());
  Result<std::unique_ptr<KvBackend>> kv = Open(server->Url(99));
  ASSERT_FALSE(kv.ok());
  EXPECT_TRUE(kv.status().IsInvalidArgument()) << kv.status();
  ExpectMentions(kv.status(), server->Url(99));
  ExpectMentions(kv.status(), "SELECT failed: ERR DB index is out of range");
}

TEST(RedisFaultTest, DbFromTheUrlIsSelected) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start());
  ASSERT_OK_AND_ASSIGN(auto db3, Open(server->Url(3)));
  ASSERT_OK_AND_ASSIGN(auto db0, Open(server->Url(0)));
  ASSERT_OK(db3->Set("k", "three"));
  EXPECT_EQ(*db0->Get("k"), std::nullopt);
  EXPECT_EQ(*db3->Get("k"), "three");
  EXPECT_EQ(db3->Describe(), server->Url(3));
}

TEST(RedisFaultTest, ServerRestartBetweenCallsIsTransparentIncludingNoscript) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start());
  ASSERT_OK_AND_ASSIGN(auto kv, Open(server->Url()));
  RedisBackend* r = AsRedisBackend(kv.get());
  Script incr(
      "t_fault_incr", "return redis.call('INCR', KEYS[1])",
      [](ScriptContext&, const std::vector<std::string>&,
         const std::vector<std::string>&) -> Result<Reply> { return Status::Internal("no twin"); });
  ASSERT_OK_AND_ASSIGN(Reply one, kv->Eval(incr, {"n"}, {}));
  EXPECT_EQ(one, Reply::Integer(1));
  ASSERT_OK(server->Restart());
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> n, kv->Get("n"));  // dataset gone, no error
  EXPECT_EQ(n, std::nullopt);
  ASSERT_OK_AND_ASSIGN(Reply again, kv->Eval(incr, {"n"}, {}));
  EXPECT_EQ(again, Reply::Integer(1));
  RedisBackendStats s = r->Stats();
  EXPECT_EQ(s.noscript_retries, 1);
  EXPECT_EQ(s.script_loads, 2);
  EXPECT_GE(s.discarded, 1);

  ASSERT_OK(server->Stop());
  Result<Reply> down = kv->Run({"PING"});
  EXPECT_TRUE(down.status().IsUnavailable()) << down.status();
  ExpectMentions(down.status(), server->Url());
  ASSERT_OK(server->Restart());
  ASSERT_OK(kv->Run({"PING"}));
}

TEST(RedisFaultTest, ScriptFlushMidRunIsTransparent) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start());
  ASSERT_OK_AND_ASSIGN(auto kv, Open(server->Url()));
  Script incr(
      "t_fault_flush_incr", "return redis.call('INCR', KEYS[1])",
      [](ScriptContext&, const std::vector<std::string>&,
         const std::vector<std::string>&) -> Result<Reply> { return Status::Internal("no twin"); });
  ASSERT_OK_AND_ASSIGN(Reply one, kv->Eval(incr, {"n"}, {}));
  EXPECT_EQ(one, Reply::Integer(1));
  ASSERT_OK(kv->Run({"SCRIPT", "FLUSH"}));
  ASSERT_OK_AND_ASSIGN(Reply two, kv->Eval(incr, {"n"}, {}));
  EXPECT_EQ(two, Reply::Integer(2)) << "the data stays, the script is loaded again";
  EXPECT_EQ(AsRedisBackend(kv.get())->Stats().noscript_retries, 1);
}

TEST(RedisFaultTest, ClientKillOfOurConnectionsIsTransparent) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start());
  ASSERT_OK_AND_ASSIGN(auto kv, Open(server->Url()));
  ASSERT_OK_AND_ASSIGN(auto admin, Open(server->Url()));
  ASSERT_OK(kv->Set("k", "v"));
  ASSERT_OK_AND_ASSIGN(Reply killed, admin->Run({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}));
  ASSERT_TRUE(killed.is_integer());
  EXPECT_GE(killed.integer(), 1) << "kv's idle connection was killed";
  // The dead idle connection is found at checkout and replaced: the caller sees nothing.
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> v, kv->Get("k"));
  EXPECT_EQ(v, "v");
  EXPECT_GE(AsRedisBackend(kv.get())->Stats().discarded, 1);
}

// A slow server (DEBUG SLEEP) under the gateway: the payload fails with a clear Timeout while
// the server later runs the commands whose replies were lost; after it wakes (and the unfinished
// record's lease has passed on the gateway's clock) the retry processes every alert exactly once.
TEST(RedisFaultTest, SlowServerUnderThePipelineTimesOutAndTheRetryLosesNothing) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start());
  ASSERT_OK_AND_ASSIGN(auto kv, Open(server->Url(), milliseconds(1000), milliseconds(200)));
  ASSERT_OK_AND_ASSIGN(auto admin, Open(server->Url(), milliseconds(1000), milliseconds(5000)));
  auto clock = std::make_shared<ManualClock>();
  PipelineOptions o;
  o.rate_limit_enabled = false;
  o.dedup.unfinished_lease = milliseconds(1000);
  Pipeline p(*kv, clock, o);
  std::vector<std::string> alerts;
  std::string payload = R"({"version":"4","status":"firing","alerts":[)";
  for (int i = 0; i < 3; ++i) {
    if (i > 0) payload += ",";
    payload += R"({"status":"firing","labels":{"alertname":"Slow","namespace":"ns","pod":"p)" +
               std::to_string(i) + R"("}})";
  }
  payload += "]}";
  ASSERT_OK_AND_ASSIGN(auto probe, Open(server->Url(), milliseconds(1000), milliseconds(50)));
  std::thread sleeper([&] { EXPECT_OK(admin->Run({"DEBUG", "SLEEP", "1"})); });
  // Wait (up to 2 s) until the server is asleep: a PING with a 50 ms timeout stops answering.
  const auto give_up = std::chrono::steady_clock::now() + milliseconds(2000);
  while (probe->Run({"PING"}).ok() && std::chrono::steady_clock::now() < give_up) {
  }
  IngestResult failed = p.Ingest(payload);
  sleeper.join();
  EXPECT_TRUE(failed.status.IsTimeout()) << failed.status;
  EXPECT_EQ(failed.http_status, 503);
  ASSERT_OK(kv->Run({"PING"}));  // awake again
  clock->Advance(milliseconds(1000));  // the lease of a never-abandoned record has passed
  IngestResult retry = p.Ingest(payload);
  ASSERT_OK(retry.status);
  std::size_t emitted = failed.requests.size() + retry.requests.size();
  EXPECT_EQ(emitted, 3u) << "every alert's request, once";
  for (const AlertDecision& d : retry.decisions) {
    EXPECT_EQ(d.outcome, Outcome::kCreated) << d.index << " " << d.reason;
    EXPECT_EQ(d.occurrence_count, 1) << "never counted twice";
    ASSERT_OK_AND_ASSIGN(auto owner, kv->HGet(p.dedup().KeyFor(d.fingerprint), "p"));
    EXPECT_FALSE(owner.has_value()) << "finished";
  }
}

TEST(RedisFaultTest, UnixSocketWithDb) {
  ASSERT_OK_AND_ASSIGN(auto with_sock, PrivateRedis::Start({"--unixsocket", "{dir}/redis.sock",
                                                            "--unixsocketperm", "700"}));
  std::string sock = with_sock->dir() + "/redis.sock";
  ASSERT_OK_AND_ASSIGN(auto via_unix, Open("unix://" + sock + "?db=2"));
  EXPECT_EQ(via_unix->Describe(), "unix://" + sock + "?db=2");
  ASSERT_OK(via_unix->Set("k", "v"));
  ASSERT_OK_AND_ASSIGN(auto via_tcp, Open(with_sock->Url(2)));
  EXPECT_EQ(*via_tcp->Get("k"), "v");
  Result<std::unique_ptr<KvBackend>> missing = Open("unix://" + sock + ".nope?db=0");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsUnavailable()) << missing.status();
  ExpectMentions(missing.status(), sock + ".nope");
}

TEST(RedisFaultTest, PeerThatIsNotRedisIsAClearError) {
  FakeServer http({"HTTP/1.1 400 Bad Request\r\n\r\n"});
  Result<std::unique_ptr<KvBackend>> kv = Open(http.Url());
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(kv.status().code(), StatusCode::kServerError) << kv.status();
  ExpectMentions(kv.status(), "protocol error");
  ExpectMentions(kv.status(), http.Url());
}

TEST(RedisFaultTest, ReplyOfAnUnexpectedTypeIsAnErrorNotACrash) {
  FakeServer odd({"+PONG\r\n", "$3\r\nabc\r\n", "*1\r\n:1\r\n"});
  ASSERT_OK_AND_ASSIGN(auto kv, Open(odd.Url()));
  Result<int64_t> pttl = kv->Pttl("k");
  EXPECT_EQ(pttl.status().code(), StatusCode::kInternal) << pttl.status();
  ExpectMentions(pttl.status(), "unexpected reply to PTTL");
  Result<std::optional<std::string>> get = kv->Get("k");
  EXPECT_EQ(get.status().code(), StatusCode::kInternal) << get.status();
  // A well-formed reply of the wrong shape leaves the connection in sync: it is kept.
  EXPECT_EQ(AsRedisBackend(kv.get())->Stats().discarded, 0);
  EXPECT_EQ(AsRedisBackend(kv.get())->Stats().connects, 1);
}

}  // namespace
}  // namespace stormkv
