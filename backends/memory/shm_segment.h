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
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/indexes/iset_index.hpp>
#include <boost/interprocess/managed_external_buffer.hpp>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/offset_ptr.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <type_traits>

namespace stormkv::shm {

namespace bi = boost::interprocess;

using SegmentBuffer =
    bi::basic_managed_external_buffer<char, bi::rbtree_best_fit<bi::null_mutex_family>,
                                      bi::iset_index>;
using SegmentManager = SegmentBuffer::segment_manager;

// The segment's heap: the Boost segment manager plus an emergency reserve, a block held back so
// that a command that passed its pre-flight check can finish even when the free space runs out
// half-way. Guarded by the segment's mutex.
struct Heap {
  bi::offset_ptr<SegmentManager> sm;
  bi::offset_ptr<void> reserve;  // the held block; null while released
  uint64_t reserve_bytes = 0;
  uint32_t fallback_armed = 0;  // a prepared command runs: Allocate may release the reserve
  uint32_t fail_after = 0;      // tests: the fail_after-th allocation from now fails (0: never)
  uint64_t reserve_releases = 0;
  uint64_t failed_allocations = 0;

  void* Allocate(std::size_t n) {
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
  void Deallocate(void* p) { sm->deallocate(p); }
  // Holds the reserve again if it was released. False when there is no room for it.
  bool HoldReserve() {
    if (reserve) return true;
    void* p = sm->allocate(reserve_bytes, std::nothrow);
    if (p == nullptr) return false;
    reserve = p;
    return true;
  }
  // True when a block of `n` bytes could be allocated now.
  bool Fits(std::size_t n) {
    void* p = sm->allocate(n, std::nothrow);
    if (p == nullptr) return false;
    sm->deallocate(p);
    return true;
  }
};

// The store's allocator: offset_ptr pointers into the segment, blocks from Heap.
template <class T>
class Allocator {
 public:
  using value_type = T;
  using pointer = bi::offset_ptr<T>;
  using const_pointer = bi::offset_ptr<const T>;
  using void_pointer = bi::offset_ptr<void>;
  using const_void_pointer = bi::offset_ptr<const void>;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::false_type;
  template <class U>
  struct rebind {
    using other = Allocator<U>;
  };

  explicit Allocator(Heap* heap) noexcept : heap_(heap) {}
  Allocator(const Allocator& o) noexcept : heap_(o.heap()) {}
  template <class U>
  Allocator(const Allocator<U>& o) noexcept : heap_(o.heap()) {}  // NOLINT: rebinding
  Allocator& operator=(const Allocator& o) noexcept {
    heap_ = o.heap();
    return *this;
  }

  pointer allocate(size_type n) {
    if (n > std::numeric_limits<size_type>::max() / sizeof(T)) throw bi::bad_alloc();
    return pointer(static_cast<T*>(heap_->Allocate(n * sizeof(T))));
  }
  void deallocate(pointer p, size_type) noexcept {
    if (p) heap_->Deallocate(p.get());
  }
  size_type max_size() const noexcept { return std::numeric_limits<size_type>::max() / sizeof(T); }

  Heap* heap() const noexcept { return heap_.get(); }
  template <class U>
  friend bool operator==(const Allocator& a, const Allocator<U>& b) noexcept {
    return a.heap() == b.heap();
  }
  template <class U>
  friend bool operator!=(const Allocator& a, const Allocator<U>& b) noexcept {
    return a.heap() != b.heap();
  }

 private:
  bi::offset_ptr<Heap> heap_;
};

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
