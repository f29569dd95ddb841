#include "engine/batch_policy.h"

#include <gtest/gtest.h>

namespace epara::engine {
namespace {

using std::chrono::microseconds;

TEST(BatchPolicyTest, TableOfDecisions) {
  const Clock::time_point t0 = Clock::time_point() + std::chrono::seconds(100);
  BatchingConfig cfg;
  cfg.max_batch_size = 4;
  cfg.max_queue_delay_us = 1000;
  struct Case {
    std::vector<int64_t> rows;
    int64_t now_us;  // since the front request arrived
    bool draining;
    size_t take;
  };
  const std::vector<Case> cases = {
      {{}, 0, false, 0},               // empty
      {{1}, 0, false, 0},              // alone, delay not over: wait
      {{1}, 999, false, 0},            // one microsecond short
      {{1}, 1000, false, 1},           // delay over: go with what there is
      {{1, 1, 1}, 10, false, 0},       // 3 of 4: keep waiting
      {{1, 1, 1, 1}, 0, false, 4},     // full
      {{1, 1, 1, 1, 1}, 0, false, 4},  // more than full: take 4
      {{3, 2}, 0, false, 1},           // next would overflow: the batch is full
      {{2, 2}, 0, false, 2},           // exactly full
      {{5}, 0, false, 1},              // oversized single request still runs (validated earlier)
      {{1, 1}, 0, true, 2},            // draining: no waiting
  };
  for (const Case& c : cases) {
    BatchDecision d = DecideBatch(c.rows, t0, t0 + microseconds(c.now_us), cfg, c.draining);
    EXPECT_EQ(d.take, c.take) << "rows=" << c.rows.size() << " now=" << c.now_us;
    if (d.take == 0 && !c.rows.empty()) {
      EXPECT_EQ(d.wake_at, t0 + microseconds(1000));
    }
  }
}

TEST(BatchPolicyTest, BatchingOffTakesOneAtATime) {
  BatchingConfig cfg;  // max_batch_size 0
  const std::vector<int64_t> rows = {1, 1, 1};
  EXPECT_EQ(DecideBatch(rows, Clock::now(), Clock::now(), cfg, false).take, 1u);
}

}  // namespace
}  // namespace epara::engine
