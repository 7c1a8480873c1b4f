// The shared-segment store: lifecycle (create, attach, remove, stale and foreign segments), the
// same commands/accounting/maxmemory/scripts/clock from several processes, the segment size as a
// hard cap with all-or-nothing commands, and a lock holder killed mid-operation.
#include "stormkv/shm_backend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <future>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "common/test_util.h"
#include "shm/shm_test_util.h"
#include "stormkv/byte_size.h"
#include "stormkv/memory_backend.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

using shmtest::AttachOptions;
using shmtest::Child;
using shmtest::CreateOptions;
using shmtest::InfoField;
using shmtest::Key;
using shmtest::RunInChild;
using shmtest::SegmentGuard;
using shmtest::UniqueName;
using std::chrono::milliseconds;

std::unique_ptr<ShmBackend> MustOpen(const ShmBackendOptions& o) {
  Result<std::unique_ptr<ShmBackend>> b = NewShmBackend(o);
  if (!b.ok()) {
    ADD_FAILURE() << "NewShmBackend(" << o.name << "): " << b.status();
    return nullptr;
  }
  return std::move(*b);
}

// Exit code 0 when `kv` answers GET key with `want`.
int ExpectGet(KvBackend& kv, const std::string& key, const std::string& want) {
  Result<std::optional<std::string>> v = kv.Get(key);
  if (!v.ok()) return 2;
  if (!v->has_value()) return 3;
  return **v == want ? 0 : 4;
}

// ---- scripts the tests run in children (every process registers the same ones) -------------

int g_signal_fd = -1;  // set in the child before it runs a script that reports progress

void Signal(char c) {
  if (g_signal_fd >= 0) (void)!::write(g_signal_fd, &c, 1);
}

const Script& IncrTwiceScript() {
  static const Script& s = ScriptRegistry::Global().Register(Script(
      "shm_test_incr_twice", "redis.call('INCR', KEYS[1]) return redis.call('INCR', KEYS[1])",
      [](ScriptContext& ctx, const std::vector<std::string>& keys,
         const std::vector<std::string>&) -> Result<Reply> {
        Result<Reply> r = ctx.Call({"INCR", keys[0]});
        if (!r.ok()) return r;
        return ctx.Call({"INCR", keys[0]});
      }));
  return s;
}

// Reports 'L' once it holds the lock, then blocks forever without writing.
const Script& BlockScript() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("shm_test_block", "return redis.call('GET', KEYS[1])",
             [](ScriptContext& ctx, const std::vector<std::string>& keys,
                const std::vector<std::string>&) -> Result<Reply> {
               Result<Reply> r = ctx.Call({"GET", keys[0]});
               Signal('L');
               for (;;) ::pause();
               return r;
             }));
  return s;
}

// INCRs KEYS[1] forever; reports 'W' after the 100th.
const Script& IncrLoopScript() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("shm_test_incr_loop", "while true do redis.call('INCR', KEYS[1]) end",
             [](ScriptContext& ctx, const std::vector<std::string>& keys,
                const std::vector<std::string>&) -> Result<Reply> {
               for (int i = 1;; ++i) {
                 Result<Reply> r = ctx.Call({"INCR", keys[0]});
                 if (!r.ok()) return r;
                 if (i == 100) Signal('W');
               }
             }));
  return s;
}

// Allocates forever (new hash fields, set members, strings); reports 'W' after `ARGV[1]` rounds.
const Script& AllocLoopScript() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("shm_test_alloc_loop", "-- allocation-heavy loop (native twin only)",
             [](ScriptContext& ctx, const std::vector<std::string>& keys,
                const std::vector<std::string>& args) -> Result<Reply> {
               int report = std::stoi(args[0]);
               for (int i = 1;; ++i) {
                 std::string n = std::to_string(i);
                 for (const Command& c :
                      {Command{"HSET", keys[0], "field-" + n, std::string(i % 300, 'v')},
                       Command{"SADD", keys[1], "member-" + n},
                       Command{"SET", keys[2] + n, std::string(i % 700, 's')},
                       Command{"ZADD", keys[3], n, "z" + n}}) {
                   Result<Reply> r = ctx.Call(c);
                   if (!r.ok()) return r;
                 }
                 if (i == report) Signal('W');
               }
             }));
  return s;
}

// HSETs new fields until a command fails; returns how many succeeded, or the failure.
const Script& FillHashScript() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("shm_test_fill_hash", "-- HSET until an error (native twin only)",
             [](ScriptContext& ctx, const std::vector<std::string>& keys,
                const std::vector<std::string>&) -> Result<Reply> {
               for (int i = 0;; ++i) {
                 Result<Reply> r = ctx.Call({"HSET", keys[0], Key("f", i), std::string(200, 'x')});
                 if (!r.ok()) return r;
               }
             }));
  return s;
}

// ---- lifecycle ----------------------------------------------------------------------------

TEST(ShmLifecycle, CreateAttachShareAndRemove) {
  std::string name = UniqueName("life");
  SegmentGuard guard{name};
  auto a = MustOpen(CreateOptions(name));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->Describe(), "shm://" + name);
  auto b = MustOpen(AttachOptions(name));
  ASSERT_TRUE(b);
  ASSERT_OK(a->Set("k", "v1"));
  ASSERT_OK_AND_ASSIGN(auto got, b->Get("k"));
  EXPECT_EQ(got, std::optional<std::string>("v1"));

  ASSERT_OK_AND_ASSIGN(ShmSegmentInfo info, b->SegmentInfo());
  EXPECT_EQ(info.creator_pid, ::getpid());
  EXPECT_TRUE(info.creator_alive);
  EXPECT_EQ(info.attached_pids.size(), 2u);  // two handles in this process
  EXPECT_FALSE(info.stale);
  EXPECT_EQ(info.health, ShmHealth::kConsistent);
  EXPECT_EQ(info.segment_bytes, int64_t{64} << 20);
  EXPECT_GT(info.free_bytes, int64_t{60} << 20);

  ASSERT_OK(RemoveShmSegment(name));
  Result<std::unique_ptr<ShmBackend>> gone = NewShmBackend(AttachOptions(name));
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.status().IsInvalidArgument());
  EXPECT_EQ(gone.status().message(), "shm segment '" + name + "' does not exist");
  // Attached handles keep working after the name is gone.
  ASSERT_OK(b->Set("k", "v2"));
  EXPECT_EQ(ExpectGet(*a, "k", "v2"), 0);
  Status again = RemoveShmSegment(name);
  EXPECT_TRUE(again.IsInvalidArgument()) << again;
}

// KvBackend::Info(section) is not hidden by the segment's own figures (SegmentInfo): on the
// derived type, b.Info("memory") compiles and answers INFO memory; b.Info("shm") the segment's.
TEST(ShmLifecycle, InfoSectionsStayReachableOnTheDerivedType) {
  std::string name = UniqueName("infosec");
  SegmentGuard guard{name};
  std::unique_ptr<ShmBackend> kv = MustOpen(CreateOptions(name));
  ASSERT_TRUE(kv);
  ShmBackend& b = *kv;
  ASSERT_OK(b.Set("k", "v"));
  ASSERT_OK_AND_ASSIGN(auto memory, b.Info("memory"));
  ASSERT_TRUE(memory.count("used_memory"));
  EXPECT_GT(std::stoll(memory["used_memory"]), 0);
  EXPECT_EQ(memory.count("stormkv_shm_name"), 0u);  // only the section asked for
  ASSERT_OK_AND_ASSIGN(auto shm, b.Info("shm"));
  EXPECT_EQ(shm["stormkv_shm_name"], name);
  EXPECT_EQ(shm["stormkv_shm_health"], "consistent");
  ASSERT_OK_AND_ASSIGN(auto defaults, b.Info());
  EXPECT_TRUE(defaults.count("used_memory") && defaults.count("stormkv_shm_name"));
  ASSERT_OK_AND_ASSIGN(ShmSegmentInfo seg, b.SegmentInfo());
  EXPECT_EQ(seg.name, name);
}

TEST(ShmLifecycle, CreateRefusesAnExistingSegmentAndCreateOrAttachJoinsIt) {
  std::string name = UniqueName("exists");
  SegmentGuard guard{name};
  auto a = MustOpen(CreateOptions(name));
  ASSERT_TRUE(a);
  Result<std::unique_ptr<ShmBackend>> dup = NewShmBackend(CreateOptions(name));
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(dup.status().IsInvalidArgument());
  EXPECT_NE(dup.status().message().find(Key("already exists (created by pid ", ::getpid()) +
                                        ", alive, 1 attached)"),
            std::string::npos)
      << dup.status();
  ShmBackendOptions o = CreateOptions(name);
  o.open = ShmBackendOptions::OpenMode::kCreateOrAttach;
  auto b = MustOpen(o);
  ASSERT_TRUE(b);
  ASSERT_OK(a->Set("x", "1"));
  EXPECT_EQ(ExpectGet(*b, "x", "1"), 0);
}

TEST(ShmLifecycle, RemoveOnCloseRemovesTheName) {
  std::string name = UniqueName("roc");
  SegmentGuard guard{name};
  ShmBackendOptions o = CreateOptions(name);
  o.remove_on_close = true;
  {
    auto a = MustOpen(o);
    ASSERT_TRUE(a);
    ASSERT_OK(InspectShmSegment(name));
  }
  EXPECT_TRUE(InspectShmSegment(name).status().IsInvalidArgument());
}

TEST(ShmLifecycle, RejectsBadNamesAndSizes) {
  ShmBackendOptions o = CreateOptions("bad/name");
  Result<std::unique_ptr<ShmBackend>> r = NewShmBackend(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("[A-Za-z0-9._-]"), std::string::npos) << r.status();
  std::string name = UniqueName("tiny");
  SegmentGuard guard{name};
  r = NewShmBackend(CreateOptions(name, 4096));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too small (at least 1mb)"), std::string::npos) << r.status();
  EXPECT_TRUE(InspectShmSegment(name).status().IsInvalidArgument());  // nothing left behind
}

// The shm factory validates the store's options exactly like NewMemoryBackend (one validator),
// before it creates anything.
TEST(ShmLifecycle, RejectsBadStoreOptionsBeforeCreatingAnything) {
  std::string name = UniqueName("badopts");
  SegmentGuard guard{name};
  ShmBackendOptions o = CreateOptions(name);
  o.store.maxmemory_policy = "allkeys-lur";
  Result<std::unique_ptr<ShmBackend>> r = NewShmBackend(o);
  ASSERT_TRUE(r.status().IsInvalidArgument()) << r.status();
  EXPECT_EQ(r.status().message(),
            "shm segment '" + name +
                "': maxmemory_policy: unknown policy 'allkeys-lur' (noeviction, allkeys-lru, "
                "volatile-lru, allkeys-lfu, volatile-lfu, allkeys-random, volatile-random, "
                "volatile-ttl)");
  o = CreateOptions(name);
  o.store.maxmemory = -5;
  EXPECT_TRUE(NewShmBackend(o).status().IsInvalidArgument());
  o = CreateOptions(name);
  o.store.fresh_server = true;
  r = NewShmBackend(o);
  ASSERT_TRUE(r.status().IsInvalidArgument()) << r.status();
  EXPECT_NE(r.status().message().find("fresh_server is not supported"), std::string::npos);
  EXPECT_TRUE(InspectShmSegment(name).status().IsInvalidArgument());  // nothing left behind
}

TEST(ShmLifecycle, ForeignObjectIsNotAStormkvSegment) {
  std::string name = UniqueName("foreign");
  SegmentGuard guard{name};
  int fd = ::shm_open(("/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 1 << 20), 0);
  ASSERT_EQ(::write(fd, "hello, not stormkv", 18), 18);
  ::close(fd);
  Result<std::unique_ptr<ShmBackend>> r = NewShmBackend(AttachOptions(name));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption()) << r.status();
  EXPECT_NE(r.status().message().find("is not a stormkv segment (magic 0x"), std::string::npos)
      << r.status();
}

TEST(ShmLifecycle, IncompatibleLayoutIsReported) {
  std::string name = UniqueName("layout");
  SegmentGuard guard{name};
  { ASSERT_TRUE(MustOpen(CreateOptions(name))); }
  int fd = ::shm_open(("/" + name).c_str(), O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(p, MAP_FAILED);
  uint32_t version;
  std::memcpy(&version, static_cast<char*>(p) + 8, 4);  // layout_version never moves
  version += 7;
  std::memcpy(static_cast<char*>(p) + 8, &version, 4);
  ::munmap(p, 4096);
  Result<std::unique_ptr<ShmBackend>> r = NewShmBackend(AttachOptions(name));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find("was made by an incompatible stormkv build (layout " +
                                      std::to_string(version)),
            std::string::npos)
      << r.status();
}

TEST(ShmLifecycle, SegmentWhoseUsersDiedIsStale) {
  std::string name = UniqueName("stale");
  SegmentGuard guard{name};
  Child creator([&](int to_parent) {
    auto kv = NewShmBackend(CreateOptions(name));
    if (!kv.ok() || !(*kv)->Set("left", "behind").ok()) return 1;
    (void)!::write(to_parent, "C", 1);
    for (;;) ::pause();
  });
  ASSERT_EQ(creator.ReadByte(), 'C');
  pid_t pid = creator.pid();
  creator.Kill();

  ASSERT_OK_AND_ASSIGN(ShmSegmentInfo info, InspectShmSegment(name));
  EXPECT_TRUE(info.stale);
  EXPECT_EQ(info.creator_pid, pid);
  EXPECT_FALSE(info.creator_alive);
  EXPECT_EQ(info.dead_attached_pids, std::vector<int32_t>{pid});

  Result<std::unique_ptr<ShmBackend>> r = NewShmBackend(AttachOptions(name));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable());
  EXPECT_EQ(r.status().message(),
            "shm segment '" + name +
                "' is stale: every process that had it attached died without detaching (pid " +
                std::to_string(pid) + Key("; creator pid ", pid) +
                " dead); remove it, or attach with stale=ok (allow_stale) to use its data");
  ShmBackendOptions o = AttachOptions(name);
  o.allow_stale = true;
  auto kv = MustOpen(o);
  ASSERT_TRUE(kv);
  EXPECT_EQ(ExpectGet(*kv, "left", "behind"), 0);
  ASSERT_OK_AND_ASSIGN(info, kv->SegmentInfo());
  EXPECT_FALSE(info.stale);
  EXPECT_TRUE(info.dead_attached_pids.empty());
}

TEST(ShmLifecycle, CreatorThatExitedCleanlyLeavesAUsableSegment) {
  std::string name = UniqueName("clean");
  SegmentGuard guard{name};
  EXPECT_EQ(RunInChild([&] {
              auto kv = NewShmBackend(CreateOptions(name));
              if (!kv.ok()) return 1;
              if (!(*kv)->Set("persist", "yes").ok()) return 2;
              return 0;  // the backend closes (detaches) before _exit
            }),
            0);
  ASSERT_OK_AND_ASSIGN(ShmSegmentInfo info, InspectShmSegment(name));
  EXPECT_FALSE(info.stale);
  EXPECT_FALSE(info.creator_alive);
  auto kv = MustOpen(AttachOptions(name));
  ASSERT_TRUE(kv);
  EXPECT_EQ(ExpectGet(*kv, "persist", "yes"), 0);
}

TEST(ShmLifecycle, FileBackedSegment) {
  std::string path = "/tmp/" + UniqueName("file") + ".seg";
  SegmentGuard guard{path};
  ShmBackendOptions o;
  o.file = path;
  o.open = ShmBackendOptions::OpenMode::kCreate;
  o.size = 8 << 20;
  auto a = MustOpen(o);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->Describe(), "shm://" + path);
  ASSERT_OK(a->Set("f", "1"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvBackend> b, OpenShmBackend("shm://" + path));
  EXPECT_EQ(ExpectGet(*b, "f", "1"), 0);
  EXPECT_EQ(RunInChild([&] {
              auto c = OpenShmBackend("shm://" + path);
              return c.ok() ? ExpectGet(**c, "f", "1") : 1;
            }),
            0);
  ASSERT_OK(RemoveShmSegment(path));
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

// ---- URLs ---------------------------------------------------------------------------------

TEST(ShmUrl, ParsesNamesSizesAndOptions) {
  ASSERT_OK_AND_ASSIGN(ShmBackendOptions o, ParseShmUrl("shm://gw-state?size=256mb&create=1"));
  EXPECT_EQ(o.name, "gw-state");
  EXPECT_TRUE(o.file.empty());
  EXPECT_EQ(o.size, 268435456);
  EXPECT_EQ(o.open, ShmBackendOptions::OpenMode::kCreateOrAttach);
  EXPECT_EQ(o.clock_mode, ShmClockMode::kVirtual);

  ASSERT_OK_AND_ASSIGN(o, ParseShmUrl("shm://x"));
  EXPECT_EQ(o.open, ShmBackendOptions::OpenMode::kAttach);

  ASSERT_OK_AND_ASSIGN(
      o, ParseShmUrl("shm:///var/tmp/gw.seg?size=1gb&clock=real&maxmemory=100mb&"
                     "policy=allkeys-lru&stale=ok&inconsistent=ok&lock_timeout_ms=250"));
  EXPECT_EQ(o.file, "/var/tmp/gw.seg");
  EXPECT_EQ(o.size, int64_t{1} << 30);
  EXPECT_EQ(o.clock_mode, ShmClockMode::kReal);
  EXPECT_EQ(o.store.maxmemory, 100 << 20);
  EXPECT_EQ(o.store.maxmemory_policy, "allkeys-lru");
  EXPECT_TRUE(o.allow_stale);
  EXPECT_TRUE(o.allow_inconsistent);
  EXPECT_EQ(o.lock_timeout, milliseconds(250));

  for (const char* bad :
       {"redis://x", "shm://", "shm://a b", "shm://x?size=lots", "shm://x?color=red",
        "shm://x?clock=fast", "shm://x?policy=most-recent", "shm://rel/path"}) {
    Result<ShmBackendOptions> r = ParseShmUrl(bad);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad;
  }
  Result<ShmBackendOptions> r = ParseShmUrl("shm://x?color=red");
  EXPECT_EQ(
      r.status().message(),
      "shm URL 'shm://x?color=red': unknown parameter 'color' (size, create, clock, maxmemory, "
      "policy, preallocate, stale, inconsistent, lock_timeout_ms)");
}

// size= and maxmemory= take what --budget / --shm-size take: the one parser (byte_size.h).
TEST(ShmUrl, SizesAreParsedLikeTheCliOptions) {
  for (const char* text : {"256mib", "256MiB", "256mb", "268435456", "1gb", "1gib", "64m", "2048k",
                           "512kb"}) {
    ASSERT_OK_AND_ASSIGN(int64_t want, ParseByteSize(text));
    ASSERT_OK_AND_ASSIGN(ShmBackendOptions o,
                         ParseShmUrl(std::string("shm://x?size=") + text + "&maxmemory=" + text));
    EXPECT_EQ(o.size, want) << text;
    EXPECT_EQ(o.store.maxmemory, want) << text;
  }
  Result<ShmBackendOptions> r = ParseShmUrl("shm://x?size=1.5gb");
  EXPECT_EQ(r.status().message(),
            "shm URL 'shm://x?size=1.5gb': size '1.5gb' is not a size (e.g. 256mb, 256mib, 1gb)");
  EXPECT_TRUE(ParseShmUrl("shm://x?size=0").status().IsInvalidArgument());
  EXPECT_TRUE(ParseShmUrl("shm://x?maxmemory=-1mb").status().IsInvalidArgument());
}

TEST(ShmUrl, OpenShmBackendCreatesThenAttaches) {
  std::string name = UniqueName("url");
  SegmentGuard guard{name};
  Result<std::unique_ptr<KvBackend>> missing = OpenShmBackend("shm://" + name);
  EXPECT_TRUE(missing.status().IsInvalidArgument());
  ASSERT_OK_AND_ASSIGN(auto a,
                       OpenShmBackend("shm://" + name + "?size=16mb&create=1&maxmemory=1mb"));
  ASSERT_OK_AND_ASSIGN(auto b, OpenShmBackend("shm://" + name));
  ASSERT_OK_AND_ASSIGN(auto mm, b->ConfigGet("maxmemory"));
  EXPECT_EQ(mm, std::optional<std::string>("1048576"));
  EXPECT_EQ(InfoField(*a, "stormkv_shm_segment_bytes"), std::to_string(16 << 20));
  EXPECT_EQ(InfoField(*a, "stormkv_backend"), "shm");
}

// ---- the same store from several processes --------------------------------------------------

std::vector<Command> MixedWorkload() {
  std::vector<Command> cmds;
  for (int i = 0; i < 1500; ++i) {
    std::string n = std::to_string(i);
    cmds.push_back({"SET", "s" + n, std::string(static_cast<size_t>(i % 90), 'v'), "EX", "100"});
    cmds.push_back({"HSET", Key("h", i % 7), "f" + n, n});
    cmds.push_back({"SADD", Key("set", i % 5), i % 2 ? "m" + n : n});
    cmds.push_back({"ZADD", Key("z", i % 3), n, "m" + n});
    cmds.push_back({"INCRBY", "counter", n});
    if (i % 3 == 0) cmds.push_back({"DEL", Key("s", i / 2)});
    if (i % 11 == 0) cmds.push_back({"HDEL", Key("h", i % 7), Key("f", i / 2)});
  }
  return cmds;
}

TEST(ShmStore, ChildWritesParentReadsWithTheSameAccountingAsTheInProcessStore) {
  std::string name = UniqueName("acct");
  SegmentGuard guard{name};
  auto shm = MustOpen(CreateOptions(name));
  ASSERT_TRUE(shm);
  auto clock = std::make_shared<ManualClock>();
  MemoryBackendOptions mo;
  mo.clock = clock;
  std::unique_ptr<KvBackend> mem = NewMemoryBackend(mo).value();

  std::vector<Command> cmds = MixedWorkload();
  EXPECT_EQ(RunInChild([&] {
              auto kv = NewShmBackend(AttachOptions(name));
              if (!kv.ok()) return 1;
              for (const Command& c : cmds) {
                if (!(*kv)->Run(c).ok()) return 2;
              }
              return 0;
            }),
            0);
  for (const Command& c : cmds) ASSERT_OK(mem->Run(c));

  for (const Command& c : std::vector<Command>{{"HGETALL", "h3"},
                                               {"ZRANGEBYSCORE", "z1", "(100", "200", "WITHSCORES"},
                                               {"SMEMBERS", "set2"},
                                               {"GET", "counter"},
                                               {"PTTL", "s1499"},
                                               {"DBSIZE"},
                                               {"MEMORY", "USAGE", "h3", "SAMPLES", "0"},
                                               {"MEMORY", "USAGE", "z2", "SAMPLES", "0"},
                                               {"OBJECT", "ENCODING", "set2"}}) {
    Result<Reply> a = shm->Run(c);
    Result<Reply> b = mem->Run(c);
    ASSERT_OK(a);
    ASSERT_OK(b);
    EXPECT_EQ(*a, *b) << c[0];
  }
  ASSERT_OK_AND_ASSIGN(int64_t used_shm, shm->UsedMemory());
  ASSERT_OK_AND_ASSIGN(int64_t used_mem, mem->UsedMemory());
  EXPECT_EQ(used_shm, used_mem);
  EXPECT_EQ(InfoField(*shm, "used_memory_peak"), InfoField(*mem, "used_memory_peak"));
  ASSERT_OK(shm->CheckIntegrity());
}

TEST(ShmStore, RandomWorkloadMatchesTheInProcessStoreReplyForReply) {
  std::string name = UniqueName("diff");
  SegmentGuard guard{name};
  ShmBackendOptions so = CreateOptions(name, 32 << 20);
  so.store.maxmemory = 1460000;  // ~27 KB above the empty store: evictions happen
  so.store.maxmemory_policy = "allkeys-lru";
  auto shm = MustOpen(so);
  ASSERT_TRUE(shm);
  auto clock = std::make_shared<ManualClock>();
  MemoryBackendOptions mo;
  mo.clock = clock;
  mo.maxmemory = so.store.maxmemory;
  mo.maxmemory_policy = so.store.maxmemory_policy;
  std::unique_ptr<KvBackend> mem = NewMemoryBackend(mo).value();

  std::mt19937_64 rng(::testing::UnitTest::GetInstance()->random_seed());
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  for (int step = 0; step < 20000; ++step) {
    std::string k = Key("k", pick(300));
    std::string m = std::to_string(pick(400));
    Command c;
    switch (pick(14)) {
      case 0:
        c = {"SET", k, std::string(static_cast<size_t>(pick(200)), 'x')};
        break;
      case 1:
        c = {"SET", k, m, "PX", std::to_string(1 + pick(5000))};
        break;
      case 2:
        c = {"HSET", k, "f" + m, m, "g" + m, std::string(static_cast<size_t>(pick(80)), 'y')};
        break;
      case 3:
        c = {"HDEL", k, "f" + m};
        break;
      case 4:
        c = {"SADD", k, m, "s" + m};
        break;
      case 5:
        c = {"SREM", k, m};
        break;
      case 6:
        c = {"ZADD", k, std::to_string(pick(50)), "z" + m};
        break;
      case 7:
        c = {"ZREMRANGEBYSCORE", k, "0", std::to_string(pick(50))};
        break;
      case 8:
        c = {"INCRBY", k, m};
        break;
      case 9:
        c = {"DEL", k};
        break;
      case 10:
        c = {"PEXPIRE", k, std::to_string(1 + pick(3000))};
        break;
      case 11:
        c = {"HGETALL", k};
        break;
      case 12:
        c = {"ZRANGEBYSCORE", k, "-inf", "+inf", "WITHSCORES"};
        break;
      default:
        c = {"TYPE", k};
        break;
    }
    Result<Reply> a = shm->Run(c);
    Result<Reply> b = mem->Run(c);
    ASSERT_EQ(a.status(), b.status()) << "step " << step << " " << c[0] << " " << c[1];
    if (a.ok()) {
      ASSERT_EQ(*a, *b) << "step " << step << " " << c[0] << " " << c[1];
    }
    if (step % 50 == 0) {
      clock->Advance(milliseconds(pick(400)));
      shm->clock()->Advance(std::chrono::duration_cast<std::chrono::microseconds>(
          milliseconds(clock->NowMs() - shm->clock()->NowMs())));
    }
    if (step % 2000 == 0) {
      Status sound = shm->CheckIntegrity();
      ASSERT_TRUE(sound.ok()) << "step " << step << ": " << sound;
    }
  }
  ASSERT_OK_AND_ASSIGN(int64_t used_shm, shm->UsedMemory());
  ASSERT_OK_AND_ASSIGN(int64_t used_mem, mem->UsedMemory());
  EXPECT_EQ(used_shm, used_mem);
  EXPECT_EQ(InfoField(*shm, "evicted_keys"), InfoField(*mem, "evicted_keys"));
  EXPECT_NE(InfoField(*shm, "evicted_keys"), "0");
  EXPECT_EQ(InfoField(*shm, "expired_keys"), InfoField(*mem, "expired_keys"));
  ASSERT_OK(shm->CheckIntegrity());
}

TEST(ShmStore, MaxmemoryAndErrorStatsAreShared) {
  std::string name = UniqueName("maxmem");
  SegmentGuard guard{name};
  auto a = MustOpen(CreateOptions(name));
  ASSERT_TRUE(a);
  EXPECT_EQ(RunInChild([&] {
              auto kv = NewShmBackend(AttachOptions(name));
              if (!kv.ok()) return 1;
              return (*kv)->ConfigSet("maxmemory", "1mb").ok() ? 0 : 2;
            }),
            0);
  ASSERT_OK_AND_ASSIGN(auto mm, a->ConfigGet("maxmemory"));
  EXPECT_EQ(mm, std::optional<std::string>("1048576"));
  Status oom;
  for (int i = 0; i < 10000 && oom.ok(); ++i) {
    oom = a->Set(Key("k", i), std::string(1000, 'x')).status();
  }
  ASSERT_TRUE(oom.IsOutOfMemory()) << oom;
  EXPECT_EQ(oom.message(), "OOM command not allowed when used memory > 'maxmemory'.");
  EXPECT_EQ(RunInChild([&] {
              auto kv = NewShmBackend(AttachOptions(name));
              if (!kv.ok()) return 1;
              if (InfoField(**kv, "errorstat_OOM") != "count=1") return 2;
              Status s = (*kv)->Set("more", "x").status();
              return s.IsOutOfMemory() ? 0 : 3;
            }),
            0);
  EXPECT_EQ(InfoField(*a, "errorstat_OOM"), "count=2");
}

TEST(ShmStore, ScriptsRunAsNativeTwinsInEveryProcess) {
  const Script& incr2 = IncrTwiceScript();
  std::string name = UniqueName("scripts");
  SegmentGuard guard{name};
  auto a = MustOpen(CreateOptions(name));
  ASSERT_TRUE(a);
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(RunInChild([&] {
                auto kv = NewShmBackend(AttachOptions(name));
                if (!kv.ok()) return 1;
                for (int i = 0; i < 10; ++i) {
                  if (!(*kv)->Eval(incr2, {"n"}, {}).ok()) return 2;
                }
                return 0;
              }),
              0);
  }
  ASSERT_OK_AND_ASSIGN(Reply r, a->Eval(incr2, {"n"}, {}));
  EXPECT_EQ(r, Reply::Integer(62));
  ASSERT_OK(a->Set("str", "not a number"));
  Result<Reply> wrong = a->Eval(incr2, {"str"}, {});
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument) << wrong.status();
}

// ---- the shared clock -----------------------------------------------------------------------

TEST(ShmClock, VirtualTimeIsSharedAndDrivesExpiry) {
  std::string name = UniqueName("clock");
  SegmentGuard guard{name};
  auto a = MustOpen(CreateOptions(name));
  ASSERT_TRUE(a);
  std::shared_ptr<ShmClock> clock = a->clock();
  EXPECT_EQ(clock->mode(), ShmClockMode::kVirtual);
  EXPECT_EQ(clock->NowMs(), ManualClock::kDefaultStartMs);
  ASSERT_OK(a->Set("ttl", "v", {.ttl = milliseconds(5000)}));
  EXPECT_EQ(RunInChild([&] {
              auto kv = NewShmBackend(AttachOptions(name));
              if (!kv.ok()) return 1;
              (*kv)->clock()->Advance(milliseconds(4999));
              return ExpectGet(**kv, "ttl", "v");
            }),
            0);
  EXPECT_EQ(clock->NowMs(), ManualClock::kDefaultStartMs + 4999);
  ASSERT_OK_AND_ASSIGN(int64_t pttl, a->Pttl("ttl"));
  EXPECT_EQ(pttl, 1);
  clock->Advance(milliseconds(2));
  ASSERT_OK_AND_ASSIGN(auto gone, a->Get("ttl"));
  EXPECT_FALSE(gone.has_value());
  clock->SetMs(ManualClock::kDefaultStartMs);  // never backwards
  EXPECT_EQ(clock->NowMs(), ManualClock::kDefaultStartMs + 5001);
  ASSERT_OK_AND_ASSIGN(Reply t, a->Run({"TIME"}));
  ASSERT_TRUE(t.is_array());
  EXPECT_EQ(t.elements()[0].str(), std::to_string((ManualClock::kDefaultStartMs + 5001) / 1000));
}

TEST(ShmClock, RealModeFollowsTheSystemClockPlusASharedOffset) {
  std::string name = UniqueName("realclock");
  SegmentGuard guard{name};
  ShmBackendOptions o = CreateOptions(name);
  o.clock_mode = ShmClockMode::kReal;
  auto a = MustOpen(o);
  ASSERT_TRUE(a);
  std::shared_ptr<ShmClock> clock = a->clock();
  EXPECT_EQ(clock->mode(), ShmClockMode::kReal);
  int64_t before = SystemClock::Shared()->NowMs();
  int64_t now = clock->NowMs();
  int64_t after = SystemClock::Shared()->NowMs();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
  clock->Advance(std::chrono::hours(1));
  auto b = MustOpen(AttachOptions(name));
  ASSERT_TRUE(b);
  EXPECT_GE(b->clock()->NowMs(), before + 3600 * 1000);
  EXPECT_EQ(b->clock()->mode(), ShmClockMode::kReal);
}

// ---- the segment size is a hard cap --------------------------------------------------------

TEST(ShmFull, FullSegmentGivesAClearOomAndKeepsEveryEarlierWrite) {
  std::string name = UniqueName("full");
  SegmentGuard guard{name};
  auto kv = MustOpen(CreateOptions(name, 2 << 20));
  ASSERT_TRUE(kv);
  Status full;
  int written = 0;
  for (; written < 100000; ++written) {
    full = kv->Set(Key("k", written), std::string(5000, static_cast<char>('a' + written % 26)))
               .status();
    if (!full.ok()) break;
  }
  ASSERT_TRUE(full.IsOutOfMemory()) << full;
  EXPECT_EQ(full.message().rfind("OOM shm segment '" + name + "' is full (2097152 bytes, ", 0), 0u)
      << full;
  EXPECT_NE(full.message().find("'SET' not run; delete keys or use a larger segment"),
            std::string::npos);
  EXPECT_GT(written, 200);
  ASSERT_OK(kv->CheckIntegrity());
  ASSERT_OK_AND_ASSIGN(int64_t n, kv->DbSize());
  EXPECT_EQ(n, written);
  for (int i = 0; i < written; ++i) {
    ASSERT_EQ(ExpectGet(*kv, Key("k", i), std::string(5000, static_cast<char>('a' + i % 26))), 0)
        << i;
  }
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_consistent"), "1");
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_full_rejections"), "1");
  EXPECT_EQ(InfoField(*kv, "errorstat_OOM"), "count=1");
  // Reads and deletes still work; freeing room lets writes in again.
  std::vector<std::string> victims;
  for (int i = 0; i < 20; ++i) victims.push_back(Key("k", i));
  ASSERT_OK_AND_ASSIGN(int64_t deleted, kv->Del(victims));
  EXPECT_EQ(deleted, 20);
  ASSERT_OK(kv->Set("after", std::string(5000, 'z')));
  ASSERT_OK(kv->CheckIntegrity());
}

// Random writes into a small segment: every command either fully applies or is refused before
// it changes anything, and the structures stay sound.
TEST(ShmFull, CommandsAreAllOrNothingWhenTheSegmentFills) {
  std::string name = UniqueName("allornothing");
  SegmentGuard guard{name};
  auto kv = MustOpen(CreateOptions(name, 2 << 20));
  ASSERT_TRUE(kv);
  std::mt19937_64 rng(::testing::UnitTest::GetInstance()->random_seed());
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  int refused = 0, applied = 0;
  for (int step = 0; step < 6000; ++step) {
    std::string k = Key("key", pick(40));
    Command c;
    int roll = pick(20);
    int kind = roll < 6 ? 0 : roll < 10 ? 1 : roll < 14 ? 2 : roll < 19 ? 3 : 4;
    size_t fields = 1 + static_cast<size_t>(pick(60));
    auto sizeof_key = [&]() -> int64_t {
      Result<Reply> r = kv->Run({"TYPE", k});
      std::string t = r.ok() ? r->str() : "?";
      Command q = t == "hash"     ? Command{"HLEN", k}
                  : t == "set"    ? Command{"SCARD", k}
                  : t == "zset"   ? Command{"ZCARD", k}
                  : t == "string" ? Command{"STRLEN", k}
                                  : Command{};
      if (q.empty()) return t == "none" ? -1 : -2;
      if (q[0] == "STRLEN") {
        Result<std::optional<std::string>> v = kv->Get(k);
        return v.ok() && v->has_value() ? static_cast<int64_t>((*v)->size()) : -3;
      }
      Result<Reply> n = kv->Run(q);
      return n.ok() ? n->integer() : -4;
    };
    int64_t before = sizeof_key();
    std::string tag = std::to_string(step);
    if (kind == 0) {
      c = {"HSET", k};
      for (size_t f = 0; f < fields; ++f) {
        c.push_back("f" + tag + Key("-", f));
        c.push_back(std::string(static_cast<size_t>(pick(300)), 'h'));
      }
    } else if (kind == 1) {
      c = {"SADD", k};
      for (size_t f = 0; f < fields; ++f) c.push_back("m" + tag + Key("-", f));
    } else if (kind == 2) {
      c = {"ZADD", k};
      for (size_t f = 0; f < fields; ++f) {
        c.push_back(std::to_string(pick(1000)));
        c.push_back("z" + tag + Key("-", f));
      }
    } else if (kind == 3) {
      c = {"SET", k, std::string(static_cast<size_t>(pick(60000)), 's')};
    } else {
      c = {"DEL", k};
    }
    Result<Reply> r = kv->Run(c);
    int64_t after = sizeof_key();
    if (!r.ok()) {
      ASSERT_TRUE(r.status().IsOutOfMemory() || r.status().IsWrongType()) << r.status();
      if (r.status().IsOutOfMemory()) {
        ++refused;
        ASSERT_EQ(after, before) << "step " << step << ": a refused " << c[0] << " changed " << k;
      }
    } else {
      ++applied;
      if (kind <= 2) {
        ASSERT_EQ(after, (before < 0 ? 0 : before) + static_cast<int64_t>(fields)) << step;
      }
      if (kind == 3) {
        ASSERT_EQ(after, static_cast<int64_t>(c[2].size())) << step;
      }
    }
    if (step % 500 == 0) {
      Status sound = kv->CheckIntegrity();
      ASSERT_TRUE(sound.ok()) << "step " << step << ": " << sound;
    }
  }
  EXPECT_GT(refused, 100);
  EXPECT_GT(applied, 1000);
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_consistent"), "1")
      << InfoField(*kv, "stormkv_shm_health_reason");
  ASSERT_OK(kv->CheckIntegrity());
}

TEST(ShmFull, ScriptStopsAtTheFirstRefusedCommandAndKeepsItsEarlierWrites) {
  const Script& fill = FillHashScript();
  std::string name = UniqueName("fillscript");
  SegmentGuard guard{name};
  auto kv = MustOpen(CreateOptions(name, 2 << 20));
  ASSERT_TRUE(kv);
  Result<Reply> r = kv->Eval(fill, {"h"}, {});
  ASSERT_TRUE(r.status().IsOutOfMemory()) << r.status();
  EXPECT_NE(r.status().message().find("is full"), std::string::npos) << r.status();
  ASSERT_OK_AND_ASSIGN(int64_t fields, kv->HLen("h"));
  EXPECT_GT(fields, 1000);
  ASSERT_OK_AND_ASSIGN(auto last, kv->HGet("h", Key("f", fields - 1)));
  EXPECT_EQ(last, std::optional<std::string>(std::string(200, 'x')));
  ASSERT_OK(kv->CheckIntegrity());
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_consistent"), "1");
}

// ---- a lock holder killed mid-operation ------------------------------------------------------

TEST(ShmRobust, HolderKilledBeforeWritingLeavesTheStoreConsistent) {
  const Script& block = BlockScript();
  std::string name = UniqueName("killblock");
  SegmentGuard guard{name};
  auto kv = MustOpen(CreateOptions(name));
  ASSERT_TRUE(kv);
  ASSERT_OK(kv->Set("k", "before"));
  Child child([&](int to_parent) {
    g_signal_fd = to_parent;
    auto b = NewShmBackend(AttachOptions(name));
    if (!b.ok()) return 1;
    (void)(*b)->Eval(block, {"k"}, {});
    return 2;
  });
  ASSERT_EQ(child.ReadByte(), 'L');  // the child holds the lock now
  pid_t pid = child.pid();
  child.Kill();

  ASSERT_OK(kv->Set("k", "after"));  // does not hang
  EXPECT_EQ(ExpectGet(*kv, "k", "after"), 0);
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_owner_deaths"), "1");
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_consistent"), "1");
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_last_owner_death"),
            Key("pid ", pid) +
                " died while running script 'shm_test_block' before changing anything; it was not "
                "applied");
  auto again = MustOpen(AttachOptions(name));
  ASSERT_TRUE(again);
  ASSERT_OK_AND_ASSIGN(ShmSegmentInfo info, again->SegmentInfo());
  EXPECT_EQ(info.attached_pids.size(), 2u);
  EXPECT_TRUE(info.dead_attached_pids.empty());
  ASSERT_OK(kv->CheckIntegrity());
}

TEST(ShmRobust, HolderKilledMidScriptMarksTheStorePossiblyInconsistent) {
  const Script& loop = IncrLoopScript();
  std::string name = UniqueName("killloop");
  SegmentGuard guard{name};
  auto kv = MustOpen(CreateOptions(name));
  ASSERT_TRUE(kv);
  Child child([&](int to_parent) {
    g_signal_fd = to_parent;
    auto b = NewShmBackend(AttachOptions(name));
    if (!b.ok()) return 1;
    (void)(*b)->Eval(loop, {"counter"}, {});
    return 2;
  });
  ASSERT_EQ(child.ReadByte(), 'W');
  pid_t pid = child.pid();
  child.Kill();

  ASSERT_OK_AND_ASSIGN(int64_t v, kv->IncrBy("counter", 1));  // does not hang; keeps serving
  EXPECT_GT(v, 100);
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_consistent"), "0");
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_health"), "possibly_inconsistent");
  std::string reason =
      Key("pid ", pid) +
      " died while running script 'shm_test_incr_loop' after it had started changing "
      "data; it may be partially applied (structures verified intact)";
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_health_reason"), reason);
  ASSERT_OK(kv->CheckIntegrity());

  Result<std::unique_ptr<ShmBackend>> fresh = NewShmBackend(AttachOptions(name));
  ASSERT_FALSE(fresh.ok());
  EXPECT_TRUE(fresh.status().IsCorruption());
  EXPECT_EQ(fresh.status().message(),
            "shm segment '" + name + "' is possibly_inconsistent: " + reason +
                "; attach with inconsistent=ok (allow_inconsistent) to use it "
                "anyway, or remove it");
  ShmBackendOptions o = AttachOptions(name);
  o.allow_inconsistent = true;
  auto accepted = MustOpen(o);
  ASSERT_TRUE(accepted);
  ASSERT_OK_AND_ASSIGN(int64_t v2, accepted->IncrBy("counter", 1));
  EXPECT_EQ(v2, v + 1);
}

// A holder killed at an arbitrary point of an allocation-heavy script: survivors never hang or
// crash; they either keep a verified store (possibly inconsistent) or refuse with kCorruption.
// The wedge this guards against (issue 17: a survivor spinning in Boost's check_sanity() on a
// free tree the dead holder left inconsistent) showed only with both cores busy, in 3 of 100
// runs: the case loads the cores itself, kills at a different point of the loop every round
// (the report point and a 0-2 ms delay after it vary), and bounds each survivor's time.
// STORMKV_SHM_KILL_ROUNDS sets the number of rounds (default 40).
TEST(ShmRobust, HolderKilledWhileAllocatingNeverWedgesTheOthers) {
  const Script& alloc = AllocLoopScript();
  const char* env = std::getenv("STORMKV_SHM_KILL_ROUNDS");
  const int rounds = env != nullptr ? std::max(1, std::atoi(env)) : 40;
  shmtest::CpuLoad load(2);
  std::map<std::string, int> outcomes;
  std::chrono::steady_clock::duration slowest{};
  for (int round = 0; round < rounds; ++round) {
    std::string name = UniqueName("killalloc");
    SegmentGuard guard{name};
    auto kv = MustOpen(CreateOptions(name, int64_t{16} << 20));
    ASSERT_TRUE(kv);
    const int report = 20 + 37 * (round % 11);
    Child child([&](int to_parent) {
      g_signal_fd = to_parent;
      auto b = NewShmBackend(AttachOptions(name));
      if (!b.ok()) return 1;
      (void)(*b)->Eval(alloc, {"h", "s", "str:", "z"}, {std::to_string(report)});
      return 2;
    });
    ASSERT_EQ(child.ReadByte(), 'W');
    std::this_thread::sleep_for(std::chrono::microseconds((round * 389) % 2000));
    child.Kill();
    const auto t0 = std::chrono::steady_clock::now();
    // Everything a survivor does next, bounded: the recovery, the reads, the check, a write.
    std::string outcome = shmtest::WithinBoundedTime(
        "the survivor of round " + std::to_string(round), std::chrono::seconds(30),
        [&]() -> std::string {
          Result<int64_t> r = kv->HLen("h");
          std::string health = InfoField(*kv, "stormkv_shm_health");
          if (r.ok()) {
            EXPECT_GE(*r, report);
            EXPECT_EQ(health, "possibly_inconsistent");
            EXPECT_OK(kv->CheckIntegrity());
            EXPECT_OK(kv->Set("still", "works"));
            return health;
          }
          EXPECT_TRUE(r.status().IsCorruption()) << r.status();
          EXPECT_EQ(health, "");  // INFO itself is refused on a damaged segment
          Result<ShmSegmentInfo> info = kv->SegmentInfo();
          EXPECT_TRUE(info.ok() && info->health == ShmHealth::kDamaged);
          EXPECT_TRUE(kv->Set("still", "works").status().IsCorruption());
          return "damaged: " + (info.ok() ? info->health_reason : info.status().ToString());
        });
    slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
    ++outcomes[outcome.substr(0, outcome.find(':'))];
    if (outcome != "possibly_inconsistent") {
      std::cout << "[ round " << round << " ] " << outcome << "\n";
    }
  }
  std::cout << "[ " << rounds << " rounds ]";
  for (const auto& [what, n] : outcomes) std::cout << " " << what << " " << n;
  std::cout << "; slowest survivor "
            << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count() << " ms\n";
}

// A twin that calls a backend handle (g_called) instead of its ScriptContext.
KvBackend* g_called = nullptr;
const Script& TwinCallingTheBackend() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("shm_test_twin_calls_backend", "return redis.call('GET', KEYS[1])",
             [](ScriptContext&, const std::vector<std::string>& keys,
                const std::vector<std::string>&) -> Result<Reply> {
               Result<std::optional<std::string>> v = g_called->Get(keys[0]);
               if (!v.ok()) return v.status();
               return v->has_value() ? Reply::Bulk(**v) : Reply::Nil();
             }));
  return s;
}

// A twin may run a script of its own through its context (stormkv serve's EXEC over a segment).
const Script& ShmTwinRunningAScript() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("shm_test_twin_runs_eval", "return redis.error_reply('a twin only')",
             [](ScriptContext& ctx, const std::vector<std::string>& keys,
                const std::vector<std::string>&) -> Result<Reply> {
               Result<Reply> nested =
                   ctx.Call({"EVAL", "return redis.call('INCRBY', KEYS[1], 5)", "1", keys[0]});
               if (!nested.ok()) return nested;
               Result<Reply> after = ctx.Call({"INCR", keys[0]});
               if (!after.ok()) return after;
               return Reply::Array({*nested, *after});
             }));
  return s;
}

TEST(ShmScripts, TwinMayRunAnyScriptNested) {
  std::string name = UniqueName("nested");
  SegmentGuard guard{name};
  auto a = MustOpen(CreateOptions(name));
  ASSERT_TRUE(a);
  Result<Reply> r = a->Eval(ShmTwinRunningAScript(), {"n"}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->elements().size(), 2u) << *r;
  EXPECT_EQ(r->elements()[0].integer(), 5);
  EXPECT_EQ(r->elements()[1].integer(), 6);
  EXPECT_EQ(ExpectGet(*a, "n", "6"), 0);
  EXPECT_EQ(InfoField(*a, "stormkv_shm_health"), "consistent");
}

// Any handle of the segment shares the one lock: a twin calling the handle that runs it, or
// another handle of the same segment, is refused at once (not after lock_timeout, not never).
TEST(ShmScripts, TwinCallingTheSegmentsBackendFailsInsteadOfDeadlocking) {
  std::string name = UniqueName("reenter");
  SegmentGuard guard{name};
  ShmBackendOptions o = CreateOptions(name);
  o.lock_timeout = std::chrono::milliseconds(0);  // wait forever: only the detection ends it
  auto a = MustOpen(o);
  ASSERT_TRUE(a);
  ShmBackendOptions ao = AttachOptions(name);
  ao.lock_timeout = std::chrono::milliseconds(0);
  auto other = MustOpen(ao);
  ASSERT_TRUE(other);
  ASSERT_OK(a->Set("k", "v"));
  for (KvBackend* target : {static_cast<KvBackend*>(a.get()), static_cast<KvBackend*>(other.get())}) {
    g_called = target;
    auto done = std::async(std::launch::async,
                           [&] { return a->Eval(TwinCallingTheBackend(), {"k"}, {}); });
    if (done.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      std::cerr << "FATAL: the twin deadlocked on the segment's lock\n";
      std::_Exit(3);
    }
    Result<Reply> r = done.get();
    ASSERT_EQ(r.status().code(), StatusCode::kInternal) << r.status();
    EXPECT_EQ(r.status().message(),
              "script 'shm_test_twin_calls_backend' called Run on shm://" + name +
                  ", the store that runs it: a native twin must use its ScriptContext "
                  "(ctx.Call), not the backend, which would wait forever for the lock the "
                  "script holds");
    EXPECT_EQ(ExpectGet(*other, "k", "v"), 0);  // the lock was released
  }
  EXPECT_EQ(InfoField(*a, "stormkv_shm_health"), "consistent");
}

TEST(ShmRobust, LockTimeoutNamesTheHolder) {
  const Script& block = BlockScript();
  std::string name = UniqueName("timeout");
  SegmentGuard guard{name};
  ShmBackendOptions o = CreateOptions(name);
  o.lock_timeout = milliseconds(100);
  auto kv = MustOpen(o);
  ASSERT_TRUE(kv);
  Child child([&](int to_parent) {
    g_signal_fd = to_parent;
    auto b = NewShmBackend(AttachOptions(name));
    if (!b.ok()) return 1;
    (void)(*b)->Eval(block, {"k"}, {});
    return 2;
  });
  ASSERT_EQ(child.ReadByte(), 'L');
  Result<std::optional<std::string>> r = kv->Get("k");
  ASSERT_TRUE(r.status().IsTimeout()) << r.status();
  EXPECT_EQ(r.status().message(),
            "shm segment '" + name +
                "': the store's lock was not free within 100 ms (held by pid " +
                std::to_string(child.pid()) + ")");
  child.Kill();
  ASSERT_OK(kv->Get("k"));
}

TEST(ShmRobust, ProcessKilledWhileIdleCostsNothing) {
  std::string name = UniqueName("idle");
  SegmentGuard guard{name};
  auto kv = MustOpen(CreateOptions(name));
  ASSERT_TRUE(kv);
  Child child([&](int to_parent) {
    auto b = NewShmBackend(AttachOptions(name));
    if (!b.ok() || !(*b)->Set("c", "1").ok()) return 1;
    (void)!::write(to_parent, "D", 1);
    for (;;) ::pause();
  });
  ASSERT_EQ(child.ReadByte(), 'D');
  child.Kill();
  EXPECT_EQ(ExpectGet(*kv, "c", "1"), 0);
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_owner_deaths"), "0");
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_attached_processes"), "1");
  auto again = MustOpen(AttachOptions(name));  // not stale: this process is alive
  ASSERT_TRUE(again);
}

}  // namespace
}  // namespace stormkv
