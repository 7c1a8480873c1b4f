// The randomized differential: seeded mixes of every modelled command on the embedded store and
// on a real redis-server 7.0, compared after every step.
//
// Per step: the command's reply (error texts included), then for every key the command touched
// OBJECT ENCODING and MEMORY USAGE <key> SAMPLES 0, on both. Every `check_every` steps and at the
// end: the used_memory delta since the start, measured on the server with a brand-new
// connection while no other client is connected (so no client buffer counts) after serverCron
// ran (the db dicts' rehash settled), equal to the store's.
//
// The server is a private one this test starts (fidelity/seeded_redis.h): its dict hash seed and
// its skiplist levels come from seed_shim.so, and the store is given the same seeds, because
// whether a hashtable's incremental rehash has finished after a given operation depends on which
// buckets its elements occupy — a fresh server with a random seed would disagree with itself.
// The test drives the server's cron like the store's clock: DEBUG PAUSE-CRON 1 and DEBUG
// SET-ACTIVE-EXPIRE 0 on both while steps run (expiry is lazy: a key with a short TTL is touched
// again only once both sides see it expired), cron resumed for the measurements.
//
// The workload (Generator): 24 keys of varied name lengths; strings (embstr/raw/int boundaries,
// shared integers), hashes, sets, sorted sets with values and sizes on both sides of every
// encoding threshold (hash-max-listpack-entries/value, set-max-intset-entries — 7.0 has no
// set listpack —, zset-max-listpack-entries/value), bulk commands that convert on creation,
// deletes that shrink dicts, overwrites with another type, WRONGTYPE errors, long and short
// TTLs, PERSIST, immediate expiry, FLUSHDB. Odd seeds also lower the thresholds (CONFIG SET) so
// conversions happen at small sizes too.
//
// Bounded in CI: seeds 1-3 x 3000 steps. Long runs by hand:
//   STORMKV_DIFF_SEEDS=1-10 STORMKV_DIFF_STEPS=100000 build/bin/tests/differential_test
// Env: STORMKV_DIFF_SEEDS ("1-10" or "4,7"), STORMKV_DIFF_STEPS, STORMKV_DIFF_CHECK_EVERY
// (steps between used_memory checks, default 1000), STORMKV_DIFF_REPORT (mismatches printed,
// default 20). Needs redis-server in PATH (a missing one fails, it is never skipped).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "fidelity/differential_workload.h"
#include "fidelity/seeded_redis.h"
#include "redis/private_redis.h"
#include "stormkv/clock.h"
#include "stormkv/memory_backend.h"
#include "stormkv/redis_backend.h"

namespace stormkv::fidelity {
namespace {

using Clock = std::chrono::steady_clock;

int64_t WallUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The store's clock follows the wall clock (the server's), set before each step.
void SyncClock(ManualClock& clock) {
  clock.Advance(std::chrono::microseconds(WallUs() - clock.NowUs()));
}

std::vector<uint64_t> SeedsFromEnv() {
  const char* s = std::getenv("STORMKV_DIFF_SEEDS");
  std::string spec = s != nullptr && *s != '\0' ? s : "1-3";
  std::vector<uint64_t> out;
  size_t dash = spec.find('-');
  if (dash != std::string::npos && spec.find(',') == std::string::npos) {
    uint64_t a = std::strtoull(spec.c_str(), nullptr, 10);
    uint64_t b = std::strtoull(spec.c_str() + dash + 1, nullptr, 10);
    for (uint64_t x = a; x <= b; ++x) out.push_back(x);
    return out;
  }
  size_t at = 0;
  while (at < spec.size()) {
    size_t comma = spec.find(',', at);
    if (comma == std::string::npos) comma = spec.size();
    out.push_back(std::strtoull(spec.substr(at, comma - at).c_str(), nullptr, 10));
    at = comma + 1;
  }
  return out;
}

int EnvInt(const char* name, int def) {
  const char* s = std::getenv(name);
  int v = s != nullptr ? std::atoi(s) : 0;
  return v > 0 ? v : def;
}

// ---------------------------------------------------------------- comparison

bool IsTtlCommand(const Command& c) {
  return EqualsNoCase(c[0], "ttl") || EqualsNoCase(c[0], "pttl");
}

// Pairs of a flat [field, value, ...] array, sorted (hashtable iteration order is the dict's).
std::vector<std::pair<std::string, std::string>> SortedPairs(const Reply& r) {
  std::vector<std::pair<std::string, std::string>> v;
  for (size_t i = 0; i + 1 < r.elements().size(); i += 2)
    v.emplace_back(r.elements()[i].str(), r.elements()[i + 1].str());
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> SortedStrings(const Reply& r) {
  std::vector<std::string> v;
  for (const Reply& e : r.elements()) v.push_back(e.str());
  std::sort(v.begin(), v.end());
  return v;
}

std::string Show(const Result<Reply>& r) {
  return r.ok() ? r->ToString() : "(error) " + r.status().message();
}

// Equal replies for `cmd`; `encoding` is the key's OBJECT ENCODING (read-only commands leave it).
bool SameReply(const Command& cmd, const Result<Reply>& real, const Result<Reply>& mem,
               const std::string& encoding) {
  if (real.ok() != mem.ok()) return false;
  if (!real.ok()) {
    return real.status().code() == mem.status().code() &&
           real.status().message() == mem.status().message();
  }
  if (IsTtlCommand(cmd) && real->is_integer() && mem->is_integer()) {
    // Each side reads its own clock (the store's is set from the wall clock just before the
    // step); -1 and -2 must be equal, remaining times within the step's own duration.
    int64_t a = real->integer(), b = mem->integer();
    if (a < 0 || b < 0) return a == b;
    int64_t slack = EqualsNoCase(cmd[0], "ttl") ? 1 : 250;
    return std::llabs(a - b) <= slack;
  }
  bool ordered = encoding == "listpack" || encoding == "intset";
  if (!ordered && EqualsNoCase(cmd[0], "hgetall") && real->is_array() && mem->is_array())
    return SortedPairs(*real) == SortedPairs(*mem);
  if (!ordered && EqualsNoCase(cmd[0], "smembers") && real->is_array() && mem->is_array())
    return SortedStrings(*real) == SortedStrings(*mem);
  return *real == *mem;
}

// FLUSHDB, then a lookup miss of each kind: on Redis 7.0.15 the first OBJECT ENCODING and the
// first MEMORY USAGE of a missing key after a FLUSHDB each free 32 bytes (measured; the store
// does not model it), so both happen before any reading.
std::vector<Command> AfterFlush() {
  return {{"FLUSHDB"},
          {"OBJECT", "ENCODING", "nokey"},
          {"MEMORY", "USAGE", "nokey", "SAMPLES", "0"}};
}

// ---------------------------------------------------------------- the run

class Differential : public ::testing::Test {
 protected:
  void SetUp() override {
    const uint64_t urandom_seed = 20261201;
    const uint32_t random_seed = 4242;
    setenv("LD_PRELOAD", STORMKV_SEED_SHIM_PATH, 1);
    setenv("STORMKV_SHIM_URANDOM_SEED", std::to_string(urandom_seed).c_str(), 1);
    setenv("STORMKV_SHIM_RANDOM_SEED", std::to_string(random_seed).c_str(), 1);
    // Each test of this file has its own range of ports, away from the fault tests' 23113+:
    // ctest runs them in parallel, and two tests on one server would see each other's keys.
    if (std::getenv("STORMKV_PRIVATE_REDIS_PORT") == nullptr) {
      const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
      int base = 27113;
      if (name.find("Threshold") != std::string::npos) base = 27413;
      if (name.find("Issue") != std::string::npos) base = 27713;
      setenv("STORMKV_PRIVATE_REDIS_PORT", std::to_string(base).c_str(), 1);
      unset_port_ = true;
    }
    // Kept for the test's lifetime: Restart() execs the server again with this environment.
    Result<std::unique_ptr<testing::PrivateRedis>> server =
        testing::PrivateRedis::Start({"--slowlog-log-slower-than", "-1"});
    ASSERT_OK(server.status());
    server_ = std::move(*server);
    dict_seed_ = RedisDictSeed(ShimUrandomBytes(urandom_seed));
    random_seed_ = random_seed;
  }

  void TearDown() override {
    server_.reset();
    unsetenv("LD_PRELOAD");
    if (unset_port_) unsetenv("STORMKV_PRIVATE_REDIS_PORT");
  }

  Result<std::unique_ptr<KvBackend>> OpenRedis() {
    RedisOptions o;
    o.url = server_->Url();
    o.pool_size = 1;
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.command_timeout = std::chrono::milliseconds(30000);
    return NewRedisBackend(o);
  }

  std::unique_ptr<KvBackend> NewStore(std::shared_ptr<ManualClock> clock) {
    MemoryBackendOptions o;
    o.clock = std::move(clock);
    o.dict_hash_seed = dict_seed_;
    o.zset_level_seed = random_seed_;
    return NewMemoryBackend(o).value();
  }

  // used_memory of the server read on a brand-new connection while it is the only client, once
  // serverCron has run for at least 500 ms (5 ticks: a shrink refused while a dict rehashed is
  // retried on a later tick), the db dicts are not rehashing and two readings 150 ms apart agree.
  Result<int64_t> SettledServerUsedMemory() {
    auto started = Clock::now();
    int64_t last = -1;
    for (int attempt = 0; attempt < 200; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a real server's cron
      Result<std::unique_ptr<KvBackend>> kv = OpenRedis();
      if (!kv.ok()) return kv.status();
      Result<Reply> stats = (*kv)->Run({"DEBUG", "HTSTATS", "0"});
      if (!stats.ok()) return stats.status();
      Result<std::map<std::string, std::string>> clients = (*kv)->Info("clients");
      if (!clients.ok()) return clients.status();
      bool quiet = stats->str().find("rehashing target") == std::string::npos &&
                   (*clients)["connected_clients"] == "1" &&
                   Clock::now() - started >= std::chrono::milliseconds(500);
      if (!quiet) {
        last = -1;
        continue;
      }
      std::vector<int64_t> v;
      for (int i = 0; i < 3; ++i) {
        Result<int64_t> used = (*kv)->UsedMemory();
        if (!used.ok()) return used.status();
        v.push_back(*used);
      }
      std::sort(v.begin(), v.end());
      if (v[1] == last) return v[1];
      last = v[1];
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Status::Timeout("the server's used_memory did not settle in 10 s");
  }

  std::unique_ptr<testing::PrivateRedis> server_;
  bool unset_port_ = false;
  std::array<uint8_t, 16> dict_seed_{};
  uint32_t random_seed_ = 1;
};

struct Counts {
  int64_t steps = 0;
  int64_t reply_mismatches = 0;
  int64_t usage_mismatches = 0;
  int64_t encoding_mismatches = 0;
  int64_t used_mismatches = 0;
  int64_t checks = 0;
  int64_t usage_compared = 0;
};

TEST_F(Differential, RandomMixesMatchTheServer) {
  const std::vector<uint64_t> seeds = SeedsFromEnv();
  const int steps = EnvInt("STORMKV_DIFF_STEPS", 3000);
  const int check_every = EnvInt("STORMKV_DIFF_CHECK_EVERY", 1000);
  const int check_from = EnvInt("STORMKV_DIFF_CHECK_FROM", 0);  // no used_memory check before
  const int report_max = EnvInt("STORMKV_DIFF_REPORT", 20);
  // STORMKV_DIFF_TRACE=<key>: prints every step on that key with the server's DEBUG HTSTATS-KEY.
  const char* trace = std::getenv("STORMKV_DIFF_TRACE");
  const bool verbose = std::getenv("STORMKV_DIFF_VERBOSE") != nullptr;  // prints every step
  int reported = 0;
  auto report = [&](const std::string& what) {
    if (reported++ < report_max) ADD_FAILURE() << what;
  };
  Counts total;
  for (uint64_t seed : seeds) {
    ASSERT_OK(server_->Restart());
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> real, OpenRedis());
    auto clock = std::make_shared<ManualClock>(WallUs() / 1000);
    std::unique_ptr<KvBackend> mem = NewStore(clock);
    ASSERT_NE(mem, nullptr);
    Generator gen(seed);
    // Setup and warm-up on both: every command once (Redis allocates a latency histogram on a
    // command's first call), thresholds, cron paused, active expiry off.
    std::vector<Command> setup = gen.WarmUp();
    for (const Command& c : gen.Config()) setup.push_back(c);
    setup.push_back({"DEBUG", "SET-ACTIVE-EXPIRE", "0"});
    for (const Command& c : AfterFlush()) setup.push_back(c);
    for (KvBackend* kv : {real.get(), mem.get()}) {
      for (const Command& c : setup) {
        Result<Reply> r = kv->Run(c);
        ASSERT_TRUE(r.ok() || r.status().message().find("ERR") == 0 ||
                    r.status().message().find("WRONGTYPE") == 0)
            << kv->Describe() << ": " << c[0] << " " << (c.size() > 1 ? c[1] : "") << ": "
            << r.status().ToString();
      }
    }
    auto measure = [&](int64_t* real_used, int64_t* mem_used) -> Status {
      for (KvBackend* kv : {real.get(), mem.get()})
        STORMKV_RETURN_IF_ERROR(kv->Run({"DEBUG", "PAUSE-CRON", "0"}).status());
      AsRedisBackend(real.get())->CloseIdleConnections();
      Result<int64_t> r = SettledServerUsedMemory();
      STORMKV_RETURN_IF_ERROR(r.status());
      *real_used = *r;
      SyncClock(*clock);
      STORMKV_RETURN_IF_ERROR(mem->Run({"PING"}).status());  // runs the store's cron
      Result<int64_t> m = mem->UsedMemory();
      STORMKV_RETURN_IF_ERROR(m.status());
      *mem_used = *m;
      for (KvBackend* kv : {real.get(), mem.get()})
        STORMKV_RETURN_IF_ERROR(kv->Run({"DEBUG", "PAUSE-CRON", "1"}).status());
      return Status::Ok();
    };
    int64_t real0 = 0, mem0 = 0;
    ASSERT_OK(measure(&real0, &mem0));
    int64_t real1 = 0, mem1 = 0;
    ASSERT_OK(measure(&real1, &mem1));
    std::printf("seed %llu: baseline readings real %lld then %lld, mem %lld then %lld\n",
                static_cast<unsigned long long>(seed), static_cast<long long>(real0),
                static_cast<long long>(real1), static_cast<long long>(mem0),
                static_cast<long long>(mem1));
    real0 = real1;
    mem0 = mem1;

    Counts c;
    for (int step = 1; step <= steps; ++step) {
      Step s = gen.Next();
      // A key with a short TTL is touched only once both sides see it expired.
      int64_t wait_until = gen.ExpiryBarrierUs(s.touched);
      while (WallUs() < wait_until)
        std::this_thread::sleep_for(std::chrono::microseconds(wait_until - WallUs()));
      std::vector<Command> batch = {s.cmd};
      if (EqualsNoCase(s.cmd[0], "flushdb")) {
        for (const Command& c : AfterFlush()) batch.push_back(c);
      }
      for (const std::string& k : s.touched) {
        batch.push_back({"OBJECT", "ENCODING", k});
        batch.push_back({"MEMORY", "USAGE", k, "SAMPLES", "0"});
      }
      SyncClock(*clock);
      std::vector<Result<Reply>> rr = real->RunBatch(batch);
      std::vector<Result<Reply>> mr = mem->RunBatch(batch);
      gen.Executed(s, WallUs());
      ASSERT_EQ(rr.size(), batch.size());
      ASSERT_EQ(mr.size(), batch.size());
      ++c.steps;
      const std::string where = "seed " + std::to_string(seed) + " step " + std::to_string(step) +
                                ": " + CommandText(s.cmd);
      std::string enc0 = s.touched.empty() || !rr[1].ok() ? "" : rr[1]->str();
      if (!SameReply(s.cmd, rr[0], mr[0], enc0)) {
        ++c.reply_mismatches;
        report(where + "\n  reply: real " + Show(rr[0]) + "\n         mem  " + Show(mr[0]));
      }
      if (verbose) std::printf("%s\n", where.c_str());
      if (trace != nullptr && std::find(s.touched.begin(), s.touched.end(), trace) != s.touched.end()) {
        Result<Reply> ht = real->Run({"DEBUG", "HTSTATS-KEY", trace});
        std::string t = ht.ok() ? ht->str() : ht.status().message();
        for (char& ch : t) if (ch == '\n') ch = ' ';
        std::printf("TRACE %s\n  real %s | mem %s | %s\n", where.c_str(),
                    Show(rr[rr.size() - 1]).c_str(), Show(mr[mr.size() - 1]).c_str(), t.c_str());
      }
      for (size_t i = 0; i < s.touched.size(); ++i) {
        // FLUSHDB steps touch no key, so the per-key results start at 1.
        const Result<Reply>& re = rr[1 + 2 * i];
        const Result<Reply>& me = mr[1 + 2 * i];
        const Result<Reply>& ru = rr[2 + 2 * i];
        const Result<Reply>& mu = mr[2 + 2 * i];
        if (Show(re) != Show(me)) {
          ++c.encoding_mismatches;
          report(where + "\n  OBJECT ENCODING " + s.touched[i] + ": real " + Show(re) + ", mem " +
                 Show(me));
        }
        ++c.usage_compared;
        if (Show(ru) != Show(mu)) {
          ++c.usage_mismatches;
          report(where + "\n  MEMORY USAGE " + s.touched[i] + " SAMPLES 0: real " + Show(ru) +
                 ", mem " + Show(mu) + " (" + Show(re) + ")");
        }
      }
      if ((step % check_every == 0 && step >= check_from) || step == steps) {
        int64_t ru = 0, mu = 0;
        ASSERT_OK(measure(&ru, &mu));
        ++c.checks;
        // Keys and keys-with-TTL per side (INFO keyspace without avg_ttl, which reads the clock).
        auto keyspace = [](KvBackend& kv) {
          Result<std::map<std::string, std::string>> info = kv.Info("keyspace");
          std::string db = info.ok() ? (*info)["db0"] : info.status().ToString();
          return db.substr(0, db.find(",avg_ttl"));
        };
        const std::string ks_real = keyspace(*real), ks_mem = keyspace(*mem);
        if (ks_real != ks_mem) {
          ++c.used_mismatches;
          report("seed " + std::to_string(seed) + " after step " + std::to_string(step) +
                 ": INFO keyspace: real " + ks_real + ", mem " + ks_mem);
        }
        if (ru - real0 != mu - mem0) {
          ++c.used_mismatches;
          report("seed " + std::to_string(seed) + " after step " + std::to_string(step) +
                 ": used_memory delta: real " + std::to_string(ru - real0) + ", mem " +
                 std::to_string(mu - mem0) + " (" + std::to_string(gen.LiveKeysHint()) + ")");
        }
      }
    }
    std::printf(
        "seed %llu: %lld steps, %lld MEMORY USAGE compared | mismatches: reply %lld, MEMORY "
        "USAGE %lld, encoding %lld, used_memory %lld of %lld checks\n",
        static_cast<unsigned long long>(seed), static_cast<long long>(c.steps),
        static_cast<long long>(c.usage_compared), static_cast<long long>(c.reply_mismatches),
        static_cast<long long>(c.usage_mismatches), static_cast<long long>(c.encoding_mismatches),
        static_cast<long long>(c.used_mismatches), static_cast<long long>(c.checks));
    std::fflush(stdout);
    total.steps += c.steps;
    total.reply_mismatches += c.reply_mismatches;
    total.usage_mismatches += c.usage_mismatches;
    total.encoding_mismatches += c.encoding_mismatches;
    total.used_mismatches += c.used_mismatches;
  }
  EXPECT_EQ(total.reply_mismatches, 0);
  EXPECT_EQ(total.usage_mismatches, 0);
  EXPECT_EQ(total.encoding_mismatches, 0);
  EXPECT_EQ(total.used_mismatches, 0);
}

// The issue's two reproductions, on their own (a value longer than 64 bytes forces the
// conversion; the skiplist's node sizes come from the shared level generator).
TEST_F(Differential, IssueReproductions) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> real, OpenRedis());
  std::unique_ptr<KvBackend> mem = NewStore(std::make_shared<ManualClock>(WallUs() / 1000));
  const std::string long_value(70, 'x');
  std::vector<Command> cmds = {
      {"HSET", "h", "f1", "a", "f2", "b", "f3", "c", "f4", "d", "f5", "e", "f6", "f", "f7",
       long_value},
      {"ZADD", "z", "1", "a"},
      {"ZADD", "z", "2", "b"},
      {"ZADD", "z", "3", long_value}};
  for (const Command& c : cmds) {
    ASSERT_OK(real->Run(c).status());
    ASSERT_OK(mem->Run(c).status());
  }
  for (const char* key : {"h", "z"}) {
    ASSERT_OK_AND_ASSIGN(Reply ru, real->Run({"MEMORY", "USAGE", key, "SAMPLES", "0"}));
    ASSERT_OK_AND_ASSIGN(Reply mu, mem->Run({"MEMORY", "USAGE", key, "SAMPLES", "0"}));
    EXPECT_EQ(ru, mu) << key;
    std::printf("MEMORY USAGE %s SAMPLES 0: real %s, memory %s\n", key, ru.ToString().c_str(),
                mu.ToString().c_str());
  }
}

// Shapes the calibration never had (issue 17): every encoding threshold -1/0/+1 (entries and
// element length), each built by one command (conversion on creation) and by one command per
// element (conversion later), with and without a TTL, sorted sets included. Per shape: OBJECT
// ENCODING and MEMORY USAGE SAMPLES 0 of every key, and the used_memory delta of the whole set of
// keys (settled), against the seeded server.
TEST_F(Differential, EncodingThresholdShapes) {
  struct Shape {
    std::string name;
    std::vector<Command> cmds;
  };
  auto text = [](size_t n, char c) { return std::string(n, c); };
  std::vector<Shape> shapes;
  const int per_shape = 10;  // keys per shape
  for (int delta : {-1, 0, 1}) {
    for (bool one_command : {true, false}) {
      for (bool ttl : {false, true}) {
        const std::string tag = std::string(one_command ? "bulk" : "incr") + (ttl ? "+ttl" : "") +
                                (delta < 0 ? " -1" : delta > 0 ? " +1" : " 0");
        struct Kind {
          const char* name;
          size_t entries;  // elements
          size_t len;      // element length
          char type;       // h, s, z
        };
        const std::vector<Kind> kinds = {
            {"hash entries 512", static_cast<size_t>(512 + delta), 8, 'h'},
            {"hash value 64", 4, static_cast<size_t>(64 + delta), 'h'},
            {"set intset 512", static_cast<size_t>(512 + delta), 0, 's'},
            {"zset entries 128", static_cast<size_t>(128 + delta), 8, 'z'},
            {"zset value 64", 4, static_cast<size_t>(64 + delta), 'z'}};
        for (const Kind& k : kinds) {
          Shape sh{std::string(k.name) + " " + tag, {}};
          for (int i = 0; i < per_shape; ++i) {
            const std::string key = "t:" + std::to_string(shapes.size()) + ":" + std::to_string(i);
            Command bulk;
            if (k.type == 'h') bulk = {"HSET", key};
            if (k.type == 's') bulk = {"SADD", key};
            if (k.type == 'z') bulk = {"ZADD", key};
            for (size_t j = 0; j < k.entries; ++j) {
              std::string el = k.type == 's' ? std::to_string(j * 7 + i)
                                             : "e" + std::to_string(j) + ":";
              if (k.type != 's' && el.size() < k.len) el += text(k.len - el.size(), 'x');
              Command one = {bulk[0], key};
              if (k.type == 'h') one.insert(one.end(), {el, std::to_string(j)});
              if (k.type == 's') one.push_back(el);
              if (k.type == 'z') one.insert(one.end(), {std::to_string(j % 17), el});
              if (one_command) {
                bulk.insert(bulk.end(), one.begin() + 2, one.end());
              } else {
                sh.cmds.push_back(one);
              }
            }
            if (one_command) sh.cmds.push_back(bulk);
            if (ttl) sh.cmds.push_back({"EXPIRE", key, std::to_string(1000 + i)});
          }
          shapes.push_back(std::move(sh));
        }
      }
    }
  }
  Generator gen(2);  // even seed: the default thresholds
  std::vector<Command> setup = gen.WarmUp();
  setup.push_back({"DEBUG", "SET-ACTIVE-EXPIRE", "0"});
  for (const Command& c : AfterFlush()) setup.push_back(c);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> real, OpenRedis());
  auto clock = std::make_shared<ManualClock>(WallUs() / 1000);
  std::unique_ptr<KvBackend> mem = NewStore(clock);
  for (KvBackend* kv : {real.get(), mem.get()}) {
    for (const Command& c : setup) kv->Run(c).status().ok();
  }
  int failures = 0;
  int64_t r0 = 0, m0 = 0, r1 = 0, m1 = 0;
  auto settle = [&](int64_t* r, int64_t* m) {
      AsRedisBackend(real.get())->CloseIdleConnections();
      Result<int64_t> used = SettledServerUsedMemory();
      ASSERT_OK(used.status());
      *r = *used;
      SyncClock(*clock);
      ASSERT_OK(mem->Run({"PING"}).status());
      ASSERT_OK_AND_ASSIGN(*m, mem->UsedMemory());
  };
  ASSERT_NO_FATAL_FAILURE(settle(&r0, &m0));
  for (size_t si = 0; si < shapes.size(); ++si) {
    const Shape& sh = shapes[si];
    for (size_t i = 0; i < sh.cmds.size(); i += 200) {
      std::vector<Command> chunk(sh.cmds.begin() + i,
                                 sh.cmds.begin() + std::min(sh.cmds.size(), i + 200));
      SyncClock(*clock);
      for (KvBackend* kv : {real.get(), mem.get()}) {
        for (const Result<Reply>& r : kv->RunBatch(chunk)) {
          ASSERT_TRUE(r.ok()) << sh.name << ": " << r.status().ToString();
        }
      }
    }
    ASSERT_NO_FATAL_FAILURE(settle(&r1, &m1));
    std::string enc;
    int64_t mu_real = 0, mu_mem = 0;
    for (int i = 0; i < per_shape; ++i) {
      const std::string key = "t:" + std::to_string(si) + ":" + std::to_string(i);
      Command e = {"OBJECT", "ENCODING", key}, u = {"MEMORY", "USAGE", key, "SAMPLES", "0"};
      std::vector<Result<Reply>> rr = real->RunBatch({e, u}), mr = mem->RunBatch({e, u});
      if (Show(rr[0]) != Show(mr[0]) || Show(rr[1]) != Show(mr[1])) {
        ++failures;
        ADD_FAILURE() << sh.name << " " << key << ": real " << Show(rr[0]) << " " << Show(rr[1])
                      << ", mem " << Show(mr[0]) << " " << Show(mr[1]);
      }
      if (i == 0 && rr[0].ok()) enc = rr[0]->str();
      if (rr[1].ok() && rr[1]->is_integer()) mu_real += rr[1]->integer();
      if (mr[1].ok() && mr[1]->is_integer()) mu_mem += mr[1]->integer();
    }
    EXPECT_EQ(r1 - r0, m1 - m0) << sh.name << ": used_memory delta";
    std::printf("%-32s enc=%-9s used delta real %8lld mem %8lld | MEMORY USAGE sum real %8lld mem %8lld\n",
                sh.name.c_str(), enc.c_str(), static_cast<long long>(r1 - r0),
                static_cast<long long>(m1 - m0), static_cast<long long>(mu_real),
                static_cast<long long>(mu_mem));
    ASSERT_LT(failures, 10);
    r0 = r1;
    m0 = m1;
  }
}

// The seed derivation the whole differential rests on: SHA-256 test vectors.
TEST(SeededRedis, Sha256KnownAnswers) {
  auto hex = [](const std::array<uint8_t, 32>& d) {
    std::string s;
    char b[3];
    for (uint8_t x : d) {
      std::snprintf(b, sizeof b, "%02x", x);
      s += b;
    }
    return s;
  };
  EXPECT_EQ(hex(Sha256(reinterpret_cast<const uint8_t*>("abc"), 3)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(Sha256(nullptr, 0)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const char* two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(hex(Sha256(reinterpret_cast<const uint8_t*>(two), 56)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

}  // namespace
}  // namespace stormkv::fidelity
