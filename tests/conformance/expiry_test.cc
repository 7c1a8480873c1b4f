// Expiry: EXPIRE/PEXPIRE (NX XX GT LT), TTL/PTTL, PERSIST, and keys expiring on the test clock.
#include <chrono>
#include <map>
#include <set>
#include <string>

#include "conformance/conformance_fixture.h"

namespace stormkv::conformance {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_P(ConformanceTest, TtlOfMissingAndPersistentKeys) {
  EXPECT_REPLY(Int(-2), "TTL", K("missing"));
  EXPECT_REPLY(Int(-2), "PTTL", K("missing"));
  EXPECT_REPLY(Ok(), "SET", K("k"), "v");
  EXPECT_REPLY(Int(-1), "TTL", K("k"));
  EXPECT_REPLY(Int(-1), "PTTL", K("k"));
  EXPECT_REPLY(Int(1), "HSET", K("h"), "f", "v");
  EXPECT_REPLY(Int(-1), "TTL", K("h"));
  ASSERT_OK_AND_ASSIGN(int64_t pttl, kv().Pttl(K("missing")));
  EXPECT_EQ(pttl, -2);
  ASSERT_OK_AND_ASSIGN(pttl, kv().Pttl(K("k")));
  EXPECT_EQ(pttl, -1);
}

TEST_P(ConformanceTest, ExpireAndPexpireSetTtl) {
  const std::string k = K("k");
  EXPECT_REPLY(Int(0), "EXPIRE", K("missing"), "10");
  EXPECT_REPLY(Int(0), "PEXPIRE", K("missing"), "10");
  EXPECT_REPLY(Int(0), "EXISTS", K("missing"));
  EXPECT_REPLY(Ok(), "SET", k, "v");
  EXPECT_REPLY(Int(1), "EXPIRE", k, "100");
  EXPECT_REPLY(Int(100), "TTL", k);
  EXPECT_REPLY(Int(1), "PEXPIRE", k, "5000");
  ASSERT_OK_AND_ASSIGN(int64_t pttl, kv().Pttl(k));
  EXPECT_GT(pttl, 4000);
  EXPECT_LE(pttl, 5000);
  EXPECT_REPLY(Int(5), "TTL", k);
}

TEST_P(ConformanceTest, ExpireConditions) {
  const std::string k = K("k");
  EXPECT_REPLY(Ok(), "SET", k, "v");
  // No TTL yet: XX fails, GT fails (no TTL counts as infinite), LT succeeds, NX succeeds.
  EXPECT_REPLY(Int(0), "EXPIRE", k, "100", "XX");
  EXPECT_REPLY(Int(0), "EXPIRE", k, "100", "GT");
  EXPECT_REPLY(Int(-1), "TTL", k);
  EXPECT_REPLY(Int(1), "EXPIRE", k, "100", "LT");
  EXPECT_REPLY(Int(100), "TTL", k);
  EXPECT_REPLY(Int(1), "PERSIST", k);
  EXPECT_REPLY(Int(1), "EXPIRE", k, "100", "NX");
  EXPECT_REPLY(Int(100), "TTL", k);
  // With a TTL: NX fails, XX succeeds, GT only when larger, LT only when smaller.
  EXPECT_REPLY(Int(0), "EXPIRE", k, "200", "NX");
  EXPECT_REPLY(Int(100), "TTL", k);
  EXPECT_REPLY(Int(1), "EXPIRE", k, "200", "GT");
  EXPECT_REPLY(Int(200), "TTL", k);
  EXPECT_REPLY(Int(0), "EXPIRE", k, "50", "GT");
  EXPECT_REPLY(Int(1), "EXPIRE", k, "10", "LT");
  EXPECT_REPLY(Int(0), "EXPIRE", k, "20", "LT");
  EXPECT_REPLY(Int(0), "EXPIRE", k, "10", "LT");  // equal (or later, on a real clock) is not less
  EXPECT_REPLY(Int(1), "EXPIRE", k, "20", "XX");
  EXPECT_REPLY(Int(20), "TTL", k);
  EXPECT_REPLY(Int(1), "PEXPIRE", k, "30000", "gt");
  EXPECT_REPLY(Int(30), "TTL", k);
  // XX with GT combine: both must hold.
  EXPECT_REPLY(Int(1), "PERSIST", k);
  EXPECT_REPLY(Int(0), "EXPIRE", k, "10", "XX", "GT");
  EXPECT_REPLY(Int(0), "EXPIRE", k, "10", "GT", "GT");
  EXPECT_REPLY(Int(-1), "TTL", k);
  // Missing key: every condition answers 0.
  for (const char* c : {"NX", "XX", "GT", "LT"}) {
    EXPECT_REPLY(Int(0), "EXPIRE", K("missing"), "10", c);
  }
}

TEST_P(ConformanceTest, ExpireConditionsThroughTypedHelper) {
  const std::string k = K("k");
  ASSERT_OK(kv().Set(k, "v"));
  ASSERT_OK_AND_ASSIGN(bool set, kv().PExpire(k, milliseconds(10000), ExpireCondition::kGt));
  EXPECT_FALSE(set);
  ASSERT_OK_AND_ASSIGN(set, kv().PExpire(k, milliseconds(10000), ExpireCondition::kXx));
  EXPECT_FALSE(set);
  ASSERT_OK_AND_ASSIGN(set, kv().PExpire(k, milliseconds(10000), ExpireCondition::kNx));
  EXPECT_TRUE(set);
  ASSERT_OK_AND_ASSIGN(set, kv().PExpire(k, milliseconds(5000), ExpireCondition::kGt));
  EXPECT_FALSE(set);
  ASSERT_OK_AND_ASSIGN(set, kv().PExpire(k, milliseconds(5000), ExpireCondition::kLt));
  EXPECT_TRUE(set);
  ASSERT_OK_AND_ASSIGN(int64_t pttl, kv().Pttl(k));
  EXPECT_GT(pttl, 4000);
  EXPECT_LE(pttl, 5000);
  ASSERT_OK_AND_ASSIGN(set, kv().PExpire(k, milliseconds(20000)));
  EXPECT_TRUE(set);
  ASSERT_OK_AND_ASSIGN(set, kv().PExpire(K("missing"), milliseconds(20000)));
  EXPECT_FALSE(set);
  ASSERT_OK_AND_ASSIGN(set, kv().PExpire(k, milliseconds(0)));
  EXPECT_TRUE(set);
  ASSERT_OK_AND_ASSIGN(int64_t n, kv().Exists({k}));
  EXPECT_EQ(n, 0);
}

TEST_P(ConformanceTest, ExpireOptionErrorsChangeNothing) {
  const std::string k = K("k");
  EXPECT_REPLY(Ok(), "SET", k, "v", "EX", "100");
  const std::string nx_xx = "ERR NX and XX, GT or LT options at the same time are not compatible";
  EXPECT_ERR_UNCHANGED(k, nx_xx, "EXPIRE", k, "10", "NX", "XX");
  EXPECT_ERR_UNCHANGED(k, nx_xx, "EXPIRE", k, "10", "NX", "GT");
  EXPECT_ERR_UNCHANGED(k, nx_xx, "PEXPIRE", k, "10", "LT", "NX");
  EXPECT_ERR_UNCHANGED(k, "ERR GT and LT options at the same time are not compatible", "EXPIRE", k,
                       "10", "GT", "LT");
  EXPECT_ERR_UNCHANGED(k, "ERR Unsupported option bogus", "EXPIRE", k, "10", "bogus");
  EXPECT_ERR_UNCHANGED(k, kNotInteger, "EXPIRE", k, "abc");
  EXPECT_ERR_UNCHANGED(k, kNotInteger, "EXPIRE", k, "1.5");
  EXPECT_ERR_UNCHANGED(k, kNotInteger, "PEXPIRE", k, " 10");
  EXPECT_ERR_UNCHANGED(k, kNotInteger, "PEXPIRE", k, "9223372036854775808");
  EXPECT_ERR(kNotInteger, "EXPIRE", K("missing"), "abc");
  EXPECT_ERR_UNCHANGED(k, Arity("expire"), "EXPIRE", k);
  EXPECT_ERR_UNCHANGED(k, Arity("pexpire"), "PEXPIRE", k);
  EXPECT_ERR(Arity("ttl"), "TTL");
  EXPECT_ERR(Arity("ttl"), "TTL", k, k);
  EXPECT_ERR(Arity("pttl"), "PTTL");
  EXPECT_ERR_UNCHANGED(k, Arity("persist"), "PERSIST");
  EXPECT_ERR_UNCHANGED(k, Arity("persist"), "PERSIST", k, k);
}

TEST_P(ConformanceTest, OverflowingTtlsAreRejected) {
  const std::string k = K("k");
  EXPECT_REPLY(Ok(), "SET", k, "v");
  EXPECT_ERR_UNCHANGED(k, "ERR invalid expire time in 'expire' command", "EXPIRE", k,
                       "9223372036854775807");
  EXPECT_ERR_UNCHANGED(k, "ERR invalid expire time in 'expire' command", "EXPIRE", k,
                       "9223372036854775");
  EXPECT_ERR_UNCHANGED(k, "ERR invalid expire time in 'expire' command", "EXPIRE", k,
                       "-9223372036854775808");
  EXPECT_ERR_UNCHANGED(k, "ERR invalid expire time in 'pexpire' command", "PEXPIRE", k,
                       "9223372036854775807");
  EXPECT_ERR_UNCHANGED(k, "ERR invalid expire time in 'pexpire' command", "PEXPIRE", k,
                       "9223372036854775000");
  EXPECT_REPLY(Int(-1), "TTL", k);
  // Large but representable.
  EXPECT_REPLY(Int(1), "EXPIRE", k, "9223372036854");
  EXPECT_REPLY(Int(9223372036854), "TTL", k);
}

TEST_P(ConformanceTest, NonPositiveTtlDeletesTheKey) {
  for (const char* ttl : {"0", "-1", "-100"}) {
    const std::string k = K(std::string("e") + ttl);
    EXPECT_REPLY(Ok(), "SET", k, "v");
    EXPECT_REPLY(Int(1), "EXPIRE", k, ttl);
    EXPECT_REPLY(Int(0), "EXISTS", k);
    EXPECT_REPLY(Int(-2), "TTL", k);
  }
  const std::string p = K("p");
  EXPECT_REPLY(Int(1), "HSET", p, "f", "v");
  EXPECT_REPLY(Int(1), "PEXPIRE", p, "-9223372036854775808");
  EXPECT_REPLY(Int(0), "EXISTS", p);
  // The conditions still apply: GT with -1 on a key without TTL (infinite) does nothing...
  const std::string gt = K("gt");
  EXPECT_REPLY(Ok(), "SET", gt, "v");
  EXPECT_REPLY(Int(0), "EXPIRE", gt, "-1", "GT");
  EXPECT_REPLY(Bulk("v"), "GET", gt);
  // ...while LT and NX delete it.
  EXPECT_REPLY(Int(1), "EXPIRE", gt, "-1", "LT");
  EXPECT_REPLY(Int(0), "EXISTS", gt);
  const std::string nx = K("nx");
  EXPECT_REPLY(Ok(), "SET", nx, "v");
  EXPECT_REPLY(Int(1), "PEXPIRE", nx, "-100", "NX");
  EXPECT_REPLY(Int(0), "EXISTS", nx);
  const std::string xx = K("xx");
  EXPECT_REPLY(Ok(), "SET", xx, "v");
  EXPECT_REPLY(Int(0), "EXPIRE", xx, "0", "XX");
  EXPECT_REPLY(Int(1), "EXISTS", xx);
}

TEST_P(ConformanceTest, Persist) {
  const std::string k = K("k");
  EXPECT_REPLY(Int(0), "PERSIST", K("missing"));
  EXPECT_REPLY(Ok(), "SET", k, "v");
  EXPECT_REPLY(Int(0), "PERSIST", k);
  EXPECT_REPLY(Int(1), "EXPIRE", k, "100");
  EXPECT_REPLY(Int(1), "PERSIST", k);
  EXPECT_REPLY(Int(-1), "TTL", k);
  EXPECT_REPLY(Int(0), "PERSIST", k);
  Advance(seconds(200));
  EXPECT_REPLY(Bulk("v"), "GET", k);
}

TEST_P(ConformanceTest, KeyExpiresExactlyAtItsDeadline) {
  const std::string k = K("k");
  // Exact on a virtual clock: alive at 1499 ms, gone at 1501 ms.
  EXPECT_REPLY(Ok(), "SET", k, "v", "PX", "1500");
  Advance(milliseconds(1499) - ClockSlack());
  EXPECT_REPLY(Bulk("v"), "GET", k);
  EXPECT_REPLY(Int(1), "EXISTS", k);
  Advance(milliseconds(2) + ClockSlack());
  EXPECT_REPLY(Nil(), "GET", k);
  EXPECT_REPLY(Int(0), "EXISTS", k);
  EXPECT_REPLY(Int(-2), "PTTL", k);
}

TEST_P(ConformanceTest, TtlCountsDownWithTheClock) {
  const std::string k = K("k");
  EXPECT_REPLY(Ok(), "SET", k, "v", "PX", "5000");
  Advance(milliseconds(2000));
  ASSERT_OK_AND_ASSIGN(int64_t pttl, kv().Pttl(k));
  EXPECT_GT(pttl, 2500);
  EXPECT_LE(pttl, 3000);
  EXPECT_REPLY(Int(3), "TTL", k);
  Advance(seconds(1));
  EXPECT_REPLY(Int(2), "TTL", k);
}

TEST_P(ConformanceTest, ExpiredKeysAreGoneForEveryCommand) {
  // One key per observer: the first access may delete an expired key.
  const std::vector<std::string> names = {"get",    "exists", "type",  "scan", "ttl",
                                          "dbsize", "hget",   "scard", "zcard"};
  for (const std::string& n : names) {
    if (n == "hget") {
      EXPECT_REPLY(Int(1), "HSET", K(n), "f", "v");
      EXPECT_REPLY(Int(1), "PEXPIRE", K(n), "1000");
    } else if (n == "scard") {
      EXPECT_REPLY(Int(1), "SADD", K(n), "m");
      EXPECT_REPLY(Int(1), "PEXPIRE", K(n), "1000");
    } else if (n == "zcard") {
      EXPECT_REPLY(Int(1), "ZADD", K(n), "1", "m");
      EXPECT_REPLY(Int(1), "PEXPIRE", K(n), "1000");
    } else {
      EXPECT_REPLY(Ok(), "SET", K(n), "v", "PX", "1000");
    }
  }
  EXPECT_REPLY(Ok(), "SET", K("stays"), "v");
  EXPECT_REPLY(Int(static_cast<int64_t>(names.size()) + 1), "DBSIZE");
  Advance(milliseconds(1001));
  EXPECT_REPLY(Nil(), "GET", K("get"));
  EXPECT_REPLY(Int(0), "EXISTS", K("exists"));
  EXPECT_REPLY(StatusReply("none"), "TYPE", K("type"));
  EXPECT_REPLY(Int(-2), "TTL", K("ttl"));
  EXPECT_REPLY(Nil(), "HGET", K("hget"), "f");
  EXPECT_REPLY(Int(0), "SCARD", K("scard"));
  EXPECT_REPLY(Int(0), "ZCARD", K("zcard"));
  std::set<std::string> seen;
  ASSERT_OK(kv().ScanAll(prefix() + "*", [&](const std::string& key) {
    seen.insert(key);
    return ::stormkv::Status::Ok();
  }));
  EXPECT_EQ(seen, std::set<std::string>{K("stays")});
  EXPECT_REPLY(Int(-2), "PTTL", K("dbsize"));  // access it, then count
  EXPECT_REPLY(Int(1), "DBSIZE");
}

// Due keys are expired by the backend itself. On Redis the harness only moves deadlines
// (stormkv/ttl_shift.h: a due key gets PEXPIRE 1 and the harness waits for Redis's clock), so
// this checks Redis's own expiry: a DEL would not count in INFO stats expired_keys.
TEST_P(ConformanceTest, DueKeysAreExpiredByTheBackendItself) {
  auto expired_keys = [&]() -> int64_t {
    Result<std::map<std::string, std::string>> info = kv().Info("stats");
    EXPECT_OK(info);
    return info.ok() && info->count("expired_keys") ? std::stoll(info->at("expired_keys")) : -1;
  };
  const int64_t before = expired_keys();
  ASSERT_GE(before, 0) << "INFO stats has no expired_keys";
  EXPECT_REPLY(Ok(), "SET", K("s"), "v", "PX", "1000");
  EXPECT_REPLY(Int(1), "HSET", K("h"), "f", "v");
  EXPECT_REPLY(Int(1), "PEXPIRE", K("h"), "1000");
  EXPECT_REPLY(Ok(), "SET", K("later"), "v", "EX", "100");
  EXPECT_REPLY(Ok(), "SET", K("never"), "v");
  Advance(milliseconds(1001));
  EXPECT_REPLY(Nil(), "GET", K("s"));
  EXPECT_REPLY(Nil(), "HGET", K("h"), "f");
  EXPECT_REPLY(Int(2), "EXISTS", K("later"), K("never"));
  EXPECT_EQ(expired_keys() - before, 2) << "the due keys were removed, but not by expiry";
  Advance(seconds(100));
  EXPECT_REPLY(Int(1), "EXISTS", K("later"), K("never"));
  EXPECT_EQ(expired_keys() - before, 3);
}

TEST_P(ConformanceTest, ExpiredKeyCanBeRecreated) {
  const std::string k = K("k"), c = K("c"), h = K("h");
  EXPECT_REPLY(Ok(), "SET", k, "v", "EX", "10");
  EXPECT_REPLY(Ok(), "SET", c, "41", "EX", "10");
  EXPECT_REPLY(Int(1), "HSET", h, "f", "v");
  EXPECT_REPLY(Int(1), "EXPIRE", h, "10");
  Advance(seconds(11));
  EXPECT_REPLY(Ok(), "SET", k, "new", "NX");
  EXPECT_REPLY(Int(-1), "TTL", k);
  EXPECT_REPLY(Int(1), "INCR", c);  // starts from zero again, without TTL
  EXPECT_REPLY(Int(-1), "TTL", c);
  EXPECT_REPLY(Int(1), "HSET", h, "g", "w");
  EXPECT_REPLY(Int(1), "HLEN", h);
  EXPECT_REPLY(Int(-1), "TTL", h);
  EXPECT_REPLY(Nil(), "SET", K("gone"), "v", "XX");
}

TEST_P(ConformanceTest, KeepTtlSurvivesTheClock) {
  const std::string k = K("k");
  EXPECT_REPLY(Ok(), "SET", k, "v1", "PX", "3000");
  Advance(milliseconds(1000));
  EXPECT_REPLY(Ok(), "SET", k, "v2", "KEEPTTL");
  Advance(milliseconds(1500));
  EXPECT_REPLY(Bulk("v2"), "GET", k);
  Advance(milliseconds(501));
  EXPECT_REPLY(Nil(), "GET", k);
}

TEST_P(ConformanceTest, LongTimeJumps) {
  const std::string k = K("k"), forever = K("forever");
  EXPECT_REPLY(Ok(), "SET", k, "v", "EX", "86400");
  EXPECT_REPLY(Ok(), "SET", forever, "v");
  Advance(std::chrono::hours(23));
  EXPECT_REPLY(Int(3600), "TTL", k);
  Advance(std::chrono::hours(2));
  EXPECT_REPLY(Int(0), "EXISTS", k);
  EXPECT_REPLY(Int(1), "EXISTS", forever);
}

}  // namespace
}  // namespace stormkv::conformance
