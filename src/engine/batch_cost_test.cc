#include "engine/batch_cost.h"

#include <gtest/gtest.h>

#include <limits>

namespace epara::engine {
namespace {

TEST(BatchCostTest, FollowsRecentBatchesAndPredictsTheWait) {
  BatchCost c;
  EXPECT_DOUBLE_EQ(c.per_row_ms(), 0);
  c.Observe(0.100, 2);  // first batch seeds the averages
  EXPECT_DOUBLE_EQ(c.batch_ms(), 100);
  EXPECT_DOUBLE_EQ(c.per_row_ms(), 50);
  c.Observe(0.200, 2);
  EXPECT_DOUBLE_EQ(c.batch_ms(), 100 + BatchCost::kWeight * 100);
  const QueueLoad l = c.Load(/*queued=*/4, /*in_flight=*/2, /*max_batch=*/8, /*instances=*/2);
  EXPECT_EQ(l.queued, 4u);
  EXPECT_DOUBLE_EQ(l.service_ms, 120);
  // Half of the running batch, then 4 queued rows at 60 ms each over 2 instances.
  EXPECT_DOUBLE_EQ(l.expected_wait_ms, 60 + 4 * 60 / 2.0);
  EXPECT_DOUBLE_EQ(l.batch_occupancy, 2 / 8.0);
  EXPECT_DOUBLE_EQ(c.Load(0, 0, 8, 1).expected_wait_ms, 0);
}

// With how long the running batch has run, the wait charges what is left of it: a request that
// arrives as a batch starts waits a whole batch, one that arrives as it ends almost none.
TEST(BatchCostTest, ChargesWhatIsLeftOfTheRunningBatchWhenItsStartIsKnown) {
  BatchCost c;
  c.Observe(0.120, 2);  // 120 ms a batch, 60 ms a row
  EXPECT_DOUBLE_EQ(c.Load(1, 2, 8, 1, /*running_elapsed_ms=*/0).expected_wait_ms, 120 + 60);
  EXPECT_DOUBLE_EQ(c.Load(1, 2, 8, 1, 90).expected_wait_ms, 30 + 60);
  EXPECT_DOUBLE_EQ(c.Load(1, 2, 8, 1, 500).expected_wait_ms, 0 + 60);  // overran: due now
  // An idle instance (+infinity): nothing to wait for but the queue.
  EXPECT_DOUBLE_EQ(c.Load(2, 2, 8, 2, std::numeric_limits<double>::infinity()).expected_wait_ms,
                   2 * 60 / 2.0);
  EXPECT_DOUBLE_EQ(c.Load(1, 2, 8, 1).expected_wait_ms, 60 + 60);  // unknown: half a batch
  EXPECT_DOUBLE_EQ(c.Load(1, 0, 8, 1, 0).expected_wait_ms, 60);    // nothing running
}

}  // namespace
}  // namespace epara::engine
