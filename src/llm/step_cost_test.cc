#include "llm/step_cost.h"

#include <gtest/gtest.h>

namespace epara::llm {
namespace {

TEST(StepCostTest, UnknownUntilAStepIsSeen) {
  StepCost c;
  EXPECT_FALSE(c.known());
  EXPECT_EQ(c.prefill_ms_per_token(), 0);
  EXPECT_EQ(PredictTtftMs(c.prefill_ms_per_token(), c.decode_step_ms(), 100, 50, 3), 0);
  c.Observe(0, 0, 5.0);  // an empty step teaches nothing
  EXPECT_FALSE(c.known());
}

TEST(StepCostTest, SeparatesDecodeFromPrefillInMixedSteps) {
  StepCost c;
  // A device that decodes a step in 10 ms and prefills at 0.5 ms per token.
  for (int i = 0; i < 50; ++i) {
    c.Observe(4, 0, 10.0);
    c.Observe(4, 200, 10.0 + 200 * 0.5);
    c.Observe(0, 64, 64 * 0.5);
  }
  EXPECT_NEAR(c.decode_step_ms(), 10.0, 1e-6);
  EXPECT_NEAR(c.prefill_ms_per_token(), 0.5, 1e-6);
}

TEST(StepCostTest, FollowsASlowdownAndIgnoresTinyPrefills) {
  StepCost c;
  for (int i = 0; i < 20; ++i) c.Observe(2, 128, 128 * 1.0);
  ASSERT_NEAR(c.prefill_ms_per_token(), 1.0, 1e-6);
  // A tiny prefill's step is mostly fixed cost: not a per-token sample.
  c.Observe(0, 2, 40.0);
  EXPECT_NEAR(c.prefill_ms_per_token(), 1.0, 1e-6);
  // The device becomes 4x slower (contention): the estimate moves there within ~20 steps.
  for (int i = 0; i < 20; ++i) c.Observe(0, 128, 128 * 4.0);
  EXPECT_GT(c.prefill_ms_per_token(), 3.9);
}

TEST(StepCostTest, PrefillPriorIsHalfADecodeStep) {
  StepCost c;
  c.Observe(1, 0, 8.0);
  EXPECT_DOUBLE_EQ(c.prefill_ms_per_token(), 4.0);
}

TEST(StepCostTest, PredictedTtftGrowsWithTheQueueAndThePromptAndFavoursFastDevices) {
  // Queue and own prompt are prefilled first; a running batch adds 1.5 of its steps.
  EXPECT_DOUBLE_EQ(PredictTtftMs(0.5, 10, 100, 60, 0), 80.0);
  EXPECT_DOUBLE_EQ(PredictTtftMs(0.5, 10, 100, 60, 3), 95.0);
  EXPECT_DOUBLE_EQ(PredictTtftMs(0.5, 10, -5, 60, 0), 30.0);  // a negative queue counts as empty
  // A long prompt on an idle slow device can lose to a busy fast one.
  const double slow_idle = PredictTtftMs(2.0, 40, 0, 400, 0);
  const double fast_busy = PredictTtftMs(0.5, 10, 300, 400, 4);
  EXPECT_LT(fast_busy, slow_idle);
  // A short prompt does not.
  EXPECT_LT(PredictTtftMs(2.0, 40, 0, 20, 0), PredictTtftMs(0.5, 10, 300, 20, 4));
}

}  // namespace
}  // namespace epara::llm
