#include "core/spin_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
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
        EXPECT_LE(ranges.load(), threads * SpinPool::kChunksPerThread);
        EXPECT_FALSE(small_range.load());
      }
    }
  }
}

// Two chunks, each waiting (bounded) until the other has started: only possible when a worker
// runs one while the caller runs the other. Plain writes inside must be visible after return.
TEST(SpinPoolTest, WorkersReallyRunInParallelAndResultsAreVisibleAfterReturn) {
  SpinPool pool(2);
  std::vector<int64_t> sums(2, 0);
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> started{0};
    std::atomic<bool> timed_out{false};
    std::vector<std::thread::id> ids(2);
    pool.ParallelFor(2, 1, [&](int64_t b, int64_t) {
      ids[b] = std::this_thread::get_id();
      started++;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (started.load() < 2)
        if (std::chrono::steady_clock::now() > deadline) {
          timed_out = true;
          break;
        }
      sums[b] += b + 1;  // plain writes: ParallelFor's return must publish them
    });
    ASSERT_FALSE(timed_out.load()) << "round " << round;
    EXPECT_NE(ids[0], ids[1]);
  }
  EXPECT_EQ(sums[0], 50);
  EXPECT_EQ(sums[1], 100);
}

// A worker that holds its chunk (as if descheduled) does not hold up the loop: the caller runs
// every other chunk meanwhile. With one fixed range per thread this would time out.
TEST(SpinPoolTest, TheCallerTakesTheChunksOfAStalledWorker) {
  SpinPool pool(2);
  const auto caller = std::this_thread::get_id();
  const int64_t n = 2 * SpinPool::kChunksPerThread;  // grain 1: one item per chunk
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> on_caller{0}, on_worker{0};
    std::atomic<bool> timed_out{false};
    pool.ParallelFor(n, 1, [&](int64_t, int64_t) {
      if (std::this_thread::get_id() == caller) {
        on_caller++;
        return;
      }
      // The first chunk a worker claims stalls until the caller has run all the others.
      if (on_worker++ == 0) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (on_caller.load() < n - 1)
          if (std::chrono::steady_clock::now() > deadline) {
            timed_out = true;
            break;
          }
      }
    });
    ASSERT_FALSE(timed_out.load()) << "round " << round;
    EXPECT_EQ(on_caller.load() + on_worker.load(), n);
  }
}

}  // namespace
}  // namespace epara
