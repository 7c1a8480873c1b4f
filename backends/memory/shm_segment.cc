// backends/memory/shm_segment.cc — a shared segment: its heap's allocation paths
// (shm_allocator.h), naming, mapping, the attach table, creation and attachment (shm_internal.h).
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <boost/version.hpp>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <thread>

#include "shm_internal.h"
#include "store_internal.h"

namespace stormkv::shm {

void* Heap::Allocate(std::size_t n) {
  if (fail_after != 0 && --fail_after == 0) {
    ++failed_allocations;
    throw bi::bad_alloc();
  }
  void* p = sm->allocate(n, std::nothrow);
  if (p != nullptr) return p;
  if (fallback_armed != 0 && reserve) {
    sm->deallocate(reserve.get());
    reserve = nullptr;
    ++reserve_releases;
    p = sm->allocate(n, std::nothrow);
    if (p != nullptr) return p;
  }
  ++failed_allocations;
  throw bi::bad_alloc();
}

void Heap::Deallocate(void* p) { sm->deallocate(p); }

bool Heap::HoldReserve() {
  if (reserve) return true;
  void* p = sm->allocate(reserve_bytes, std::nothrow);
  if (p == nullptr) return false;
  reserve = p;
  return true;
}

bool Heap::Fits(std::size_t n) {
  void* p = sm->allocate(n, std::nothrow);
  if (p == nullptr) return false;
  sm->deallocate(p);
  return true;
}

// ------------------------------------------------------------------------------ the segment

uint64_t LayoutFingerprint() {
  const uint64_t parts[] = {kLayoutVersion,
                            sizeof(Header),
                            sizeof(StoreT),
                            alignof(StoreT),
                            sizeof(memstore::Entry<Allocator<char>>),
                            sizeof(memstore::HashObj<Allocator<char>>),
                            sizeof(memstore::SetObj<Allocator<char>>),
                            sizeof(memstore::ZsetObj<Allocator<char>>),
                            sizeof(memstore::FieldValue<Allocator<char>>),
                            sizeof(memstore::ZMember<Allocator<char>>),
                            sizeof(pthread_mutex_t),
                            BOOST_VERSION};
  return memstore::HashBytes(std::string_view(reinterpret_cast<const char*>(parts), sizeof parts));
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t WallUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Errno(int err) { return std::strerror(err); }

namespace {

// getpid() is a system call; commands record the locker's pid, so it is cached (and forgotten
// in the child of a fork).
std::atomic<int32_t> g_self_pid{0};

void ForgetPid() { g_self_pid.store(0, std::memory_order_relaxed); }

}  // namespace

int32_t SelfPid() {
  int32_t pid = g_self_pid.load(std::memory_order_relaxed);
  if (pid == 0) {
    static const bool registered = pthread_atfork(nullptr, nullptr, ForgetPid) == 0;
    (void)registered;
    pid = static_cast<int32_t>(::getpid());
    g_self_pid.store(pid, std::memory_order_relaxed);
  }
  return pid;
}

// From /proc/<pid>/stat: alive (not a zombie) and the start time, which tells a reused pid apart.
ProcState ReadProc(int32_t pid) {
  ProcState st;
  if (pid <= 0) return st;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return st;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return st;
  buf[n] = '\0';
  char* close = std::strrchr(buf, ')');
  if (close == nullptr || close[1] == '\0' || close[2] == '\0') return st;
  char state = close[2];
  st.alive = state != 'Z' && state != 'X' && state != 'x';
  // Fields after ")": state is field 3; starttime is field 22.
  char* p = close + 2;
  for (int field = 3; field < 22 && p != nullptr; ++field) {
    p = std::strchr(p, ' ');
    if (p != nullptr) ++p;
  }
  if (p != nullptr) st.start_ticks = std::strtoull(p, nullptr, 10);
  return st;
}

bool SlotAlive(const AttachSlot& s) {
  int32_t pid = s.pid.load(std::memory_order_acquire);
  if (pid == 0) return false;
  ProcState st = ReadProc(pid);
  return st.alive && st.start_ticks == s.start_ticks.load(std::memory_order_acquire);
}

bool ProcessAlive(int32_t pid, uint64_t start_ticks) {
  ProcState st = ReadProc(pid);
  return st.alive && (start_ticks == 0 || st.start_ticks == start_ticks);
}

void CopyText(char* dst, size_t cap, std::string_view src) {
  size_t n = std::min(cap - 1, src.size());
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
  for (size_t i = 0; i < n; ++i) {
    if (dst[i] == '\r' || dst[i] == '\n') dst[i] = ' ';
  }
}

uint64_t ReserveBytesFor(uint64_t segment_bytes) {
  return std::clamp<uint64_t>(segment_bytes / 64, 64 * 1024, 8 * 1024 * 1024);
}

// Upper bound of what a command allocates beyond its containers' growth (ReserveForWrite):
// strings for its arguments (a string that grows may take twice its old capacity, which was
// smaller than the new value), new objects, element slots and index entries.
uint64_t ArgumentBytes(const Command& argv) {
  uint64_t n = 8192;
  for (const std::string& a : argv) n += 2 * a.size() + 320;
  return n;
}

Status ValidateName(std::string_view name) {
  if (name.empty() || name.size() > 200 || name == "." || name == "..") {
    return Status::InvalidArgument("shm segment name '" + std::string(name.substr(0, 200)) +
                                   "' is invalid: use 1-200 characters of [A-Za-z0-9._-]");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("shm segment name '" + std::string(name) +
                                     "' is invalid: use 1-200 characters of [A-Za-z0-9._-]");
    }
  }
  return Status::Ok();
}

Result<Target> TargetFor(std::string_view name, std::string_view file) {
  Target t;
  if (!file.empty()) {
    if (file[0] != '/') {
      return Status::InvalidArgument("shm segment file '" + std::string(file) +
                                     "' must be an absolute path");
    }
    t.path = std::string(file);
    t.label = t.path;
    return t;
  }
  STORMKV_RETURN_IF_ERROR(ValidateName(name));
  t.label = std::string(name);
  t.posix = "/" + t.label;
  return t;
}

// Accepts "name" or "/abs/path".
Result<Target> TargetFromString(std::string_view name_or_path) {
  if (!name_or_path.empty() && name_or_path[0] == '/') return TargetFor("", name_or_path);
  return TargetFor(name_or_path, "");
}

int OpenObject(const Target& t, int flags) {
  if (t.file()) return ::open(t.path.c_str(), flags | O_CLOEXEC, 0600);
  return ::shm_open(t.posix.c_str(), flags, 0600);
}

int UnlinkObject(const Target& t) {
  return t.file() ? ::unlink(t.path.c_str()) : ::shm_unlink(t.posix.c_str());
}

AttachScan ScanAttached(const Header& h) {
  AttachScan s;
  for (const AttachSlot& slot : h.attached) {
    int32_t pid = slot.pid.load(std::memory_order_acquire);
    if (pid == 0) continue;
    (SlotAlive(slot) ? s.live : s.dead).push_back(pid);
  }
  return s;
}

void ReapDead(Header& h) {
  for (AttachSlot& slot : h.attached) {
    int32_t pid = slot.pid.load(std::memory_order_acquire);
    if (pid != 0 && !SlotAlive(slot)) slot.pid.compare_exchange_strong(pid, 0);
  }
}

void ReapPid(Header& h, int32_t dead) {
  if (dead <= 0) return;
  for (AttachSlot& slot : h.attached) {
    int32_t pid = slot.pid.load(std::memory_order_acquire);
    if (pid == dead && !SlotAlive(slot)) slot.pid.compare_exchange_strong(pid, 0);
  }
}

int Register(Header& h) {
  int32_t me = SelfPid();
  uint64_t ticks = ReadProc(me).start_ticks;
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < kMaxAttached; ++i) {
      int32_t expected = 0;
      if (h.attached[i].pid.compare_exchange_strong(expected, me, std::memory_order_acq_rel)) {
        h.attached[i].start_ticks.store(ticks, std::memory_order_release);
        return i;
      }
    }
    ReapDead(h);
  }
  return -1;
}

std::string PidList(const std::vector<int32_t>& pids) {
  std::string s;
  for (size_t i = 0; i < pids.size() && i < 8; ++i) {
    if (!s.empty()) s += ", ";
    s += std::to_string(pids[i]);
  }
  if (pids.size() > 8) s += ", ...";
  return s;
}

std::string_view KindName(OpKind k) {
  switch (k) {
    case OpKind::kCommand:
      return "command";
    case OpKind::kScript:
      return "script";
    case OpKind::kBatch:
      return "pipeline command";
    default:
      return "nothing";
  }
}

// Reads and validates the fixed header of a mapped segment: magic, layout, size. Waits for a
// segment that is being created (up to kCreationWait) unless its creator died.
Status ValidateHeader(const Target& t, char* base, size_t bytes) {
  if (bytes < sizeof(Header)) {
    return Status::Corruption(t.What() + " is not a stormkv segment (" + std::to_string(bytes) +
                              " bytes, smaller than a stormkv header)");
  }
  Header& h = *reinterpret_cast<Header*>(base);
  auto deadline = std::chrono::steady_clock::now() + kCreationWait;
  for (;;) {
    uint64_t m = h.magic.load(std::memory_order_acquire);
    if (m == kMagic) break;
    if (m != kInitMagic && m != 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%016" PRIx64, m);
      return Status::Corruption(t.What() + " is not a stormkv segment (magic " + buf + ")");
    }
    int32_t creator = h.creator_pid;
    if (creator != 0 && !ProcessAlive(creator, 0)) {
      return Status::Unavailable(t.What() + " is stale: its creator (pid " +
                                 std::to_string(creator) + ") died while creating it; remove it");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Unavailable(t.What() + " is still being created" +
                                 (creator ? " by pid " + std::to_string(creator) : std::string()) +
                                 " (or is not a stormkv segment); try again or remove it");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (h.layout_version != kLayoutVersion || h.header_bytes != sizeof(Header) ||
      h.layout_fingerprint != LayoutFingerprint()) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "layout %u/%016" PRIx64 ", this build %u/%016" PRIx64,
                  h.layout_version, h.layout_fingerprint, kLayoutVersion, LayoutFingerprint());
    return Status::Corruption(t.What() + " was made by an incompatible stormkv build (" + buf +
                              "); remove it and create it again");
  }
  if (h.segment_bytes != bytes || h.buffer_offset >= bytes || h.store_offset >= bytes) {
    return Status::Corruption(t.What() + " has a damaged header (it says " +
                              std::to_string(h.segment_bytes) + " bytes, the object has " +
                              std::to_string(bytes) + ")");
  }
  return Status::Ok();
}

// Opens and maps an existing segment object.
Result<Mapped> MapExisting(const Target& t) {
  int fd = OpenObject(t, O_RDWR);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::InvalidArgument(t.What() + " does not exist");
    return Status::Unavailable("cannot open " + t.What() + ": " + Errno(err));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::Unavailable("cannot stat " + t.What() + ": " + Errno(err));
  }
  Mapped m;
  m.bytes = static_cast<size_t>(st.st_size);
  if (m.bytes < sizeof(Header)) {
    ::close(fd);
    return Status::Corruption(t.What() + " is not a stormkv segment (" + std::to_string(m.bytes) +
                              " bytes, smaller than a stormkv header)");
  }
  m.base = ::mmap(nullptr, m.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  ::close(fd);
  if (m.base == MAP_FAILED)
    return Status::Unavailable("cannot map " + t.What() + ": " + Errno(err));
  return m;
}

Result<memstore::StoreConfig> StoreConfigFrom(const MemoryBackendOptions& o) {
  Result<memstore::StoreConfig> cfg = memstore::StoreConfigFor(o);
  if (!cfg.ok()) return cfg.status();
  if (o.fresh_server) {
    return Status::InvalidArgument(
        "fresh_server is not supported by the shm store (it starts as the warmed empty server)");
  }
  cfg->shared = true;
  return cfg;
}

// Creates the object exclusively. `exists` is set (and an error returned) when it already exists.
Result<std::shared_ptr<Segment>> CreateSegment(const Target& t, const ShmBackendOptions& o,
                                               bool* exists, int* slot) {
  *exists = false;
  if (o.size < kMinSegmentBytes) {
    return Status::InvalidArgument(t.What() + ": size " + std::to_string(o.size) +
                                   " is too small (at least 1mb)");
  }
  Result<memstore::StoreConfig> cfg = StoreConfigFrom(o.store);
  if (!cfg.ok()) return cfg.status().WithContext(t.What());
  std::string dir = t.file() ? t.path.substr(0, t.path.rfind('/') + 1) : std::string("/dev/shm");
  struct statvfs vfs;
  if (::statvfs(dir.empty() ? "/" : dir.c_str(), &vfs) == 0) {
    uint64_t total = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
    if (total != 0 && static_cast<uint64_t>(o.size) > total) {
      return Status::Unavailable("cannot create " + t.What() + " of " + std::to_string(o.size) +
                                 " bytes: " + dir + " holds only " + std::to_string(total) +
                                 " bytes");
    }
  }
  int fd = OpenObject(t, O_RDWR | O_CREAT | O_EXCL);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST) {
      *exists = true;
      return Status::InvalidArgument(t.What() + " already exists");
    }
    return Status::Unavailable("cannot create " + t.What() + ": " + Errno(err));
  }
  auto fail = [&](Status s) {
    ::close(fd);
    UnlinkObject(t);
    return s;
  };
  if (::ftruncate(fd, o.size) != 0) {
    return fail(Status::Unavailable("cannot size " + t.What() + " to " + std::to_string(o.size) +
                                    " bytes: " + Errno(errno)));
  }
  if (o.preallocate) {
    int err = ::posix_fallocate(fd, 0, o.size);
    if (err != 0) {
      return fail(Status::Unavailable("cannot reserve the " + std::to_string(o.size) +
                                      " bytes of " + t.What() + " in " + dir + ": " + Errno(err)));
    }
  }
  size_t bytes = static_cast<size_t>(o.size);
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED)
    return fail(Status::Unavailable("cannot map " + t.What() + ": " + Errno(errno)));
  ::close(fd);
  auto seg = std::make_shared<Segment>(t, base, bytes);
  Header* h = new (base) Header();
  h->creator_pid = SelfPid();
  h->magic.store(kInitMagic, std::memory_order_release);
  h->layout_version = kLayoutVersion;
  h->header_bytes = sizeof(Header);
  h->layout_fingerprint = LayoutFingerprint();
  h->segment_bytes = bytes;
  h->buffer_offset = (sizeof(Header) + 63) & ~uint64_t{63};
  h->creator_start_ticks = ReadProc(h->creator_pid).start_ticks;
  h->created_ms = WallMs();
  CopyText(h->name, sizeof h->name, t.label);
  h->clock_mode.store(static_cast<uint32_t>(o.clock_mode));
  h->clock_us.store(o.clock_mode == ShmClockMode::kVirtual ? o.clock_start_ms * 1000 : 0);

  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int rc = pthread_mutex_init(&h->mu, &attr);
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) {
    seg.reset();
    UnlinkObject(t);
    return Status::Internal("cannot initialise the lock of " + t.What() + ": " + Errno(rc));
  }
  try {
    seg->buffer() =
        SegmentBuffer(bi::create_only, seg->base() + h->buffer_offset, bytes - h->buffer_offset);
    h->heap.sm = seg->buffer().get_segment_manager();
    h->heap.reserve_bytes = ReserveBytesFor(bytes);
    void* mem = h->heap.Allocate(sizeof(StoreT));
    new (mem) StoreT(*cfg, Allocator<char>(&h->heap));
    h->store_offset = static_cast<uint64_t>(static_cast<char*>(mem) - seg->base());
    if (!h->heap.HoldReserve()) throw bi::bad_alloc();
  } catch (const std::exception& e) {
    seg.reset();
    UnlinkObject(t);
    return Status::InvalidArgument("cannot create " + t.What() + " of " + std::to_string(o.size) +
                                   " bytes: " + e.what());
  }
  *slot = Register(*h);
  h->magic.store(kMagic, std::memory_order_release);
  return seg;
}

Result<std::shared_ptr<Segment>> AttachSegment(const Target& t, const ShmBackendOptions& o,
                                               int* slot) {
  Result<Mapped> m = MapExisting(t);
  if (!m.ok()) return m.status();
  auto seg = std::make_shared<Segment>(t, m->base, m->bytes);
  STORMKV_RETURN_IF_ERROR(ValidateHeader(t, seg->base(), seg->bytes()));
  Header& h = seg->hdr();
  try {
    seg->buffer() =
        SegmentBuffer(bi::open_only, seg->base() + h.buffer_offset, seg->bytes() - h.buffer_offset);
  } catch (const std::exception& e) {
    return Status::Corruption(t.What() + ": cannot open its heap: " + e.what());
  }
  AttachScan scan = ScanAttached(h);
  if (scan.live.empty() && !scan.dead.empty() && !o.allow_stale) {
    bool creator_alive = ProcessAlive(h.creator_pid, h.creator_start_ticks);
    return Status::Unavailable(
        t.What() + " is stale: every process that had it attached died without detaching (pid " +
        PidList(scan.dead) + "; creator pid " + std::to_string(h.creator_pid) +
        (creator_alive ? " alive" : " dead") +
        "); remove it, or attach with stale=ok (allow_stale) to use its data");
  }
  auto health = static_cast<ShmHealth>(h.health.load(std::memory_order_acquire));
  if (health != ShmHealth::kConsistent && !o.allow_inconsistent) {
    return Status::Corruption(t.What() + " is " + std::string(ShmHealthName(health)) + ": " +
                              h.health_reason +
                              "; attach with inconsistent=ok (allow_inconsistent) to use it "
                              "anyway, or remove it");
  }
  ReapDead(h);
  *slot = Register(h);
  if (*slot < 0) {
    return Status::Unavailable(t.What() + " has " + std::to_string(kMaxAttached) +
                               " live processes attached; no room for another");
  }
  return seg;
}

}  // namespace stormkv::shm
