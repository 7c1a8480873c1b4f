// backends/memory/shm_verify.cc — VerifyHeap: a bounded, cycle-safe check of the segment's
// rbtree_best_fit allocator (see shm_verify.h).
//
// The allocator keeps its state private; this file reads it through member pointers obtained by
// explicit template instantiation (the one context where C++ does not check access), and reads
// the blocks and tree nodes through Boost's own types (block_ctrl, the tree's node_traits), so a
// change of Boost's layout fails to compile here rather than misreading a segment. The segment's
// layout fingerprint (shm_segment.cc) already includes the Boost version.
#include "shm_verify.h"

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "shm_segment.h"

namespace stormkv::shm {
namespace {

using MemAlgo = bi::rbtree_best_fit<bi::null_mutex_family>;
static_assert(std::is_base_of_v<MemAlgo, SegmentManager>, "the segment manager's algorithm");

// segment_manager_base derives privately from its algorithm; a C-style cast is the one cast that
// converts to an inaccessible (unambiguous) base, adjusting the address like static_cast.
MemAlgo& AlgoOf(SegmentManager& sm) { return (MemAlgo&)sm; }  // NOLINT(google-readability-casting)

// The allocator's private header (free tree, sizes), reached by a member pointer.
struct HeaderTag {
  friend auto HeaderMember(HeaderTag);
};
template <auto M>
struct ExposeHeader {
  friend auto HeaderMember(HeaderTag) { return M; }
};
template struct ExposeHeader<&MemAlgo::m_header>;

auto& HeaderOf(MemAlgo& algo) { return algo.*HeaderMember(HeaderTag{}); }

using AlgoHeader = std::remove_reference_t<decltype(HeaderOf(std::declval<MemAlgo&>()))>;
using FreeTree = decltype(AlgoHeader::m_imultiset);
using NodeTraits = typename FreeTree::node_traits;
using ValueTraits = typename FreeTree::value_traits;
using NodePtr = typename NodeTraits::node_ptr;
using Block = typename FreeTree::value_type;  // rbtree_best_fit's block_ctrl
using size_type = MemAlgo::size_type;

constexpr size_type kAlign = MemAlgo::Alignment;
constexpr size_type RoundUp(size_type n) { return (n + kAlign - 1) / kAlign * kAlign; }
// What rbtree_best_fit derives from its types (its own constants are private).
constexpr size_type kSizeHolderBytes = 2 * sizeof(size_type);
constexpr size_type kEndCtrlBlockBytes = RoundUp(kSizeHolderBytes);
constexpr size_type kBlockCtrlUnits = RoundUp(sizeof(Block)) / kAlign;

// Where the blocks of `algo` start and end (rbtree_best_fit::priv_first_block / priv_end_block).
struct Bounds {
  char* first = nullptr;
  char* end = nullptr;  // the end block, a size holder marked allocated
};

std::string FindBounds(MemAlgo& algo, const char* lo, const char* hi, Bounds* out) {
  AlgoHeader& h = HeaderOf(algo);
  char* self = reinterpret_cast<char*>(&algo);
  if (self < lo || self + sizeof(MemAlgo) > hi) return "the allocator lies outside the segment";
  const size_type self_addr = reinterpret_cast<size_type>(self);
  if (h.m_extra_hdr_bytes > static_cast<size_type>(hi - self)) {
    return "the allocator's header size is out of range";
  }
  const size_type block1_off =
      RoundUp(self_addr + sizeof(MemAlgo) + h.m_extra_hdr_bytes) - self_addr;
  if (h.m_size > static_cast<size_type>(hi - self) || h.m_size < block1_off + kEndCtrlBlockBytes) {
    return "the allocator's size " + std::to_string(h.m_size) + " does not fit the segment";
  }
  const size_type first_block_bytes =
      h.m_size / kAlign * kAlign - block1_off / kAlign * kAlign - kEndCtrlBlockBytes;
  out->first = self + block1_off;
  out->end = out->first + first_block_bytes;
  if (out->end + kEndCtrlBlockBytes > hi) return "the allocator's end block lies outside";
  return "";
}

// Addresses of the free blocks, ascending (from the address walk).
using FreeList = std::vector<const Block*>;

// Walk 1: the blocks in address order. Each step moves forward by the block's size, so it ends.
std::string WalkBlocks(const Bounds& b, FreeList* free, HeapFigures* f, size_type* allocated) {
  char* at = b.first;
  bool prev_free = false;
  size_type n = 0;
  *allocated = 0;
  while (at != b.end) {
    if (at > b.end - kBlockCtrlUnits * kAlign) return "a block crosses the end of the heap";
    const Block* blk = reinterpret_cast<const Block*>(at);
    const size_type units = blk->m_size;
    if (units < kBlockCtrlUnits) {
      return "block " + std::to_string(n) + " has an impossible size (" + std::to_string(units) +
             " units)";
    }
    if (units > static_cast<size_type>(b.end - at) / kAlign) {
      return "block " + std::to_string(n) + " runs past the end of the heap";
    }
    if (static_cast<bool>(blk->m_prev_allocated) == prev_free) {
      return "block " + std::to_string(n) + " disagrees with its predecessor's allocated bit";
    }
    const Block* next = reinterpret_cast<const Block*>(at + units * kAlign);
    if (!blk->m_allocated) {
      if (prev_free) return "two adjacent free blocks (a merge was interrupted)";
      if (next->m_prev_size != units) {
        return "free block " + std::to_string(n) + "'s size is not repeated in its successor";
      }
      free->push_back(blk);
      ++f->free_blocks;
      f->free_bytes += units * kAlign;
    } else {
      *allocated += units * kAlign;
    }
    prev_free = !blk->m_allocated;
    at += units * kAlign;
    ++n;
    ++f->steps;
  }
  const Block* end = reinterpret_cast<const Block*>(b.end);
  if (!end->m_allocated) return "the end block is not marked allocated";
  if (static_cast<bool>(end->m_prev_allocated) == prev_free) {
    return "the end block disagrees with the last block's allocated bit";
  }
  f->blocks = n;
  return "";
}

// Walk 2: the free tree, in order, each node at most once (a node is checked to be one of the
// free blocks before it is read). Checks links, order, colours and the black height.
std::string WalkFreeTree(FreeTree& tree, const FreeList& free, HeapFigures* f) {
  const NodePtr header = tree.end().pointed_node();
  const NodePtr root = NodeTraits::get_parent(header);
  std::vector<char> seen(free.size(), 0);
  auto accept = [&](const NodePtr& n, std::string* why) {
    const Block* blk = ValueTraits::to_value_ptr(n).get();
    auto it = std::lower_bound(free.begin(), free.end(), blk);
    if (it == free.end() || *it != blk) {
      *why = "the free tree holds a node that is not a free block";
      return false;
    }
    char& s = seen[static_cast<size_t>(it - free.begin())];
    if (s) {
      *why = "the free tree reaches a block twice (a cycle)";
      return false;
    }
    s = 1;
    return true;
  };
  if (!root) {
    if (!free.empty()) return "the free tree is empty but the heap has free blocks";
    return "";
  }
  std::string why;
  if (!accept(root, &why)) return why;
  if (NodeTraits::get_parent(root) != header) return "the free tree's root has a wrong parent";
  if (NodeTraits::get_color(root) != NodeTraits::black()) return "the free tree's root is red";
  struct Frame {
    NodePtr node;
    int black = 0;  // black nodes from the root down to this one, itself included
  };
  std::vector<Frame> stack;
  int leaf_black = -1;
  size_type count = 0;
  size_type last_units = 0;
  NodePtr first_in_order, last_in_order;
  auto leaf = [&](int black) {
    if (leaf_black < 0) leaf_black = black;
    return leaf_black == black;
  };
  auto child = [&](const NodePtr& parent, const NodePtr& c, int parent_black, Frame* out) {
    const bool red_parent = NodeTraits::get_color(parent) != NodeTraits::black();
    if (!accept(c, &why)) return false;
    if (NodeTraits::get_parent(c) != parent) {
      why = "a free-tree node's child points to another parent";
      return false;
    }
    const bool red = NodeTraits::get_color(c) != NodeTraits::black();
    if (red_parent && red) {
      why = "a red free-tree node has a red child";
      return false;
    }
    *out = Frame{c, parent_black + (red ? 0 : 1)};
    return true;
  };
  // In-order, iteratively: push the left spine, pop, go right.
  Frame cur{root, 1};
  bool have = true;
  while (have || !stack.empty()) {
    while (have) {
      stack.push_back(cur);
      ++f->steps;
      const NodePtr l = NodeTraits::get_left(cur.node);
      if (!l) {
        if (!leaf(cur.black)) return "the free tree's black heights differ";
        have = false;
      } else {
        Frame next;
        if (!child(cur.node, l, cur.black, &next)) return why;
        cur = next;
      }
    }
    Frame top = stack.back();
    stack.pop_back();
    const size_type units = ValueTraits::to_value_ptr(top.node)->m_size;
    if (count > 0 && units < last_units) return "the free tree is out of order";
    if (count == 0) first_in_order = top.node;
    last_in_order = top.node;
    last_units = units;
    ++count;
    const NodePtr r = NodeTraits::get_right(top.node);
    if (!r) {
      if (!leaf(top.black)) return "the free tree's black heights differ";
    } else {
      if (!child(top.node, r, top.black, &cur)) return why;
      have = true;
    }
  }
  if (count != free.size()) {
    return "the free tree holds " + std::to_string(count) + " blocks, the heap " +
           std::to_string(free.size());
  }
  if (NodeTraits::get_left(header) != first_in_order ||
      NodeTraits::get_right(header) != last_in_order) {
    return "the free tree's leftmost/rightmost links are out of date";
  }
  if (tree.size() != count) return "the free tree's size is out of date";
  return "";
}

}  // namespace

std::string VerifyHeap(SegmentManager& sm, const char* lo, const char* hi, HeapFigures* figures) {
  HeapFigures local;
  HeapFigures& f = figures != nullptr ? *figures : local;
  f = HeapFigures{};
  MemAlgo& algo = AlgoOf(sm);
  Bounds b;
  std::string bad = FindBounds(algo, lo, hi, &b);
  if (!bad.empty()) return bad;
  FreeList free;
  size_type allocated = 0;
  bad = WalkBlocks(b, &free, &f, &allocated);
  if (!bad.empty()) return "allocator: " + bad;
  if (HeaderOf(algo).m_allocated != allocated) {
    return "allocator: " + std::to_string(HeaderOf(algo).m_allocated) +
           " bytes counted as allocated, the blocks hold " + std::to_string(allocated);
  }
  bad = WalkFreeTree(HeaderOf(algo).m_imultiset, free, &f);
  if (!bad.empty()) return "allocator: " + bad;
  return "";
}

namespace testing {
bool TieFreeTreeIntoACycle(SegmentManager& sm) {
  MemAlgo& algo = AlgoOf(sm);
  FreeTree& tree = HeaderOf(algo).m_imultiset;
  const NodePtr root = NodeTraits::get_parent(tree.end().pointed_node());
  if (!root) return false;
  NodeTraits::set_left(root, root);
  return true;
}
}  // namespace testing

}  // namespace stormkv::shm
