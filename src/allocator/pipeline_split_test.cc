#include "allocator/pipeline_split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>

namespace epara::allocator {
namespace {

std::vector<int> Split(int layers, int64_t layer_bytes, const std::vector<StageDevice>& d) {
  std::vector<int> c;
  Status s = SplitLayers(layers, layer_bytes, d, &c);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return c;
}

// The slowest stage's time of the best split, by trying every split (small cases only).
double BruteForceBottleneck(int layers, int64_t layer_bytes, const std::vector<StageDevice>& d) {
  double best = 1e300;
  std::vector<int> c(d.size(), 1);
  std::function<void(size_t, int)> go = [&](size_t i, int left) {
    if (i + 1 == d.size()) {
      c[i] = left;
      double worst = 0;
      for (size_t k = 0; k < d.size(); ++k) {
        if (c[k] < 1) return;
        if (d[k].memory_bytes > 0 && d[k].fixed_bytes + c[k] * layer_bytes > d[k].memory_bytes)
          return;
        worst = std::max(worst, c[k] / d[k].speed);
      }
      best = std::min(best, worst);
      return;
    }
    for (int k = 1; k <= left - static_cast<int>(d.size() - i - 1); ++k) {
      c[i] = k;
      go(i + 1, left - k);
    }
  };
  go(0, layers);
  return best;
}

TEST(SplitLayersTest, EqualStagesGetEqualShares) {
  EXPECT_EQ(Split(8, 1, {{1}, {1}}), (std::vector<int>{4, 4}));
  EXPECT_EQ(Split(22, 1, {{1}, {1}, {1}}), (std::vector<int>{8, 7, 7}));
}

TEST(SplitLayersTest, AFasterStageGetsMoreLayers) {
  EXPECT_EQ(Split(9, 1, {{2}, {1}}), (std::vector<int>{6, 3}));
  const std::vector<int> c = Split(12, 1, {{1}, {3}});
  EXPECT_EQ(c, (std::vector<int>{3, 9}));
}

TEST(SplitLayersTest, MemoryCapsAStageAndTheRestMoves) {
  // The fast stage could take 6 layers but holds only 100 + 3 * 100 bytes.
  EXPECT_EQ(Split(8, 100, {{3, 400, 100}, {1, 0, 0}}), (std::vector<int>{3, 5}));
}

TEST(SplitLayersTest, ImpossibleSplitsAreClearErrors) {
  std::vector<int> c;
  Status s = SplitLayers(2, 1, {{1}, {1}, {1}}, &c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("cannot fill 3 pipeline stages"), std::string::npos) << s.message();
  s = SplitLayers(8, 100, {{1, 300}, {1, 300}}, &c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("hold 6 of 8 layers"), std::string::npos) << s.message();
  s = SplitLayers(8, 100, {{1, 50}, {1}}, &c);
  EXPECT_NE(s.message().find("stage 0 cannot hold even one layer"), std::string::npos)
      << s.message();
}

TEST(SplitLayersTest, MatchesTheBruteForceOptimumOnSmallCases) {
  const double speeds[] = {0.5, 1, 1.5, 2, 3.25};
  const int64_t memories[] = {0, 350, 600};
  int cases = 0;
  for (int layers = 2; layers <= 10; ++layers)
    for (int stages = 2; stages <= 3 && stages <= layers; ++stages)
      for (int a = 0; a < 5; ++a)
        for (int b = 0; b < 5; ++b)
          for (int m = 0; m < 3; ++m) {
            std::vector<StageDevice> d = {{speeds[a], memories[m], 100}, {speeds[b]}};
            if (stages == 3) d.push_back({speeds[(a + b) % 5], memories[(m + 1) % 3]});
            const double opt = BruteForceBottleneck(layers, 100, d);
            std::vector<int> c;
            const Status s = SplitLayers(layers, 100, d, &c);
            if (opt > 1e299) {
              EXPECT_FALSE(s.ok());
              continue;
            }
            ASSERT_TRUE(s.ok()) << s.ToString();
            ASSERT_EQ(std::accumulate(c.begin(), c.end(), 0), layers);
            double worst = 0;
            for (size_t k = 0; k < d.size(); ++k) worst = std::max(worst, c[k] / d[k].speed);
            EXPECT_DOUBLE_EQ(worst, opt) << layers << " layers, case " << a << b << m;
            ++cases;
          }
  EXPECT_GT(cases, 200);
}

}  // namespace
}  // namespace epara::allocator
