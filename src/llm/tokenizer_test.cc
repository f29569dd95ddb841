#include "llm/tokenizer.h"

#include <gtest/gtest.h>

#include <cmath>

#include <random>
#include <set>

#include "llm/sampler.h"

namespace epara::llm {
namespace {

TEST(ByteTokenizerTest, RoundTripsAnyBytesAndSkipsSpecials) {
  ByteTokenizer t;
  const std::string text = "héllo, wörld \xF0\x9F\x98\x80";
  std::vector<int32_t> ids = t.Encode(text);
  EXPECT_EQ(ids.size(), text.size());
  std::string back;
  for (int32_t id : ids) back += t.Piece(id);
  EXPECT_EQ(back, text);
  EXPECT_EQ(t.Piece(ByteTokenizer::kBos), "");
  EXPECT_EQ(t.Piece(ByteTokenizer::kEos), "");
  EXPECT_EQ(t.Piece(1000), "");
  EXPECT_EQ(t.vocab_size(), 259);
}

TEST(Utf8AssemblerTest, NeverSplitsACharacterAndReplacesInvalidBytes) {
  Utf8Assembler a;
  const std::string smile = "\xF0\x9F\x98\x80";
  EXPECT_EQ(a.Push(smile.substr(0, 1)), "");
  EXPECT_EQ(a.Push(smile.substr(1, 2)), "");
  EXPECT_EQ(a.Push(smile.substr(3) + "a"), smile + "a");
  EXPECT_EQ(a.Push("\xFF"
                   "b"),
            "\xEF\xBF\xBD"
            "b");  // invalid lead byte
  EXPECT_EQ(a.Push("\xC3"
                   "c"),
            "\xEF\xBF\xBD"
            "c");  // lead byte without continuation
  EXPECT_EQ(a.Push("\xE2\x82"), "");
  EXPECT_EQ(a.Flush(), "\xEF\xBF\xBD");  // truncated at the end
  EXPECT_EQ(a.Flush(), "");
}

// Log-probabilities are the log-softmax of the raw logits; alternatives come most likely first,
// ties by lowest id; `top` beyond the vocabulary gives them all.
TEST(SamplerTest, LogprobsAreTheLogSoftmaxAndTheMostLikelyAlternatives) {
  const std::vector<float> logits = {1.0f, 3.0f, 3.0f, -2.0f};
  double z = 0;
  for (float v : logits) z += std::exp(v);
  const TokenLogprob t = LogprobsOf(logits, 3, 3);
  EXPECT_EQ(t.token, 3);
  EXPECT_NEAR(t.logprob, -2.0 - std::log(z), 1e-5);
  ASSERT_EQ(t.top.size(), 3u);
  EXPECT_EQ(t.top[0].first, 1);  // tie with 2: lowest id first
  EXPECT_EQ(t.top[1].first, 2);
  EXPECT_EQ(t.top[2].first, 0);
  EXPECT_NEAR(t.top[0].second, 3.0 - std::log(z), 1e-5);
  EXPECT_EQ(LogprobsOf(logits, 0, 0).top.size(), 0u);
  EXPECT_EQ(LogprobsOf(logits, 0, 10).top.size(), 4u);
}

TEST(SamplerTest, GreedyTemperatureTopKTopPAndSeeds) {
  const std::vector<float> logits = {1.0f, 3.0f, 3.0f, 0.5f, 2.9f};
  std::mt19937_64 rng(1);
  SamplingParams greedy;
  greedy.temperature = 0;
  EXPECT_EQ(SampleToken(logits, greedy, rng), 1);  // tie -> lowest id

  SamplingParams p;
  p.temperature = 0.8;
  std::mt19937_64 a(42), b(42);
  std::vector<int32_t> sa, sb;
  for (int i = 0; i < 200; ++i) {
    sa.push_back(SampleToken(logits, p, a));
    sb.push_back(SampleToken(logits, p, b));
  }
  EXPECT_EQ(sa, sb);                                              // same seed, same tokens
  EXPECT_GT(std::set<int32_t>(sa.begin(), sa.end()).size(), 2u);  // and it does sample

  p.top_k = 2;  // only ids 1 and 2
  for (int i = 0; i < 200; ++i) {
    int32_t t = SampleToken(logits, p, a);
    EXPECT_TRUE(t == 1 || t == 2) << t;
  }
  p.top_k = 0;
  p.top_p = 0.3;  // the single most likely id already exceeds 30%
  for (int i = 0; i < 50; ++i) EXPECT_EQ(SampleToken(logits, p, a), 1);
}

}  // namespace
}  // namespace epara::llm
