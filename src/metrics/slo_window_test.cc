#include "metrics/slo_window.h"

#include <gtest/gtest.h>

namespace epara::metrics {
namespace {

using json = nlohmann::json;

TEST(SloWindowTest, LatencyBucketsAreLogSpacedAndBounded) {
  EXPECT_EQ(LatencyBucket(0.5), 0);
  EXPECT_EQ(LatencyBucket(1.0), 1);
  EXPECT_LT(LatencyBound(LatencyBucket(1.0) - 1), 1.0 + 1e-9);
  for (double ms : {1.0, 3.0, 40.0, 999.0, 12345.0}) {
    const int k = LatencyBucket(ms);
    EXPECT_LT(ms, LatencyBound(k)) << ms;
    EXPECT_GE(ms, LatencyBound(k - 1)) << ms;
  }
  EXPECT_EQ(LatencyBucket(1e12), kLatencyBounds);
}

TEST(SloWindowTest, CountsAttainmentGoodputAndPercentilesOverTheWindow) {
  SloWindow w;
  // 100 requests in the last 10 s: latencies 1..100 ms, SLO 80 ms; 2 failures.
  for (int i = 1; i <= 100; ++i) w.Record("seg", 1000.5, i, true, i <= 80);
  w.Record("seg", 1001, 0, false, false);
  w.Record("seg", 1001, 0, false, false);
  json j = w.Json(1005, 60);
  SummarizeSloJson(&j);
  const json& m = j["models"]["seg"];
  EXPECT_EQ(m["requests"], 102);
  EXPECT_EQ(m["met"], 80);
  EXPECT_EQ(m["failed"], 2);
  EXPECT_NEAR(m["attainment"].get<double>(), 80.0 / 102, 1e-9);
  EXPECT_NEAR(m["goodput_rps"].get<double>(), 80.0 / 60, 1e-9);
  // Percentiles within one bucket (x1.25) above the true value.
  EXPECT_GE(m["p50_ms"].get<double>(), 50);
  EXPECT_LE(m["p50_ms"].get<double>(), 50 * 1.25);
  EXPECT_GE(m["p99_ms"].get<double>(), 99);
  EXPECT_LE(m["p99_ms"].get<double>(), 100 * 1.25);
  EXPECT_EQ(m["series"].size(), 6u);
  EXPECT_EQ(m["series"].back()["requests"], 102);
}

TEST(SloWindowTest, OldBucketsLeaveTheWindowAndAreReused) {
  SloWindow w;
  w.Record("seg", 100, 10, true, true);
  json j = w.Json(100 + 5 * 60 + 20, 300);  // 5 min 20 s later: outside a 5-minute window
  EXPECT_FALSE(j["models"].contains("seg"));
  // Same ring slot 300 s later: the old count is dropped, not added to.
  w.Record("seg", 400, 10, true, false);
  j = w.Json(401, 300);
  EXPECT_EQ(j["models"]["seg"]["requests"], 1);
  EXPECT_EQ(j["models"]["seg"]["met"], 0);
  // A short window sees only its buckets.
  w.Record("seg", 370, 10, true, true);
  EXPECT_EQ(w.Json(401, 10)["models"]["seg"]["requests"], 1);
  EXPECT_EQ(w.Json(401, 60)["models"]["seg"]["requests"], 2);
  // The cumulative met counts keep what the ring dropped: 100 s and 370 s met, 400 s did not.
  EXPECT_EQ(w.MetTotals().at("seg"), 2u);
  w.Record("llm", 402, 10, false, true);  // an error answer never meets
  EXPECT_FALSE(w.MetTotals().count("llm"));
}

TEST(SloWindowTest, WindowsOfTwoNodesMergeByCounts) {
  SloWindow a, b;
  for (int i = 0; i < 10; ++i) a.Record("seg", 50, 5, true, true);
  for (int i = 0; i < 30; ++i) b.Record("seg", 55, 500, true, false);
  b.Record("llm", 41, 200, true, true);
  json merged = a.Json(58, 30);
  MergeSloJson(b.Json(58, 30), &merged);
  SummarizeSloJson(&merged);
  EXPECT_EQ(merged["models"]["seg"]["requests"], 40);
  EXPECT_EQ(merged["models"]["seg"]["met"], 10);
  EXPECT_EQ(merged["models"]["llm"]["requests"], 1);
  // 30 of 40 at 500 ms: the median is the slow node's.
  EXPECT_GE(merged["models"]["seg"]["p50_ms"].get<double>(), 500);
  EXPECT_LE(merged["models"]["seg"]["p50_ms"].get<double>(), 5 * 1.25 * 100);
  EXPECT_EQ(merged["models"]["seg"]["series"].back()["requests"], 40);
  EXPECT_EQ(merged["models"]["llm"]["series"][1]["requests"], 1);  // 40-50 s of 30-60 s
}

TEST(SloWindowTest, AWindowWithWrongTypesThrowsForTheCallerToLeaveOut) {
  SloWindow a;
  a.Record("seg", 50, 5, true, true);
  json into = a.Json(58, 30);
  EXPECT_THROW(MergeSloJson(json::parse(R"({"models": {"seg": {"requests": "many"}}})"), &into),
               json::exception);
  json fresh = a.Json(58, 30);
  MergeSloJson(json::parse(R"({"models": "none"})"), &fresh);  // no models: nothing to add
  EXPECT_EQ(fresh["models"]["seg"]["requests"], 1);
}

}  // namespace
}  // namespace epara::metrics
