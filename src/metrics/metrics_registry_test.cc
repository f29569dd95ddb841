#include "metrics/metrics_registry.h"

#include <gtest/gtest.h>

#include "metrics/llm_metrics.h"
#include "metrics/model_metrics.h"

namespace epara::metrics {
namespace {

TEST(MetricsTest, RendersPrometheusTextWithCumulativeBuckets) {
  Registry r;
  Counter* c = r.GetCounter("x_total", "X things", {{"model", "a\"b"}});
  c->Increment(2);
  EXPECT_EQ(r.GetCounter("x_total", "ignored", {{"model", "a\"b"}}), c);  // same series
  Histogram* h = r.GetHistogram("lat_seconds", "Latency", {{"model", "m"}}, {0.1, 1.0});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(5);
  r.GetGauge("g", "A gauge", {})->Set(3);
  const std::string text = r.RenderText();
  EXPECT_NE(text.find("# TYPE x_total counter\nx_total{model=\"a\\\"b\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("lat_seconds_bucket{model=\"m\",le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{model=\"m\",le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{model=\"m\",le=\"+Inf\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("lat_seconds_sum{model=\"m\"} 5.55\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_count{model=\"m\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE g gauge\ng 3\n"), std::string::npos) << text;
}

TEST(MetricsTest, RecordRequestClassifiesFailures) {
  Registry r;
  ModelMetrics m = ModelMetrics::Create(&r, "m", 4);
  m.RecordRequest(Status::Ok(), 0.01);
  m.RecordRequest(InvalidArgument("x"), 0.01);
  m.RecordRequest(ResourceExhausted("x"), 0.01);
  m.RecordRequest(Unavailable("x"), 0.01);
  m.RecordRequest(Internal("x"), 0.01);
  EXPECT_EQ(m.success->value(), 1);
  EXPECT_EQ(m.failure_invalid->value(), 1);
  EXPECT_EQ(m.failure_rejected->value(), 2);
  EXPECT_EQ(m.failure_backend->value(), 1);
  EXPECT_EQ(m.request_duration->count(), 5u);
}

TEST(MetricsTest, LlmRecordRequestCountsTokensReasonsAndLatencies) {
  Registry r;
  LlmMetrics m = LlmMetrics::Create(&r, "llm");
  m.RecordRequest("length", 10, 5, 0.1, 0.5);
  m.RecordRequest("cancelled", 3, 1, 0.2, 0.2);
  m.RecordRequest("weird", 1, 0, 0.0, 0.01);  // unknown reasons count as errors
  EXPECT_EQ(m.prompt_tokens->value(), 14);
  EXPECT_EQ(m.generation_tokens->value(), 6);
  EXPECT_EQ(m.finished.at("length")->value(), 1);
  EXPECT_EQ(m.finished.at("cancelled")->value(), 1);
  EXPECT_EQ(m.finished.at("error")->value(), 1);
  EXPECT_EQ(m.e2e->count(), 3u);
  EXPECT_EQ(m.ttft->count(), 2u);  // only requests that produced a token
  ASSERT_EQ(m.tpot->count(), 1u);  // only requests with two or more tokens
  EXPECT_DOUBLE_EQ(m.tpot->sum(), (0.5 - 0.1) / 4);
}

}  // namespace
}  // namespace epara::metrics
