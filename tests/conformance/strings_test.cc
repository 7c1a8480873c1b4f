// Strings and counters: GET, SET (EX PX NX XX KEEPTTL GET), DEL, EXISTS, TYPE, INCR/INCRBY/DECRBY.
#include <chrono>
#include <string>

#include "conformance/conformance_fixture.h"

namespace stormkv::conformance {
namespace {

using std::chrono::milliseconds;

TEST_P(ConformanceTest, GetMissingKeyIsNil) {
  EXPECT_REPLY(Nil(), "GET", K("missing"));
  ASSERT_OK_AND_ASSIGN(auto v, kv().Get(K("missing")));
  EXPECT_FALSE(v.has_value());
}

TEST_P(ConformanceTest, SetThenGetRoundTripsBytes) {
  const std::string k = K("k");
  EXPECT_REPLY(Ok(), "SET", k, "v1");
  EXPECT_REPLY(Bulk("v1"), "GET", k);
  EXPECT_REPLY(Ok(), "SET", k, "v2");
  EXPECT_REPLY(Bulk("v2"), "GET", k);
  EXPECT_REPLY(Ok(), "SET", k, "");
  EXPECT_REPLY(Bulk(""), "GET", k);
  const std::string binary("a\0b\r\nc\xff", 7);
  EXPECT_REPLY(Ok(), "SET", k, binary);
  EXPECT_REPLY(Bulk(binary), "GET", k);
  const std::string odd_key = K("sp ace\n{x}*");
  EXPECT_REPLY(Ok(), "SET", odd_key, "x y");
  EXPECT_REPLY(Bulk("x y"), "GET", odd_key);
  const std::string big(100000, 'z');
  EXPECT_REPLY(Ok(), "SET", k, big);
  EXPECT_REPLY(Bulk(big), "GET", k);
}

TEST_P(ConformanceTest, SetOptionsAreCaseInsensitive) {
  const std::string k = K("k");
  EXPECT_REPLY(Ok(), "set", k, "v", "Ex", "100");
  EXPECT_REPLY(Int(100), "ttl", k);
  EXPECT_REPLY(Nil(), "SeT", k, "w", "nx");
  EXPECT_REPLY(Bulk("v"), "get", k);
}

TEST_P(ConformanceTest, SetNxAndXx) {
  const std::string k = K("k");
  EXPECT_REPLY(Nil(), "SET", k, "v", "XX");
  EXPECT_REPLY(Int(0), "EXISTS", k);
  EXPECT_REPLY(Ok(), "SET", k, "v1", "NX");
  EXPECT_REPLY(Nil(), "SET", k, "v2", "NX");
  EXPECT_REPLY(Bulk("v1"), "GET", k);
  EXPECT_REPLY(Ok(), "SET", k, "v3", "XX");
  EXPECT_REPLY(Bulk("v3"), "GET", k);
  // Repeating the same flag is accepted by Redis 7.0.
  EXPECT_REPLY(Nil(), "SET", k, "v4", "NX", "NX");
  EXPECT_ERR_UNCHANGED(k, kSyntax, "SET", k, "v5", "NX", "XX");
  EXPECT_ERR_UNCHANGED(k, kSyntax, "SET", k, "v5", "XX", "NX");
}

TEST_P(ConformanceTest, SetNxSeesKeysOfAnyType) {
  const std::string h = K("h");
  EXPECT_REPLY(Int(1), "HSET", h, "f", "v");
  EXPECT_REPLY(Nil(), "SET", h, "v", "NX");
  EXPECT_REPLY(StatusReply("hash"), "TYPE", h);
  EXPECT_REPLY(Ok(), "SET", h, "v", "XX");
  EXPECT_REPLY(StatusReply("string"), "TYPE", h);
  EXPECT_REPLY(Bulk("v"), "GET", h);
}

TEST_P(ConformanceTest, SetOverwritesAnyTypeAndClearsTtl) {
  const std::string s = K("s");
  EXPECT_REPLY(Int(2), "SADD", s, "a", "b");
  EXPECT_REPLY(Int(1), "EXPIRE", s, "100");
  EXPECT_REPLY(Ok(), "SET", s, "plain");
  EXPECT_REPLY(StatusReply("string"), "TYPE", s);
  EXPECT_REPLY(Int(-1), "TTL", s);
}

TEST_P(ConformanceTest, SetExPxAndKeepTtl) {
  const std::string k = K("k");
  EXPECT_REPLY(Ok(), "SET", k, "v", "EX", "100");
  EXPECT_REPLY(Int(100), "TTL", k);
  EXPECT_REPLY(Ok(), "SET", k, "v2", "KEEPTTL");
  EXPECT_REPLY(Int(100), "TTL", k);
  EXPECT_REPLY(Bulk("v2"), "GET", k);
  EXPECT_REPLY(Ok(), "SET", k, "v3");
  EXPECT_REPLY(Int(-1), "TTL", k);
  EXPECT_REPLY(Ok(), "SET", k, "v", "PX", "1800");
  ASSERT_OK_AND_ASSIGN(int64_t pttl, kv().Pttl(k));
  EXPECT_GT(pttl, 1500);
  EXPECT_LE(pttl, 1800);
  EXPECT_REPLY(Int(2), "TTL", k);  // TTL rounds to the nearest second
  // Repeating EX is accepted; the last value wins.
  EXPECT_REPLY(Ok(), "SET", k, "v", "EX", "10", "EX", "20");
  EXPECT_REPLY(Int(20), "TTL", k);
  // A very large (but representable) expiry is fine.
  EXPECT_REPLY(Ok(), "SET", k, "v", "EX", "9223372036854");
  EXPECT_REPLY(Int(9223372036854), "TTL", k);
  // KEEPTTL on a missing key sets it without TTL.
  EXPECT_REPLY(Ok(), "SET", K("fresh"), "v", "KEEPTTL");
  EXPECT_REPLY(Int(-1), "TTL", K("fresh"));
  // KEEPTTL keeps the TTL of a key of another type that SET replaces.
  const std::string s = K("s");
  EXPECT_REPLY(Int(1), "SADD", s, "a");
  EXPECT_REPLY(Int(1), "EXPIRE", s, "100");
  EXPECT_REPLY(Ok(), "SET", s, "v", "KEEPTTL");
  EXPECT_REPLY(Int(100), "TTL", s);
  EXPECT_REPLY(Bulk("v"), "GET", s);
}

TEST_P(ConformanceTest, SetInvalidExpireLeavesKeyUnchanged) {
  const std::string k = K("k");
  EXPECT_REPLY(Ok(), "SET", k, "orig", "EX", "100");
  const std::string bad_expire = "ERR invalid expire time in 'set' command";
  EXPECT_ERR_UNCHANGED(k, bad_expire, "SET", k, "x", "EX", "0");
  EXPECT_ERR_UNCHANGED(k, bad_expire, "SET", k, "x", "PX", "0");
  EXPECT_ERR_UNCHANGED(k, bad_expire, "SET", k, "x", "EX", "-1");
  EXPECT_ERR_UNCHANGED(k, bad_expire, "SET", k, "x", "PX", "-1");
  EXPECT_ERR_UNCHANGED(k, bad_expire, "SET", k, "x", "EX", "9223372036854775807");
  EXPECT_ERR_UNCHANGED(k, bad_expire, "SET", k, "x", "PX", "9223372036854775807");
  EXPECT_ERR_UNCHANGED(k, bad_expire, "SET", k, "x", "EX", "9223372036854775");
  EXPECT_ERR_UNCHANGED(k, kNotInteger, "SET", k, "x", "EX", "abc");
  EXPECT_ERR_UNCHANGED(k, kNotInteger, "SET", k, "x", "EX", " 10");
  EXPECT_ERR_UNCHANGED(k, kNotInteger, "SET", k, "x", "PX", "1.5");
  EXPECT_ERR_UNCHANGED(k, kNotInteger, "SET", k, "x", "EX", "9223372036854775808");
  EXPECT_ERR_UNCHANGED(k, kSyntax, "SET", k, "x", "EX");
  EXPECT_ERR_UNCHANGED(k, kSyntax, "SET", k, "x", "EX", "10", "PX", "100");
  EXPECT_ERR_UNCHANGED(k, kSyntax, "SET", k, "x", "PX", "100", "EX", "10");
  EXPECT_ERR_UNCHANGED(k, kSyntax, "SET", k, "x", "KEEPTTL", "EX", "10");
  EXPECT_ERR_UNCHANGED(k, kSyntax, "SET", k, "x", "EX", "10", "KEEPTTL");
  EXPECT_ERR_UNCHANGED(k, kSyntax, "SET", k, "x", "PX", "1500", "KEEPTTL");
  EXPECT_ERR_UNCHANGED(k, kSyntax, "SET", k, "x", "BOGUS");
  // Argument errors come before the type check.
  const std::string h = K("h");
  EXPECT_REPLY(Int(1), "HSET", h, "f", "v");
  EXPECT_ERR_UNCHANGED(h, bad_expire, "SET", h, "x", "EX", "0");
}

TEST_P(ConformanceTest, SetGetOption) {
  const std::string k = K("k");
  EXPECT_REPLY(Nil(), "SET", k, "v1", "GET");
  EXPECT_REPLY(Bulk("v1"), "SET", k, "v2", "GET");
  EXPECT_REPLY(Bulk("v2"), "GET", k);
  EXPECT_REPLY(Bulk("v2"), "SET", k, "v3", "EX", "100", "GET");
  EXPECT_REPLY(Int(100), "TTL", k);
  EXPECT_REPLY(Bulk("v3"), "SET", k, "v3", "GET", "GET");
  // NX + GET on an existing key: the old value, nothing written.
  EXPECT_REPLY(Bulk("v3"), "SET", k, "new", "GET", "NX");
  EXPECT_REPLY(Bulk("v3"), "GET", k);
  // XX + GET on an existing key: the old value, written.
  EXPECT_REPLY(Bulk("v3"), "SET", k, "v4", "GET", "XX");
  EXPECT_REPLY(Bulk("v4"), "GET", k);
  // XX + GET on a missing key: nil, nothing written. NX + GET on a missing key: nil, written.
  EXPECT_REPLY(Nil(), "SET", K("m1"), "x", "GET", "XX");
  EXPECT_REPLY(Int(0), "EXISTS", K("m1"));
  EXPECT_REPLY(Nil(), "SET", K("m2"), "x", "GET", "NX");
  EXPECT_REPLY(Bulk("x"), "GET", K("m2"));
}

TEST_P(ConformanceTest, SetGetOptionOnWrongTypeChangesNothing) {
  const std::string h = K("h");
  EXPECT_REPLY(Int(1), "HSET", h, "f", "v");
  EXPECT_ERR_UNCHANGED(h, kWrongType, "SET", h, "x", "GET");
  EXPECT_ERR_UNCHANGED(h, kWrongType, "SET", h, "x", "NX", "GET");
  EXPECT_ERR_UNCHANGED(h, kWrongType, "SET", h, "x", "XX", "GET");
  EXPECT_ERR_UNCHANGED(h, kWrongType, "SET", h, "x", "EX", "10", "GET");
  EXPECT_ERR_UNCHANGED(h, kWrongType, "GET", h);
}

TEST_P(ConformanceTest, StringArity) {
  EXPECT_ERR(Arity("get"), "GET");
  EXPECT_ERR(Arity("get"), "GET", K("a"), K("b"));
  EXPECT_ERR(Arity("get"), "Get", K("a"), K("b"));
  EXPECT_ERR(Arity("set"), "SET");
  EXPECT_ERR(Arity("set"), "SET", K("a"));
  EXPECT_ERR(Arity("del"), "DEL");
  EXPECT_ERR(Arity("exists"), "EXISTS");
  EXPECT_ERR(Arity("type"), "TYPE");
  EXPECT_ERR(Arity("type"), "TYPE", K("a"), K("b"));
  EXPECT_ERR(Arity("incr"), "INCR");
  EXPECT_ERR(Arity("incr"), "INCR", K("a"), "1");
  EXPECT_ERR(Arity("incrby"), "INCRBY", K("a"));
  EXPECT_ERR(Arity("incrby"), "INCRBY", K("a"), "1", "2");
  EXPECT_ERR(Arity("decrby"), "DECRBY", K("a"));
  EXPECT_REPLY(Int(0), "EXISTS", K("a"));
}

TEST_P(ConformanceTest, TypedSetHelper) {
  const std::string k = K("k");
  ASSERT_OK_AND_ASSIGN(bool set, kv().Set(k, "v1"));
  EXPECT_TRUE(set);
  SetOptions nx;
  nx.nx = true;
  ASSERT_OK_AND_ASSIGN(set, kv().Set(k, "v2", nx));
  EXPECT_FALSE(set);
  SetOptions xx;
  xx.xx = true;
  ASSERT_OK_AND_ASSIGN(set, kv().Set(K("missing"), "v", xx));
  EXPECT_FALSE(set);
  SetOptions ttl;
  ttl.ttl = milliseconds(5000);
  ASSERT_OK_AND_ASSIGN(set, kv().Set(k, "v3", ttl));
  EXPECT_TRUE(set);
  ASSERT_OK_AND_ASSIGN(int64_t pttl, kv().Pttl(k));
  EXPECT_GT(pttl, 4000);
  EXPECT_LE(pttl, 5000);
  SetOptions keep;
  keep.keep_ttl = true;
  ASSERT_OK_AND_ASSIGN(set, kv().Set(k, "v4", keep));
  EXPECT_TRUE(set);
  ASSERT_OK_AND_ASSIGN(pttl, kv().Pttl(k));
  EXPECT_GT(pttl, 4000);
  ASSERT_OK_AND_ASSIGN(auto v, kv().Get(k));
  EXPECT_EQ(v, std::optional<std::string>("v4"));
  SetOptions both;
  both.nx = both.xx = true;
  Result<bool> bad = kv().Set(k, "v5", both);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), kSyntax);
  SetOptions zero;
  zero.ttl = milliseconds(0);
  bad = kv().Set(k, "v5", zero);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "ERR invalid expire time in 'set' command");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  ASSERT_OK(kv().HSet(K("h"), {{"f", "v"}}));
  Result<std::optional<std::string>> wrong = kv().Get(K("h"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(wrong.status().IsWrongType()) << wrong.status();
  EXPECT_EQ(wrong.status().message(), kWrongType);
}

TEST_P(ConformanceTest, DelAndExistsCountKeys) {
  const std::string a = K("a"), b = K("b"), h = K("h");
  EXPECT_REPLY(Ok(), "SET", a, "1");
  EXPECT_REPLY(Ok(), "SET", b, "2");
  EXPECT_REPLY(Int(1), "HSET", h, "f", "v");
  EXPECT_REPLY(Int(3), "EXISTS", a, b, h);
  EXPECT_REPLY(Int(4), "EXISTS", a, a, K("nope"), b, h);  // duplicates count twice
  EXPECT_REPLY(Int(0), "EXISTS", K("nope"));
  EXPECT_REPLY(Int(2), "DEL", a, a, b, K("nope"));  // a duplicate deletes once
  EXPECT_REPLY(Int(0), "DEL", a);
  EXPECT_REPLY(Int(1), "EXISTS", a, h);
  ASSERT_OK_AND_ASSIGN(int64_t n, kv().Exists({h, h, a}));
  EXPECT_EQ(n, 2);
  ASSERT_OK_AND_ASSIGN(n, kv().Del({h, a}));
  EXPECT_EQ(n, 1);
  ASSERT_OK_AND_ASSIGN(n, kv().Exists({h}));
  EXPECT_EQ(n, 0);
}

TEST_P(ConformanceTest, TypeOfEveryFamily) {
  EXPECT_REPLY(Ok(), "SET", K("s"), "v");
  EXPECT_REPLY(Int(1), "HSET", K("h"), "f", "v");
  EXPECT_REPLY(Int(1), "SADD", K("set"), "m");
  EXPECT_REPLY(Int(1), "ZADD", K("z"), "1", "m");
  EXPECT_REPLY(StatusReply("string"), "TYPE", K("s"));
  EXPECT_REPLY(StatusReply("hash"), "TYPE", K("h"));
  EXPECT_REPLY(StatusReply("set"), "TYPE", K("set"));
  EXPECT_REPLY(StatusReply("zset"), "TYPE", K("z"));
  EXPECT_REPLY(StatusReply("none"), "TYPE", K("missing"));
  EXPECT_REPLY(Ok(), "SET", K("n"), "123");  // int-encoded strings are still "string"
  ASSERT_OK_AND_ASSIGN(std::string t, kv().Type(K("n")));
  EXPECT_EQ(t, "string");
  ASSERT_OK_AND_ASSIGN(t, kv().Type(K("missing")));
  EXPECT_EQ(t, "none");
}

TEST_P(ConformanceTest, IncrFamily) {
  const std::string k = K("n");
  EXPECT_REPLY(Int(1), "INCR", k);
  EXPECT_REPLY(Bulk("1"), "GET", k);
  EXPECT_REPLY(Int(11), "INCRBY", k, "10");
  EXPECT_REPLY(Int(8), "DECRBY", k, "3");
  EXPECT_REPLY(Int(-2), "INCRBY", k, "-10");
  EXPECT_REPLY(Int(0), "DECRBY", k, "-2");
  EXPECT_REPLY(Bulk("0"), "GET", k);
  EXPECT_REPLY(Int(-5), "INCRBY", K("m1"), "-5");
  EXPECT_REPLY(Int(-5), "DECRBY", K("m2"), "5");
  EXPECT_REPLY(Int(0), "INCRBY", K("m3"), "0");
  EXPECT_REPLY(Bulk("0"), "GET", K("m3"));
  EXPECT_REPLY(Ok(), "SET", k, "41");
  EXPECT_REPLY(Int(42), "INCR", k);
  EXPECT_REPLY(Ok(), "SET", k, "-1");
  EXPECT_REPLY(Int(0), "INCR", k);
  ASSERT_OK_AND_ASSIGN(int64_t v, kv().IncrBy(K("typed"), 7));
  EXPECT_EQ(v, 7);
  ASSERT_OK_AND_ASSIGN(v, kv().IncrBy(K("typed"), -10));
  EXPECT_EQ(v, -3);
}

TEST_P(ConformanceTest, IncrKeepsTtl) {
  const std::string k = K("n");
  EXPECT_REPLY(Ok(), "SET", k, "5", "EX", "100");
  EXPECT_REPLY(Int(6), "INCR", k);
  EXPECT_REPLY(Int(100), "TTL", k);
}

TEST_P(ConformanceTest, IncrOverflowIsAnErrorAndChangesNothing) {
  const std::string big = K("big"), small = K("small"), n = K("n");
  EXPECT_REPLY(Ok(), "SET", big, "9223372036854775807");
  EXPECT_ERR_UNCHANGED(big, kOverflow, "INCR", big);
  EXPECT_ERR_UNCHANGED(big, kOverflow, "INCRBY", big, "1");
  EXPECT_ERR_UNCHANGED(big, kOverflow, "DECRBY", big, "-1");
  EXPECT_REPLY(Int(9223372036854775807), "INCRBY", big, "0");
  EXPECT_REPLY(Ok(), "SET", small, "-9223372036854775808");
  EXPECT_ERR_UNCHANGED(small, kOverflow, "DECRBY", small, "1");
  EXPECT_ERR_UNCHANGED(small, kOverflow, "INCRBY", small, "-1");
  EXPECT_REPLY(Int(-9223372036854775807), "INCR", small);
  EXPECT_REPLY(Ok(), "SET", n, "-2");
  EXPECT_ERR_UNCHANGED(n, kOverflow, "DECRBY", n, "9223372036854775807");
  EXPECT_ERR_UNCHANGED(n, "ERR decrement would overflow", "DECRBY", n, "-9223372036854775808");
  EXPECT_REPLY(Int(-9223372036854775807 - 1), "INCRBY", K("min"), "-9223372036854775808");
  EXPECT_REPLY(Int(9223372036854775807), "INCRBY", K("max"), "9223372036854775807");
  Result<int64_t> r = kv().IncrBy(big, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), kOverflow);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ConformanceTest, IncrRejectsNonIntegerIncrement) {
  const std::string n = K("n");
  EXPECT_REPLY(Ok(), "SET", n, "10");
  for (const char* bad : {"abc", " 1", "1 ", "007", "00", "+5", "-0", "1.5", "", "1e3",
                          "9223372036854775808", "-9223372036854775809", "0x10"}) {
    EXPECT_ERR_UNCHANGED(n, kNotInteger, "INCRBY", n, bad);
    EXPECT_ERR_UNCHANGED(n, kNotInteger, "DECRBY", n, bad);
  }
  EXPECT_ERR(kNotInteger, "INCRBY", K("missing"), "abc");
  EXPECT_REPLY(Int(0), "EXISTS", K("missing"));
}

TEST_P(ConformanceTest, IncrRejectsNonIntegerValue) {
  const std::string n = K("n");
  for (const char* bad : {" 5", "5 ", "007", "+5", "-0", "1.5", "", "abc", "1\n",
                          "99999999999999999999", "9223372036854775808", "-9223372036854775809"}) {
    EXPECT_REPLY(Ok(), "SET", n, bad);
    EXPECT_ERR_UNCHANGED(n, kNotInteger, "INCR", n);
    EXPECT_ERR_UNCHANGED(n, kNotInteger, "INCRBY", n, "1");
    EXPECT_ERR_UNCHANGED(n, kNotInteger, "DECRBY", n, "1");
  }
}

TEST_P(ConformanceTest, IncrOnWrongTypeChangesNothing) {
  const std::string h = K("h");
  EXPECT_REPLY(Int(1), "HSET", h, "f", "1");
  EXPECT_ERR_UNCHANGED(h, kWrongType, "INCR", h);
  EXPECT_ERR_UNCHANGED(h, kWrongType, "INCRBY", h, "2");
  EXPECT_ERR_UNCHANGED(h, kWrongType, "DECRBY", h, "2");
  // The increment is parsed before the type check.
  EXPECT_ERR_UNCHANGED(h, kNotInteger, "INCRBY", h, "abc");
  Result<int64_t> r = kv().IncrBy(h, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsWrongType()) << r.status();
}

}  // namespace
}  // namespace stormkv::conformance
