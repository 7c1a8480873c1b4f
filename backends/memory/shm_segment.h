// backends/memory/shm_segment.h — the layout of a shared segment and its allocator.
//
// A segment is one mapping: a fixed Header at offset 0 (read before any Boost structure, so a
// foreign or incompatible segment is recognised without touching it), then a Boost.Interprocess
// managed buffer (rbtree_best_fit with null_mutex_family: the segment manager has no lock of its
// own, since a process killed inside a non-robust allocator lock would wedge every other one;
// every allocation happens under the Header's robust mutex instead). The store lives in the
// managed buffer and allocates through Allocator<T>, whose pointers are offset_ptr and which can
// fall back on an emergency reserve while a prepared command runs.
#ifndef STORMKV_BACKENDS_MEMORY_SHM_SEGMENT_H_
#define STORMKV_BACKENDS_MEMORY_SHM_SEGMENT_H_

#include <pthread.h>

#include <atomic>
#include <boost/interprocess/indexes/iset_index.hpp>
#include <boost/interprocess/managed_external_buffer.hpp>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "shm_allocator.h"

namespace stormkv::shm {

using SegmentBuffer =
    bi::basic_managed_external_buffer<char, bi::rbtree_best_fit<bi::null_mutex_family>,
                                      bi::iset_index>;
static_assert(std::is_same_v<SegmentBuffer::segment_manager, SegmentManager>,
              "shm_allocator.h names the segment manager of SegmentBuffer");

inline constexpr uint64_t kMagic = 0x31764B6D726F7453ull;      // "StormKv1"
inline constexpr uint64_t kInitMagic = 0x74696E496D726F53ull;  // "SormInit": being created
// Bump on any change to the layout of Header or of the stored types.
inline constexpr uint32_t kLayoutVersion = 1;
inline constexpr int kMaxAttached = 128;

enum class OpKind : uint32_t { kNone = 0, kCommand, kScript, kBatch };
enum class Health : uint32_t { kConsistent = 0, kPossiblyInconsistent, kDamaged };

// A process that has the segment attached (pid 0 = free slot).
struct AttachSlot {
  std::atomic<int32_t> pid;
  std::atomic<uint64_t> start_ticks;  // /proc/<pid>/stat starttime: tells pid reuse apart
};

// What the lock holder is doing (guarded by the mutex).
struct OpRecord {
  int32_t pid;
  OpKind kind;
  uint64_t mutations_at_start;  // Store::Mutations() when the operation started
  char name[48];                // command or script name
};

struct Header {
  // ---- never moves: identifies the segment across builds ----
  std::atomic<uint64_t> magic;  // kMagic once ready; kInitMagic while being created
  uint32_t layout_version;
  uint32_t header_bytes;
  uint64_t layout_fingerprint;  // sizes of the stored types, Boost version

  // ---- set at creation ----
  uint64_t segment_bytes;
  uint64_t buffer_offset;  // where the managed buffer starts
  uint64_t store_offset;   // where the store is
  int32_t creator_pid;
  uint32_t pad0;
  uint64_t creator_start_ticks;
  int64_t created_ms;
  char name[208];

  // ---- the shared clock ----
  std::atomic<int64_t> clock_us;  // kVirtual: now; kReal: offset added to the system clock
  std::atomic<uint32_t> clock_mode;
  uint32_t pad1;

  // ---- the lock and what its holder does ----
  pthread_mutex_t mu;
  std::atomic<int32_t> owner_pid;  // the holder's pid (a hint for timeout messages)
  uint32_t pad2;
  OpRecord op;

  // ---- health (guarded by mu; `health` may be read without it as a hint) ----
  std::atomic<uint32_t> health;
  uint32_t verifying;  // a structure check is running (still set: its process died in it)
  uint64_t owner_deaths;
  uint64_t full_rejections;  // writes refused because the segment was full
  char health_reason[256];
  char last_owner_death[256];

  Heap heap;
  AttachSlot attached[kMaxAttached];
};

static_assert(std::atomic<uint64_t>::is_always_lock_free &&
                  std::atomic<int64_t>::is_always_lock_free &&
                  std::atomic<int32_t>::is_always_lock_free,
              "the segment's atomics must be lock-free to work across processes");
static_assert(std::is_standard_layout_v<OpRecord>);

}  // namespace stormkv::shm

#endif  // STORMKV_BACKENDS_MEMORY_SHM_SEGMENT_H_
