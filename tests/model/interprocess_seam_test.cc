// The store's template seam for shared memory: Store<shm::Allocator<char>> (offset_ptr fancy
// pointers, blocks from a segment heap) placed inside a Boost.Interprocess managed buffer in
// ordinary memory runs the same commands and reports the same modelled memory as the in-process
// store. (The store's definitions are instantiated in backends/memory for exactly these two
// allocators.)
#include <gtest/gtest.h>

#include <memory>

#include "shm_segment.h"  // backends/memory: the segment heap and its allocator
#include "store.h"

namespace stormkv::memstore {
namespace {

using SegmentAlloc = shm::Allocator<char>;

TEST(InterprocessSeam, StoreRunsInsideASegmentWithOffsetPointers) {
  constexpr size_t kBytes = 64 << 20;
  auto buf = std::make_unique<char[]>(kBytes);
  shm::SegmentBuffer segment(boost::interprocess::create_only, buf.get(), kBytes);
  auto* heap = segment.construct<shm::Heap>("heap")();
  heap->sm = segment.get_segment_manager();
  StoreConfig cfg;
  auto* shared = segment.construct<Store<SegmentAlloc>>("store")(cfg, SegmentAlloc(heap));
  Store<std::allocator<char>> local(cfg);
  const int64_t t0 = int64_t{1714564800000} * 1000;
  std::vector<Command> cmds;
  for (int i = 0; i < 2000; ++i) {
    std::string n = std::to_string(i);
    cmds.push_back({"SET", "s" + n, std::string(static_cast<size_t>(i % 120), 'v'), "EX", "100"});
    cmds.push_back({"HSET", "h" + std::to_string(i % 7), "f" + n, n});
    cmds.push_back({"SADD", "set" + std::to_string(i % 5), "m" + n});
    cmds.push_back({"ZADD", "z" + std::to_string(i % 3), n, "m" + n});
    if (i % 3 == 0) cmds.push_back({"DEL", "s" + std::to_string(i / 2)});
  }
  cmds.push_back({"HGETALL", "h3"});
  cmds.push_back({"ZRANGEBYSCORE", "z1", "(100", "200", "WITHSCORES"});
  cmds.push_back({"SCARD", "set2"});
  cmds.push_back({"MEMORY", "USAGE", "h3", "SAMPLES", "0"});
  for (const Command& c : cmds) {
    Reply a = shared->Execute(c, t0);
    Reply b = local.Execute(c, t0);
    ASSERT_EQ(a, b) << c[0] << " " << c[1];
  }
  EXPECT_EQ(shared->UsedMemory(), local.UsedMemory());
  EXPECT_GT(shared->UsedMemory(), model::EmptyServer(AllocatorProfile::kDebian).used_memory + 100000);
  Reply flush = shared->Execute({"FLUSHDB"}, t0);
  EXPECT_EQ(flush, Reply::Ok());
  EXPECT_EQ(shared->UsedMemory(), model::EmptyServer(AllocatorProfile::kDebian).used_memory);
  segment.destroy_ptr(shared);
  segment.destroy_ptr(heap);
}

}  // namespace
}  // namespace stormkv::memstore
