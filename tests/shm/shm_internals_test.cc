// The shm backend's rare paths, reached by writing into the segment header directly
// (backends/memory/shm_segment.h): an allocation failing in the middle of a command despite the
// preparation, a creator that died while creating, a recovery whose checker died.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/test_util.h"
#include "shm/shm_test_util.h"
#include "shm_segment.h"
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

}  // namespace
}  // namespace stormkv
