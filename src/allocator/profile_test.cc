#include "allocator/profile.h"

#include <gtest/gtest.h>

namespace epara::allocator {
namespace {

TEST(ProfileTest, SummarizeGivesMedianAndSpread) {
  Timing t = Summarize({12, 10, 11, 30});
  EXPECT_DOUBLE_EQ(t.median_ms, 11.5);
  EXPECT_DOUBLE_EQ(t.min_ms, 10);
  EXPECT_DOUBLE_EQ(t.max_ms, 30);
  EXPECT_DOUBLE_EQ(t.spread(), 20 / 11.5);
  EXPECT_DOUBLE_EQ(Summarize({5, 1, 3}).median_ms, 3);
}

TEST(ProfileTest, RoundTripsAndFeedsTheCategorizer) {
  Profile seg;
  seg.model = "seg";
  seg.task = "segmentation";
  seg.engine = "onnxruntime";
  seg.device_class = "edge-server";
  seg.memory_bytes = 8 << 20;
  seg.repeats = 5;
  seg.speed_gflops = 61.5;
  seg.batches = {{1, 1, {40, 38, 45}}, {2, 1, {25, 24, 27}}, {2, 8, {150, 140, 160}}};
  Profile llm;
  llm.model = "llm";
  llm.task = "llm";
  llm.memory_bytes = 300 << 20;
  llm.prefill = {{512, {300, 290, 310}}, {32, {20, 19, 22}}};
  llm.decode = {{1, {2, 2, 3}}, {16, {9, 8, 10}}};
  std::vector<Profile> back;
  ASSERT_TRUE(ParseProfiles(ProfilesToJson({seg, llm}), &back).ok());
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].batches.size(), 3u);
  EXPECT_DOUBLE_EQ(back[0].batches[2].latency.max_ms, 160);
  EXPECT_DOUBLE_EQ(back[0].speed_gflops, 61.5);
  EXPECT_EQ(back[0].engine, "onnxruntime");
  EXPECT_EQ(back[1].engine, "");
  EXPECT_EQ(back[1].decode[1].batch, 16);
  // Batch 1 with the most threads; the shortest prompt.
  EXPECT_DOUBLE_EQ(back[0].ForCategorizer().solo_ms, 25);
  EXPECT_EQ(back[0].ForCategorizer().memory_bytes, 8 << 20);
  EXPECT_DOUBLE_EQ(back[1].ForCategorizer().solo_ms, 20);
}

TEST(ProfileTest, MalformedProfilesNameTheField) {
  std::vector<Profile> out;
  EXPECT_NE(ParseProfiles("[]", &out).message().find("'profiles' array"), std::string::npos);
  EXPECT_NE(ParseProfiles(R"({"profiles":[{"task":"x"}]})", &out)
                .message()
                .find("profiles[0].model is missing"),
            std::string::npos);
  EXPECT_NE(ParseProfiles(
                R"({"profiles":[{"model":"m","memory_bytes":1,"batches":[{"latency":{}}]}]})", &out)
                .message()
                .find("batches[].latency.median_ms"),
            std::string::npos);
}

}  // namespace
}  // namespace epara::allocator
