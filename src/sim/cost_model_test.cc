#include "sim/cost_model.h"

#include <gtest/gtest.h>

namespace epara::sim {
namespace {

TEST(CostModelTest, InterpolatesBetweenPointsScalesBelowAndExtendsAbove) {
  const std::vector<std::pair<double, double>> p = {{32, 10}, {128, 40}, {512, 200}};
  EXPECT_DOUBLE_EQ(Interpolate(p, 16), 5);     // proportional below the first point
  EXPECT_DOUBLE_EQ(Interpolate(p, 80), 25);    // linear between points
  EXPECT_DOUBLE_EQ(Interpolate(p, 512), 200);  // exact at a point
  EXPECT_DOUBLE_EQ(Interpolate(p, 896), 360);  // the last segment's slope beyond
  EXPECT_DOUBLE_EQ(Interpolate({}, 3), 0);
  EXPECT_DOUBLE_EQ(Interpolate({{1, 7}}, 3), 21);
}

TEST(CostModelTest, ReadsTheProfilePointsAtTheThreadCount) {
  allocator::Profile p;
  p.model = "seg";
  p.task = "segmentation";
  p.batches = {{1, 1, {40, 39, 41}}, {1, 2, {70, 69, 71}}, {2, 1, {25, 24, 26}}};
  ServiceCost c;
  ASSERT_TRUE(CostFromProfile(p, 1, &c).ok());
  EXPECT_DOUBLE_EQ(c.BatchMs(1), 40);
  EXPECT_DOUBLE_EQ(c.BatchMs(2), 70);
  ASSERT_TRUE(CostFromProfile(p, 4, &c).ok());  // the most threads profiled at or below 4
  EXPECT_DOUBLE_EQ(c.BatchMs(1), 25);

  allocator::Profile llm;
  llm.model = "llm";
  llm.task = "llm";
  EXPECT_EQ(CostFromProfile(llm, 1, &c).code(), StatusCode::kInvalidArgument);
  llm.prefill = {{128, {40, 40, 40}}, {32, {10, 10, 10}}};
  llm.decode = {{1, {3, 3, 3}}, {16, {9, 9, 9}}};
  ASSERT_TRUE(CostFromProfile(llm, 1, &c).ok());
  EXPECT_DOUBLE_EQ(c.StepMs(0, 64), 20);
  EXPECT_DOUBLE_EQ(c.StepMs(1, 0), 3);
  EXPECT_DOUBLE_EQ(c.StepMs(16, 32), 19);
  EXPECT_DOUBLE_EQ(c.StepMs(0, 0), 0);
}

}  // namespace
}  // namespace epara::sim
