// The embedded store's own behaviour: expiry on a virtual clock, eviction determinism by seed,
// script atomicity, thread safety, encodings and accounting invariants, the real footprint.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/test_scripts.h"
#include "common/test_util.h"
#include "stormkv/memory_backend.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

// prefix + decimal i (built by append: GCC 12 warns falsely on "literal" + std::to_string).
std::string Key(const char* prefix, int64_t i) {
  std::string k(prefix);
  k.append(std::to_string(i));
  return k;
}

struct Store {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<KvBackend> kv;
  explicit Store(MemoryBackendOptions o = {}) {
    o.clock = clock;
    kv = NewMemoryBackend(o).value();
  }
  Reply Run(const Command& c) {
    auto r = kv->Run(c);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : Reply::Error(r.status().message());
  }
  int64_t Stat(const std::string& section, const std::string& name) {
    auto info = kv->Info(section);
    if (!info.ok() || !info->count(name)) return -1;
    return std::stoll(info->at(name));
  }
};

// NewMemoryBackend refuses what it would otherwise have to guess (an unknown policy used to
// become noeviction silently), like the other factories: a Result naming the option.
TEST(MemoryStoreOptions, BadOptionsAreRefusedByName) {
  MemoryBackendOptions o;
  o.maxmemory_policy = "allkeys-lur";  // a typo
  Result<std::unique_ptr<KvBackend>> r = NewMemoryBackend(o);
  ASSERT_TRUE(r.status().IsInvalidArgument()) << r.status();
  EXPECT_EQ(r.status().message(),
            "the embedded store: maxmemory_policy: unknown policy 'allkeys-lur' (noeviction, "
            "allkeys-lru, volatile-lru, allkeys-lfu, volatile-lfu, allkeys-random, "
            "volatile-random, volatile-ttl)");
  o.maxmemory_policy = "";
  EXPECT_TRUE(NewMemoryBackend(o).status().IsInvalidArgument());

  o = {};
  o.maxmemory = -1;
  r = NewMemoryBackend(o);
  ASSERT_TRUE(r.status().IsInvalidArgument()) << r.status();
  EXPECT_NE(r.status().message().find("maxmemory -1 is negative"), std::string::npos);

  o = {};
  o.baseline_used_memory = -2;
  EXPECT_TRUE(NewMemoryBackend(o).status().IsInvalidArgument());
  o = {};
  o.allocator = static_cast<AllocatorProfile>(7);
  EXPECT_TRUE(NewMemoryBackend(o).status().IsInvalidArgument());
}

TEST(MemoryStoreOptions, AcceptedOptionsTakeEffect) {
  MemoryBackendOptions o;
  o.maxmemory = 123456789;
  o.maxmemory_policy = "ALLKEYS-LRU";  // case-insensitive, as CONFIG SET takes it
  Store s(o);
  Reply policy = s.Run({"CONFIG", "GET", "maxmemory-policy"});
  ASSERT_TRUE(policy.is_array()) << policy.ToString();
  ASSERT_EQ(policy.elements().size(), 2u);
  EXPECT_EQ(policy.elements()[1].str(), "allkeys-lru");
  Reply maxmemory = s.Run({"CONFIG", "GET", "maxmemory"});
  ASSERT_EQ(maxmemory.elements().size(), 2u);
  EXPECT_EQ(maxmemory.elements()[1].str(), "123456789");
}

TEST(MemoryStoreExpiry, LazyExpiryOnAccessWithoutSleeping) {
  MemoryBackendOptions o;
  o.active_expiry = false;
  Store s(o);
  s.Run({"SET", "k", "v", "PX", "1500"});
  s.clock->Advance(milliseconds(1500));
  EXPECT_EQ(s.Run({"PTTL", "k"}).integer(), 0);  // expires when now > when, like Redis
  s.clock->Advance(milliseconds(1));
  EXPECT_TRUE(s.Run({"GET", "k"}).is_nil());
  EXPECT_EQ(s.Stat("stats", "expired_keys"), 1);
  EXPECT_EQ(s.Run({"DBSIZE"}).integer(), 0);
}

TEST(MemoryStoreExpiry, ActiveExpiryReclaimsKeysNobodyTouches) {
  Store s;
  ASSERT_OK_AND_ASSIGN(int64_t empty, s.kv->UsedMemory());
  for (int i = 0; i < 5000; ++i) {
    s.Run({"SET", Key("ttl:", i), std::string(100, 'x'), "EX", "60"});
    s.Run({"SET", Key("keep:", i), "v"});
  }
  EXPECT_EQ(s.Run({"DBSIZE"}).integer(), 10000);
  s.clock->Advance(hours(2));
  s.Run({"PING"});  // any command runs the due cron cycles
  EXPECT_EQ(s.Run({"DBSIZE"}).integer(), 5000);
  EXPECT_EQ(s.Stat("stats", "expired_keys"), 5000);
  auto ks = s.kv->Info("keyspace");
  ASSERT_OK(ks);
  EXPECT_EQ(ks->at("db0"), "keys=5000,expires=0,avg_ttl=0");
  s.Run({"FLUSHDB"});
  ASSERT_OK_AND_ASSIGN(int64_t after, s.kv->UsedMemory());
  EXPECT_EQ(after, empty);
}

TEST(MemoryStoreExpiry, AvgTtlAndTtlRounding) {
  Store s;
  s.Run({"SET", "a", "1", "EX", "100"});
  s.Run({"SET", "b", "1", "EX", "300"});
  auto ks = s.kv->Info("keyspace");
  ASSERT_OK(ks);
  EXPECT_EQ(ks->at("db0"), "keys=2,expires=2,avg_ttl=200000");
  s.clock->Advance(milliseconds(99501));
  EXPECT_EQ(s.Run({"TTL", "a"}).integer(), 0);  // (499 + 500) / 1000
  EXPECT_EQ(s.Run({"PTTL", "a"}).integer(), 499);
}

TEST(MemoryStoreAccounting, UsedMemoryReturnsToBaselineAfterEveryKindOfKeyIsDeleted) {
  for (AllocatorProfile p : {AllocatorProfile::kDebian, AllocatorProfile::kUpstream}) {
    MemoryBackendOptions o;
    o.allocator = p;
    Store s(o);
    ASSERT_OK_AND_ASSIGN(int64_t empty, s.kv->UsedMemory());
    EXPECT_EQ(empty, model::EmptyServer(p).used_memory);
    for (int i = 0; i < 300; ++i) {
      std::string n = std::to_string(i);
      s.Run({"SET", "s" + n, std::string(static_cast<size_t>(i), 'v'), "EX", "100"});
      s.Run({"HSET", "h", "f" + n, std::string(static_cast<size_t>(i % 90), 'x')});
      s.Run({"SADD", "i", n});
      s.Run({"SADD", "t", "m" + n});
      s.Run({"ZADD", "z", n, "m" + n});
      s.Run({"INCRBY", "c" + n, n});
    }
    ASSERT_OK_AND_ASSIGN(Reply enc, s.kv->Run({"OBJECT", "ENCODING", "h"}));
    EXPECT_EQ(enc.str(), "hashtable");  // a value > 64 bytes converted it
    EXPECT_EQ(s.Run({"OBJECT", "ENCODING", "i"}).str(), "intset");
    EXPECT_EQ(s.Run({"OBJECT", "ENCODING", "t"}).str(), "hashtable");
    EXPECT_EQ(s.Run({"OBJECT", "ENCODING", "z"}).str(), "skiplist");
    ASSERT_OK_AND_ASSIGN(int64_t full, s.kv->UsedMemory());
    EXPECT_GT(full, empty + 100000);
    for (int i = 0; i < 300; ++i) {
      std::string n = std::to_string(i);
      s.Run({"DEL", "s" + n, "c" + n});
      s.Run({"HDEL", "h", "f" + n});
      s.Run({"SREM", "i", n});
      s.Run({"SREM", "t", "m" + n});
      s.Run({"ZREM", "z", "m" + n});
    }
    EXPECT_EQ(s.Run({"DBSIZE"}).integer(), 0);
    // The main dict keeps its buckets until the cron shrinks it (10 times a second).
    s.clock->Advance(milliseconds(100));
    s.Run({"PING"});
    ASSERT_OK_AND_ASSIGN(int64_t after, s.kv->UsedMemory());
    EXPECT_EQ(after, empty + 8 * 4 + 8 * 4) << "only the minimal main/expires bucket arrays remain";
    ASSERT_OK_AND_ASSIGN(auto info, s.kv->Info("memory"));
    EXPECT_GE(std::stoll(info.at("used_memory_peak")), full);
  }
}

TEST(MemoryStoreAccounting, HashConvertsAtThe512EntryDefault) {
  Store s;
  EXPECT_EQ(s.Run({"CONFIG", "GET", "hash-max-listpack-entries"}).elements()[1].str(), "512");
  for (int i = 0; i < 512; ++i) s.Run({"HSET", "h", Key("f", i), "v"});
  EXPECT_EQ(s.Run({"OBJECT", "ENCODING", "h"}).str(), "listpack");
  s.Run({"HSET", "h", "one-more", "v"});
  EXPECT_EQ(s.Run({"OBJECT", "ENCODING", "h"}).str(), "hashtable");
}

Result<int64_t> FillWithEviction(uint64_t seed, std::vector<std::string>* survivors) {
  auto clock = std::make_shared<ManualClock>();
  MemoryBackendOptions o;
  o.clock = clock;
  o.seed = seed;
  o.maxmemory = model::EmptyServer(AllocatorProfile::kDebian).used_memory + 200000;
  o.maxmemory_policy = "allkeys-lru";
  auto kv = NewMemoryBackend(o).value();
  for (int i = 0; i < 5000; ++i) {
    clock->Advance(milliseconds(i % 7 == 0 ? 1000 : 0));
    auto r = kv->Run({"SET", Key("k", i), std::string(50, 'v')});
    if (!r.ok()) return r.status();
    if (i % 3 == 0) (void)kv->Run({"GET", Key("k", i / 2)});
  }
  STORMKV_RETURN_IF_ERROR(kv->ScanAll("", [&](const std::string& k) {
    survivors->push_back(k);
    return Status::Ok();
  }));
  std::sort(survivors->begin(), survivors->end());
  auto info = kv->Info("stats");
  if (!info.ok()) return info.status();
  return std::stoll(info->at("evicted_keys"));
}

TEST(MemoryStoreEviction, SameSeedSameVictimsOtherSeedOtherVictims) {
  std::vector<std::string> a, b, c;
  ASSERT_OK_AND_ASSIGN(int64_t ea, FillWithEviction(7, &a));
  ASSERT_OK_AND_ASSIGN(int64_t eb, FillWithEviction(7, &b));
  ASSERT_OK_AND_ASSIGN(int64_t ec, FillWithEviction(8, &c));
  EXPECT_GT(ea, 1000);
  EXPECT_EQ(ea, eb);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NEAR(static_cast<double>(ec), static_cast<double>(ea), 0.05 * static_cast<double>(ea));
  // Recently written keys survive LRU eviction.
  EXPECT_TRUE(std::binary_search(a.begin(), a.end(), "k4999"));
}

TEST(MemoryStoreEviction, PoliciesPickTheRightVictims) {
  auto run = [](const std::string& policy) {
    Store s;
    for (int i = 0; i < 2000; ++i) {
      std::string k = Key("k", i);
      if (i % 2 == 0) {
        s.Run({"SET", k, std::string(60, 'v'), "EX", std::to_string(1000 + i)});
      } else {
        s.Run({"SET", k, std::string(60, 'v')});
      }
    }
    ASSERT_OK_AND_ASSIGN(int64_t used, s.kv->UsedMemory());
    ASSERT_OK(s.kv->ConfigSet("maxmemory-policy", policy));
    ASSERT_OK(s.kv->ConfigSet("maxmemory", std::to_string(used - 50000)));
    s.Run({"PING"});
    ASSERT_OK_AND_ASSIGN(int64_t now_used, s.kv->UsedMemory());
    EXPECT_LE(now_used, used - 50000) << policy;
    int64_t evicted = s.Stat("stats", "evicted_keys");
    EXPECT_GT(evicted, 200) << policy;
    bool volatile_only = policy.rfind("volatile", 0) == 0;
    int odd_left = 0, even_left = 0;
    for (int i = 0; i < 2000; ++i) {
      bool exists = s.Run({"EXISTS", Key("k", i)}).integer() == 1;
      (i % 2 ? odd_left : even_left) += exists;
    }
    if (volatile_only) {
      EXPECT_EQ(odd_left, 1000) << policy << " evicted a key without TTL";
    }
    if (policy == "volatile-ttl") {
      // Shortest TTLs go first: k0 (TTL 1000s) is gone, k1998 (TTL 2998s) survives.
      EXPECT_EQ(s.Run({"EXISTS", "k0"}).integer(), 0);
      EXPECT_EQ(s.Run({"EXISTS", "k1998"}).integer(), 1);
    }
  };
  for (const char* p : {"allkeys-lru", "volatile-lru", "allkeys-random", "volatile-random",
                        "volatile-ttl", "allkeys-lfu", "volatile-lfu"}) {
    run(p);
  }
}

TEST(MemoryStoreEviction, NoevictionRefusesDenyOomButAllowsReadsAndDeletes) {
  MemoryBackendOptions o;
  o.maxmemory = 1048576;  // below the empty baseline
  Store s(o);
  auto r = s.kv->Run({"SET", "k", "v"});
  EXPECT_TRUE(r.status().IsOutOfMemory());
  EXPECT_EQ(r.status().message(), "OOM command not allowed when used memory > 'maxmemory'.");
  EXPECT_OK(s.kv->Run({"GET", "k"}));
  EXPECT_OK(s.kv->Run({"DEL", "k"}));
  EXPECT_OK(s.kv->Run({"EXPIRE", "k", "10"}));
  ASSERT_OK_AND_ASSIGN(auto info, s.kv->Info("errorstats"));
  EXPECT_EQ(info.at("errorstat_OOM"), "count=1");
}

TEST(MemoryStoreScripts, TwinsAreAtomicAcrossThreads) {
  Store s;
  constexpr int kThreads = 4, kPerThread = 2000;
  std::atomic<bool> bad{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = s.kv->Eval(IncrPExpireScript(), {"ctr"}, {"60000"});
        if (!r.ok()) bad = true;
        auto g = s.kv->Run({"PTTL", "ctr"});
        if (!g.ok() || g->integer() < 0) bad = true;  // never observed between INCR and PEXPIRE
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(bad);
  EXPECT_EQ(s.Run({"GET", "ctr"}).str(), std::to_string(kThreads * kPerThread));
}

// A twin that calls a backend (g_called) instead of its ScriptContext.
KvBackend* g_called = nullptr;
const Script& TwinCallingTheBackend() {
  static const Script& s = ScriptRegistry::Global().Register(Script(
      "memory_store_test_twin_calls_backend", "return redis.call('GET', KEYS[1])",
      [](ScriptContext&, const std::vector<std::string>& keys,
         const std::vector<std::string>&) -> Result<Reply> {
        Result<std::optional<std::string>> v = g_called->Get(keys[0]);
        if (!v.ok()) return v.status();
        return v->has_value() ? Reply::Bulk(**v) : Reply::Nil();
      }));
  return s;
}

// Runs Eval on another thread; a deadlock (the bug) ends the test binary instead of hanging it.
Result<Reply> EvalOrDie(KvBackend& kv, const Script& script) {
  auto done = std::async(std::launch::async, [&] { return kv.Eval(script, {"k"}, {}); });
  if (done.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    std::cerr << "FATAL: Eval of " << script.name() << " deadlocked\n";
    std::_Exit(3);
  }
  return done.get();
}

TEST(MemoryStoreScripts, TwinCallingItsOwnBackendFailsInsteadOfDeadlocking) {
  Store a, b;
  ASSERT_TRUE(a.kv->Set("k", "from-a").ok());
  g_called = a.kv.get();
  Result<Reply> r = EvalOrDie(*a.kv, TwinCallingTheBackend());
  ASSERT_EQ(r.status().code(), StatusCode::kInternal) << r.status();
  EXPECT_NE(r.status().message().find("script 'memory_store_test_twin_calls_backend' called Run "
                                      "on the memory store"),
            std::string::npos)
      << r.status();
  EXPECT_NE(r.status().message().find("must use its ScriptContext (ctx.Call)"), std::string::npos);
  // The store is not left locked, and a twin may still call another store's backend.
  EXPECT_EQ(a.Run({"GET", "k"}).str(), "from-a");
  r = EvalOrDie(*b.kv, TwinCallingTheBackend());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->str(), "from-a");
}

// A twin that runs a script of its own through its context (what stormkv serve's EXEC does).
const Script& TwinRunningAScript() {
  static const Script& s = ScriptRegistry::Global().Register(Script(
      "memory_store_test_twin_runs_eval",
      "return redis.error_reply('a twin only')",
      [](ScriptContext& ctx, const std::vector<std::string>& keys,
         const std::vector<std::string>&) -> Result<Reply> {
        Result<Reply> set = ctx.Call({"SET", keys[0], "1"});
        if (!set.ok()) return set;
        Result<Reply> nested =
            ctx.Call({"EVAL", "return redis.call('INCR', KEYS[1])", "1", keys[0]});
        if (!nested.ok()) return nested;
        Result<Reply> failing = ctx.Call({"EVAL", "return redis.call('EVAL', 'return 1', 0)", "0"});
        if (failing.ok()) return Status::Internal("EVAL from a Lua script was not refused");
        Result<Reply> after = ctx.Call({"INCR", keys[0]});  // the twin's script goes on
        if (!after.ok()) return after;
        return Reply::Array({*nested, Reply::Bulk(failing.status().message()), *after});
      }));
  return s;
}

// Redis 7.0's no-script commands the store does not implement are refused by name, in any
// case; a name of the same first letter and length that is not one of them is not.
TEST(MemoryStoreScripts, NoScriptCommandsAreRefusedInAnyCase) {
  Store s;
  auto error_of = [&](const std::string& name) {
    Result<Reply> r = s.kv->Run({"EVAL", "return redis.pcall(ARGV[1])", "0", name});
    if (!r.ok()) return r.status().message();
    return r->is_error() ? r->str() : std::string("not an error");
  };
  const std::string refused = "This Redis command is not allowed from script";
  for (std::string name :
       {"auth", "bgrewriteaof", "bgsave", "client", "discard", "eval", "eval_ro", "evalsha",
        "evalsha_ro", "exec", "fcall", "fcall_ro", "function", "hello", "monitor", "multi",
        "psubscribe", "psync", "punsubscribe", "quit", "replicaof", "reset", "save", "script",
        "shutdown", "slaveof", "ssubscribe", "subscribe", "sunsubscribe", "sync", "unsubscribe",
        "unwatch", "wait", "watch"}) {
    EXPECT_NE(error_of(name).find(refused), std::string::npos) << name;
    name[0] = static_cast<char>(name[0] - 32);
    name.back() = static_cast<char>(name.back() - 32 * (name.back() >= 'a'));
    EXPECT_NE(error_of(name).find(refused), std::string::npos) << name;
  }
  for (std::string name : {"hellp", "Multx", "psyna", "wai", "subscribes"}) {
    EXPECT_NE(error_of(name).find("Unknown Redis command called from script"), std::string::npos)
        << name << ": " << error_of(name);
  }
  EXPECT_NE(error_of("HSET").find("Wrong number of args calling Redis command from script"),
            std::string::npos);
}

TEST(MemoryStoreScripts, TwinMayRunAnyScriptNestedButLuaMayNot) {
  Store s;
  Result<Reply> r = s.kv->Eval(TwinRunningAScript(), {"k"}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->elements().size(), 3u) << *r;
  EXPECT_EQ(r->elements()[0].integer(), 2);
  EXPECT_NE(r->elements()[1].str().find("This Redis command is not allowed from script"),
            std::string::npos)
      << r->elements()[1].str();
  EXPECT_EQ(r->elements()[2].integer(), 3);
  EXPECT_EQ(s.Run({"GET", "k"}).str(), "3");
}

// A read-only script's twin runs a script of its own: that one is read-only too (EVAL as
// EVAL_RO), so it may read but its write is refused, as Redis refuses it in EVAL_RO.
const Script& ReadOnlyTwinRunningAScript() {
  static const Script& s = ScriptRegistry::Global().Register(Script(
      "memory_store_test_read_only_twin_runs_eval", "return redis.error_reply('a twin only')",
      [](ScriptContext& ctx, const std::vector<std::string>& keys,
         const std::vector<std::string>&) -> Result<Reply> {
        Result<Reply> read = ctx.Call({"eval", "return redis.call('GET', KEYS[1])", "1", keys[0]});
        if (!read.ok()) return read;
        Result<Reply> write =
            ctx.Call({"EVAL", "return redis.call('INCR', KEYS[1])", "1", keys[0]});
        if (write.ok()) return Status::Internal("a nested write of a read-only twin ran");
        return Reply::Array({*read, Reply::Bulk(write.status().message())});
      },
      /*read_only=*/true));
  return s;
}

TEST(MemoryStoreScripts, ANestedScriptOfAReadOnlyTwinIsReadOnly) {
  Store s;
  s.Run({"SET", "k", "7"});
  Result<Reply> r = s.kv->Eval(ReadOnlyTwinRunningAScript(), {"k"}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->elements().size(), 2u) << *r;
  EXPECT_EQ(r->elements()[0].str(), "7");
  EXPECT_NE(r->elements()[1].str().find("Write commands are not allowed from read-only scripts"),
            std::string::npos)
      << r->elements()[1].str();
  EXPECT_EQ(s.Run({"GET", "k"}).str(), "7");
}

const Script& DelThenSet() {
  static const Script& s = ScriptRegistry::Global().Register(Script(
      "memory_store_test_del_then_set",
      "redis.call('DEL', KEYS[1]) return redis.call('SET', KEYS[2], '1')",
      [](ScriptContext& ctx, const std::vector<std::string>& keys,
         const std::vector<std::string>&) -> Result<Reply> {
        Result<Reply> d = ctx.Call({"DEL", keys[0]});
        if (!d.ok()) return d;
        return ctx.Call({"SET", keys[1], "1"});
      }));
  return s;
}

TEST(MemoryStoreScripts, OomStateIsTakenOnceAndADirtyScriptMayFinish) {
  Store s;
  s.Run({"SET", "x", "1"});
  ASSERT_OK(s.kv->ConfigSet("maxmemory", "1"));
  // Not dirty yet: the first deny-oom call fails (Redis: "... script: <sha>, on @user_script:1.").
  auto first = s.kv->Eval(IncrPExpireScript(), {"c"}, {"1000"});
  EXPECT_TRUE(first.status().IsOutOfMemory()) << first.status();
  // After any write command (even a DEL of a missing key) Redis lets the script finish.
  EXPECT_OK(s.kv->Eval(DelThenSet(), {"nokey", "y"}, {}));
  EXPECT_EQ(s.Run({"GET", "y"}).str(), "1");
}

TEST(MemoryStoreScripts, ErrorsInsideTwinsKeepTheirCodeAndCountOnce) {
  Store s;
  s.Run({"HSET", "h", "a", "b"});
  auto r = s.kv->Eval(IncrPExpireScript(), {"h"}, {"1000"});
  EXPECT_TRUE(r.status().IsWrongType()) << r.status();
  ASSERT_OK_AND_ASSIGN(auto info, s.kv->Info("errorstats"));
  EXPECT_EQ(info.at("errorstat_WRONGTYPE"), "count=1");
}

TEST(MemoryStoreScan, EveryKeyPresentThroughoutIsReturnedDespiteChurn) {
  Store s;
  for (int i = 0; i < 3000; ++i) s.Run({"SET", Key("stable:", i), "v"});
  std::set<std::string> seen;
  std::string cursor = "0";
  int churn = 0;
  do {
    ASSERT_OK_AND_ASSIGN(ScanPage page, s.kv->Scan(cursor, "stable:*", 97));
    seen.insert(page.keys.begin(), page.keys.end());
    cursor = page.cursor;
    for (int j = 0; j < 40; ++j, ++churn) {
      s.Run({"SET", Key("churn:", churn), "v"});
      if (churn >= 20) s.Run({"DEL", Key("churn:", churn - 20)});
    }
  } while (cursor != "0");
  EXPECT_EQ(seen.size(), 3000u);
}

TEST(MemoryStoreFootprint, RealBytesIsReportedAndTracksTheData) {
  Store s;
  auto real = [&] {
    auto info = s.kv->Info("stormkv");
    EXPECT_OK(info);
    return std::stoll(info->at("stormkv_real_bytes"));
  };
  int64_t empty = real();
  EXPECT_GT(empty, 0);
  for (int i = 0; i < 10000; ++i) s.Run({"SET", Key("key:", i), std::string(100, 'v')});
  int64_t full = real();
  // At least the payload (10000 x (100 + 9) bytes), at most a few times the Redis figure.
  EXPECT_GT(full - empty, 10000 * 109);
  ASSERT_OK_AND_ASSIGN(int64_t used, s.kv->UsedMemory());
  EXPECT_LT(full - empty, 3 * (used - model::EmptyServer(AllocatorProfile::kDebian).used_memory));
  s.Run({"FLUSHDB"});
  EXPECT_LT(real(), empty + 4096);
}

}  // namespace
}  // namespace stormkv
