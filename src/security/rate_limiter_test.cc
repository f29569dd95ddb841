#include "security/rate_limiter.h"

#include <gtest/gtest.h>

namespace epara::security {
namespace {

using std::chrono::milliseconds;

TEST(RateLimiterTest, BurstThenRefillAtTheRate) {
  RateLimiter r;
  const auto t0 = RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.Take("k", 2, 3, t0), 0) << i;  // the burst
  const double wait = r.Take("k", 2, 3, t0);
  EXPECT_NEAR(wait, 0.5, 1e-9);  // one token every 0.5 s
  EXPECT_GT(r.Take("k", 2, 3, t0 + milliseconds(400)), 0);
  EXPECT_EQ(r.Take("k", 2, 3, t0 + milliseconds(500)), 0);
  EXPECT_GT(r.Take("k", 2, 3, t0 + milliseconds(500)), 0);
  // A long pause refills to the burst, not beyond it.
  const auto later = t0 + std::chrono::seconds(100);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.Take("k", 2, 3, later), 0);
  EXPECT_GT(r.Take("k", 2, 3, later), 0);
}

TEST(RateLimiterTest, KeysHaveTheirOwnBucketsAndZeroMeansUnlimited) {
  RateLimiter r;
  const auto t0 = RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_EQ(r.Take("a", 1, 1, t0), 0);
  EXPECT_GT(r.Take("a", 1, 1, t0), 0);
  EXPECT_EQ(r.Take("b", 1, 1, t0), 0);  // b is not charged for a
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(r.Take("c", 0, 0, t0), 0);
  // Time going backwards (another thread's older now) never adds tokens.
  EXPECT_GT(r.Take("a", 1, 1, t0 - std::chrono::seconds(5)), 0);
}

}  // namespace
}  // namespace epara::security
