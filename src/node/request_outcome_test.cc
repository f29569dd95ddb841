#include "node/request_outcome.h"

#include <gtest/gtest.h>

namespace epara::node {
namespace {

TEST(RequestOutcomeTest, FindsTheModelOfInferenceRequestsOnly) {
  EXPECT_EQ(InferenceModelOf("POST", "/v2/models/seg-demo/infer", ""), "seg-demo");
  EXPECT_EQ(InferenceModelOf("POST", "/v2/models/seg-demo/versions/1/infer", ""), "seg-demo");
  EXPECT_EQ(InferenceModelOf("POST", "/v1/segment/seg-hd", ""), "seg-hd");
  EXPECT_EQ(InferenceModelOf("POST", "/v1/chat/completions", R"({"model":"llama-demo"})"),
            "llama-demo");
  EXPECT_EQ(InferenceModelOf("POST", "/v1/completions", R"({"model":"x","prompt":"hi"})"), "x");
  EXPECT_EQ(InferenceModelOf("POST", "/v1/completions", "not json"), "");
  EXPECT_EQ(InferenceModelOf("POST", "/v1/completions", R"({"model":3})"), "");
  EXPECT_EQ(InferenceModelOf("GET", "/v2/models/seg-demo", ""), "");
  EXPECT_EQ(InferenceModelOf("POST", "/v2/models/seg-demo/load", ""), "");
  EXPECT_EQ(InferenceModelOf("POST", "/v2/models/a/b/c/infer", ""), "");
  EXPECT_EQ(InferenceModelOf("POST", "/v1/internal/tile/seg-demo", ""), "");
  EXPECT_EQ(InferenceModelOf("POST", "/v2/models//infer", ""), "");
}

TEST(RequestOutcomeTest, ReadsATopLevelStringWithoutTheRestOfTheBody) {
  EXPECT_EQ(TopLevelJsonString(R"({"prompt":"a","n":[1,{"model":"inner"}],"model":"m"})", "model"),
            "m");
  EXPECT_EQ(TopLevelJsonString(R"({"a":{"model":"inner"}})", "model"), "");
  EXPECT_EQ(TopLevelJsonString(R"(["model","x"])", "model"), "");
  EXPECT_EQ(TopLevelJsonString(R"({"model":["x"]})", "model"), "");
  EXPECT_EQ(TopLevelJsonString(R"({"model":null})", "model"), "");
  EXPECT_EQ(TopLevelJsonString(R"("model")", "model"), "");
  EXPECT_EQ(TopLevelJsonString(R"({"prompt": tru, "model":"x"})", "model"), "");  // error first
  // Found before the rest is read: a long or unfinished tail costs nothing.
  EXPECT_EQ(TopLevelJsonString(R"({"model":"x","prompt":")" + std::string(1 << 20, 'a'), "model"),
            "x");
  EXPECT_EQ(TopLevelJsonString(R"({"model":"\u00e9\"q"})", "model"), "\xc3\xa9\"q");
}

TEST(RequestOutcomeTest, VisionMeetsItsSloEndToEnd) {
  const ServiceSlo slo{false, 200, 0};
  EXPECT_TRUE(JudgeOutcome(slo, {200, 150}).met);
  EXPECT_FALSE(JudgeOutcome(slo, {200, 250}).met);
  EXPECT_TRUE(JudgeOutcome(slo, {200, 250}).ok);
  const Verdict refused = JudgeOutcome(slo, {503, 5});
  EXPECT_FALSE(refused.ok);
  EXPECT_FALSE(refused.met);
  EXPECT_TRUE(JudgeOutcome({false, 0, 0}, {200, 1e6}).met);  // no SLO
}

TEST(RequestOutcomeTest, LlmStreamsAreJudgedOnFirstChunkAndPace) {
  const ServiceSlo slo{true, 1000, 100};
  // First chunk at 800 ms, 11 chunks (10 tokens + end marker) until 1700 ms: 100 ms per token.
  ResponseTiming t{200, 1700, true, 800, 11, 0};
  Verdict v = JudgeOutcome(slo, t);
  EXPECT_TRUE(v.met);
  EXPECT_DOUBLE_EQ(v.latency_ms, 800);
  t.first_chunk_ms = 1200;  // TTFT missed
  EXPECT_FALSE(JudgeOutcome(slo, t).met);
  t = {200, 3000, true, 800, 11, 0};  // 244 ms per token
  EXPECT_FALSE(JudgeOutcome(slo, t).met);
  t = {200, 100, true, -1, 0, 0};  // a stream that never sent anything
  EXPECT_FALSE(JudgeOutcome(slo, t).ok);
}

TEST(RequestOutcomeTest, WholeLlmAnswersGetTheirTokensWorthOfTime) {
  const ServiceSlo slo{true, 1000, 100};
  EXPECT_TRUE(JudgeOutcome(slo, {200, 1900, false, -1, 0, 10}).met);  // 1000 + 9 x 100
  EXPECT_FALSE(JudgeOutcome(slo, {200, 2100, false, -1, 0, 10}).met);
  EXPECT_FALSE(JudgeOutcome(slo, {200, 1100, false, -1, 0, 0}).met);  // tokens unknown: TTFT only
}

}  // namespace
}  // namespace epara::node
