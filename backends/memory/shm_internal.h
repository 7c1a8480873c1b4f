// backends/memory/shm_internal.h — what the shm backend's translation units share: where a
// segment lives (Target), one process's mapping of it (Segment), the shared clock, the attach
// table, creating / attaching / validating a segment. Private to backends/memory.
//
// shm_segment.cc defines all of it; shm_backend.cc is the backend (the robust lock, commands,
// scripts, health), shm_url.cc the shm:// URL.
#ifndef STORMKV_BACKENDS_MEMORY_SHM_INTERNAL_H_
#define STORMKV_BACKENDS_MEMORY_SHM_INTERNAL_H_

#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shm_segment.h"
#include "store.h"
#include "stormkv/shm_backend.h"

namespace stormkv::shm {

using StoreT = memstore::Store<Allocator<char>>;

inline constexpr int64_t kMinSegmentBytes = int64_t{1} << 20;

inline constexpr auto kCreationWait = std::chrono::seconds(2);

uint64_t LayoutFingerprint();

int64_t WallMs();

int64_t WallUs();

std::string Errno(int err);

int32_t SelfPid();

struct ProcState {
  bool alive = false;
  uint64_t start_ticks = 0;
};

// From /proc/<pid>/stat: alive (not a zombie) and the start time, which tells a reused pid apart.
ProcState ReadProc(int32_t pid);

bool SlotAlive(const AttachSlot& s);

bool ProcessAlive(int32_t pid, uint64_t start_ticks);

void CopyText(char* dst, size_t cap, std::string_view src);

uint64_t ReserveBytesFor(uint64_t segment_bytes);

// Upper bound of what a command allocates beyond its containers' growth (ReserveForWrite):
// strings for its arguments (a string that grows may take twice its old capacity, which was
// smaller than the new value), new objects, element slots and index entries.
uint64_t ArgumentBytes(const Command& argv);

// Where a segment lives.
struct Target {
  std::string label;  // for messages and Describe(): the name, or the file path
  std::string posix;  // "/name" for POSIX shared memory; "" for a file
  std::string path;   // the file; "" for POSIX shared memory
  bool file() const { return !path.empty(); }
  std::string What() const { return "shm segment '" + label + "'"; }
  std::string Url() const { return "shm://" + label; }
};

Status ValidateName(std::string_view name);

Result<Target> TargetFor(std::string_view name, std::string_view file);

// Accepts "name" or "/abs/path".
Result<Target> TargetFromString(std::string_view name_or_path);

int OpenObject(const Target& t, int flags);

int UnlinkObject(const Target& t);

// One process's mapping of a segment, shared by its backend handles and clocks.
class Segment {
 public:
  Segment(Target target, void* base, size_t bytes)
      : target_(std::move(target)), base_(static_cast<char*>(base)), bytes_(bytes) {}
  ~Segment() {
    if (base_ != nullptr) ::munmap(base_, bytes_);
  }
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  const Target& target() const { return target_; }
  Header& hdr() const { return *reinterpret_cast<Header*>(base_); }
  char* base() const { return base_; }
  size_t bytes() const { return bytes_; }
  StoreT& store() const { return *reinterpret_cast<StoreT*>(base_ + hdr().store_offset); }
  SegmentBuffer& buffer() { return buffer_; }

 private:
  Target target_;
  char* base_;
  size_t bytes_;
  SegmentBuffer buffer_;
};

class SegmentClock final : public ShmClock {
 public:
  explicit SegmentClock(std::shared_ptr<Segment> seg) : seg_(std::move(seg)) {}
  int64_t NowUs() const override {
    const Header& h = seg_->hdr();
    int64_t v = h.clock_us.load(std::memory_order_acquire);
    if (h.clock_mode.load(std::memory_order_relaxed) ==
        static_cast<uint32_t>(ShmClockMode::kReal)) {
      return WallUs() + v;
    }
    return v;
  }
  int64_t NowMs() const override { return NowUs() / 1000; }
  void Advance(std::chrono::microseconds d) override {
    if (d.count() > 0) seg_->hdr().clock_us.fetch_add(d.count(), std::memory_order_acq_rel);
  }
  void SetMs(int64_t ms) override {
    Header& h = seg_->hdr();
    if (mode() != ShmClockMode::kVirtual) return;
    int64_t want = ms * 1000;
    int64_t cur = h.clock_us.load(std::memory_order_acquire);
    while (cur < want && !h.clock_us.compare_exchange_weak(cur, want, std::memory_order_acq_rel)) {
    }
  }
  ShmClockMode mode() const override {
    return static_cast<ShmClockMode>(seg_->hdr().clock_mode.load(std::memory_order_relaxed));
  }

 private:
  std::shared_ptr<Segment> seg_;
};

struct AttachScan {
  std::vector<int32_t> live;
  std::vector<int32_t> dead;
};

AttachScan ScanAttached(const Header& h);

void ReapDead(Header& h);

void ReapPid(Header& h, int32_t dead);

int Register(Header& h);

std::string PidList(const std::vector<int32_t>& pids);

std::string_view KindName(OpKind k);

// Reads and validates the fixed header of a mapped segment: magic, layout, size. Waits for a
// segment that is being created (up to kCreationWait) unless its creator died.
Status ValidateHeader(const Target& t, char* base, size_t bytes);

struct Mapped {
  void* base = nullptr;
  size_t bytes = 0;
};

// Opens and maps an existing segment object.
Result<Mapped> MapExisting(const Target& t);

// memstore::StoreConfigFor, for a store in a segment (fresh_server is refused).
Result<memstore::StoreConfig> StoreConfigFrom(const MemoryBackendOptions& o);

// Creates the object exclusively. `exists` is set (and an error returned) when it already exists.
Result<std::shared_ptr<Segment>> CreateSegment(const Target& t, const ShmBackendOptions& o,
                                               bool* exists, int* slot);

Result<std::shared_ptr<Segment>> AttachSegment(const Target& t, const ShmBackendOptions& o,
                                               int* slot);

}  // namespace stormkv::shm

#endif  // STORMKV_BACKENDS_MEMORY_SHM_INTERNAL_H_
