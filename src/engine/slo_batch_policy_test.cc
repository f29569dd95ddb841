#include "engine/slo_batch_policy.h"

#include <gtest/gtest.h>

namespace epara::engine {
namespace {

using std::chrono::milliseconds;

const Clock::time_point T0 = Clock::time_point{} + std::chrono::hours(1);

QueuedRequest Q(int at_ms, int slo_ms, bool ls = false, int64_t rows = 1) {
  QueuedRequest q;
  q.rows = rows;
  q.enqueued = T0 + milliseconds(at_ms);
  q.deadline = slo_ms > 0 ? q.enqueued + milliseconds(slo_ms) : Clock::time_point::max();
  q.latency_sensitive = ls;
  return q;
}

BatchingConfig Config(int max_batch, int delay_ms) {
  BatchingConfig c;
  c.max_batch_size = max_batch;
  c.max_queue_delay_us = delay_ms * 1000;
  return c;
}

// 10 ms per batch plus 10 ms per row.
double Linear(int64_t rows) { return 10.0 + 10.0 * rows; }

TEST(SloBatchPolicyTest, LatencySensitiveRequestsGoFirstAndNeverWait) {
  const std::vector<QueuedRequest> q = {Q(0, 1000), Q(1, 1000), Q(2, 100, true)};
  SloBatchDecision d = DecideSloBatch(q, T0 + milliseconds(3), Config(8, 50), Linear, false);
  ASSERT_FALSE(d.take.empty());  // an LS member: run now, no queue delay
  EXPECT_EQ(d.take.front(), 2u);
  EXPECT_EQ(d.take, (std::vector<size_t>{2, 0, 1}));  // FS fill the batch within the LS deadline
}

TEST(SloBatchPolicyTest, TheBatchGrowsOnlyWhileEveryDeadlineHolds) {
  // The LS request allows 45 ms: 10 + 10 x rows <= 45 -> at most 3 rows.
  std::vector<QueuedRequest> q = {Q(0, 45, true)};
  for (int i = 0; i < 6; ++i) q.push_back(Q(i, 1000));
  SloBatchDecision d = DecideSloBatch(q, T0, Config(8, 50), Linear, false);
  EXPECT_EQ(d.take, (std::vector<size_t>{0, 1, 2}));
}

TEST(SloBatchPolicyTest, FrequencySensitiveRequestsWaitForCompanyUntilSlackRunsOut) {
  // Two FS requests, SLO 100 ms; a batch of 3 would take 40 ms: latest start for a third row is
  // 100 - 40 = 60 ms after the first arrival; the queue delay (80 ms) ends later.
  const std::vector<QueuedRequest> q = {Q(0, 100), Q(5, 100)};
  SloBatchDecision d = DecideSloBatch(q, T0 + milliseconds(10), Config(8, 80), Linear, false);
  EXPECT_TRUE(d.take.empty());
  EXPECT_EQ(d.wake_at, T0 + milliseconds(60));
  d = DecideSloBatch(q, T0 + milliseconds(60), Config(8, 80), Linear, false);
  EXPECT_EQ(d.take, (std::vector<size_t>{0, 1}));
  // Without SLOs only the queue delay bounds the wait.
  const std::vector<QueuedRequest> loose = {Q(0, 0), Q(5, 0)};
  d = DecideSloBatch(loose, T0 + milliseconds(10), Config(8, 80), Linear, false);
  EXPECT_EQ(d.wake_at, T0 + milliseconds(80));
}

TEST(SloBatchPolicyTest, FullBatchesDrainingAndHopelessRequestsRunAtOnce) {
  std::vector<QueuedRequest> q;
  for (int i = 0; i < 4; ++i) q.push_back(Q(i, 1000));
  EXPECT_EQ(DecideSloBatch(q, T0 + milliseconds(4), Config(4, 500), Linear, false).take.size(), 4u);
  EXPECT_EQ(
      DecideSloBatch({q.data(), 2}, T0 + milliseconds(4), Config(4, 500), Linear, true).take.size(),
      2u);
  // Already too late even alone: runs now, alone.
  const std::vector<QueuedRequest> late = {Q(0, 15), Q(1, 1000)};
  EXPECT_EQ(DecideSloBatch(late, T0 + milliseconds(2), Config(8, 500), Linear, false).take,
            (std::vector<size_t>{0}));
  // Batching off: one at a time, LS first.
  const std::vector<QueuedRequest> mixed = {Q(0, 1000), Q(1, 50, true)};
  EXPECT_EQ(DecideSloBatch(mixed, T0 + milliseconds(2), Config(0, 0), Linear, false).take,
            (std::vector<size_t>{1}));
}

}  // namespace
}  // namespace epara::engine
