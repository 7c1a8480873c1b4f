// `stormkv serve`'s server over real sockets: connection commands, transactions, limits, bad
// clients. The embedded store with a ManualClock behind it; raw RESP on the wire.
#include "stormkv/server/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "stormkv/clock.h"
#include "stormkv/memory_backend.h"
#include "stormkv/script.h"
#include "raw_client.h"

namespace stormkv {
namespace {

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions o = {}) {
    clock_ = std::make_shared<ManualClock>();
    MemoryBackendOptions mo;
    mo.clock = clock_;
    backend_ = std::shared_ptr<KvBackend>(NewMemoryBackend(mo).value());
    o.backend = backend_;
    o.port = 0;
    std::shared_ptr<ManualClock> c = clock_;
    o.clock.now_ms = [c] { return c->NowMs(); };
    o.clock.set_ms = [c](int64_t ms) { c->SetMs(ms); };
    o.clock.advance = [c](int64_t d) { c->Advance(std::chrono::milliseconds(d)); };
    Result<std::unique_ptr<Server>> s = Server::Start(std::move(o));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }
  void SetUp() override { StartServer(); }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  int port() const { return server_->port(); }

  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<KvBackend> backend_;
  std::unique_ptr<Server> server_;
};

#define EXPECT_CMD(client, reply, ...) EXPECT_EQ((client).Expect({__VA_ARGS__}, reply), reply)

TEST_F(ServerTest, PipelinedCommandsAnswerInOrder) {
  RawClient c(port());
  ASSERT_TRUE(c.ok());
  c.Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n");
  std::string expect = "+OK\r\n$1\r\nv\r\n+PONG\r\n-ERR value is not an integer or out of range\r\n";
  EXPECT_EQ(c.Read(expect.size()), expect);
}

TEST_F(ServerTest, HelloSwitchesProtocolAndAnswersLikeRedis70) {
  RawClient c(port());
  std::string hello = c.Cmd({"HELLO", "3", "SETNAME", "app"}, 200);
  EXPECT_EQ(hello.rfind("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
                        "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:", 0), 0u) << hello;
  EXPECT_NE(hello.find("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"),
            std::string::npos);
  EXPECT_CMD(c, "$3\r\napp\r\n", "CLIENT", "GETNAME");
  EXPECT_CMD(c, ":1\r\n", "HSET", "h", "f", "v");
  EXPECT_CMD(c, "%1\r\n$1\r\nf\r\n$1\r\nv\r\n", "HGETALL", "h");  // a map in RESP3
  EXPECT_CMD(c, "_\r\n", "GET", "missing");
  EXPECT_CMD(c, "-NOPROTO unsupported protocol version\r\n", "HELLO", "4");
  std::string back = c.Cmd({"HELLO", "2"}, 100);
  EXPECT_EQ(back.rfind("*14\r\n", 0), 0u) << back;
  EXPECT_CMD(c, "*2\r\n$1\r\nf\r\n$1\r\nv\r\n", "HGETALL", "h");
  EXPECT_CMD(c, "$-1\r\n", "GET", "missing");
}

TEST_F(ServerTest, ProtocolErrorClosesOnlyThatClient) {
  RawClient bad(port()), good(port());
  bad.Send("*1\r\n+PING\r\n");
  std::string expect = "-ERR Protocol error: expected '$', got '+'\r\n";
  EXPECT_EQ(bad.Read(expect.size()), expect);
  EXPECT_TRUE(bad.ClosedByServer());
  EXPECT_CMD(good, "+PONG\r\n", "PING");
  RawClient junk(port());
  junk.Send(std::string("\x00\xff\x01*abc\r\n", 9) + "*-x\r\n");
  std::string r = junk.Read(200);
  EXPECT_EQ(r.rfind("-ERR", 0), 0u) << r;  // binary junk: an error reply (inline), then *-x
  EXPECT_CMD(good, "+PONG\r\n", "PING");
}

TEST_F(ServerTest, HalfSentCommandAndAbandonedMultiApplyNothing) {
  {
    RawClient c(port());
    c.Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nva");  // the value never completes
  }
  {
    RawClient c(port());
    EXPECT_CMD(c, "+OK\r\n", "MULTI");
    EXPECT_CMD(c, "+QUEUED\r\n", "SET", "t", "1");
  }  // disconnects inside MULTI
  RawClient check(port());
  EXPECT_CMD(check, ":0\r\n", "EXISTS", "k", "t");
}

TEST_F(ServerTest, MultiExecAndExecAbort) {
  RawClient c(port());
  EXPECT_CMD(c, "+OK\r\n", "MULTI");
  EXPECT_CMD(c, "+QUEUED\r\n", "SET", "a", "1");
  EXPECT_CMD(c, "+QUEUED\r\n", "INCR", "a");
  EXPECT_CMD(c, "+QUEUED\r\n", "HSET", "a", "f", "v");  // fails at EXEC: WRONGTYPE
  EXPECT_CMD(c, "+QUEUED\r\n", "PING");
  EXPECT_CMD(c, "-ERR MULTI calls can not be nested\r\n", "MULTI");
  std::string exec =
      "*4\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n+PONG\r\n";
  EXPECT_CMD(c, exec, "EXEC");
  EXPECT_CMD(c, "-ERR EXEC without MULTI\r\n", "EXEC");

  EXPECT_CMD(c, "+OK\r\n", "MULTI");
  EXPECT_CMD(c, "+QUEUED\r\n", "SET", "b", "1");
  EXPECT_CMD(c, "-ERR unknown command 'NOSUCH', with args beginning with: \r\n", "NOSUCH");
  EXPECT_CMD(c, "-ERR wrong number of arguments for 'get' command\r\n", "GET");
  EXPECT_CMD(c, "-EXECABORT Transaction discarded because of previous errors.\r\n", "EXEC");
  EXPECT_CMD(c, ":0\r\n", "EXISTS", "b");
  EXPECT_CMD(c, "+OK\r\n", "MULTI");
  EXPECT_CMD(c, "+QUEUED\r\n", "SET", "b", "1");
  EXPECT_CMD(c, "+OK\r\n", "DISCARD");
  EXPECT_CMD(c, ":0\r\n", "EXISTS", "b");
}

TEST_F(ServerTest, WatchBrokenByAnotherClientsWriteOrByExpiry) {
  RawClient a(port()), b(port());
  EXPECT_CMD(a, "+OK\r\n", "SET", "w", "1");
  EXPECT_CMD(a, "+OK\r\n", "WATCH", "w");
  EXPECT_CMD(b, ":2\r\n", "INCR", "w");
  EXPECT_CMD(a, "+OK\r\n", "MULTI");
  EXPECT_CMD(a, "+QUEUED\r\n", "SET", "w", "from-a");
  EXPECT_CMD(a, "*-1\r\n", "EXEC");  // b's write broke the watch
  EXPECT_CMD(a, "$1\r\n2\r\n", "GET", "w");

  // Not broken: EXEC runs.
  EXPECT_CMD(a, "+OK\r\n", "WATCH", "w");
  EXPECT_CMD(b, "$1\r\n2\r\n", "GET", "w");  // a read does not break it
  EXPECT_CMD(a, "+OK\r\n", "MULTI");
  EXPECT_CMD(a, "+QUEUED\r\n", "SET", "w", "x");
  EXPECT_CMD(a, "*1\r\n+OK\r\n", "EXEC");

  // Broken by expiry: the virtual clock passes the key's deadline.
  EXPECT_CMD(a, "+OK\r\n", "SET", "e", "v", "PX", "1000");
  EXPECT_CMD(a, "+OK\r\n", "WATCH", "e");
  const std::string advanced = ":" + std::to_string(clock_->NowMs() + 1500) + "\r\n";  // before the call
  EXPECT_CMD(b, advanced, "STORMKV.CLOCK", "ADVANCE", "1500");
  EXPECT_CMD(a, "+OK\r\n", "MULTI");
  EXPECT_CMD(a, "+QUEUED\r\n", "SET", "e", "again");
  EXPECT_CMD(a, "*-1\r\n", "EXEC");
  EXPECT_CMD(a, ":0\r\n", "EXISTS", "e");

  // FLUSHDB breaks every watch.
  EXPECT_CMD(a, "+OK\r\n", "WATCH", "w");
  EXPECT_CMD(b, "+OK\r\n", "FLUSHDB");
  EXPECT_CMD(a, "+OK\r\n", "MULTI");
  EXPECT_CMD(a, "+QUEUED\r\n", "SET", "w", "1");
  EXPECT_CMD(a, "*-1\r\n", "EXEC");
}

TEST_F(ServerTest, ClockCommandsDriveExpiry) {
  RawClient c(port());
  int64_t t0 = clock_->NowMs();
  EXPECT_CMD(c, ":" + std::to_string(t0) + "\r\n", "STORMKV.CLOCK", "GET");
  EXPECT_CMD(c, "+OK\r\n", "SET", "k", "v", "PX", "1000");
  EXPECT_CMD(c, ":" + std::to_string(t0 + 999) + "\r\n", "STORMKV.CLOCK", "ADVANCE", "999");
  EXPECT_CMD(c, ":1\r\n", "PTTL", "k");
  EXPECT_CMD(c, ":" + std::to_string(t0 + 1001) + "\r\n", "STORMKV.CLOCK", "ADVANCE", "2");
  EXPECT_CMD(c, "$-1\r\n", "GET", "k");
  EXPECT_CMD(c, ":" + std::to_string(t0 + 60000) + "\r\n", "STORMKV.CLOCK", "SET", std::to_string(t0 + 60000));
  std::string time = c.Cmd({"TIME"}, 40);
  EXPECT_NE(time.find(std::to_string((t0 + 60000) / 1000)), std::string::npos) << time;
  EXPECT_CMD(c, "-ERR ADVANCE takes a non-negative number of milliseconds\r\n", "STORMKV.CLOCK", "ADVANCE", "-1");
}

TEST_F(ServerTest, ConnectionCommands) {
  RawClient c(port());
  EXPECT_CMD(c, "+OK\r\n", "SELECT", "0");
  EXPECT_CMD(c, "-ERR DB index is out of range\r\n", "SELECT", "1");
  EXPECT_CMD(c, "$2\r\nhi\r\n", "ECHO", "hi");
  EXPECT_CMD(c, "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
             "CLIENT", "SETNAME", "a b");
  EXPECT_CMD(c, "+OK\r\n", "CLIENT", "SETNAME", "tester");
  EXPECT_CMD(c, "+OK\r\n", "CLIENT", "SETINFO", "lib-name", "redis-py");
  std::string list = c.Cmd({"CLIENT", "LIST"}, 400);
  EXPECT_NE(list.find(" name=tester "), std::string::npos) << list;
  EXPECT_NE(list.find(" lib-name=redis-py "), std::string::npos) << list;
  EXPECT_CMD(c, "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n", "CLIENT", "NOPE");
  EXPECT_CMD(c, "-ERR unknown command 'NOSUCH', with args beginning with: 'a' \r\n", "NOSUCH", "a");
  EXPECT_CMD(c, "+OK\r\n", "FUNCTION", "FLUSH");
  EXPECT_CMD(c, "-ERR This instance has cluster support disabled\r\n", "CLUSTER", "KEYSLOT", "a");
  EXPECT_CMD(c, "+RESET\r\n", "RESET");
  EXPECT_CMD(c, "$-1\r\n", "CLIENT", "GETNAME");
  EXPECT_CMD(c, "+OK\r\n", "QUIT");
  EXPECT_TRUE(c.ClosedByServer());
}

TEST_F(ServerTest, CommandMetadataIsRedis70s) {
  RawClient c(port());
  std::string get = c.Cmd({"COMMAND", "INFO", "get"}, 72);
  EXPECT_EQ(get.rfind("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n", 0), 0u) << get;
  EXPECT_CMD(c, "*1\r\n$1\r\na\r\n", "COMMAND", "GETKEYS", "SET", "a", "b");
  EXPECT_CMD(c, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "x");
  EXPECT_CMD(c, "*1\r\n*-1\r\n", "COMMAND", "INFO", "nosuch");
  std::string count = c.Cmd({"COMMAND", "COUNT"}, 5);
  EXPECT_EQ(count, ":" + std::to_string(std::stoi(count.substr(1))) + "\r\n");
  EXPECT_GE(std::stoi(count.substr(1)), 60);
}

TEST_F(ServerTest, ScriptsRunThroughTheRegistryOrTheBackend) {
  RawClient c(port());
  std::string sha = c.Cmd({"SCRIPT", "LOAD", "return 1"}, 47);
  ASSERT_EQ(sha.size(), 47u) << sha;
  EXPECT_CMD(c, "*2\r\n:1\r\n:0\r\n", "SCRIPT", "EXISTS", sha.substr(5, 40), "0000000000000000000000000000000000000000");
  EXPECT_CMD(c, "-NOSCRIPT No matching script. Please use EVAL.\r\n", "EVALSHA", "0000000000000000000000000000000000000000", "0");
  EXPECT_CMD(c, "-ERR Number of keys can't be greater than number of args\r\n", "EVAL", "return 1", "3", "a");
  EXPECT_CMD(c, "+OK\r\n", "SCRIPT", "FLUSH");
  EXPECT_CMD(c, "*1\r\n:0\r\n", "SCRIPT", "EXISTS", sha.substr(5, 40));
}

// Any Lua, not only registry scripts: the embedded store's engine runs it, with Redis's texts
// (observed on redis-server 7.0.15). A script that does not compile is not cached.
TEST_F(ServerTest, ArbitraryLuaRunsOnTheBackendsEngine) {
  RawClient c(port());
  const std::string body = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])";
  EXPECT_CMD(c, "$1\r\nv\r\n", "EVAL", body, "1", "lua:k", "v");
  EXPECT_CMD(c, "$1\r\nw\r\n", "EVALSHA", Sha1Hex(body), "1", "lua:k", "w");
  EXPECT_CMD(c, "$1\r\nw\r\n", "GET", "lua:k");
  EXPECT_CMD(c, "*3\r\n:1\r\n:2\r\n$1\r\nx\r\n", "EVAL", "return {1, 2.9, 'x', nil, 'y'}", "0");
  EXPECT_CMD(c, "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n",
             "EVAL", "return (", "0");
  EXPECT_CMD(c, "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n",
             "SCRIPT", "LOAD", "return (");
  EXPECT_CMD(c, "-ERR Unexpected flag in script shebang: bogus\r\n", "EVAL", "#!lua flags=bogus\nreturn 1", "0");
  EXPECT_CMD(c, "-NOSCRIPT No matching script. Please use EVAL.\r\n", "EVALSHA", Sha1Hex("return ("), "0");
  EXPECT_CMD(c, "*1\r\n:0\r\n", "SCRIPT", "EXISTS", Sha1Hex("return ("));
  const std::string err = "return redis.call('INCR', KEYS[1])";
  EXPECT_CMD(c, "-ERR value is not an integer or out of range script: " + Sha1Hex(err) +
                    ", on @user_script:1.\r\n",
             "EVAL", err, "1", "lua:k");
  EXPECT_CMD(c, "-ERR Write commands are not allowed from read-only scripts. script: " +
                    Sha1Hex(body) + ", on @user_script:1.\r\n",
             "EVAL_RO", body, "1", "lua:k", "z");
  EXPECT_CMD(c, "$1\r\nw\r\n", "GET", "lua:k");
}

// Redis runs EVAL inside MULTI; so does serve, for scripts without a twin too (EXEC is a twin
// that runs them nested on the backend's engine). A script's error is that command's reply only.
TEST_F(ServerTest, EvalOfAnyScriptInsideMulti) {
  RawClient c(port());
  const std::string incr = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
  EXPECT_CMD(c, "$40\r\n" + Sha1Hex(incr) + "\r\n", "SCRIPT", "LOAD", incr);
  EXPECT_CMD(c, "+OK\r\n", "MULTI");
  EXPECT_CMD(c, "+QUEUED\r\n", "EVAL", incr, "1", "tx:n", "2");
  EXPECT_CMD(c, "+QUEUED\r\n", "EVALSHA", Sha1Hex(incr), "1", "tx:n", "3");
  EXPECT_CMD(c, "+QUEUED\r\n", "EVAL", "return redis.call('GET', KEYS[1])", "1", "tx:n");
  EXPECT_CMD(c, "+QUEUED\r\n", "EVAL", "return redis.call('HSET', KEYS[1], 'f', 'v')", "1", "tx:n");
  EXPECT_CMD(c, "+QUEUED\r\n", "INCR", "tx:n");
  const std::string wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
  EXPECT_CMD(c, "*5\r\n:2\r\n:5\r\n$1\r\n5\r\n-" + wrongtype + " script: " +
                    Sha1Hex("return redis.call('HSET', KEYS[1], 'f', 'v')") +
                    ", on @user_script:1.\r\n:6\r\n",
             "EXEC");
  EXPECT_CMD(c, "$1\r\n6\r\n", "GET", "tx:n");
}

TEST(ServerLimits, RequirePass) {
  auto kv = std::shared_ptr<KvBackend>(NewMemoryBackend().value());
  ServerOptions o;
  o.backend = kv;
  o.port = 0;
  o.requirepass = "sekret";
  auto s = Server::Start(std::move(o));
  ASSERT_TRUE(s.ok()) << s.status();
  RawClient c((*s)->port());
  EXPECT_CMD(c, "-NOAUTH Authentication required.\r\n", "GET", "k");
  EXPECT_CMD(c, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", "AUTH", "nope");
  std::string noauth = c.Cmd({"HELLO", "3"}, 250);
  EXPECT_EQ(noauth.rfind("-NOAUTH HELLO must be called with the client already authenticated", 0), 0u) << noauth;
  std::string hello = c.Cmd({"HELLO", "3", "AUTH", "default", "sekret"}, 30);
  EXPECT_EQ(hello.rfind("%7\r\n", 0), 0u) << hello;
  EXPECT_CMD(c, "_\r\n", "GET", "k");
  RawClient d((*s)->port());
  EXPECT_CMD(d, "+OK\r\n", "AUTH", "sekret");
  EXPECT_CMD(d, "+PONG\r\n", "PING");
}

TEST(ServerLimits, MaxClientsQueryAndOutputBuffers) {
  auto kv = std::shared_ptr<KvBackend>(NewMemoryBackend().value());
  ServerOptions o;
  o.backend = kv;
  o.port = 0;
  o.maxclients = 2;
  o.proto_max_bulk_len = 1000;
  o.client_query_buffer_limit = 64 * 1024;
  o.client_output_buffer_limit = 1024 * 1024;
  auto s = Server::Start(std::move(o));
  ASSERT_TRUE(s.ok()) << s.status();
  int port = (*s)->port();
  RawClient a(port), b(port, 64 * 1024);
  EXPECT_CMD(a, "+OK\r\n", "SET", "big", std::string(900, 'x'));
  EXPECT_CMD(a, "-ERR Protocol error: invalid bulk length\r\n", "SET", "k", std::string(1001, 'x'));
  EXPECT_TRUE(a.ClosedByServer());
  RawClient c(port), d(port);  // b, c: two clients; d is one too many
  EXPECT_CMD(c, "+PONG\r\n", "PING");
  std::string refused = "-ERR max number of clients reached\r\n";
  EXPECT_EQ(d.Read(refused.size()), refused);
  EXPECT_TRUE(d.ClosedByServer());
  // A query buffer over the limit: the client is closed.
  c.Send("*1\r\n$999\r\n");
  for (int i = 0; i < 80; ++i) c.Send(std::string(1000, 'q'));
  EXPECT_TRUE(c.ClosedByServer());
  // A client that pipelines without reading: disconnected once its unsent replies pass 1 MB.
  // Unsent, as Redis counts them, means not taken by the socket yet: b's receive buffer is
  // fixed at 64 KiB and the server's send buffer autotunes to at most a few MB
  // (net.ipv4.tcp_wmem), so the burst asks for ~18 MB. b reads nothing until the server has
  // counted the close: reading earlier would drain the replies as a slow (sanitized) server
  // makes them, and the limit might never be reached.
  std::string get = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
  std::string burst;
  for (int i = 0; i < 20000; ++i) burst += get;
  b.Send(burst);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((*s)->Stats().output_limit_closes == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polls the server's count
  }
  EXPECT_EQ((*s)->Stats().output_limit_closes, 1);
  EXPECT_TRUE(b.ClosedByServer());
  EXPECT_GE((*s)->Stats().output_limit_closes + (*s)->Stats().protocol_errors, 2);
  RawClient e(port);
  EXPECT_CMD(e, "+PONG\r\n", "PING");  // the server goes on
}

TEST(ServerLimits, UnixSocketAndManyIdleClients) {
  auto kv = std::shared_ptr<KvBackend>(NewMemoryBackend().value());
  ServerOptions o;
  o.backend = kv;
  o.port = 0;
  const std::string path = "/tmp/stormkv-serve-test-" + std::to_string(::getpid()) + ".sock";
  o.unixsocket = path;
  auto s = Server::Start(std::move(o));
  ASSERT_TRUE(s.ok()) << s.status();
  RawClient u(path);
  ASSERT_TRUE(u.ok());
  EXPECT_CMD(u, "+OK\r\n", "SET", "via", "unix");
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 1000; ++i) idle.push_back(std::make_unique<RawClient>((*s)->port()));
  for (auto& c : idle) ASSERT_TRUE(c->ok());
  EXPECT_CMD(*idle.back(), "$4\r\nunix\r\n", "GET", "via");
  EXPECT_CMD(*idle.front(), "+PONG\r\n", "PING");
}

}  // namespace
}  // namespace stormkv
