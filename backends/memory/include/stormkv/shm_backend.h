// stormkv/shm_backend.h — the embedded store shared by several processes (Boost.Interprocess).
//
// The store of memory_backend.h placed in one named segment: POSIX shared memory ("shm://name",
// /dev/shm/name) or a mapped file ("shm:///path/to/file"). Processes attach by name and get the
// same commands, memory accounting, maxmemory, scripts (each process runs the native twin of the
// script it passes, so every process must register the same scripts; or its Lua text, see
// MemoryBackendOptions::script_mode) and the same clock, which lives in the segment.
// EVAL/EVALSHA/EVAL_RO/EVALSHA_RO/SCRIPT run on a Lua engine of this handle (stormkv/lua_engine.h)
// under the segment's lock. Its script cache is the handle's, not the segment's: a script
// loaded by one process is NOSCRIPT to EVALSHA in another until that one loads it too (the Redis
// backend's Eval does so on NOSCRIPT; EVAL needs nothing). script_mode and lua of
// ShmBackendOptions::store apply to each handle, on attach too.
//
// The segment's size is a hard cap: a write that cannot get segment memory fails with
// kOutOfMemory ("OOM shm segment 'x' is full ...") before it changes anything — every write is
// prepared first (its containers grown, room checked for its argument-sized allocations, an
// emergency reserve kept back) so that a command does not stop half-way for lack of memory.
// Should an allocation fail inside a command anyway, it answers kOutOfMemory ("... ran out of
// memory in the middle of ...") and the segment is verified and marked as below. Inside a script
// each primitive command is atomic in this sense; like Redis, a script that fails does not undo
// its earlier commands.
//
// One robust process-shared mutex guards the store. A process killed while holding it does not
// wedge the others: the next locker recovers the lock and looks at what the dead process was
// doing. If it had changed nothing (e.g. killed while blocked or while reading), the store is
// intact and its command counts as not applied (the allocator is still checked: it may have died
// inside it while preparing a write). If it had started changing data, its command
// (or script) may be partially applied: the survivor recomputes the derived accounting, verifies
// every structure (allocator and store), marks the segment "possibly inconsistent" (INFO shm:
// stormkv_shm_consistent:0 with the reason) and keeps serving; new attaches report it as an
// error unless they accept it. If the verification fails (or a verification itself died), the
// segment is "damaged" and every command answers kCorruption; remove it. The verification trusts
// nothing it reads: every walk of the shared structures is bounded and cycle-safe, so a survivor
// never loops on what a dead process left half-written; what it cannot prove consistent is
// damage.
//
// Thread-safety: a backend may be used from any number of threads; all processes and threads
// share the one lock. Eval and the scripting commands hold it for the whole script.
#ifndef STORMKV_SHM_BACKEND_H_
#define STORMKV_SHM_BACKEND_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/clock.h"
#include "stormkv/kv_backend.h"
#include "stormkv/memory_backend.h"
#include "stormkv/status.h"

namespace stormkv {

// How the segment's clock runs. It is shared: every process attached to a segment reads the
// same time, and Advance() by any of them moves it for all.
enum class ShmClockMode {
  kVirtual,  // starts at ShmBackendOptions::clock_start_ms and only moves by Advance/SetMs
  kReal,     // the system clock plus a shared offset (Advance adds to the offset)
};

// The segment's clock, as seen from one process. Valid as long as the caller holds it (it keeps
// the mapping alive), even after the backend is closed.
class ShmClock : public Clock {
 public:
  // Moves the shared time forward by `d` for every attached process (negative: ignored).
  virtual void Advance(std::chrono::microseconds d) = 0;
  // kVirtual: sets the time (ignored if earlier than now). kReal: ignored.
  virtual void SetMs(int64_t ms) = 0;
  virtual ShmClockMode mode() const = 0;
};

struct ShmBackendOptions {
  // Segment name: 1-200 characters of [A-Za-z0-9._-]. The POSIX object is "/<name>".
  std::string name;
  // Non-empty: a file-backed segment at this absolute path instead of POSIX shared memory
  // (`name` is then only used in messages; empty = the file name).
  std::string file;

  enum class OpenMode {
    kAttach,          // the segment must exist
    kCreate,          // the segment must not exist
    kCreateOrAttach,  // create it when missing, else attach
  };
  OpenMode open = OpenMode::kAttach;

  // ---- used when creating; an attach takes everything from the segment ----
  // Total bytes of the segment, the hard cap. Pages are touched only as they are used.
  int64_t size = int64_t{256} * 1024 * 1024;
  // Reserve the segment's pages at creation (posix_fallocate), so a full /dev/shm fails the
  // creation instead of delivering SIGBUS later.
  bool preallocate = false;
  // The store: allocator profile, maxmemory, policy, seed, active expiry, baseline (its `clock`
  // is ignored: the store uses the segment's clock).
  MemoryBackendOptions store;
  ShmClockMode clock_mode = ShmClockMode::kVirtual;
  int64_t clock_start_ms = ManualClock::kDefaultStartMs;  // kVirtual only

  // ---- this handle ----
  // Remove the segment's name when this handle is closed (its creator's usual choice in tests).
  bool remove_on_close = false;
  // Attach even when the segment is stale (every process that used it died without detaching).
  bool allow_stale = false;
  // Attach even when the segment is marked possibly inconsistent or damaged.
  bool allow_inconsistent = false;
  // How long a command waits for the store's lock before failing with kTimeout (the holder's
  // pid in the message). 0 = wait forever.
  std::chrono::milliseconds lock_timeout = std::chrono::seconds(30);
};

// The health of a segment's data.
enum class ShmHealth {
  kConsistent,            // every operation either fully applied or not at all
  kPossiblyInconsistent,  // a process died mid-write; structures verified, data may be partial
  kDamaged,               // structures failed verification; every command answers kCorruption
};
std::string_view ShmHealthName(ShmHealth h);  // "consistent", "possibly_inconsistent", "damaged"

// What a segment says about itself.
struct ShmSegmentInfo {
  std::string name;
  int64_t segment_bytes = 0;  // mapped size, the hard cap
  int64_t free_bytes = 0;     // free in the segment's heap (0 when not readable)
  int32_t creator_pid = 0;
  bool creator_alive = false;
  int64_t created_ms = 0;                   // wall-clock creation time
  std::vector<int32_t> attached_pids;       // live processes with the segment attached
  std::vector<int32_t> dead_attached_pids;  // processes that died without detaching
  bool stale = false;  // no live process attached and at least one died attached
  ShmHealth health = ShmHealth::kConsistent;
  std::string health_reason;     // why it is not consistent; "" otherwise
  int64_t owner_deaths = 0;      // lock holders that died and were recovered
  std::string last_owner_death;  // what the last recovery found
};

// A KvBackend over a shared segment (Describe(): "shm://name" or "shm:///path").
class ShmBackend : public KvBackend {
 public:
  // The segment's shared clock.
  virtual std::shared_ptr<ShmClock> clock() const = 0;
  // The segment's name (or file path).
  virtual const std::string& name() const = 0;
  // Reads the segment's header and heap figures (takes the lock). Named apart from
  // KvBackend::Info(section), the INFO command, which stays callable on an ShmBackend
  // (b.Info("memory"), b.Info() for INFO's default sections; INFO also has a "shm" section).
  virtual Result<ShmSegmentInfo> SegmentInfo() = 0;
  // Verifies every structure (allocator and store) under the lock: ok, or kCorruption naming
  // the first violation. O(keys + elements).
  virtual Status CheckIntegrity() = 0;
};

// Creates and/or attaches a segment as `options` says.
// Errors (all name the segment): InvalidArgument for a bad name/size, bad store options (as
// NewMemoryBackend refuses them; fresh_server is not supported here) or a missing segment
// ("does not exist") or an existing one on kCreate ("already exists", saying whether it is live
// or stale); Unavailable when it cannot be created or mapped (e.g. /dev/shm too small), is still
// being initialised, or is stale (its users died; remove it or allow_stale); Corruption when it is
// not a stormkv segment, was made by an incompatible build (layout version mismatch), or is
// possibly inconsistent / damaged (unless allow_inconsistent).
Result<std::unique_ptr<ShmBackend>> NewShmBackend(const ShmBackendOptions& options);

// Parses "shm://name?size=256mb&create=1" (or "shm:///abs/path?..." for a file-backed segment).
// Query parameters: size (Redis units: 1048576, 64mb, 1gb...), create=1 (create when missing,
// else attach; without it the segment must exist), clock=virtual|real, maxmemory, policy,
// preallocate=1, stale=ok, inconsistent=ok, lock_timeout_ms. InvalidArgument on anything else.
Result<ShmBackendOptions> ParseShmUrl(std::string_view url);

// ParseShmUrl + NewShmBackend: what the CLI calls for an shm:// URL.
Result<std::unique_ptr<KvBackend>> OpenShmBackend(std::string_view url);

// Removes the segment's name (POSIX shm_unlink, or unlink of the file). Processes that have it
// attached keep using it until they close it. InvalidArgument when it does not exist.
Status RemoveShmSegment(std::string_view name_or_path);

// Reads a segment's header without attaching (no lock taken; a best-effort snapshot).
// Same errors as attaching, except that stale and inconsistent segments are described, not
// refused.
Result<ShmSegmentInfo> InspectShmSegment(std::string_view name_or_path);

}  // namespace stormkv

#endif  // STORMKV_SHM_BACKEND_H_
