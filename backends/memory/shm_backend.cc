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

#include "lua_host.h"
#include "running_twin.h"
#include "shm_internal.h"
#include "shm_verify.h"
#include "stormkv/byte_size.h"
#include "store_internal.h"
#include "stormkv/lua_engine.h"
#include "stormkv/script.h"

namespace stormkv {
namespace shm {
namespace {

// ------------------------------------------------------------------------------ the backend

class ShmBackendImpl;

// Every command a script runs (twin or Lua): the backend's guarded call (segment prepared first).
struct ShmCall {
  ShmBackendImpl* b;
  Result<Reply> operator()(const Command& argv) const;
};
using ShmScriptContext = memstore::StoreScriptContext<ShmCall>;

class ShmBackendImpl final : public ShmBackend {
 public:
  ShmBackendImpl(std::shared_ptr<Segment> seg, int slot, const ShmBackendOptions& o)
      : seg_(std::move(seg)),
        clock_(std::make_shared<SegmentClock>(seg_)),
        url_(seg_->target().Url()),
        slot_(slot),
        remove_on_close_(o.remove_on_close),
        lock_timeout_(o.lock_timeout),
        script_mode_(o.store.script_mode),
        lua_options_(o.store.lua) {}

  ~ShmBackendImpl() override {
    if (slot_ >= 0) seg_->hdr().attached[slot_].pid.store(0, std::memory_order_release);
    if (remove_on_close_) UnlinkObject(seg_->target());
  }

  Result<Reply> Run(const Command& argv) override {
    STORMKV_RETURN_IF_ERROR(NotInsideOwnScript("Run"));
    if (!argv.empty() && LuaEngine::IsScriptingCommand(argv[0])) {
      Locked lk(*this, OpKind::kScript, argv[0]);
      if (!lk.status.ok()) return lk.status;
      return RunScriptingLocked(argv);
    }
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
    if (Status s = NotInsideOwnScript("RunBatch"); !s.ok()) {
      out.assign(cmds.size(), s);
      return out;
    }
    Locked lk(*this, OpKind::kBatch, "");
    if (!lk.status.ok()) {
      for (size_t i = 0; i < cmds.size(); ++i) out.push_back(lk.status);
      return out;
    }
    for (const Command& c : cmds) {
      const bool scripting = !c.empty() && LuaEngine::IsScriptingCommand(c[0]);
      NoteOp(scripting ? OpKind::kScript : OpKind::kBatch, c.empty() ? std::string_view() : c[0]);
      out.push_back(scripting ? RunScriptingLocked(c) : RunLocked(c, false));
    }
    return out;
  }

  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override {
    STORMKV_RETURN_IF_ERROR(NotInsideOwnScript("Eval"));
    Locked lk(*this, OpKind::kScript, script.name());
    if (!lk.status.ok()) return lk.status;
    if (IsDamaged()) return DamagedStatus();
    if (script_mode_ == ScriptMode::kLua || !script.has_twin()) {
      Frame frame(*this);
      memstore::StoreLuaHost<Frame> host(frame, script.read_only());
      Reply r = Engine().Run(script, keys, args, host);
      if (!frame.interrupted().ok()) return frame.interrupted();
      if (r.is_error()) return StatusFromErrorReply(r.str());
      return r;
    }
    Result<memstore::ScriptStart> start = memstore::TwinScriptStart(script);
    if (!start.ok()) return start.status();
    Frame frame(*this);
    STORMKV_RETURN_IF_ERROR(frame.Begin(*start));
    Result<Reply> r = [&]() -> Result<Reply> {
      try {
        memstore::RunningTwin running(url_, script.name());
        memstore::TwinScriptContext ctx(frame.Context(), [this](const Command& argv) {
          auto outer = seg_->store().SuspendScript();
          Result<Reply> nested = RunScriptingLocked(argv);
          seg_->store().ResumeScript(outer);
          return nested;
        }, start->read_only);
        return script.native_twin()(ctx, keys, args);
      } catch (const std::exception& e) {
        return Status::ScriptError("script " + script.name() + " threw: " + e.what());
      }
    }();
    if (r.ok() && r->is_error()) r = StatusFromErrorReply(r->str());
    frame.End(r.status());
    return r;
  }

  std::string Describe() const override { return seg_->target().Url(); }

  std::shared_ptr<ShmClock> clock() const override { return clock_; }
  const std::string& name() const override { return seg_->target().label; }

  Result<ShmSegmentInfo> SegmentInfo() override {
    STORMKV_RETURN_IF_ERROR(NotInsideOwnScript("SegmentInfo"));
    Locked lk(*this, OpKind::kCommand, "(info)", /*allow_damaged=*/true);
    if (!lk.status.ok()) return lk.status;
    ShmSegmentInfo info = HeaderInfo(seg_->target(), seg_->hdr());
    info.free_bytes = static_cast<int64_t>(seg_->hdr().heap.sm->get_free_memory());
    return info;
  }

  Status CheckIntegrity() override {
    STORMKV_RETURN_IF_ERROR(NotInsideOwnScript("CheckIntegrity"));
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
  friend struct ShmCall;

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

  // Every handle of one segment in this process locks the same mutex: a twin running on the
  // segment must not call any of them (RunningTwin).
  Status NotInsideOwnScript(std::string_view what) const {
    return memstore::RunningTwin::CheckNotInsideOwnScript(url_, what);
  }

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

  // The allocator, checked without trusting it (shm_verify.h: bounded, cycle-safe walks; Boost's
  // own check_sanity() loops forever on a free tree that a killed holder left with a cycle).
  std::string VerifyHeapLocked() {
    return VerifyHeap(*seg_->hdr().heap.sm, seg_->base(), seg_->base() + seg_->bytes());
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
      bad = VerifyHeapLocked();
      if (!bad.empty()) {
        bad = "the segment's " + bad;
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
    if (partial) {
      MarkInterrupted(what, checker_died);
    } else if (checker_died) {
      SetHealth(Health::kDamaged, what + "; a process died while checking the structures after "
                                         "an earlier failure; not checked again");
    } else {
      // Changed no data, but it may have died inside the allocator (preparing a write, holding
      // back the reserve): the allocator is checked after every death, bounded, before anything
      // allocates again.
      h.verifying = 1;
      std::string bad = VerifyHeapLocked();
      h.verifying = 0;
      if (!bad.empty()) SetHealth(Health::kDamaged, what + "; the segment's " + bad);
    }
    // A damaged segment's allocator is not touched again (it may not terminate).
    if (!IsDamaged() && !h.heap.reserve) h.heap.HoldReserve();
    ReapPid(h, dead);
    CopyText(h.last_owner_death, sizeof h.last_owner_death, what);
    h.op.kind = OpKind::kNone;
  }

  Status Full(const Command& argv) {
    Header& h = seg_->hdr();
    ++h.full_rejections;
    std::string msg = "OOM " + What() + " is full (" + std::to_string(h.segment_bytes) +
                      " bytes, " + FormatBytes(static_cast<int64_t>(h.heap.sm->get_free_memory())) + " free): '" +
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
    if (!IsDamaged() && !h.heap.reserve) h.heap.HoldReserve();
    std::string msg = "OOM " + What() + " ran out of memory in the middle of '" +
                      std::string(cmd.substr(0, 32)) + "'; the segment is marked " +
                      std::string(ShmHealthName(static_cast<ShmHealth>(h.health.load()))) +
                      "; delete keys or use a larger segment";
    seg_->store().RecordError(msg);
    return Status::OutOfMemory(std::move(msg));
  }

  // One script's frame on the segment's store (memstore::StoreLuaHost; the twin path too).
  class Frame {
   public:
    explicit Frame(ShmBackendImpl& b) : b_(b), ctx_(ShmCall{&b}) {}
    Status Begin(const memstore::ScriptStart& s) {
      try {
        if (b_.seg_->store().BeginScript(b_.clock_->NowUs(), s)) return Status::Ok();
      } catch (const std::exception& e) {
        interrupted_ = b_.Interrupted("EVAL", e.what());
        return interrupted_;
      }
      return StatusFromErrorReply(std::string(memstore::kErrOom));
    }
    void End(const Status& result) { b_.seg_->store().EndScript(result); }
    ScriptContext& Context() { return ctx_; }
    // Non-ok when BeginScript ran out of segment memory (the segment is then marked).
    const Status& interrupted() const { return interrupted_; }

   private:
    ShmBackendImpl& b_;
    ShmScriptContext ctx_;
    Status interrupted_;
  };

  // EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT on this handle's Lua engine, lock held.
  Result<Reply> RunScriptingLocked(const Command& argv) {
    if (IsDamaged()) return DamagedStatus();
    Frame frame(*this);
    memstore::StoreLuaHost<Frame> host(frame, false);
    Reply r = Engine().Execute(argv, host);
    if (!frame.interrupted().ok()) return frame.interrupted();
    if (r.is_error() && !host.began()) seg_->store().RecordError(r.str());
    if (r.is_error()) return StatusFromErrorReply(r.str());
    return r;
  }

  LuaEngine& Engine() {
    if (!lua_) lua_ = std::make_unique<LuaEngine>(lua_options_);
    return *lua_;
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
  std::string url_;  // names the segment to RunningTwin
  int slot_;
  bool remove_on_close_;
  std::chrono::milliseconds lock_timeout_;
  const ScriptMode script_mode_;
  const LuaEngineOptions lua_options_;
  // This handle's Lua engine and script cache (per process, not in the segment); used only
  // with the segment's lock held; created on first use.
  std::unique_ptr<LuaEngine> lua_;
};

Result<Reply> ShmCall::operator()(const Command& argv) const { return b->RunLocked(argv, true); }

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
