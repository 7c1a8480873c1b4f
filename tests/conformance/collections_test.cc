// Hashes, sets and sorted sets, and WRONGTYPE across every family.
#include <string>
#include <utility>
#include <vector>

#include "conformance/conformance_fixture.h"

namespace stormkv::conformance {
namespace {

// ---- hashes -------------------------------------------------------------------------------

TEST_P(ConformanceTest, HashSetGetAndCounts) {
  const std::string h = K("h");
  EXPECT_REPLY(Int(2), "HSET", h, "a", "1", "b", "2");
  EXPECT_REPLY(Int(1), "HSET", h, "a", "10", "c", "3");  // a updated, c added
  EXPECT_REPLY(Int(0), "HSET", h, "a", "11");
  EXPECT_REPLY(Int(1), "HSET", h, "dup", "x", "dup", "y");  // the last value wins
  EXPECT_REPLY(Bulk("y"), "HGET", h, "dup");
  EXPECT_REPLY(Bulk("11"), "HGET", h, "a");
  EXPECT_REPLY(Nil(), "HGET", h, "zz");
  EXPECT_REPLY(Nil(), "HGET", K("missing"), "a");
  EXPECT_REPLY(Int(4), "HLEN", h);
  EXPECT_REPLY(Int(0), "HLEN", K("missing"));
  EXPECT_REPLY(Int(1), "HEXISTS", h, "a");
  EXPECT_REPLY(Int(0), "HEXISTS", h, "zz");
  EXPECT_REPLY(Int(0), "HEXISTS", K("missing"), "a");
  EXPECT_REPLY(Int(1), "HSET", h, "", "");  // empty field and value are fine
  EXPECT_REPLY(Bulk(""), "HGET", h, "");
  ASSERT_OK_AND_ASSIGN(int64_t n, kv().HLen(h));
  EXPECT_EQ(n, 5);
  ASSERT_OK_AND_ASSIGN(auto v, kv().HGet(h, "b"));
  EXPECT_EQ(v, std::optional<std::string>("2"));
  ASSERT_OK_AND_ASSIGN(v, kv().HGet(h, "zz"));
  EXPECT_FALSE(v.has_value());
  ASSERT_OK_AND_ASSIGN(n, kv().HSet(K("h2"), {{"x", "1"}, {"y", "2"}}));
  EXPECT_EQ(n, 2);
}

TEST_P(ConformanceTest, HashGetAllAndMget) {
  const std::string h = K("h");
  EXPECT_REPLY(Arr({}), "HGETALL", K("missing"));
  EXPECT_REPLY(Int(3), "HSET", h, "a", "1", "b", "2", "c", "3");
  Reply all = MustRun({"HGETALL", h});
  ASSERT_TRUE(all.is_array());
  ASSERT_EQ(all.elements().size(), 6u);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i < 6; i += 2) {
    pairs.emplace_back(all.elements()[i].str(), all.elements()[i + 1].str());
  }
  std::sort(pairs.begin(), pairs.end());
  EXPECT_EQ(pairs,
            (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  ASSERT_OK_AND_ASSIGN(auto typed, kv().HGetAll(h));
  std::sort(typed.begin(), typed.end());
  EXPECT_EQ(typed, pairs);
  ASSERT_OK_AND_ASSIGN(typed, kv().HGetAll(K("missing")));
  EXPECT_TRUE(typed.empty());
  EXPECT_REPLY(Arr({Bulk("1"), Nil(), Bulk("3"), Bulk("1")}), "HMGET", h, "a", "zz", "c", "a");
  EXPECT_REPLY(Arr({Nil(), Nil()}), "HMGET", K("missing"), "a", "b");
}

TEST_P(ConformanceTest, HashSetNx) {
  const std::string h = K("h");
  EXPECT_REPLY(Int(1), "HSETNX", h, "a", "1");  // creates the key
  EXPECT_REPLY(Int(0), "HSETNX", h, "a", "2");
  EXPECT_REPLY(Bulk("1"), "HGET", h, "a");
  EXPECT_REPLY(Int(1), "HSETNX", h, "b", "2");
  EXPECT_REPLY(Int(2), "HLEN", h);
}

TEST_P(ConformanceTest, HashIncrBy) {
  const std::string h = K("h");
  EXPECT_REPLY(Int(5), "HINCRBY", h, "n", "5");  // missing key and field count as 0
  EXPECT_REPLY(Int(2), "HINCRBY", h, "n", "-3");
  EXPECT_REPLY(Bulk("2"), "HGET", h, "n");
  EXPECT_REPLY(Int(-3), "HINCRBY", K("h2"), "f", "-3");
  EXPECT_REPLY(Int(1), "HSET", h, "max", "9223372036854775807");
  EXPECT_REPLY(Int(9223372036854775807), "HINCRBY", h, "max", "0");
  EXPECT_ERR_UNCHANGED(h, kOverflow, "HINCRBY", h, "max", "1");
  EXPECT_REPLY(Int(1), "HSET", h, "min", "-9223372036854775808");
  EXPECT_ERR_UNCHANGED(h, kOverflow, "HINCRBY", h, "min", "-1");
  for (const char* bad : {"hello", " 1", "1 ", "01", "+1", "-0", "1.5", ""}) {
    EXPECT_REPLY(Int(0), "HSET", h, "n", bad);
    EXPECT_ERR_UNCHANGED(h, "ERR hash value is not an integer", "HINCRBY", h, "n", "1");
  }
  for (const char* bad : {"abc", " 1", "007", "+1", "1.5", "", "9223372036854775808"}) {
    EXPECT_ERR_UNCHANGED(h, kNotInteger, "HINCRBY", h, "max", bad);
  }
  ASSERT_OK_AND_ASSIGN(int64_t v, kv().HIncrBy(K("h3"), "f", 40));
  EXPECT_EQ(v, 40);
  ASSERT_OK_AND_ASSIGN(v, kv().HIncrBy(K("h3"), "f", 2));
  EXPECT_EQ(v, 42);
}

TEST_P(ConformanceTest, HashDelRemovesEmptyKey) {
  const std::string h = K("h");
  EXPECT_REPLY(Int(3), "HSET", h, "a", "1", "b", "2", "c", "3");
  EXPECT_REPLY(Int(2), "HDEL", h, "a", "zz", "b", "a");
  EXPECT_REPLY(Int(0), "HDEL", h, "a");
  EXPECT_REPLY(Int(0), "HDEL", K("missing"), "a");
  EXPECT_REPLY(Int(1), "HLEN", h);
  EXPECT_REPLY(Int(1), "EXPIRE", h, "100");
  EXPECT_REPLY(Int(1), "HDEL", h, "c");
  EXPECT_REPLY(Int(0), "EXISTS", h);
  EXPECT_REPLY(StatusReply("none"), "TYPE", h);
  // A new hash under the same name starts without the old TTL.
  EXPECT_REPLY(Int(1), "HSET", h, "a", "1");
  EXPECT_REPLY(Int(-1), "TTL", h);
}

TEST_P(ConformanceTest, HashArity) {
  const std::string h = K("h");
  EXPECT_REPLY(Int(1), "HSET", h, "a", "1");
  EXPECT_ERR_UNCHANGED(h, Arity("hset"), "HSET", h);
  EXPECT_ERR_UNCHANGED(h, Arity("hset"), "HSET", h, "a");
  EXPECT_ERR_UNCHANGED(h, Arity("hset"), "HSET", h, "a", "1", "b");
  EXPECT_ERR_UNCHANGED(h, Arity("hsetnx"), "HSETNX", h, "x");
  EXPECT_ERR_UNCHANGED(h, Arity("hget"), "HGET", h);
  EXPECT_ERR_UNCHANGED(h, Arity("hmget"), "HMGET", h);
  EXPECT_ERR_UNCHANGED(h, Arity("hgetall"), "HGETALL");
  EXPECT_ERR_UNCHANGED(h, Arity("hincrby"), "HINCRBY", h, "a");
  EXPECT_ERR_UNCHANGED(h, Arity("hdel"), "HDEL", h);
  EXPECT_ERR_UNCHANGED(h, Arity("hlen"), "HLEN");
  EXPECT_ERR_UNCHANGED(h, Arity("hexists"), "HEXISTS", h);
}

// ---- sets ---------------------------------------------------------------------------------

TEST_P(ConformanceTest, SetAddRemoveAndQuery) {
  const std::string s = K("s");
  EXPECT_REPLY(Int(3), "SADD", s, "a", "b", "a", "c");
  EXPECT_REPLY(Int(1), "SADD", s, "a", "d");
  EXPECT_REPLY(Int(4), "SCARD", s);
  EXPECT_REPLY(Int(0), "SCARD", K("missing"));
  EXPECT_REPLY(Int(1), "SISMEMBER", s, "a");
  EXPECT_REPLY(Int(0), "SISMEMBER", s, "zz");
  EXPECT_REPLY(Int(0), "SISMEMBER", K("missing"), "a");
  EXPECT_EQ(SortedStrings(MustRun({"SMEMBERS", s})),
            (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_REPLY(Arr({}), "SMEMBERS", K("missing"));
  EXPECT_REPLY(Int(2), "SREM", s, "a", "zz", "b", "a");
  EXPECT_REPLY(Int(0), "SREM", K("missing"), "a");
  EXPECT_REPLY(Int(2), "SCARD", s);
  // Integer members (intset in Redis) and a conversion to a hashtable.
  const std::string n = K("n");
  EXPECT_REPLY(Int(3), "SADD", n, "3", "1", "2");
  EXPECT_REPLY(Int(1), "SADD", n, "x");
  EXPECT_EQ(SortedStrings(MustRun({"SMEMBERS", n})),
            (std::vector<std::string>{"1", "2", "3", "x"}));
  ASSERT_OK_AND_ASSIGN(int64_t added, kv().SAdd(K("t"), {"p", "q", "p"}));
  EXPECT_EQ(added, 2);
  ASSERT_OK_AND_ASSIGN(int64_t card, kv().SCard(K("t")));
  EXPECT_EQ(card, 2);
  ASSERT_OK_AND_ASSIGN(auto members, kv().SMembers(K("t")));
  std::sort(members.begin(), members.end());
  EXPECT_EQ(members, (std::vector<std::string>{"p", "q"}));
  ASSERT_OK_AND_ASSIGN(members, kv().SMembers(K("missing")));
  EXPECT_TRUE(members.empty());
}

TEST_P(ConformanceTest, SetRemRemovesEmptyKey) {
  const std::string s = K("s");
  EXPECT_REPLY(Int(2), "SADD", s, "a", "b");
  EXPECT_REPLY(Int(2), "SREM", s, "a", "b");
  EXPECT_REPLY(Int(0), "EXISTS", s);
  EXPECT_REPLY(StatusReply("none"), "TYPE", s);
}

TEST_P(ConformanceTest, SetArity) {
  const std::string s = K("s");
  EXPECT_REPLY(Int(1), "SADD", s, "a");
  EXPECT_ERR_UNCHANGED(s, Arity("sadd"), "SADD", s);
  EXPECT_ERR_UNCHANGED(s, Arity("srem"), "SREM", s);
  EXPECT_ERR_UNCHANGED(s, Arity("sismember"), "SISMEMBER", s);
  EXPECT_ERR_UNCHANGED(s, Arity("sismember"), "SISMEMBER", s, "a", "b");
  EXPECT_ERR_UNCHANGED(s, Arity("scard"), "SCARD");
  EXPECT_ERR_UNCHANGED(s, Arity("smembers"), "SMEMBERS");
}

// ---- sorted sets --------------------------------------------------------------------------

TEST_P(ConformanceTest, SortedSetAddScoreCard) {
  const std::string z = K("z");
  EXPECT_REPLY(Int(3), "ZADD", z, "1", "a", "2", "b", "3", "c");
  EXPECT_REPLY(Int(0), "ZADD", z, "1.5", "a");  // score update only
  EXPECT_REPLY(Int(0), "ZADD", z, "1.5", "a");
  EXPECT_REPLY(Bulk("1.5"), "ZSCORE", z, "a");
  EXPECT_REPLY(Nil(), "ZSCORE", z, "zz");
  EXPECT_REPLY(Nil(), "ZSCORE", K("missing"), "a");
  EXPECT_REPLY(Int(3), "ZCARD", z);
  EXPECT_REPLY(Int(0), "ZCARD", K("missing"));
  EXPECT_REPLY(Int(2), "ZADD", z, "inf", "x", "-inf", "y");
  EXPECT_REPLY(Bulk("inf"), "ZSCORE", z, "x");
  EXPECT_REPLY(Bulk("-inf"), "ZSCORE", z, "y");
  ASSERT_OK_AND_ASSIGN(int64_t added, kv().ZAdd(K("t"), 2.5, "m"));
  EXPECT_EQ(added, 1);
  ASSERT_OK_AND_ASSIGN(added, kv().ZAdd(K("t"), 3.5, "m"));
  EXPECT_EQ(added, 0);
  ASSERT_OK_AND_ASSIGN(auto score, kv().ZScore(K("t"), "m"));
  EXPECT_EQ(score, std::optional<double>(3.5));
  ASSERT_OK_AND_ASSIGN(score, kv().ZScore(K("t"), "zz"));
  EXPECT_FALSE(score.has_value());
  ASSERT_OK_AND_ASSIGN(int64_t card, kv().ZCard(K("t")));
  EXPECT_EQ(card, 1);
}

TEST_P(ConformanceTest, SortedSetScoreFormatting) {
  const std::string z = K("z");
  EXPECT_REPLY(Int(6), "ZADD", z, "1e3", "e", "0x10", "h", "1.0", "one", "2.50", "twohalf", "0.1",
               "tenth", "123456789012345678", "big");
  EXPECT_REPLY(Bulk("1000"), "ZSCORE", z, "e");
  EXPECT_REPLY(Bulk("16"), "ZSCORE", z, "h");
  EXPECT_REPLY(Bulk("1"), "ZSCORE", z, "one");
  EXPECT_REPLY(Bulk("2.5"), "ZSCORE", z, "twohalf");
  EXPECT_REPLY(Bulk("0.10000000000000001"), "ZSCORE", z, "tenth");
  EXPECT_REPLY(Bulk("1.2345678901234568e+17"), "ZSCORE", z, "big");
  EXPECT_REPLY(Int(1), "ZADD", z, "3.14159265358979", "pi");
  EXPECT_REPLY(Bulk("3.14159265358979"), "ZSCORE", z, "pi");
}

// Redis 7.0 stores integral scores of a listpack-encoded zset as integers, so -0 reads back as
// "0" (a skiplist-encoded zset keeps "-0").
TEST_P(ConformanceTest, SortedSetNegativeZeroScoreInSmallZset) {
  const std::string z = K("z");
  EXPECT_REPLY(Int(2), "ZADD", z, "-0", "negzero", "-0.0", "negzero2");
  EXPECT_REPLY(Bulk("0"), "ZSCORE", z, "negzero");
  EXPECT_REPLY(Bulk("0"), "ZSCORE", z, "negzero2");
  EXPECT_REPLY(Bulks({"negzero", "0", "negzero2", "0"}), "ZRANGEBYSCORE", z, "-inf", "+inf",
               "WITHSCORES");
  const std::string big = K("big");
  for (int i = 1; i <= 129; ++i) {
    std::string member = "m";
    member += std::to_string(i);
    EXPECT_REPLY(Int(1), "ZADD", big, std::to_string(i), member);
  }
  EXPECT_REPLY(Int(1), "ZADD", big, "-0", "negzero");
  EXPECT_REPLY(Bulk("-0"), "ZSCORE", big, "negzero");
}

TEST_P(ConformanceTest, SortedSetAddOptions) {
  const std::string z = K("z");
  EXPECT_REPLY(Int(1), "ZADD", z, "NX", "5", "a");
  EXPECT_REPLY(Int(0), "ZADD", z, "NX", "6", "a");
  EXPECT_REPLY(Bulk("5"), "ZSCORE", z, "a");
  EXPECT_REPLY(Int(0), "ZADD", z, "XX", "7", "b");
  EXPECT_REPLY(Nil(), "ZSCORE", z, "b");
  EXPECT_REPLY(Int(0), "ZADD", z, "XX", "7", "a");
  EXPECT_REPLY(Bulk("7"), "ZSCORE", z, "a");
  EXPECT_REPLY(Int(2), "ZADD", z, "CH", "8", "a", "1", "c");
  EXPECT_REPLY(Int(0), "ZADD", z, "GT", "1", "a");
  EXPECT_REPLY(Int(1), "ZADD", z, "GT", "CH", "10", "a");
  EXPECT_REPLY(Int(0), "ZADD", z, "LT", "CH", "10", "a");
  EXPECT_REPLY(Bulk("12"), "ZADD", z, "INCR", "2", "a");
  EXPECT_REPLY(Nil(), "ZADD", z, "NX", "INCR", "2", "a");
  EXPECT_REPLY(Bulk("inf"), "ZADD", z, "INCR", "inf", "q");
  EXPECT_ERR_UNCHANGED(z, "ERR resulting score is not a number (NaN)", "ZADD", z, "INCR", "-inf",
                       "q");
  EXPECT_ERR_UNCHANGED(z, "ERR XX and NX options at the same time are not compatible", "ZADD", z,
                       "NX", "XX", "1", "a");
  EXPECT_ERR_UNCHANGED(z, "ERR GT, LT, and/or NX options at the same time are not compatible",
                       "ZADD", z, "GT", "LT", "1", "a");
  EXPECT_ERR_UNCHANGED(z, "ERR GT, LT, and/or NX options at the same time are not compatible",
                       "ZADD", z, "NX", "GT", "1", "a");
  EXPECT_ERR_UNCHANGED(z, "ERR INCR option supports a single increment-element pair", "ZADD", z,
                       "INCR", "2", "a", "3", "b");
}

TEST_P(ConformanceTest, SortedSetAddErrorsChangeNothing) {
  const std::string z = K("z");
  EXPECT_REPLY(Int(1), "ZADD", z, "1", "a");
  EXPECT_ERR_UNCHANGED(z, Arity("zadd"), "ZADD", z, "1");
  EXPECT_ERR_UNCHANGED(z, Arity("zadd"), "ZADD", z);
  EXPECT_ERR_UNCHANGED(z, kSyntax, "ZADD", z, "1", "a", "2");
  for (const char* bad : {"abc", "nan", " 5", "5 ", ""}) {
    EXPECT_ERR_UNCHANGED(z, kNotFloat, "ZADD", z, bad, "a");
  }
  // One bad score anywhere fails the whole command.
  EXPECT_ERR_UNCHANGED(z, kNotFloat, "ZADD", z, "2", "b", "abc", "c");
  EXPECT_ERR(kNotFloat, "ZADD", K("fresh"), "abc", "c");
  EXPECT_REPLY(Int(0), "EXISTS", K("fresh"));
}

TEST_P(ConformanceTest, SortedSetRangeByScore) {
  const std::string z = K("z");
  EXPECT_REPLY(Int(7), "ZADD", z, "1.5", "a", "2", "b", "3", "c", "16", "h", "1000", "e", "inf",
               "x", "-inf", "y");
  EXPECT_REPLY(Bulks({"y", "a", "b", "c", "h", "e", "x"}), "ZRANGEBYSCORE", z, "-inf", "+inf");
  EXPECT_REPLY(
      Bulks({"y", "-inf", "a", "1.5", "b", "2", "c", "3", "h", "16", "e", "1000", "x", "inf"}),
      "ZRANGEBYSCORE", z, "-inf", "+inf", "WITHSCORES");
  EXPECT_REPLY(Bulks({"a", "b", "c"}), "ZRANGEBYSCORE", z, "1.5", "3");
  EXPECT_REPLY(Bulks({"b", "c"}), "ZRANGEBYSCORE", z, "(1.5", "3");
  EXPECT_REPLY(Bulks({"b"}), "ZRANGEBYSCORE", z, "(1.5", "(3");
  EXPECT_REPLY(Bulks({"a", "b"}), "ZRANGEBYSCORE", z, "-inf", "(3", "LIMIT", "1", "2");
  EXPECT_REPLY(Bulks({"a", "1.5", "b", "2"}), "ZRANGEBYSCORE", z, "-inf", "+inf", "WITHSCORES",
               "LIMIT", "1", "2");
  EXPECT_REPLY(Bulks({"a", "1.5", "b", "2"}), "ZRANGEBYSCORE", z, "-inf", "+inf", "LIMIT", "1", "2",
               "WITHSCORES");
  EXPECT_REPLY(Bulks({"a", "b", "c", "h", "e", "x"}), "ZRANGEBYSCORE", z, "-inf", "+inf", "LIMIT",
               "1", "-1");
  EXPECT_REPLY(Arr({}), "ZRANGEBYSCORE", z, "-inf", "+inf", "LIMIT", "-1", "2");
  EXPECT_REPLY(Arr({}), "ZRANGEBYSCORE", z, "-inf", "+inf", "LIMIT", "10", "2");
  EXPECT_REPLY(Arr({}), "ZRANGEBYSCORE", z, "-inf", "+inf", "LIMIT", "0", "0");
  EXPECT_REPLY(Arr({}), "ZRANGEBYSCORE", z, "3", "1");
  EXPECT_REPLY(Arr({}), "ZRANGEBYSCORE", z, "(3", "3");
  EXPECT_REPLY(Bulks({"c"}), "ZRANGEBYSCORE", z, "3", "3");
  EXPECT_REPLY(Bulks({"x"}), "ZRANGEBYSCORE", z, "(1000", "inf");
  EXPECT_REPLY(Bulks({"y"}), "ZRANGEBYSCORE", z, "-inf", "(1.5");
  EXPECT_REPLY(Arr({}), "ZRANGEBYSCORE", K("missing"), "-inf", "+inf");
  // Equal scores are ordered by member bytes.
  const std::string t = K("ties");
  EXPECT_REPLY(Int(4), "ZADD", t, "1", "m", "1", "l", "1", "n", "1", "B");
  EXPECT_REPLY(Bulks({"B", "l", "m", "n"}), "ZRANGEBYSCORE", t, "1", "1");
}

TEST_P(ConformanceTest, SortedSetRangeByScoreErrors) {
  const std::string z = K("z");
  EXPECT_REPLY(Int(1), "ZADD", z, "1", "a");
  EXPECT_ERR("ERR min or max is not a float", "ZRANGEBYSCORE", z, "abc", "3");
  EXPECT_ERR("ERR min or max is not a float", "ZRANGEBYSCORE", z, "0", "(x");
  EXPECT_ERR(kSyntax, "ZRANGEBYSCORE", z, "-inf", "+inf", "LIMIT", "1");
  EXPECT_ERR(kSyntax, "ZRANGEBYSCORE", z, "-inf", "+inf", "bogus");
  EXPECT_ERR(kNotInteger, "ZRANGEBYSCORE", z, "-inf", "+inf", "LIMIT", "a", "b");
  EXPECT_ERR(Arity("zrangebyscore"), "ZRANGEBYSCORE", z);
  EXPECT_ERR(Arity("zrangebyscore"), "ZRANGEBYSCORE", z, "0");
}

TEST_P(ConformanceTest, SortedSetRemove) {
  const std::string z = K("z");
  EXPECT_REPLY(Int(5), "ZADD", z, "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
  EXPECT_REPLY(Int(2), "ZREM", z, "a", "zz", "b", "a");
  EXPECT_REPLY(Int(0), "ZREM", K("missing"), "a");
  EXPECT_REPLY(Int(3), "ZCARD", z);
  EXPECT_REPLY(Int(1), "ZREMRANGEBYSCORE", z, "(3", "4");
  EXPECT_REPLY(Bulks({"c", "e"}), "ZRANGEBYSCORE", z, "-inf", "+inf");
  EXPECT_REPLY(Int(0), "ZREMRANGEBYSCORE", z, "10", "20");
  EXPECT_REPLY(Int(0), "ZREMRANGEBYSCORE", K("missing"), "0", "1");
  EXPECT_ERR_UNCHANGED(z, "ERR min or max is not a float", "ZREMRANGEBYSCORE", z, "abc", "1");
  EXPECT_ERR_UNCHANGED(z, Arity("zremrangebyscore"), "ZREMRANGEBYSCORE", z, "0");
  EXPECT_ERR_UNCHANGED(z, Arity("zrem"), "ZREM", z);
  EXPECT_ERR_UNCHANGED(z, Arity("zcard"), "ZCARD");
  EXPECT_ERR_UNCHANGED(z, Arity("zscore"), "ZSCORE", z);
  // Removing the last members removes the key.
  EXPECT_REPLY(Int(1), "EXPIRE", z, "100");
  EXPECT_REPLY(Int(2), "ZREMRANGEBYSCORE", z, "-inf", "+inf");
  EXPECT_REPLY(Int(0), "EXISTS", z);
  const std::string z2 = K("z2");
  EXPECT_REPLY(Int(1), "ZADD", z2, "1", "a");
  EXPECT_REPLY(Int(1), "ZREM", z2, "a");
  EXPECT_REPLY(StatusReply("none"), "TYPE", z2);
}

// ---- WRONGTYPE ----------------------------------------------------------------------------

// Every command of every family on a key of every other family: WRONGTYPE, key unchanged.
TEST_P(ConformanceTest, WrongTypeForEveryFamily) {
  struct Family {
    std::string type;
    std::vector<Command> commands;  // "$" stands for the key
  };
  const std::vector<Family> families = {
      {"string",
       {{"GET", "$"},
        {"INCR", "$"},
        {"INCRBY", "$", "1"},
        {"DECRBY", "$", "1"},
        {"SET", "$", "x", "GET"}}},
      {"hash",
       {{"HSET", "$", "f", "v"},
        {"HSETNX", "$", "f", "v"},
        {"HGET", "$", "f"},
        {"HMGET", "$", "f"},
        {"HGETALL", "$"},
        {"HINCRBY", "$", "f", "1"},
        {"HDEL", "$", "f"},
        {"HLEN", "$"},
        {"HEXISTS", "$", "f"}}},
      {"set",
       {{"SADD", "$", "m"},
        {"SREM", "$", "m"},
        {"SISMEMBER", "$", "m"},
        {"SCARD", "$"},
        {"SMEMBERS", "$"}}},
      {"zset",
       {{"ZADD", "$", "1", "m"},
        {"ZREM", "$", "m"},
        {"ZCARD", "$"},
        {"ZSCORE", "$", "m"},
        {"ZRANGEBYSCORE", "$", "-inf", "+inf"},
        {"ZREMRANGEBYSCORE", "$", "-inf", "+inf"}}},
  };
  const std::string str = K("string"), hash = K("hash"), set = K("set"), zset = K("zset");
  EXPECT_REPLY(Ok(), "SET", str, "1");
  EXPECT_REPLY(Int(1), "HSET", hash, "f", "1");
  EXPECT_REPLY(Int(1), "SADD", set, "m");
  EXPECT_REPLY(Int(1), "ZADD", zset, "1", "m");
  EXPECT_REPLY(Int(1), "EXPIRE", hash, "100");
  for (const Family& holder : families) {
    const std::string key = K(holder.type);
    for (const Family& f : families) {
      if (f.type == holder.type) continue;
      for (Command c : f.commands) {
        for (std::string& a : c) {
          if (a == "$") a = key;
        }
        EXPECT_TRUE(FailsUnchanged(key, c, kWrongType)) << "on a " << holder.type;
      }
    }
  }
}

TEST_P(ConformanceTest, TypeAgnosticCommandsWorkOnEveryFamily) {
  EXPECT_REPLY(Ok(), "SET", K("string"), "1");
  EXPECT_REPLY(Int(1), "HSET", K("hash"), "f", "1");
  EXPECT_REPLY(Int(1), "SADD", K("set"), "m");
  EXPECT_REPLY(Int(1), "ZADD", K("zset"), "1", "m");
  for (const char* t : {"string", "hash", "set", "zset"}) {
    const std::string k = K(t);
    EXPECT_REPLY(StatusReply(t), "TYPE", k);
    EXPECT_REPLY(Int(1), "EXISTS", k);
    EXPECT_REPLY(Int(1), "EXPIRE", k, "100");
    EXPECT_REPLY(Int(100), "TTL", k);
    EXPECT_REPLY(Int(1), "PERSIST", k);
    Reply usage = MustRun({"MEMORY", "USAGE", k});
    ASSERT_TRUE(usage.is_integer()) << t << ": " << usage;
    EXPECT_GT(usage.integer(), 0) << t;
    EXPECT_REPLY(Int(1), "DEL", k);
    EXPECT_REPLY(Int(0), "EXISTS", k);
  }
}

}  // namespace
}  // namespace stormkv::conformance

namespace stormkv::conformance {
namespace {

// Sizes and lengths past Redis 7.0's listpack/intset thresholds (128 entries, 64-byte values,
// 512 integers): the encoding changes, the replies must not.
TEST_P(ConformanceTest, CollectionsPastEncodingThresholds) {
  const std::string h = K("h"), s = K("s"), z = K("z"), wide = K("wide");
  std::vector<std::pair<std::string, std::string>> fields;
  for (int i = 0; i < 200; ++i) fields.emplace_back(Numbered("f", i), std::to_string(i));
  ASSERT_OK_AND_ASSIGN(int64_t added, kv().HSet(h, fields));
  EXPECT_EQ(added, 200);
  EXPECT_REPLY(Int(200), "HLEN", h);
  ASSERT_OK_AND_ASSIGN(auto all, kv().HGetAll(h));
  std::sort(all.begin(), all.end());
  std::sort(fields.begin(), fields.end());
  EXPECT_EQ(all, fields);
  EXPECT_REPLY(Int(5), "HINCRBY", h, "f5", "0");
  const std::string long_value(100, 'v');
  EXPECT_REPLY(Int(1), "HSET", wide, "a", "1");
  EXPECT_REPLY(Int(1), "HSET", wide, "b", long_value);
  EXPECT_REPLY(Bulk(long_value), "HGET", wide, "b");
  EXPECT_REPLY(Int(1), "HDEL", wide, "b");
  EXPECT_REPLY(Int(1), "HLEN", wide);

  Command sadd{"SADD", s};
  for (int i = 0; i < 600; ++i) sadd.push_back(std::to_string(i * 7));
  EXPECT_TRUE(Replies(sadd, Int(600)));
  EXPECT_REPLY(Int(1), "SISMEMBER", s, "4193");
  EXPECT_REPLY(Int(0), "SISMEMBER", s, "4194");
  EXPECT_REPLY(Int(1), "SADD", s, "text");
  EXPECT_REPLY(Int(601), "SCARD", s);
  EXPECT_REPLY(Int(1), "SREM", s, "0");
  EXPECT_EQ(SortedStrings(MustRun({"SMEMBERS", s})).size(), 600u);

  Command zadd{"ZADD", z};
  for (int i = 0; i < 200; ++i) {
    zadd.push_back(std::to_string(200 - i));
    zadd.push_back(Numbered("m", i));
  }
  EXPECT_TRUE(Replies(zadd, Int(200)));
  EXPECT_REPLY(Bulks({"m199", "m198", "m197"}), "ZRANGEBYSCORE", z, "-inf", "+inf", "LIMIT", "0",
               "3");
  EXPECT_REPLY(Bulks({"m0", "200"}), "ZRANGEBYSCORE", z, "(199", "+inf", "WITHSCORES");
  EXPECT_REPLY(Int(100), "ZREMRANGEBYSCORE", z, "(100", "+inf");
  EXPECT_REPLY(Int(100), "ZCARD", z);
  EXPECT_REPLY(Nil(), "ZSCORE", z, "m0");
  EXPECT_REPLY(Bulk("100"), "ZSCORE", z, "m100");
}

}  // namespace
}  // namespace stormkv::conformance
