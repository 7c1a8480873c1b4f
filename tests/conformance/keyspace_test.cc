// The keyspace and the server: SCAN, DBSIZE, FLUSHDB, TIME, MEMORY USAGE, PING, bad commands.
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "conformance/conformance_fixture.h"

namespace stormkv::conformance {
namespace {

// Runs a whole raw SCAN iteration; checks the reply shape of every page.
std::set<std::string> ScanRaw(KvBackend& kv, const Command& options, int* pages = nullptr) {
  std::set<std::string> seen;
  std::string cursor = "0";
  int n = 0;
  do {
    Command c{"SCAN", cursor};
    c.insert(c.end(), options.begin(), options.end());
    Result<Reply> r = kv.Run(c);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) break;
    EXPECT_TRUE(r->is_array() && r->elements().size() == 2) << *r;
    if (!r->is_array() || r->elements().size() != 2) break;
    EXPECT_TRUE(r->elements()[0].is_bulk()) << *r;
    EXPECT_TRUE(r->elements()[1].is_array()) << *r;
    cursor = r->elements()[0].str();
    for (const Reply& k : r->elements()[1].elements()) {
      EXPECT_TRUE(k.is_bulk()) << k;
      seen.insert(k.str());
    }
    if (++n > 100000) {
      ADD_FAILURE() << "SCAN does not terminate";
      break;
    }
  } while (cursor != "0");
  if (pages) *pages = n;
  return seen;
}

TEST_P(ConformanceTest, ScanVisitsEveryKey) {
  std::set<std::string> want;
  for (int i = 0; i < 150; ++i) {
    const std::string k = K("k") + std::to_string(i);
    want.insert(k);
    EXPECT_REPLY(Ok(), "SET", k, "v");
  }
  int pages = 0;
  EXPECT_EQ(ScanRaw(kv(), {"COUNT", "7"}, &pages), want);
  EXPECT_GT(pages, 1);  // COUNT is a hint, but 150 keys do not come back in one page of 7
  EXPECT_EQ(ScanRaw(kv(), {}), want);
  EXPECT_EQ(ScanRaw(kv(), {"COUNT", "1000"}), want);
  std::set<std::string> typed;
  ASSERT_OK(kv().ScanAll(
      "",
      [&](const std::string& k) {
        EXPECT_TRUE(typed.insert(k).second) << "ScanAll repeated " << k;
        return ::stormkv::Status::Ok();
      },
      5));
  EXPECT_EQ(typed, want);
  ASSERT_OK_AND_ASSIGN(ScanPage page, kv().Scan("0", "", 1000));
  EXPECT_FALSE(page.cursor.empty());
  for (const std::string& k : page.keys) EXPECT_EQ(want.count(k), 1u) << k;
}

TEST_P(ConformanceTest, ScanOnEmptyDatabase) {
  EXPECT_REPLY(Arr({Bulk("0"), Arr({})}), "SCAN", "0");
  EXPECT_REPLY(Arr({Bulk("0"), Arr({})}), "SCAN", "0", "MATCH", "*", "COUNT", "10", "TYPE", "hash");
}

TEST_P(ConformanceTest, ScanMatch) {
  for (const char* n : {"a", "b", "c", "ab", "abc", "a*b", "x?y", "[z]"}) {
    EXPECT_REPLY(Ok(), "SET", K(n), "v");
  }
  auto match = [&](const std::string& pattern) {
    std::set<std::string> out;
    for (const std::string& k : ScanRaw(kv(), {"MATCH", prefix() + pattern, "COUNT", "3"})) {
      out.insert(k.substr(prefix().size()));
    }
    return out;
  };
  using S = std::set<std::string>;
  EXPECT_EQ(match("*"), (S{"a", "b", "c", "ab", "abc", "a*b", "x?y", "[z]"}));
  EXPECT_EQ(match("a*"), (S{"a", "ab", "abc", "a*b"}));
  EXPECT_EQ(match("?"), (S{"a", "b", "c"}));
  EXPECT_EQ(match("a?"), (S{"ab"}));
  EXPECT_EQ(match("[ab]"), (S{"a", "b"}));
  EXPECT_EQ(match("[^a]"), (S{"b", "c"}));
  EXPECT_EQ(match("[a-b]"), (S{"a", "b"}));
  EXPECT_EQ(match("a\\*b"), (S{"a*b"}));
  EXPECT_EQ(match("x\\?y"), (S{"x?y"}));
  EXPECT_EQ(match("\\[z\\]"), (S{"[z]"}));
  EXPECT_EQ(match("*c"), (S{"c", "abc"}));
  EXPECT_EQ(match("nothing*"), S{});
  std::set<std::string> typed;
  ASSERT_OK(kv().ScanAll(prefix() + "a*", [&](const std::string& k) {
    typed.insert(k.substr(prefix().size()));
    return ::stormkv::Status::Ok();
  }));
  EXPECT_EQ(typed, (S{"a", "ab", "abc", "a*b"}));
}

TEST_P(ConformanceTest, ScanType) {
  EXPECT_REPLY(Ok(), "SET", K("s1"), "v");
  EXPECT_REPLY(Ok(), "SET", K("s2"), "12");
  EXPECT_REPLY(Int(1), "HSET", K("h"), "f", "v");
  EXPECT_REPLY(Int(1), "SADD", K("set"), "m");
  EXPECT_REPLY(Int(1), "ZADD", K("z"), "1", "m");
  using S = std::set<std::string>;
  EXPECT_EQ(ScanRaw(kv(), {"TYPE", "string"}), (S{K("s1"), K("s2")}));
  EXPECT_EQ(ScanRaw(kv(), {"TYPE", "hash", "COUNT", "1"}), (S{K("h")}));
  EXPECT_EQ(ScanRaw(kv(), {"TYPE", "set"}), (S{K("set")}));
  EXPECT_EQ(ScanRaw(kv(), {"TYPE", "zset"}), (S{K("z")}));
  EXPECT_EQ(ScanRaw(kv(), {"TYPE", "ZSET"}), (S{K("z")}));
  EXPECT_EQ(ScanRaw(kv(), {"TYPE", "list"}), S{});
  EXPECT_EQ(ScanRaw(kv(), {"TYPE", "bogus"}), S{});  // Redis 7.0: no error, no keys
  EXPECT_EQ(ScanRaw(kv(), {"MATCH", K("s*"), "TYPE", "string"}), (S{K("s1"), K("s2")}));
  EXPECT_EQ(ScanRaw(kv(), {"MATCH", K("s*"), "TYPE", "set"}), (S{K("set")}));
  S typed;
  ASSERT_OK(kv().ScanAll(
      "",
      [&](const std::string& k) {
        typed.insert(k);
        return ::stormkv::Status::Ok();
      },
      10, "hash"));
  EXPECT_EQ(typed, (S{K("h")}));
}

TEST_P(ConformanceTest, ScanErrors) {
  EXPECT_ERR("ERR invalid cursor", "SCAN", "abc");
  EXPECT_ERR("ERR invalid cursor", "SCAN", "18446744073709551616");
  EXPECT_ERR("ERR invalid cursor", "SCAN", "1.5");
  EXPECT_ERR(kSyntax, "SCAN", "0", "COUNT", "0");
  EXPECT_ERR(kSyntax, "SCAN", "0", "COUNT", "-1");
  EXPECT_ERR(kNotInteger, "SCAN", "0", "COUNT", "abc");
  EXPECT_ERR(kSyntax, "SCAN", "0", "MATCH");
  EXPECT_ERR(kSyntax, "SCAN", "0", "COUNT");
  EXPECT_ERR(kSyntax, "SCAN", "0", "TYPE");
  EXPECT_ERR(kSyntax, "SCAN", "0", "BOGUS", "x");
  EXPECT_ERR(Arity("scan"), "SCAN");
  Result<ScanPage> r = kv().Scan("abc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "ERR invalid cursor");
}

TEST_P(ConformanceTest, ScanReturnsKeysPresentThroughoutDespiteChanges) {
  std::set<std::string> stable, doomed, added;
  for (int i = 0; i < 300; ++i) {
    stable.insert(K("stable" + std::to_string(i)));
    doomed.insert(K("doomed" + std::to_string(i)));
  }
  for (const std::string& k : stable) EXPECT_REPLY(Ok(), "SET", k, "v");
  for (const std::string& k : doomed) EXPECT_REPLY(Int(1), "SADD", k, "m");
  std::set<std::string> seen;
  std::string cursor = "0";
  auto next_doomed = doomed.begin();
  int page = 0;
  do {
    Result<Reply> r = kv().Run({"SCAN", cursor, "COUNT", "10"});
    ASSERT_OK(r);
    ASSERT_TRUE(r->is_array() && r->elements().size() == 2) << *r;
    cursor = r->elements()[0].str();
    for (const Reply& k : r->elements()[1].elements()) seen.insert(k.str());
    // Between pages: delete a few keys and add a few (forces the table to grow in Redis). Keys
    // are added during the first 40 pages only: Redis guarantees termination only while the
    // keyspace stays bounded.
    for (int i = 0; i < 4 && next_doomed != doomed.end(); ++i, ++next_doomed) {
      EXPECT_REPLY(Int(1), "DEL", *next_doomed);
    }
    for (int i = 0; i < 12 && page < 40; ++i) {
      std::string k = K("added" + std::to_string(page) + "_" + std::to_string(i));
      added.insert(k);
      EXPECT_REPLY(Int(1), "HSET", k, "f", "v");
    }
    ASSERT_LT(++page, 10000) << "SCAN does not terminate";
  } while (cursor != "0");
  for (const std::string& k : stable) EXPECT_EQ(seen.count(k), 1u) << "SCAN missed " << k;
  for (const std::string& k : seen) {
    EXPECT_TRUE(stable.count(k) || doomed.count(k) || added.count(k)) << "SCAN invented " << k;
  }
}

TEST_P(ConformanceTest, DbSizeAndFlushDb) {
  EXPECT_REPLY(Int(0), "DBSIZE");
  EXPECT_REPLY(Ok(), "SET", K("a"), "1");
  EXPECT_REPLY(Int(1), "HSET", K("h"), "f", "v");
  EXPECT_REPLY(Int(1), "SADD", K("s"), "m");
  EXPECT_REPLY(Int(1), "ZADD", K("z"), "1", "m");
  EXPECT_REPLY(Int(4), "DBSIZE");
  EXPECT_REPLY(Int(1), "DEL", K("a"));
  EXPECT_REPLY(Int(3), "DBSIZE");
  ASSERT_OK_AND_ASSIGN(int64_t n, kv().DbSize());
  EXPECT_EQ(n, 3);
  EXPECT_ERR(Arity("dbsize"), "DBSIZE", "x");
  EXPECT_ERR(kSyntax, "FLUSHDB", "bogus");
  EXPECT_REPLY(Int(3), "DBSIZE");
  EXPECT_REPLY(Ok(), "FLUSHDB");
  EXPECT_REPLY(Int(0), "DBSIZE");
  EXPECT_REPLY(Int(0), "EXISTS", K("h"), K("s"), K("z"));
  EXPECT_REPLY(Ok(), "SET", K("a"), "1", "EX", "100");
  EXPECT_REPLY(Ok(), "FLUSHDB", "ASYNC");
  EXPECT_REPLY(Int(0), "DBSIZE");
  EXPECT_REPLY(Int(-2), "TTL", K("a"));
  EXPECT_REPLY(Ok(), "SET", K("a"), "1");
  EXPECT_REPLY(Ok(), "flushdb", "sync");
  EXPECT_REPLY(Int(0), "DBSIZE");
  EXPECT_REPLY(Ok(), "SET", K("a"), "1");
  ASSERT_OK(kv().FlushDb());
  ASSERT_OK_AND_ASSIGN(n, kv().DbSize());
  EXPECT_EQ(n, 0);
  // The database is usable after a flush.
  EXPECT_REPLY(Int(1), "INCR", K("a"));
}

TEST_P(ConformanceTest, TimeIsTwoIntegers) {
  auto now_us = [&]() -> int64_t {
    Reply r = MustRun({"TIME"});
    EXPECT_TRUE(r.is_array() && r.elements().size() == 2) << r;
    if (!r.is_array() || r.elements().size() != 2) return 0;
    for (const Reply& e : r.elements()) {
      EXPECT_TRUE(e.is_bulk()) << r;
      EXPECT_FALSE(e.str().empty()) << r;
      EXPECT_EQ(e.str().find_first_not_of("0123456789"), std::string::npos) << r;
    }
    int64_t sec = std::strtoll(r.elements()[0].str().c_str(), nullptr, 10);
    int64_t usec = std::strtoll(r.elements()[1].str().c_str(), nullptr, 10);
    EXPECT_GT(sec, 1600000000) << r;  // after 2020
    EXPECT_GE(usec, 0);
    EXPECT_LT(usec, 1000000);
    return sec * 1000000 + usec;
  };
  int64_t first = now_us();
  int64_t second = now_us();
  EXPECT_GE(second, first);
  EXPECT_ERR(Arity("time"), "TIME", "x");
}

TEST_P(ConformanceTest, MemoryUsage) {
  EXPECT_REPLY(Nil(), "MEMORY", "USAGE", K("missing"));
  EXPECT_REPLY(Nil(), "MEMORY", "USAGE", K("missing"), "SAMPLES", "0");
  ASSERT_OK_AND_ASSIGN(auto none, kv().MemoryUsage(K("missing")));
  EXPECT_FALSE(none.has_value());
  EXPECT_REPLY(Ok(), "SET", K("small"), "v");
  EXPECT_REPLY(Ok(), "SET", K("big"), std::string(10000, 'x'));
  Reply small = MustRun({"MEMORY", "USAGE", K("small")});
  Reply big = MustRun({"MEMORY", "USAGE", K("big")});
  ASSERT_TRUE(small.is_integer()) << small;
  ASSERT_TRUE(big.is_integer()) << big;
  EXPECT_GT(small.integer(), 0);
  EXPECT_GT(big.integer(), small.integer() + 9000);
  EXPECT_REPLY(small, "memory", "usage", K("small"), "samples", "0");
  ASSERT_OK_AND_ASSIGN(auto typed, kv().MemoryUsage(K("big")));
  EXPECT_EQ(typed, std::optional<int64_t>(big.integer()));
  EXPECT_REPLY(Int(3), "HSET", K("h"), "a", "1", "b", "2", "c", "3");
  Reply h3 = MustRun({"MEMORY", "USAGE", K("h")});
  EXPECT_REPLY(Int(1), "HSET", K("h"), "d", std::string(1000, 'y'));
  Reply h4 = MustRun({"MEMORY", "USAGE", K("h")});
  ASSERT_TRUE(h3.is_integer() && h4.is_integer()) << h3 << " " << h4;
  EXPECT_GT(h4.integer(), h3.integer());
  EXPECT_ERR(kSyntax, "MEMORY", "USAGE", K("small"), "SAMPLES");
  EXPECT_ERR(kSyntax, "MEMORY", "USAGE", K("small"), "BOGUS", "1");
  EXPECT_ERR(kNotInteger, "MEMORY", "USAGE", K("small"), "SAMPLES", "abc");
  EXPECT_ERR(kNotInteger, "MEMORY", "USAGE", K("missing"), "SAMPLES", "abc");
  EXPECT_ERR(Arity("memory|usage"), "MEMORY", "USAGE");
  EXPECT_ERR(Arity("memory"), "MEMORY");
  EXPECT_ERR("ERR unknown subcommand 'bogus'. Try MEMORY HELP.", "MEMORY", "bogus");
}

TEST_P(ConformanceTest, PingAndUnknownCommands) {
  EXPECT_REPLY(StatusReply("PONG"), "PING");
  EXPECT_REPLY(Bulk("hi"), "PING", "hi");
  EXPECT_ERR(Arity("ping"), "PING", "a", "b");
  EXPECT_ERR("ERR unknown command 'nosuchcmd', with args beginning with: 'a' 'b' ", "nosuchcmd",
             "a", "b");
  EXPECT_ERR("ERR unknown command 'NoSuch', with args beginning with: ", "NoSuch");
  EXPECT_ERR("ERR unknown command 'nosuch', with args beginning with: 'it's' 'a b' ", "nosuch",
             "it's", "a b");
  const std::string k = K("k");
  EXPECT_REPLY(Ok(), "SET", k, "v");
  EXPECT_ERR_UNCHANGED(k,
                       "ERR unknown command 'getset2', with args beginning with: '" + k + "' 'x' ",
                       "getset2", k, "x");
}

}  // namespace
}  // namespace stormkv::conformance
