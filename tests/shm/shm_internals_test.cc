// The shm backend's rare paths, reached by writing into the segment header directly
// (backends/memory/shm_segment.h): an allocation failing in the middle of a command despite the
// preparation, a creator that died while creating, a recovery whose checker died.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "common/test_util.h"
#include "shm/shm_test_util.h"
#include "shm_segment.h"
#include "shm_verify.h"
#include "stormkv/script.h"
#include "stormkv/shm_backend.h"

namespace stormkv {
namespace {

using shmtest::AttachOptions;
using shmtest::Child;
using shmtest::CreateOptions;
using shmtest::InfoField;
using shmtest::RunInChild;
using shmtest::SegmentGuard;
using shmtest::UniqueName;

// The segment's header, mapped into this process on its own (a second mapping).
class RawHeader {
 public:
  explicit RawHeader(const std::string& name) {
    int fd = ::shm_open(("/" + name).c_str(), O_RDWR, 0600);
    if (fd < 0) return;
    void* p = ::mmap(nullptr, sizeof(shm::Header), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p != MAP_FAILED) hdr_ = static_cast<shm::Header*>(p);
  }
  ~RawHeader() {
    if (hdr_ != nullptr) ::munmap(hdr_, sizeof(shm::Header));
  }
  shm::Header* operator->() { return hdr_; }
  explicit operator bool() const { return hdr_ != nullptr; }

 private:
  shm::Header* hdr_ = nullptr;
};

// The whole segment mapped into this process on its own (the allocator's offset pointers are
// relative, so they work in any mapping).
class RawSegment {
 public:
  explicit RawSegment(const std::string& name) {
    int fd = ::shm_open(("/" + name).c_str(), O_RDWR, 0600);
    if (fd < 0) return;
    struct stat st;
    if (::fstat(fd, &st) == 0) {
      void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE,
                       MAP_SHARED, fd, 0);
      if (p != MAP_FAILED) {
        base_ = static_cast<char*>(p);
        bytes_ = static_cast<size_t>(st.st_size);
      }
    }
    ::close(fd);
  }
  ~RawSegment() {
    if (base_ != nullptr) ::munmap(base_, bytes_);
  }
  explicit operator bool() const { return base_ != nullptr; }
  shm::Header& hdr() { return *reinterpret_cast<shm::Header*>(base_); }
  shm::SegmentManager& sm() { return *hdr().heap.sm; }
  std::string Verify(shm::HeapFigures* f = nullptr) {
    return shm::VerifyHeap(sm(), base_, base_ + bytes_, f);
  }

 private:
  char* base_ = nullptr;
  size_t bytes_ = 0;
};

std::unique_ptr<ShmBackend> MustOpen(const ShmBackendOptions& o) {
  Result<std::unique_ptr<ShmBackend>> b = NewShmBackend(o);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? std::move(*b) : nullptr;
}

TEST(ShmInternals, AllocationFailingMidCommandIsCaughtReportedAndMarked) {
  std::string name = UniqueName("midfail");
  SegmentGuard guard{name};
  auto kv = MustOpen(CreateOptions(name));
  ASSERT_TRUE(kv);
  for (int i = 0; i < 4; ++i) ASSERT_OK(kv->HSet("h", {{shmtest::Key("f", i), "v"}}));
  RawHeader raw(name);
  ASSERT_TRUE(raw);
  // Enough room everywhere, so the preparation allocates nothing; the command's first
  // allocation (the 100-byte value) fails after the hash has switched to its hashtable encoding
  // (the value is over hash-max-listpack-value): the hash's modelled cost is then out of date
  // until the recovery recomputes it.
  raw->heap.fail_after = 1;
  Result<int64_t> r = kv->HSet("h", {{"new", std::string(100, 'x')}});
  ASSERT_TRUE(r.status().IsOutOfMemory()) << r.status();
  ASSERT_OK_AND_ASSIGN(ShmSegmentInfo info, kv->SegmentInfo());
  EXPECT_EQ(info.health, ShmHealth::kPossiblyInconsistent) << info.health_reason;
  EXPECT_EQ(r.status().message(), "OOM shm segment '" + name +
                                      "' ran out of memory in the middle of 'HSET'; the segment is "
                                      "marked possibly_inconsistent; delete keys or use a larger "
                                      "segment");
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_health"), "possibly_inconsistent");
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_health_reason"),
            "'HSET' was interrupted half-way (boost::interprocess::bad_alloc) (accounting "
            "recomputed, structures verified intact)");
  EXPECT_EQ(InfoField(*kv, "errorstat_OOM"), "count=1");
  ASSERT_OK(kv->CheckIntegrity());
  ASSERT_OK_AND_ASSIGN(int64_t n, kv->HLen("h"));
  EXPECT_EQ(n, 4);  // the field was not added
  ASSERT_OK_AND_ASSIGN(Reply enc, kv->Run({"OBJECT", "ENCODING", "h"}));
  EXPECT_EQ(enc.str(), "hashtable");  // ... but the conversion was: partially applied
  ASSERT_OK(kv->HSet("h", {{"new", std::string(100, 'x')}}));  // keeps serving
  EXPECT_TRUE(NewShmBackend(AttachOptions(name)).status().IsCorruption());
}

TEST(ShmInternals, FailureDuringThePreparationIsAPlainRefusal) {
  std::string name = UniqueName("prepfail");
  SegmentGuard guard{name};
  auto kv = MustOpen(CreateOptions(name));
  ASSERT_TRUE(kv);
  std::vector<std::pair<std::string, std::string>> fields;
  for (int i = 0; i < 200; ++i) fields.emplace_back(shmtest::Key("f", i), "v");
  ASSERT_OK(kv->HSet("h", fields));
  RawHeader raw(name);
  ASSERT_TRUE(raw);
  raw->heap.fail_after = 1;  // the first allocation is growing the hash's field vector
  std::vector<std::pair<std::string, std::string>> more;
  for (int i = 200; i < 600; ++i) more.emplace_back(shmtest::Key("f", i), "v");
  Result<int64_t> r = kv->HSet("h", more);
  ASSERT_TRUE(r.status().IsOutOfMemory()) << r.status();
  EXPECT_NE(r.status().message().find("is full"), std::string::npos) << r.status();
  EXPECT_EQ(InfoField(*kv, "stormkv_shm_consistent"), "1");
  ASSERT_OK_AND_ASSIGN(int64_t n, kv->HLen("h"));
  EXPECT_EQ(n, 200);
  ASSERT_OK(kv->HSet("h", more));
  ASSERT_OK_AND_ASSIGN(n, kv->HLen("h"));
  EXPECT_EQ(n, 600);
  ASSERT_OK(kv->CheckIntegrity());
}

TEST(ShmInternals, CreatorThatDiedWhileCreatingLeavesAStaleSegment) {
  std::string name = UniqueName("halfmade");
  SegmentGuard guard{name};
  { ASSERT_TRUE(MustOpen(CreateOptions(name))); }
  pid_t dead = 0;
  Child child([](int) { return 0; });
  dead = child.pid();
  child.Wait();
  RawHeader raw(name);
  ASSERT_TRUE(raw);
  raw->creator_pid = dead;
  raw->magic.store(shm::kInitMagic);
  Result<std::unique_ptr<ShmBackend>> r = NewShmBackend(AttachOptions(name));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable());
  EXPECT_EQ(r.status().message(), "shm segment '" + name + "' is stale: its creator (pid " +
                                      std::to_string(dead) + ") died while creating it; remove it");
}

const Script& IncrLoop() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("shm_internals_incr_loop", "-- INCR forever (native twin only)",
             [](ScriptContext& ctx, const std::vector<std::string>& keys,
                const std::vector<std::string>& args) -> Result<Reply> {
               int fd = std::stoi(args[0]);
               for (int i = 1;; ++i) {
                 Result<Reply> r = ctx.Call({"INCR", keys[0]});
                 if (!r.ok()) return r;
                 if (i == 10) (void)!::write(fd, "W", 1);
               }
             }));
  return s;
}

// A recovery whose structure check itself died (e.g. crashed on a broken pointer) is not retried:
// the segment is declared damaged and refuses commands instead of crashing every survivor.
TEST(ShmInternals, DeadCheckerMeansDamagedAndCommandsAreRefused) {
  const Script& loop = IncrLoop();
  std::string name = UniqueName("damaged");
  SegmentGuard guard{name};
  auto kv = MustOpen(CreateOptions(name));
  ASSERT_TRUE(kv);
  Child child([&](int to_parent) {
    auto b = NewShmBackend(AttachOptions(name));
    if (!b.ok()) return 1;
    (void)(*b)->Eval(loop, {"n"}, {std::to_string(to_parent)});
    return 2;
  });
  ASSERT_EQ(child.ReadByte(), 'W');
  RawHeader raw(name);
  ASSERT_TRUE(raw);
  raw->verifying = 1;  // as if an earlier recovery had died while checking
  child.Kill();
  Result<std::optional<std::string>> r = kv->Get("n");
  ASSERT_TRUE(r.status().IsCorruption()) << r.status();
  EXPECT_NE(r.status().message().find("a process died while checking the structures"),
            std::string::npos)
      << r.status();
  EXPECT_NE(r.status().message().find("; remove it"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(ShmSegmentInfo info, kv->SegmentInfo());
  EXPECT_EQ(info.health, ShmHealth::kDamaged);
  EXPECT_EQ(info.owner_deaths, 1);
  EXPECT_EQ(RunInChild([&] {
              Status s = NewShmBackend(AttachOptions(name)).status();
              return s.IsCorruption() && s.message().find("is damaged") != std::string::npos ? 0
                                                                                             : 1;
            }),
            0);
}

// The bounded allocator check accepts a fragmented, healthy heap and agrees with Boost's figures.
TEST(ShmInternals, HeapVerifierAcceptsAHealthyFragmentedHeap) {
  std::string name = UniqueName("heapok");
  SegmentGuard guard{name};
  auto kv = MustOpen(CreateOptions(name, int64_t{16} << 20));
  ASSERT_TRUE(kv);
  RawSegment raw(name);
  ASSERT_TRUE(raw);
  shm::HeapFigures f;
  EXPECT_EQ(raw.Verify(&f), "");
  for (int i = 0; i < 3000; ++i) {
    ASSERT_OK(kv->Set(shmtest::Key("k", i), std::string(static_cast<size_t>(i % 500), 'v')));
    ASSERT_OK(kv->HSet(shmtest::Key("h", i % 40), {{shmtest::Key("f", i), "x"}}));
  }
  for (int i = 0; i < 3000; i += 3) ASSERT_OK(kv->Del({shmtest::Key("k", i)}));
  EXPECT_EQ(raw.Verify(&f), "");
  EXPECT_GT(f.blocks, 3000u);
  EXPECT_GT(f.free_blocks, 100u);  // deletes left holes
  EXPECT_LE(f.free_bytes, raw.sm().get_free_memory());
  EXPECT_GE(f.free_bytes + 64, raw.sm().get_free_memory());
  EXPECT_LE(f.steps, 2 * f.blocks + 1);
  ASSERT_OK(kv->CheckIntegrity());
}

// The wedge of issue 17: a holder killed inside the allocator left its free tree with a cycle.
// Boost's check_sanity() (and allocate()) walk that tree forever; the survivor must instead find
// the damage within bounded time, mark the segment damaged and refuse commands.
// Reads KEYS[1], reports 'L' on ARGV[1] (a pipe), then holds the lock forever, changing nothing.
const Script& ReadThenHold() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("shm_internals_read_then_hold", "-- GET, then hold the lock (native twin only)",
             [](ScriptContext& ctx, const std::vector<std::string>& keys,
                const std::vector<std::string>& args) -> Result<Reply> {
               Result<Reply> r = ctx.Call({"GET", keys[0]});
               (void)!::write(std::stoi(args[0]), "L", 1);
               for (;;) ::pause();
               return r;
             }));
  return s;
}

TEST(ShmInternals, CycleInTheFreeTreeIsDamageNotAHang) {
  const Script& hold = ReadThenHold();
  std::string name = UniqueName("cycle");
  SegmentGuard guard{name};
  auto kv = MustOpen(CreateOptions(name, int64_t{16} << 20));
  ASSERT_TRUE(kv);
  for (int i = 0; i < 500; ++i) ASSERT_OK(kv->Set(shmtest::Key("k", i), std::string(64, 'v')));
  for (int i = 0; i < 500; i += 2) ASSERT_OK(kv->Del({shmtest::Key("k", i)}));
  Child child([&](int to_parent) {
    auto b = NewShmBackend(AttachOptions(name));
    if (!b.ok()) return 1;
    (void)(*b)->Eval(hold, {"k1"}, {std::to_string(to_parent)});
    return 2;
  });
  ASSERT_EQ(child.ReadByte(), 'L');  // it holds the lock; nobody touches the allocator
  RawSegment raw(name);
  ASSERT_TRUE(raw);
  ASSERT_TRUE(shm::testing::TieFreeTreeIntoACycle(raw.sm()));
  std::string seen = raw.Verify();
  EXPECT_NE(seen.find("cycle"), std::string::npos) << seen;
  child.Kill();  // dies holding the lock having changed no data, as if killed in the allocator

  Result<bool> w = shmtest::WithinBoundedTime("a Set after the death", std::chrono::seconds(20),
                                   [&] { return kv->Set("after", std::string(4000, 'x')); });
  ASSERT_TRUE(w.status().IsCorruption()) << w.status();
  EXPECT_NE(w.status().message().find("the free tree reaches a block twice (a cycle)"),
            std::string::npos)
      << w.status();
  Status check = shmtest::WithinBoundedTime("CheckIntegrity", std::chrono::seconds(20),
                                            [&] { return kv->CheckIntegrity(); });
  EXPECT_TRUE(check.IsCorruption()) << check;
  ASSERT_OK_AND_ASSIGN(ShmSegmentInfo info, kv->SegmentInfo());
  EXPECT_EQ(info.health, ShmHealth::kDamaged) << info.health_reason;
  EXPECT_EQ(info.owner_deaths, 1);
}

}  // namespace
}  // namespace stormkv
