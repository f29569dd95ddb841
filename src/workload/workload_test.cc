#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "workload/goodput.h"
#include "workload/trace.h"

namespace epara::workload {
namespace {

TEST(GoodputTest, RejectedLateAndFailedRequestsAreMisses) {
  const Slo slo{100, 0, 0};
  const std::vector<RequestRecord> log = {
      {0.0, true, 50},    // meets
      {0.5, true, 150},   // late
      {1.0, false, 10},   // rejected: fast but a miss
      {1.5, true, 99.9},  // meets
  };
  EXPECT_DOUBLE_EQ(SloAttainment(log, slo), 0.5);
  EXPECT_DOUBLE_EQ(SloAttainment(log, slo, /*scale=*/2), 0.75);  // the late one fits 2x
  EXPECT_DOUBLE_EQ(SloMeetingRate(log, slo, 0, 1), 1.0);         // one of the first second's
  EXPECT_DOUBLE_EQ(SloMeetingRate(log, slo, 1, 2), 1.0);
  const Slo llm{0, 200, 20};
  EXPECT_TRUE(MeetsSlo({0, true, 5000, 150, 19}, llm));
  EXPECT_FALSE(MeetsSlo({0, true, 5000, 250, 19}, llm));  // TTFT over
  EXPECT_FALSE(MeetsSlo({0, true, 5000, 150, 21}, llm));  // TPOT over
  EXPECT_DOUBLE_EQ(SloAttainment({}, slo), 0);
}

TEST(GoodputTest, MeanIntervalUsesStudentsTAndSeparationNeedsRepeats) {
  // 1, 2, 3: mean 2, sd 1, t(2 df) = 4.303 -> 2 +- 4.303 / sqrt(3).
  const Interval a = MeanInterval95({1, 2, 3});
  EXPECT_EQ(a.n, 3);
  EXPECT_DOUBLE_EQ(a.mean, 2);
  EXPECT_NEAR(a.lo, 2 - 4.303 / std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(a.hi, 2 + 4.303 / std::sqrt(3.0), 1e-12);
  const Interval one = MeanInterval95({5});
  EXPECT_EQ(one.lo, 5);
  EXPECT_EQ(one.hi, 5);
  EXPECT_EQ(MeanInterval95({}).n, 0);
  const Interval far = MeanInterval95({10, 10.5, 11});
  EXPECT_TRUE(Separated(a, far));
  EXPECT_TRUE(Separated(far, a));
  EXPECT_FALSE(Separated(a, MeanInterval95({3, 4, 5})));  // 2 +- 2.48 reaches 4
  EXPECT_FALSE(Separated(one, MeanInterval95({50})));     // single runs measure no spread
}

TEST(GoodputTest, HighestRateWithTheTargetAttainmentFromASweep) {
  const std::vector<SweepPoint> sweep = {{3, 0.85}, {1, 1.0}, {4, 0.5}, {2, 0.95}};
  EXPECT_DOUBLE_EQ(Goodput(sweep, 0.9), 2.5);   // halfway from 2 (0.95) to 3 (0.85)
  EXPECT_DOUBLE_EQ(Goodput(sweep, 0.99), 1.2);  // 1 (1.0) to 2 (0.95)
  EXPECT_DOUBLE_EQ(Goodput(sweep, 0.5), 4);     // never below: the sweep's top
  EXPECT_DOUBLE_EQ(Goodput({{1, 0.8}, {2, 0.7}}, 0.9), 0);
  EXPECT_DOUBLE_EQ(Goodput({}, 0.9), 0);
}

TEST(TraceTest, ParsesSortsAndNamesTheBadLine) {
  std::vector<TraceRequest> t;
  ASSERT_TRUE(ParseAzureTrace("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                              "2023-11-16 18:15:50.5000000,396,109\n"
                              "2023-11-16 18:15:46.2500000,374,44\r\n"
                              "2023-11-16 18:16:46.2500000,10,1\n",
                              "t.csv", &t)
                  .ok());
  ASSERT_EQ(t.size(), 3u);
  EXPECT_DOUBLE_EQ(t[0].arrival_s, 0);
  EXPECT_EQ(t[0].prompt_tokens, 374);
  EXPECT_NEAR(t[1].arrival_s, 4.25, 1e-6);
  EXPECT_NEAR(t[2].arrival_s, 60, 1e-6);
  const Status s = ParseAzureTrace("h\n2023-11-16 18:15:46.25,1,2\nnonsense,1\n", "t.csv", &t);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("t.csv:3"), std::string::npos) << s.message();
  EXPECT_EQ(LoadAzureTrace("/nonexistent/trace.csv", &t).code(), StatusCode::kNotFound);
}

TEST(TraceTest, GammaArrivalsHaveTheAskedRateAndBurstiness) {
  for (double cv : {1.0, 4.0}) {
    std::vector<TraceRequest> t;
    for (double a : GammaArrivals(20, cv, 40000, 5)) t.push_back({a, 1, 1});
    const TraceStats s = Describe(t);
    EXPECT_NEAR(s.rate, 20, 20 * 0.05) << cv;
    EXPECT_NEAR(s.interarrival_cv, cv, cv * 0.05);
  }
  EXPECT_EQ(GammaArrivals(5, 2, 10, 9), GammaArrivals(5, 2, 10, 9));  // seeded
}

// Scaling keeps the inter-arrival CV and the length quantiles' shape (within 5%).
void ExpectShapeKept(const std::vector<TraceRequest>& source, const TraceScaling& scaling) {
  double tf = 0, lf = 0;
  const std::vector<TraceRequest> scaled = ScaleTrace(source, scaling, &tf, &lf);
  const TraceStats a = Describe(source), b = Describe(scaled);
  EXPECT_NEAR(b.interarrival_cv, a.interarrival_cv, 0.05 * a.interarrival_cv);
  if (scaling.target_rate > 0) {
    EXPECT_NEAR(b.rate, scaling.target_rate, 0.05 * scaling.target_rate);
  }
  for (auto [got, want] : {std::pair{b.prompt_p50, a.prompt_p50},
                           {b.prompt_p90, a.prompt_p90},
                           {b.prompt_p99, a.prompt_p99},
                           {b.output_p50, a.output_p50},
                           {b.output_p90, a.output_p90},
                           {b.output_p99, a.output_p99}})
    EXPECT_NEAR(got, want * lf, std::max(1.0, 0.05 * want * lf));
  if (scaling.max_context > 0) {
    int over = 0;
    for (const TraceRequest& r : scaled)
      over += r.prompt_tokens + r.output_tokens > scaling.max_context;
    EXPECT_LE(over, static_cast<int>(scaled.size() / 100) + 1);  // the p99 fits
  }
}

TEST(TraceTest, ScalingKeepsBurstinessAndLengthShape) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> prompt(7, 0.8), output(4.5, 1.0);
  std::vector<TraceRequest> t;
  for (double a : GammaArrivals(6, 8, 20000, 11))
    t.push_back({a, static_cast<int>(prompt(rng)), std::max(1, static_cast<int>(output(rng)))});
  ExpectShapeKept(t, {1.5, 2048});
  ExpectShapeKept(t, {12, 0});
}

// The real Azure traces (../shared/traces next to the repository), when present.
TEST(TraceTest, AzureTracesMatchTheirPublishedShapeAndScaleWithIt) {
  const std::filesystem::path dir =
      std::filesystem::path(EPARA_SOURCE_DIR).parent_path() / "shared" / "traces";
  if (!std::filesystem::exists(dir / "azure_llm_2023_conv.csv"))
    GTEST_SKIP() << "no Azure traces at " << dir.string();
  struct Expected {
    const char* file;
    double cv, prompt_p50, output_p50;
  };
  for (const Expected& e : {Expected{"azure_llm_2023_conv.csv", 1.09, 1020, 129},
                            Expected{"azure_llm_2023_code.csv", 13.2, 1469, 13}}) {
    std::vector<TraceRequest> t;
    ASSERT_TRUE(LoadAzureTrace((dir / e.file).string(), &t).ok()) << e.file;
    const TraceStats s = Describe(t);
    EXPECT_NEAR(s.interarrival_cv, e.cv, 0.05 * e.cv) << e.file;
    EXPECT_NEAR(s.prompt_p50, e.prompt_p50, 0.05 * e.prompt_p50) << e.file;
    EXPECT_NEAR(s.output_p50, e.output_p50, 0.05 * e.output_p50) << e.file;
    ExpectShapeKept(t, {2.0, 1024});  // the demo LLM's share of its context
  }
}

}  // namespace
}  // namespace epara::workload
