#include "metrics/recent_llm_shapes.h"

#include <gtest/gtest.h>

#include <thread>

namespace epara::metrics {
namespace {

std::vector<int> Prompts(const std::vector<LlmShape>& v) {
  std::vector<int> out;
  for (const LlmShape& s : v) out.push_back(s.prompt_tokens);
  return out;
}

TEST(RecentLlmShapesTest, KeepsTheLastShapesPerModelOldestFirst) {
  RecentLlmShapes shapes(3);
  for (int i = 1; i <= 5; ++i) shapes.Record("a", i * 10, i);
  shapes.Record("b", 7, 70);
  const auto snap = shapes.Snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(Prompts(snap.at("a")), (std::vector<int>{30, 40, 50}));
  EXPECT_EQ(snap.at("a").back().completion_tokens, 5);
  ASSERT_EQ(snap.at("b").size(), 1u);
  EXPECT_EQ(snap.at("b")[0].completion_tokens, 70);
}

TEST(RecentLlmShapesTest, IgnoresRequestsThatGeneratedNothing) {
  RecentLlmShapes shapes(4);
  shapes.Record("a", 12, 0);
  shapes.Record("a", 0, 5);
  EXPECT_TRUE(shapes.Snapshot().empty());
  shapes.Record("a", 12, 5);
  EXPECT_EQ(shapes.Snapshot().at("a").size(), 1u);
}

TEST(RecentLlmShapesTest, ConcurrentRecordsStayBounded) {
  RecentLlmShapes shapes(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&shapes, t] {
      for (int i = 1; i <= 500; ++i) shapes.Record("m", t * 1000 + i, 1);
    });
  for (std::thread& t : threads) t.join();
  const auto snap = shapes.Snapshot();
  ASSERT_EQ(snap.at("m").size(), 8u);
  for (const LlmShape& s : snap.at("m")) EXPECT_GT(s.prompt_tokens, 0);
}

}  // namespace
}  // namespace epara::metrics
