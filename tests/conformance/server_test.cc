// INFO (memory, stats, keyspace, errorstats), CONFIG GET/SET maxmemory[-policy], and the OOM rule.
#include <cstdlib>
#include <map>
#include <string>

#include "conformance/conformance_fixture.h"

namespace stormkv::conformance {
namespace {

bool IsUnsigned(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

TEST_P(ConformanceTest, InfoSectionsHaveTheirFields) {
  Reply raw = MustRun({"INFO", "memory"});
  ASSERT_TRUE(raw.is_bulk()) << raw;
  EXPECT_EQ(raw.str().rfind("# Memory\r\n", 0), 0u) << raw;
  ASSERT_OK_AND_ASSIGN(auto memory, kv().Info("memory"));
  for (const char* f : {"used_memory", "used_memory_peak", "maxmemory"}) {
    ASSERT_TRUE(memory.count(f)) << "INFO memory has no " << f;
    EXPECT_TRUE(IsUnsigned(memory[f])) << f << "=" << memory[f];
  }
  EXPECT_GT(std::strtoll(memory["used_memory"].c_str(), nullptr, 10), 0);
  ASSERT_TRUE(memory.count("maxmemory_policy"));
  ASSERT_OK_AND_ASSIGN(auto stats, kv().Info("stats"));
  for (const char* f : {"keyspace_hits", "keyspace_misses", "expired_keys", "evicted_keys"}) {
    ASSERT_TRUE(stats.count(f)) << "INFO stats has no " << f;
    EXPECT_TRUE(IsUnsigned(stats[f])) << f << "=" << stats[f];
  }
  raw = MustRun({"INFO", "errorstats"});
  ASSERT_TRUE(raw.is_bulk()) << raw;
  EXPECT_EQ(raw.str().rfind("# Errorstats\r\n", 0), 0u) << raw;
  raw = MustRun({"INFO", "keyspace"});
  ASSERT_TRUE(raw.is_bulk()) << raw;
  EXPECT_EQ(raw.str().rfind("# Keyspace\r\n", 0), 0u) << raw;
  // Without a section: the default sections, merged.
  ASSERT_OK_AND_ASSIGN(auto all, kv().Info());
  EXPECT_TRUE(all.count("used_memory"));
  EXPECT_TRUE(all.count("keyspace_hits"));
  // Section names are case-insensitive.
  ASSERT_OK_AND_ASSIGN(auto upper, kv().Info("MEMORY"));
  EXPECT_TRUE(upper.count("used_memory"));
}

TEST_P(ConformanceTest, InfoMemoryMoves) {
  // used_memory without the replication buffers: where masters have replicas (redis-cluster) a
  // write also sits in the shared replication buffer, which the DEL does not free.
  auto data_memory = [&]() -> Result<int64_t> {
    Result<std::map<std::string, std::string>> info = kv().Info("memory");
    if (!info.ok()) return info.status();
    auto used = info->find("used_memory");
    if (used == info->end()) return Status::Internal("INFO memory has no used_memory");
    auto repl = info->find("mem_total_replication_buffers");
    return std::stoll(used->second) - (repl == info->end() ? 0 : std::stoll(repl->second));
  };
  ASSERT_OK_AND_ASSIGN(int64_t base, data_memory());
  EXPECT_REPLY(Ok(), "SET", K("big"), std::string(100000, 'x'));
  ASSERT_OK_AND_ASSIGN(int64_t grown, data_memory());
  EXPECT_GT(grown, base + 90000);
  int64_t peak = InfoInt("memory", "used_memory_peak");
  EXPECT_GE(peak, grown);
  EXPECT_REPLY(Int(1), "DEL", K("big"));
  ASSERT_OK_AND_ASSIGN(int64_t shrunk, data_memory());
  EXPECT_LT(shrunk, grown - 90000);
  EXPECT_GE(InfoInt("memory", "used_memory_peak"), peak);  // the peak never goes down
}

TEST_P(ConformanceTest, InfoStatsCountHitsAndMisses) {
  EXPECT_REPLY(Ok(), "SET", K("k"), "v");
  int64_t hits = InfoInt("stats", "keyspace_hits");
  int64_t misses = InfoInt("stats", "keyspace_misses");
  EXPECT_REPLY(Bulk("v"), "GET", K("k"));
  EXPECT_EQ(InfoInt("stats", "keyspace_hits"), hits + 1);
  EXPECT_EQ(InfoInt("stats", "keyspace_misses"), misses);
  EXPECT_REPLY(Nil(), "GET", K("missing"));
  EXPECT_EQ(InfoInt("stats", "keyspace_hits"), hits + 1);
  EXPECT_EQ(InfoInt("stats", "keyspace_misses"), misses + 1);
}

TEST_P(ConformanceTest, InfoKeyspaceCountsKeysAndExpires) {
  EXPECT_TRUE(KeyspaceDb0().empty()) << "an empty database has no db0 line";
  EXPECT_REPLY(Ok(), "SET", K("a"), "1");
  EXPECT_REPLY(Ok(), "SET", K("b"), "1", "EX", "100");
  EXPECT_REPLY(Int(1), "HSET", K("h"), "f", "v");
  std::map<std::string, int64_t> db0 = KeyspaceDb0();
  EXPECT_EQ(db0["keys"], 3);
  EXPECT_EQ(db0["expires"], 1);
  EXPECT_TRUE(db0.count("avg_ttl"));
  EXPECT_REPLY(Int(1), "PERSIST", K("b"));
  EXPECT_EQ(KeyspaceDb0()["expires"], 0);
  EXPECT_REPLY(Ok(), "FLUSHDB");
  EXPECT_TRUE(KeyspaceDb0().empty());
}

TEST_P(ConformanceTest, InfoErrorstatsCountErrorsByPrefix) {
  EXPECT_REPLY(Int(1), "HSET", K("h"), "f", "v");
  int64_t wrongtype = ErrorStat("WRONGTYPE");
  int64_t err = ErrorStat("ERR");
  EXPECT_ERR(kWrongType, "GET", K("h"));
  EXPECT_EQ(ErrorStat("WRONGTYPE"), wrongtype + 1);
  EXPECT_EQ(ErrorStat("ERR"), err);
  EXPECT_ERR(kWrongType, "SADD", K("h"), "m");
  EXPECT_EQ(ErrorStat("WRONGTYPE"), wrongtype + 2);
  EXPECT_ERR(kSyntax, "SET", K("k"), "v", "NX", "XX");
  EXPECT_ERR(Arity("get"), "GET");
  EXPECT_ERR("ERR unknown command 'nosuch', with args beginning with: ", "nosuch");
  EXPECT_EQ(ErrorStat("ERR"), err + 3);
  EXPECT_EQ(ErrorStat("WRONGTYPE"), wrongtype + 2);
}

TEST_P(ConformanceTest, ConfigGetShape) {
  Reply r = MustRun({"CONFIG", "GET", "maxmemory"});
  ASSERT_TRUE(r.is_array() && r.elements().size() == 2) << r;
  EXPECT_EQ(r.elements()[0], Bulk("maxmemory"));
  EXPECT_TRUE(r.elements()[1].is_bulk() && IsUnsigned(r.elements()[1].str())) << r;
  r = MustRun({"CONFIG", "GET", "maxmemory-policy"});
  ASSERT_TRUE(r.is_array() && r.elements().size() == 2) << r;
  EXPECT_EQ(r.elements()[0], Bulk("maxmemory-policy"));
  // Redis 7.0 echoes the name as given.
  r = MustRun({"CONFIG", "GET", "MAXMEMORY"});
  ASSERT_TRUE(r.is_array() && r.elements().size() == 2) << r;
  EXPECT_EQ(r.elements()[0], Bulk("MAXMEMORY"));
  EXPECT_REPLY(Arr({}), "CONFIG", "GET", "no-such-parameter");
  ASSERT_OK_AND_ASSIGN(auto v, kv().ConfigGet("no-such-parameter"));
  EXPECT_FALSE(v.has_value());
  ASSERT_OK_AND_ASSIGN(v, kv().ConfigGet("maxmemory"));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, r.elements()[1].str());
}

TEST_P(ConformanceTest, ConfigSetMaxmemoryUnitsRoundTrip) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1mb", "1048576"},   {"1MB", "1048576"}, {"1m", "1000000"},
      {"1kb", "1024"},      {"1k", "1000"},     {"2gb", "2147483648"},
      {"1g", "1000000000"}, {"12345", "12345"}, {"3GB", "3221225472"},
      {"0", "0"},           {"", "0"},          {"268435456", "268435456"},
      {"kb", "0"}};  // Redis 7.0 reads a unit without digits as 0
  for (const auto& [in, want] : cases) {
    ASSERT_OK(SetConfig("maxmemory", in));
    EXPECT_REPLY(Bulks({"maxmemory", want}), "CONFIG", "GET", "maxmemory");
    ASSERT_OK_AND_ASSIGN(auto typed, kv().ConfigGet("maxmemory"));
    EXPECT_EQ(typed, std::optional<std::string>(want)) << in;
    EXPECT_EQ(std::to_string(InfoInt("memory", "maxmemory")), want) << "INFO memory after " << in;
  }
}

TEST_P(ConformanceTest, ConfigSetMaxmemoryRejectsBadValues) {
  ASSERT_OK(SetConfig("maxmemory", "2mb"));
  const std::string err =
      "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a "
      "memory value";
  for (const char* bad : {"abc", "-1", "1.5mb", "1tb", "1 mb", "1mbx"}) {
    EXPECT_ERR(err, "CONFIG", "SET", "maxmemory", bad);
    EXPECT_REPLY(Bulks({"maxmemory", "2097152"}), "CONFIG", "GET", "maxmemory");
  }
  ::stormkv::Status s = kv().ConfigSet("maxmemory", "abc");
  EXPECT_EQ(s.message(), err);
  EXPECT_FALSE(s.ok());
}

TEST_P(ConformanceTest, ConfigSetMaxmemoryPolicy) {
  for (const char* p : {"allkeys-lru", "volatile-lru", "allkeys-random", "volatile-random",
                        "volatile-ttl", "noeviction"}) {
    ASSERT_OK(SetConfig("maxmemory-policy", p));
    EXPECT_REPLY(Bulks({"maxmemory-policy", p}), "CONFIG", "GET", "maxmemory-policy");
    ASSERT_OK_AND_ASSIGN(auto info, kv().Info("memory"));
    EXPECT_EQ(info["maxmemory_policy"], p);
  }
  ASSERT_OK(SetConfig("maxmemory-policy", "ALLKEYS-RANDOM"));
  EXPECT_REPLY(Bulks({"maxmemory-policy", "allkeys-random"}), "CONFIG", "GET", "maxmemory-policy");
  EXPECT_ERR(
      "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must "
      "be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, "
      "allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
      "CONFIG", "SET", "maxmemory-policy", "bogus");
  EXPECT_REPLY(Bulks({"maxmemory-policy", "allkeys-random"}), "CONFIG", "GET", "maxmemory-policy");
}

TEST_P(ConformanceTest, ConfigErrors) {
  EXPECT_ERR("ERR Unknown option or number of arguments for CONFIG SET - 'no-such-parameter'",
             "CONFIG", "SET", "no-such-parameter", "1");
  EXPECT_ERR(Arity("config|get"), "CONFIG", "GET");
  EXPECT_ERR(Arity("config|set"), "CONFIG", "SET", "maxmemory");
  EXPECT_ERR(Arity("config"), "CONFIG");
  EXPECT_ERR("ERR unknown subcommand 'bogus'. Try CONFIG HELP.", "CONFIG", "bogus");
  ::stormkv::Status s = kv().ConfigSet("no-such-parameter", "1");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
}

TEST_P(ConformanceTest, OomRejectsDenyOomCommandsBeforeRunningThem) {
  const std::string a = K("a"), h = K("h");
  EXPECT_REPLY(Ok(), "SET", a, "1");
  EXPECT_REPLY(Int(2), "HSET", h, "f", "1", "g", "2");
  ASSERT_OK(SetConfig("maxmemory-policy", "noeviction"));
  ASSERT_OK(SetConfig("maxmemory", "1"));
  int64_t oom = ErrorStat("OOM");
  EXPECT_ERR(kOom, "SET", K("b"), "v");
  EXPECT_REPLY(Int(0), "EXISTS", K("b"));
  EXPECT_ERR_UNCHANGED(a, kOom, "INCR", a);
  EXPECT_ERR_UNCHANGED(a, kOom, "INCRBY", a, "5");
  EXPECT_ERR_UNCHANGED(a, kOom, "SET", a, "v", "NX", "XX");  // OOM comes before the syntax check
  EXPECT_ERR_UNCHANGED(h, kOom, "INCR", h);                  // ... and before the type check
  EXPECT_ERR_UNCHANGED(h, kOom, "HSET", h, "f", "9");
  EXPECT_ERR_UNCHANGED(h, kOom, "HINCRBY", h, "f", "1");
  EXPECT_ERR(kOom, "SADD", K("s"), "m");
  EXPECT_ERR(kOom, "ZADD", K("z"), "1", "m");
  EXPECT_EQ(ErrorStat("OOM"), oom + 9);
  EXPECT_ERR(Arity("set"), "SET", K("b"));  // arity is checked first
  Result<bool> typed = kv().Set(K("b"), "v");
  ASSERT_FALSE(typed.ok());
  EXPECT_TRUE(typed.status().IsOutOfMemory()) << typed.status();
  // Reads and non-deny-oom writes still work.
  EXPECT_REPLY(Bulk("1"), "GET", a);
  EXPECT_REPLY(Int(1), "EXPIRE", a, "100");
  EXPECT_REPLY(Int(1), "PERSIST", a);
  EXPECT_REPLY(Int(1), "HDEL", h, "g");
  EXPECT_REPLY(Int(1), "DEL", a);
  EXPECT_REPLY(Int(0), "ZREMRANGEBYSCORE", K("z"), "0", "1");
  EXPECT_REPLY(Ok(), "FLUSHDB");
  ASSERT_OK(SetConfig("maxmemory", "0"));
  EXPECT_REPLY(Ok(), "SET", K("b"), "v");
}

}  // namespace
}  // namespace stormkv::conformance
