// The store's template seam for shared memory (issue 8 builds on it): Store<A> instantiated with
// a Boost.Interprocess allocator (offset_ptr fancy pointers) inside a managed heap segment runs
// the same commands and reports the same modelled memory as the in-process store.
#include <gtest/gtest.h>

#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/managed_heap_memory.hpp>

#include "config_impl.h"  // backends/memory: the Store<A> definitions

namespace stormkv::memstore {

using SegmentAlloc =
    boost::interprocess::allocator<char, boost::interprocess::managed_heap_memory::segment_manager>;
template class Store<SegmentAlloc>;

namespace {

TEST(InterprocessSeam, StoreRunsInsideASegmentWithOffsetPointers) {
  boost::interprocess::managed_heap_memory segment(64 << 20);
  StoreConfig cfg;
  auto* shared = segment.construct<Store<SegmentAlloc>>("store")(
      cfg, SegmentAlloc(segment.get_segment_manager()));
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
}

}  // namespace
}  // namespace stormkv::memstore
