#include "scheduler/demand_estimate.h"

#include <gtest/gtest.h>

#include <random>

namespace epara::scheduler {
namespace {

TEST(DemandEstimateTest, FirstObservationSeedsTheMeanWithoutSpread) {
  DemandEstimate d;
  EXPECT_FALSE(d.seeded());
  d.Observe(12, 0.5);
  EXPECT_TRUE(d.seeded());
  EXPECT_DOUBLE_EQ(d.mean(), 12);
  EXPECT_DOUBLE_EQ(d.stddev(), 0);
  EXPECT_DOUBLE_EQ(d.Provisioned(2), 12);
}

TEST(DemandEstimateTest, SteadyDemandGetsItsMeanAndNoHeadroom) {
  DemandEstimate d;
  for (int i = 0; i < 20; ++i) d.Observe(10, 0.3);
  EXPECT_NEAR(d.mean(), 10, 1e-9);
  EXPECT_NEAR(d.Provisioned(1), 10, 1e-9);
}

TEST(DemandEstimateTest, BurstyDemandIsProvisionedAboveItsMean) {
  // Same long-run mean (10 req/s): steady vs alternating 0 / 20 (bursts every other period).
  DemandEstimate steady, bursty;
  for (int i = 0; i < 40; ++i) {
    steady.Observe(10, 0.2);
    bursty.Observe(i % 2 ? 20 : 0, 0.2);
  }
  EXPECT_NEAR(bursty.mean(), 10, 1.5);
  EXPECT_GT(bursty.stddev(), 5);  // the true per-period spread is 10
  EXPECT_LT(bursty.stddev(), 15);
  EXPECT_GT(bursty.Provisioned(1), steady.Provisioned(1) + 4);
  EXPECT_DOUBLE_EQ(bursty.Provisioned(0), bursty.mean());
}

TEST(DemandEstimateTest, EwVarianceTracksTheSampleVarianceOfAStationarySeries) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> rate(50, 8);
  DemandEstimate d;
  for (int i = 0; i < 4000; ++i) d.Observe(rate(rng), 0.02);
  EXPECT_NEAR(d.mean(), 50, 2);
  EXPECT_NEAR(d.stddev(), 8, 1.5);
}

TEST(DemandEstimateTest, NegativeRatesAndOutOfRangeWeightsAreClamped) {
  DemandEstimate d;
  d.Observe(-5, 7);
  EXPECT_DOUBLE_EQ(d.mean(), 0);
  d.Observe(10, 7);  // alpha clamped to 1: the newest period wins
  EXPECT_DOUBLE_EQ(d.mean(), 10);
  EXPECT_DOUBLE_EQ(d.Provisioned(-3), 10);
}

}  // namespace
}  // namespace epara::scheduler
