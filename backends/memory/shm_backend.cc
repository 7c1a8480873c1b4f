#include "stormkv/shm_backend.h"

#include <fcntl.h>
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
#include <thread>

#include "config_impl.h"
#include "shm_segment.h"
#include "stormkv/script.h"

namespace stormkv {
namespace memstore {
template class Store<shm::Allocator<char>>;
}  // namespace memstore

namespace shm {
namespace {

using StoreT = memstore::Store<Allocator<char>>;

constexpr int64_t kMinSegmentBytes = int64_t{1} << 20;
constexpr auto kCreationWait = std::chrono::seconds(2);

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

// getpid() is a system call; commands record the locker's pid, so it is cached (and forgotten
// in the child of a fork).
std::atomic<int32_t> g_self_pid{0};

void ForgetPid() { g_self_pid.store(0, std::memory_order_relaxed); }

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

struct ProcState {
  bool alive = false;
  uint64_t start_ticks = 0;
};

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

std::string HumanBytes(uint64_t n) {
  char buf[48];
  if (n >= (uint64_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(n) / (1 << 30));
  } else if (n >= (uint64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(n) / (1 << 20));
  } else if (n >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRIu64 " B", n);
  }
  return buf;
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

// Where a segment lives.
struct Target {
  std::string label;  // for messages and Describe(): the name, or the file path
  std::string posix;  // "/name" for POSIX shared memory; "" for a file
  std::string path;   // the file; "" for POSIX shared memory
  bool file() const { return !path.empty(); }
  std::string What() const { return "shm segment '" + label + "'"; }
  std::string Url() const { return "shm://" + label; }
};

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

struct Mapped {
  void* base = nullptr;
  size_t bytes = 0;
};

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

// ------------------------------------------------------------------------------ the backend

class ShmBackendImpl;

class ShmScriptContext final : public ScriptContext {
 public:
  explicit ShmScriptContext(ShmBackendImpl& b) : b_(b) {}
  Result<Reply> Call(const Command& argv) override;

 private:
  ShmBackendImpl& b_;
};

class ShmBackendImpl final : public ShmBackend {
 public:
  ShmBackendImpl(std::shared_ptr<Segment> seg, int slot, const ShmBackendOptions& o)
      : seg_(std::move(seg)),
        clock_(std::make_shared<SegmentClock>(seg_)),
        slot_(slot),
        remove_on_close_(o.remove_on_close),
        lock_timeout_(o.lock_timeout) {}

  ~ShmBackendImpl() override {
    if (slot_ >= 0) seg_->hdr().attached[slot_].pid.store(0, std::memory_order_release);
    if (remove_on_close_) UnlinkObject(seg_->target());
  }

  Result<Reply> Run(const Command& argv) override {
    Locked lk(*this, OpKind::kCommand, argv.empty() ? std::string_view() : argv[0]);
    if (!lk.status.ok()) return lk.status;
    Result<Reply> r = RunLocked(argv, false);
    if (r.ok() && r->is_bulk() && !argv.empty() && memstore::EqNoCase(argv[0], "info") &&
        WantsShmInfo(argv)) {
      std::string text = r->str();
      if (!text.empty()) text += "\r\n";
      text += ShmInfoSection();
      return Reply::Bulk(std::move(text));
    }
    return r;
  }

  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override {
    std::vector<Result<Reply>> out;
    out.reserve(cmds.size());
    Locked lk(*this, OpKind::kBatch, "");
    if (!lk.status.ok()) {
      for (size_t i = 0; i < cmds.size(); ++i) out.push_back(lk.status);
      return out;
    }
    for (const Command& c : cmds) {
      NoteOp(OpKind::kBatch, c.empty() ? std::string_view() : c[0]);
      out.push_back(RunLocked(c, false));
    }
    return out;
  }

  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override {
    Locked lk(*this, OpKind::kScript, script.name());
    if (!lk.status.ok()) return lk.status;
    StoreT& st = seg_->store();
    try {
      st.BeginScript(clock_->NowUs(), script.read_only());
    } catch (const std::exception& e) {
      return Interrupted("EVAL", e.what());
    }
    ShmScriptContext ctx(*this);
    Result<Reply> r = Status::ScriptError("script " + script.name() + " has no native twin");
    if (script.native_twin()) {
      try {
        r = script.native_twin()(ctx, keys, args);
      } catch (const std::exception& e) {
        r = Status::ScriptError("script " + script.name() + " threw: " + e.what());
      }
    }
    if (r.ok() && r->is_error()) r = StatusFromErrorReply(r->str());
    st.EndScript(r.status());
    return r;
  }

  std::string Describe() const override { return seg_->target().Url(); }

  std::shared_ptr<ShmClock> clock() const override { return clock_; }
  const std::string& name() const override { return seg_->target().label; }

  Result<ShmSegmentInfo> Info() override {
    Locked lk(*this, OpKind::kCommand, "(info)", /*allow_damaged=*/true);
    if (!lk.status.ok()) return lk.status;
    ShmSegmentInfo info = HeaderInfo(seg_->target(), seg_->hdr());
    info.free_bytes = static_cast<int64_t>(seg_->hdr().heap.sm->get_free_memory());
    return info;
  }

  Status CheckIntegrity() override {
    Locked lk(*this, OpKind::kCommand, "(check)", /*allow_damaged=*/true);
    if (!lk.status.ok()) return lk.status;
    std::string bad = VerifyLocked();
    if (!bad.empty()) return Status::Corruption(seg_->target().What() + ": " + bad);
    return Status::Ok();
  }

  static ShmSegmentInfo HeaderInfo(const Target& t, const Header& h) {
    ShmSegmentInfo info;
    info.name = t.label;
    info.segment_bytes = static_cast<int64_t>(h.segment_bytes);
    info.creator_pid = h.creator_pid;
    info.creator_alive = ProcessAlive(h.creator_pid, h.creator_start_ticks);
    info.created_ms = h.created_ms;
    AttachScan scan = ScanAttached(h);
    info.attached_pids = scan.live;
    info.dead_attached_pids = scan.dead;
    info.stale = scan.live.empty() && !scan.dead.empty();
    info.health = static_cast<ShmHealth>(h.health.load(std::memory_order_acquire));
    info.health_reason = h.health_reason;
    info.owner_deaths = static_cast<int64_t>(h.owner_deaths);
    info.last_owner_death = h.last_owner_death;
    return info;
  }

 private:
  friend class ShmScriptContext;

  // Holds the store's lock for one operation (recovering it from a dead holder first).
  struct Locked {
    Locked(ShmBackendImpl& b, OpKind kind, std::string_view name, bool allow_damaged = false)
        : b(b) {
      status = b.Acquire(kind, name, allow_damaged);
      held = status.ok();
    }
    ~Locked() {
      if (held) b.Release();
    }
    ShmBackendImpl& b;
    Status status;
    bool held = false;
  };

  std::string What() const { return seg_->target().What(); }

  bool IsDamaged() const {
    return seg_->hdr().health.load(std::memory_order_relaxed) ==
           static_cast<uint32_t>(Health::kDamaged);
  }
  Status DamagedStatus() const {
    return Status::Corruption(What() + " is damaged: " + std::string(seg_->hdr().health_reason) +
                              "; remove it");
  }

  Status Acquire(OpKind kind, std::string_view name, bool allow_damaged) {
    Header& h = seg_->hdr();
    int rc = pthread_mutex_trylock(&h.mu);
    if (rc != EBUSY) {
      // Got it (or EOWNERDEAD / an error), without computing a deadline.
    } else if (lock_timeout_.count() <= 0) {
      rc = pthread_mutex_lock(&h.mu);
    } else {
      timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      int64_t ns = ts.tv_nsec + (lock_timeout_.count() % 1000) * 1000000;
      ts.tv_sec += static_cast<time_t>(lock_timeout_.count() / 1000 + ns / 1000000000);
      ts.tv_nsec = static_cast<long>(ns % 1000000000);
      rc = pthread_mutex_timedlock(&h.mu, &ts);
    }
    if (rc == EOWNERDEAD) {
      try {
        RecoverLocked();
      } catch (const std::exception& e) {
        SetHealth(Health::kDamaged,
                  std::string("recovering from a dead lock holder failed: ") + e.what());
        h.op.kind = OpKind::kNone;
      }
      pthread_mutex_consistent(&h.mu);
      rc = 0;
    }
    if (rc == ETIMEDOUT) {
      int32_t holder = h.owner_pid.load(std::memory_order_acquire);
      return Status::Timeout(
          What() + ": the store's lock was not free within " +
          std::to_string(lock_timeout_.count()) + " ms" +
          (holder ? " (held by pid " + std::to_string(holder) + ")" : std::string()));
    }
    if (rc == ENOTRECOVERABLE) {
      return Status::Unavailable(What() +
                                 ": the store's lock is unusable after a failed recovery; "
                                 "remove the segment");
    }
    if (rc != 0) return Status::Internal(What() + ": locking failed: " + Errno(rc));
    h.owner_pid.store(SelfPid(), std::memory_order_release);
    NoteOp(kind, name);
    if (!allow_damaged && IsDamaged()) {
      Status s = DamagedStatus();
      Release();
      return s;
    }
    return Status::Ok();
  }

  void NoteOp(OpKind kind, std::string_view name) {
    OpRecord& op = seg_->hdr().op;
    op.pid = SelfPid();
    op.mutations_at_start = seg_->store().Mutations();
    CopyText(op.name, sizeof op.name, name);
    op.kind = kind;
  }

  void Release() {
    Header& h = seg_->hdr();
    h.op.kind = OpKind::kNone;
    h.owner_pid.store(0, std::memory_order_release);
    pthread_mutex_unlock(&h.mu);
  }

  void SetHealth(Health health, std::string_view reason) {
    Header& h = seg_->hdr();
    if (static_cast<uint32_t>(health) <= h.health.load(std::memory_order_relaxed)) return;
    CopyText(h.health_reason, sizeof h.health_reason, reason);
    h.health.store(static_cast<uint32_t>(health), std::memory_order_release);
  }

  // Checks the allocator and every store structure. A corrupted structure could crash the
  // checker itself; `verifying` stays set then, and the next recovery does not try again.
  // With `repair`, accounting left out of date by an interrupted command is recomputed first
  // (*repaired tells whether that was needed).
  std::string VerifyLocked(bool repair = false, bool* repaired = nullptr) {
    Header& h = seg_->hdr();
    StoreT& st = seg_->store();
    h.verifying = 1;
    std::string bad;
    try {
      if (!h.heap.sm->check_sanity()) {
        bad = "the segment's allocator failed its sanity check";
      } else {
        bad = st.CheckIntegrity();
        if (!bad.empty() && repair) {
          st.RepairAccounting();
          bad = st.CheckIntegrity();
          if (repaired != nullptr) *repaired = bad.empty();
        }
      }
    } catch (const std::exception& e) {
      bad = std::string("the check failed: ") + e.what();
    }
    h.verifying = 0;
    return bad;
  }

  // After an interrupted write: verify (repairing accounting), then mark the segment.
  void MarkInterrupted(const std::string& what, bool checker_died) {
    bool repaired = false;
    std::string bad = checker_died ? "a process died while checking the structures after an "
                                     "earlier failure; not checked again"
                                   : VerifyLocked(/*repair=*/true, &repaired);
    if (!bad.empty()) {
      SetHealth(Health::kDamaged, what + "; verification failed: " + bad);
    } else {
      SetHealth(Health::kPossiblyInconsistent,
                what + (repaired ? " (accounting recomputed, structures verified intact)"
                                 : " (structures verified intact)"));
    }
  }

  // The previous holder died with the lock (EOWNERDEAD): find out what it was doing.
  void RecoverLocked() {
    Header& h = seg_->hdr();
    StoreT& st = seg_->store();
    ++h.owner_deaths;
    h.heap.fallback_armed = 0;
    int32_t dead = h.owner_pid.load(std::memory_order_acquire);
    std::string what;
    bool partial = false;
    if (h.op.kind != OpKind::kNone) {
      dead = h.op.pid;
      std::string op = std::string(KindName(h.op.kind)) + " '" + h.op.name + "'";
      uint64_t changes = st.Mutations() - h.op.mutations_at_start;
      if (changes != 0) {
        partial = true;
        what = "pid " + std::to_string(dead) + " died while running " + op +
               " after it had started changing data; it may be partially applied";
      } else {
        what = "pid " + std::to_string(dead) + " died while running " + op +
               " before changing anything; it was not applied";
      }
      if (h.op.kind == OpKind::kScript) st.EndScript(Status::Ok());
    } else {
      what = "pid " + (dead ? std::to_string(dead) : std::string("?")) +
             " died holding the lock with no operation in progress; nothing was lost";
    }
    bool checker_died = h.verifying != 0;
    h.verifying = 0;
    if (partial) MarkInterrupted(what, checker_died);
    if (!h.heap.reserve) h.heap.HoldReserve();
    ReapPid(h, dead);
    CopyText(h.last_owner_death, sizeof h.last_owner_death, what);
    h.op.kind = OpKind::kNone;
  }

  Status Full(const Command& argv) {
    Header& h = seg_->hdr();
    ++h.full_rejections;
    std::string msg = "OOM " + What() + " is full (" + std::to_string(h.segment_bytes) +
                      " bytes, " + HumanBytes(h.heap.sm->get_free_memory()) + " free): '" +
                      std::string(argv[0]).substr(0, 32) +
                      "' not run; delete keys or use a larger segment";
    seg_->store().RecordError(msg);
    return Status::OutOfMemory(std::move(msg));
  }

  // Makes a write command safe to run: containers grown, room for its argument-sized
  // allocations, the emergency reserve armed. A non-ok result (kOutOfMemory) changed nothing.
  Status PrepareLocked(const Command& argv) {
    if (argv.empty()) return Status::Ok();
    uint32_t flags = StoreT::CommandFlags(argv[0]);
    if ((flags & memstore::kWrite) == 0) return Status::Ok();
    Heap& heap = seg_->hdr().heap;
    bool deny = (flags & memstore::kDenyOom) != 0;
    if (!heap.reserve && !heap.HoldReserve() && deny) return Full(argv);
    try {
      seg_->store().ReserveForWrite(argv, flags);
    } catch (const std::exception&) {
      return Full(argv);
    }
    if (deny) {
      uint64_t need = ArgumentBytes(argv);
      if (need > heap.reserve_bytes / 2 && !heap.Fits(need)) return Full(argv);
    }
    heap.fallback_armed = 1;
    return Status::Ok();
  }

  // A command threw half-way (the segment ran out despite the preparation).
  Status Interrupted(std::string_view cmd, std::string_view what) {
    Header& h = seg_->hdr();
    h.heap.fallback_armed = 0;
    MarkInterrupted("'" + std::string(cmd.substr(0, 32)) + "' was interrupted half-way (" +
                        std::string(what) + ")",
                    /*checker_died=*/false);
    if (!h.heap.reserve) h.heap.HoldReserve();
    std::string msg = "OOM " + What() + " ran out of memory in the middle of '" +
                      std::string(cmd.substr(0, 32)) + "'; the segment is marked " +
                      std::string(ShmHealthName(static_cast<ShmHealth>(h.health.load()))) +
                      "; delete keys or use a larger segment";
    seg_->store().RecordError(msg);
    return Status::OutOfMemory(std::move(msg));
  }

  Result<Reply> RunLocked(const Command& argv, bool in_script) {
    if (IsDamaged()) return DamagedStatus();
    STORMKV_RETURN_IF_ERROR(PrepareLocked(argv));
    StoreT& st = seg_->store();
    Reply r;
    try {
      r = in_script ? st.Call(argv) : st.Execute(argv, clock_->NowUs());
    } catch (const std::exception& e) {
      return Interrupted(argv.empty() ? std::string_view() : argv[0], e.what());
    }
    Heap& heap = seg_->hdr().heap;
    heap.fallback_armed = 0;
    if (!heap.reserve) heap.HoldReserve();
    if (r.is_error()) return StatusFromErrorReply(r.str());
    return r;
  }

  static bool WantsShmInfo(const Command& argv) {
    if (argv.size() == 1) return true;
    for (size_t i = 1; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (memstore::EqNoCase(a, "shm") || memstore::EqNoCase(a, "default") ||
          memstore::EqNoCase(a, "all") || memstore::EqNoCase(a, "everything")) {
        return true;
      }
    }
    return false;
  }

  std::string ShmInfoSection() {
    Header& h = seg_->hdr();
    Heap& heap = h.heap;
    AttachScan scan = ScanAttached(h);
    uint64_t free_bytes = heap.sm->get_free_memory();
    std::string s = "# Shm\r\n";
    auto add = [&](std::string_view k, const std::string& v) {
      s.append(k);
      s += ':';
      s += v;
      s += "\r\n";
    };
    Health health = static_cast<Health>(h.health.load());
    add("stormkv_shm_name", seg_->target().label);
    add("stormkv_shm_segment_bytes", std::to_string(h.segment_bytes));
    add("stormkv_shm_free_bytes", std::to_string(free_bytes));
    add("stormkv_shm_used_bytes", std::to_string(heap.sm->get_size() - free_bytes));
    add("stormkv_shm_reserve_bytes", std::to_string(heap.reserve_bytes));
    add("stormkv_shm_reserve_held", heap.reserve ? "1" : "0");
    add("stormkv_shm_full_rejections", std::to_string(h.full_rejections));
    add("stormkv_shm_clock_mode",
        clock_->mode() == ShmClockMode::kReal ? std::string("real") : std::string("virtual"));
    add("stormkv_shm_creator_pid", std::to_string(h.creator_pid));
    add("stormkv_shm_attached_processes", std::to_string(scan.live.size()));
    add("stormkv_shm_consistent", health == Health::kConsistent ? "1" : "0");
    add("stormkv_shm_health", std::string(ShmHealthName(static_cast<ShmHealth>(health))));
    add("stormkv_shm_health_reason", h.health_reason);
    add("stormkv_shm_owner_deaths", std::to_string(h.owner_deaths));
    add("stormkv_shm_last_owner_death", h.last_owner_death);
    return s;
  }

  std::shared_ptr<Segment> seg_;
  std::shared_ptr<SegmentClock> clock_;
  int slot_;
  bool remove_on_close_;
  std::chrono::milliseconds lock_timeout_;
};

Result<Reply> ShmScriptContext::Call(const Command& argv) { return b_.RunLocked(argv, true); }

// ------------------------------------------------------------------------------ open / create

memstore::StoreConfig StoreConfigFrom(const MemoryBackendOptions& o) {
  memstore::StoreConfig cfg;
  cfg.allocator = o.allocator;
  cfg.maxmemory = o.maxmemory > 0 ? static_cast<uint64_t>(o.maxmemory) : 0;
  if (!memstore::ParsePolicy(o.maxmemory_policy, &cfg.policy))
    cfg.policy = memstore::Policy::kNoEviction;
  cfg.seed = o.seed;
  cfg.active_expiry = o.active_expiry;
  cfg.baseline_used_memory = o.baseline_used_memory;
  cfg.shared = true;
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
  memstore::Policy policy;
  if (!memstore::ParsePolicy(o.store.maxmemory_policy, &policy)) {
    return Status::InvalidArgument(t.What() + ": unknown maxmemory policy '" +
                                   o.store.maxmemory_policy + "'");
  }
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
    new (mem) StoreT(StoreConfigFrom(o.store), Allocator<char>(&h->heap));
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

}  // namespace
}  // namespace shm

std::string_view ShmHealthName(ShmHealth h) {
  switch (h) {
    case ShmHealth::kConsistent:
      return "consistent";
    case ShmHealth::kPossiblyInconsistent:
      return "possibly_inconsistent";
    case ShmHealth::kDamaged:
      return "damaged";
  }
  return "unknown";
}

Result<std::unique_ptr<ShmBackend>> NewShmBackend(const ShmBackendOptions& options) {
  Result<shm::Target> t = shm::TargetFor(options.name, options.file);
  if (!t.ok()) return t.status();
  using OpenMode = ShmBackendOptions::OpenMode;
  for (int attempt = 0; attempt < 3; ++attempt) {
    int slot = -1;
    if (options.open != OpenMode::kAttach) {
      bool exists = false;
      Result<std::shared_ptr<shm::Segment>> seg = shm::CreateSegment(*t, options, &exists, &slot);
      if (seg.ok()) {
        return std::unique_ptr<ShmBackend>(
            std::make_unique<shm::ShmBackendImpl>(std::move(*seg), slot, options));
      }
      if (!exists) return seg.status();
      if (options.open == OpenMode::kCreate) {
        Result<ShmSegmentInfo> info = InspectShmSegment(t->label);
        std::string about;
        if (info.ok()) {
          about = info->stale ? " and is stale (its users died without detaching)"
                              : " (created by pid " + std::to_string(info->creator_pid) +
                                    (info->creator_alive ? ", alive" : ", exited") + ", " +
                                    std::to_string(info->attached_pids.size()) + " attached)";
        } else {
          about = " (" + info.status().message() + ")";
        }
        return Status::InvalidArgument(t->What() + " already exists" + about +
                                       "; remove it or attach to it");
      }
    }
    Result<std::shared_ptr<shm::Segment>> seg = shm::AttachSegment(*t, options, &slot);
    if (seg.ok()) {
      return std::unique_ptr<ShmBackend>(
          std::make_unique<shm::ShmBackendImpl>(std::move(*seg), slot, options));
    }
    // Removed between our create and attach attempts: try again.
    bool vanished = seg.status().IsInvalidArgument() &&
                    seg.status().message().find("does not exist") != std::string::npos;
    if (!(vanished && options.open == OpenMode::kCreateOrAttach)) return seg.status();
  }
  return Status::Unavailable(t->What() + " keeps appearing and disappearing; try again");
}

Result<ShmBackendOptions> ParseShmUrl(std::string_view url) {
  constexpr std::string_view kScheme = "shm://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("shm URL '" + std::string(url) + "' must start with shm://");
  }
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  ShmBackendOptions o;
  if (!rest.empty() && rest[0] == '/') {
    o.file = std::string(rest);
    o.name = std::string(rest.substr(rest.rfind('/') + 1));
  } else {
    o.name = std::string(rest);
  }
  Result<shm::Target> t = shm::TargetFor(o.name, o.file);
  if (!t.ok())
    return Status::InvalidArgument("shm URL '" + std::string(url) + "': " + t.status().message());
  auto bad = [&](std::string_view what) {
    return Status::InvalidArgument("shm URL '" + std::string(url) + "': " + std::string(what));
  };
  auto truthy = [](std::string_view v) {
    return v == "1" || v == "true" || v == "yes" || v == "ok";
  };
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (kv.empty()) continue;
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
    uint64_t n = 0;
    if (k == "size") {
      if (!memstore::ParseMemory(v, &n) || n == 0 || n > (uint64_t{1} << 46)) {
        return bad("size '" + std::string(v) + "' is not a size (e.g. 256mb)");
      }
      o.size = static_cast<int64_t>(n);
    } else if (k == "create") {
      o.open = truthy(v) ? ShmBackendOptions::OpenMode::kCreateOrAttach
                         : ShmBackendOptions::OpenMode::kAttach;
    } else if (k == "clock") {
      if (v == "virtual") {
        o.clock_mode = ShmClockMode::kVirtual;
      } else if (v == "real") {
        o.clock_mode = ShmClockMode::kReal;
      } else {
        return bad("clock must be virtual or real");
      }
    } else if (k == "maxmemory") {
      if (!memstore::ParseMemory(v, &n) || n > static_cast<uint64_t>(INT64_MAX)) {
        return bad("maxmemory '" + std::string(v) + "' is not a size");
      }
      o.store.maxmemory = static_cast<int64_t>(n);
    } else if (k == "policy") {
      memstore::Policy p;
      if (!memstore::ParsePolicy(v, &p))
        return bad("unknown maxmemory policy '" + std::string(v) + "'");
      o.store.maxmemory_policy = std::string(v);
    } else if (k == "preallocate") {
      o.preallocate = truthy(v);
    } else if (k == "stale") {
      o.allow_stale = truthy(v);
    } else if (k == "inconsistent") {
      o.allow_inconsistent = truthy(v);
    } else if (k == "lock_timeout_ms") {
      int64_t ms = 0;
      if (!memstore::ParseLL(v, &ms) || ms < 0) return bad("lock_timeout_ms must be >= 0");
      o.lock_timeout = std::chrono::milliseconds(ms);
    } else {
      return bad("unknown parameter '" + std::string(k) +
                 "' (size, create, clock, maxmemory, policy, preallocate, stale, inconsistent, "
                 "lock_timeout_ms)");
    }
  }
  return o;
}

Result<std::unique_ptr<KvBackend>> OpenShmBackend(std::string_view url) {
  Result<ShmBackendOptions> o = ParseShmUrl(url);
  if (!o.ok()) return o.status();
  Result<std::unique_ptr<ShmBackend>> b = NewShmBackend(*o);
  if (!b.ok()) return b.status();
  return std::unique_ptr<KvBackend>(std::move(*b));
}

Status RemoveShmSegment(std::string_view name_or_path) {
  Result<shm::Target> t = shm::TargetFromString(name_or_path);
  if (!t.ok()) return t.status();
  if (shm::UnlinkObject(*t) != 0) {
    int err = errno;
    if (err == ENOENT) return Status::InvalidArgument(t->What() + " does not exist");
    return Status::Unavailable("cannot remove " + t->What() + ": " + shm::Errno(err));
  }
  return Status::Ok();
}

Result<ShmSegmentInfo> InspectShmSegment(std::string_view name_or_path) {
  Result<shm::Target> t = shm::TargetFromString(name_or_path);
  if (!t.ok()) return t.status();
  Result<shm::Mapped> m = shm::MapExisting(*t);
  if (!m.ok()) return m.status();
  shm::Segment seg(*t, m->base, m->bytes);
  STORMKV_RETURN_IF_ERROR(shm::ValidateHeader(*t, seg.base(), seg.bytes()));
  return shm::ShmBackendImpl::HeaderInfo(*t, seg.hdr());
}

}  // namespace stormkv
