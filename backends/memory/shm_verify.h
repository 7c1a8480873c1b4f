// backends/memory/shm_verify.h — checks a segment's allocator without trusting it.
//
// After a lock holder died, the segment's allocator (Boost.Interprocess rbtree_best_fit) may be
// half-way through splitting or merging a block: its free tree can hold a cycle, a dangling
// child or a block twice. Boost's own check_sanity() walks that tree with its iterators, which
// then never end (the survivor spins forever, holding the store's lock), and allocate() would
// walk it too. VerifyHeap trusts nothing it reads: it walks the blocks in address order (each
// step moves forward, within the heap, so the walk ends after at most heap-bytes / 16 steps),
// then walks the free tree visiting each node at most once, and accepts a node only if it is one
// of the free blocks that the address walk found. Whatever it cannot prove consistent is a
// violation; the caller marks the segment damaged and does not touch the allocator again.
#ifndef STORMKV_BACKENDS_MEMORY_SHM_VERIFY_H_
#define STORMKV_BACKENDS_MEMORY_SHM_VERIFY_H_

#include <cstdint>
#include <string>

#include "shm_allocator.h"

namespace stormkv::shm {

// What VerifyHeap saw (for tests and INFO).
struct HeapFigures {
  uint64_t blocks = 0;        // blocks in address order, the end block excluded
  uint64_t free_blocks = 0;   // of which free (each must be in the free tree exactly once)
  uint64_t free_bytes = 0;    // their bytes
  uint64_t steps = 0;         // every step of both walks together
};

// Checks the allocator of `sm`, whose memory must lie within [lo, hi) (the mapping). "" when
// every invariant holds, else the first violation. Never loops, never follows a pointer out of
// [lo, hi), never allocates in the segment. O(blocks). `figures` may be null.
std::string VerifyHeap(SegmentManager& sm, const char* lo, const char* hi,
                       HeapFigures* figures = nullptr);

namespace testing {
// Tests only: makes the free tree's root its own left child (the cycle a killed holder can
// leave behind) — what VerifyHeap must report and Boost's check_sanity() loops on. False when
// the tree is empty.
bool TieFreeTreeIntoACycle(SegmentManager& sm);
}  // namespace testing

}  // namespace stormkv::shm

#endif  // STORMKV_BACKENDS_MEMORY_SHM_VERIFY_H_
