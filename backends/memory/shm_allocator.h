// backends/memory/shm_allocator.h — the allocator of a shared segment's store, and its heap.
//
// Light on purpose: the store's translation units include it to instantiate
// Store<shm::Allocator<char>> without the Boost.Interprocess managed-buffer machinery (that is in
// shm_segment.h, with the segment's layout). The heap's methods are in shm_segment.cc.
#ifndef STORMKV_BACKENDS_MEMORY_SHM_ALLOCATOR_H_
#define STORMKV_BACKENDS_MEMORY_SHM_ALLOCATOR_H_

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/interprocess_fwd.hpp>
#include <boost/interprocess/offset_ptr.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace stormkv::shm {

namespace bi = boost::interprocess;

// The segment manager of shm_segment.h's SegmentBuffer (checked there).
using SegmentManager =
    bi::segment_manager<char, bi::rbtree_best_fit<bi::null_mutex_family>, bi::iset_index>;

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

  // A block of `n` bytes; throws bi::bad_alloc when neither the free space nor (while armed)
  // the reserve can give it. Defined in shm_segment.cc, like the rest.
  void* Allocate(std::size_t n);
  void Deallocate(void* p);
  // Holds the reserve again if it was released. False when there is no room for it.
  bool HoldReserve();
  // True when a block of `n` bytes could be allocated now.
  bool Fits(std::size_t n);
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

}  // namespace stormkv::shm

#endif  // STORMKV_BACKENDS_MEMORY_SHM_ALLOCATOR_H_
