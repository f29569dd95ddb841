#include "core/host_allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include <unistd.h>

namespace epara {
namespace {

long long Resident() {
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// The inference settings keep freed heap resident (no trimming); ReleaseFreeHostMemory gives it
// back, also from below a block still in use at the top of the heap.
TEST(HostAllocatorTest, FreedHeapStaysResidentUntilReleased) {
  ASSERT_TRUE(ConfigureHostAllocatorForInference());
  constexpr size_t kBlock = 8 << 20;
  std::vector<char*> blocks;
  for (int i = 0; i < 8; ++i) {
    char* b = static_cast<char*>(std::malloc(kBlock));
    ASSERT_NE(b, nullptr);
    std::memset(b, i + 1, kBlock);  // resident
    blocks.push_back(b);
  }
  const long long loaded = Resident();
  for (int i = 0; i < 7; ++i) std::free(blocks[i]);  // the last one pins the top of the heap
  const long long freed = Resident();
  EXPECT_GT(freed, loaded - (16LL << 20)) << "free() already returned the memory";
  const long long released = ReleaseFreeHostMemory();
  EXPECT_GE(released, 40LL << 20) << "released " << (released >> 20) << " MB of 56 freed";
  EXPECT_LT(Resident(), freed - (40LL << 20));
  EXPECT_EQ(blocks[7][kBlock - 1], 8);  // the block in use is intact
  std::free(blocks[7]);
}

}  // namespace
}  // namespace epara
