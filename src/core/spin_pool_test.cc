#include "core/spin_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace epara {
namespace {

// Every index of [0, n) is visited exactly once, in ranges of at least `grain` (but the last),
// across many back-to-back loops (the decode step's pattern) and several pool sizes.
TEST(SpinPoolTest, CoversEveryIndexOnceAcrossManyLoops) {
  for (int threads : {1, 2, 3}) {
    SpinPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    for (int64_t n : {0, 1, 5, 64, 1000, 4097}) {
      for (int64_t grain : {1, 16, 5000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> ranges{0};
        std::atomic<bool> small_range{false};
        pool.ParallelFor(n, grain, [&](int64_t b, int64_t e) {
          ranges++;
          if (e - b < grain && e != n) small_range = true;
          for (int64_t i = b; i < e; ++i) hits[i]++;
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n " << n << " i " << i;
        EXPECT_LE(ranges.load(), threads);
        EXPECT_FALSE(small_range.load());
      }
    }
  }
}

TEST(SpinPoolTest, WorkersReallyRunInParallelAndResultsAreVisibleAfterReturn) {
  SpinPool pool(2);
  std::vector<std::thread::id> ids(2);
  std::vector<int64_t> sums(2, 0);
  for (int round = 0; round < 200; ++round) {
    pool.ParallelFor(2, 1, [&](int64_t b, int64_t e) {
      ids[b] = std::this_thread::get_id();
      sums[b] += b + 1;  // plain writes: ParallelFor's return must publish them
    });
  }
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_EQ(ids[0], std::this_thread::get_id());  // the caller takes the first range
  EXPECT_EQ(sums[0], 200);
  EXPECT_EQ(sums[1], 400);
}

}  // namespace
}  // namespace epara
