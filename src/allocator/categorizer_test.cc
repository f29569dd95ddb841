#include "allocator/categorizer.h"

#include <gtest/gtest.h>

namespace epara::allocator {
namespace {

constexpr int64_t kMB = 1 << 20;

std::vector<DeviceBudget> TwoDevices() {
  return {{"edge", "cpu", 4096 * kMB, 1.0}, {"board", "cpu", 1024 * kMB, 0.5}};
}

struct Case {
  const char* name;
  Task task;
  double slo_ms, solo_ms;
  int64_t memory;
  double rate;
  RequestCategory request;
  ServiceCategory service;
  ParallelMode mode;
};

TEST(CategorizerTest, TableOfCasesIncludingBoundaries) {
  using RC = RequestCategory;
  using SC = ServiceCategory;
  using PM = ParallelMode;
  const Case cases[] = {
      // A tight SLO with a small model: latency-sensitive, one device, replicas.
      {"tight slo small model", Task::kVision, 50, 40, 10 * kMB, 100, RC::kLatencySensitive,
       SC::kSingleDevice, PM::kReplicas},
      // Loose SLO and heavy traffic: frequency-sensitive batching.
      {"loose slo heavy traffic", Task::kVision, 500, 40, 10 * kMB, 50, RC::kFrequencySensitive,
       SC::kSingleDevice, PM::kBatching},
      // Loose SLO, light traffic (load 0.04 < 0.5): nothing to batch.
      {"loose slo light traffic", Task::kVision, 500, 40, 10 * kMB, 1, RC::kLatencySensitive,
       SC::kSingleDevice, PM::kReplicas},
      // Boundaries: slack exactly 2.0 and load exactly 0.5 are frequency-sensitive...
      {"slack and load at the thresholds", Task::kVision, 80, 40, 10 * kMB, 12.5,
       RC::kFrequencySensitive, SC::kSingleDevice, PM::kBatching},
      // ...just below either is not.
      {"slack just below", Task::kVision, 79.9, 40, 10 * kMB, 100, RC::kLatencySensitive,
       SC::kSingleDevice, PM::kReplicas},
      {"load just below", Task::kVision, 500, 40, 10 * kMB, 12.4, RC::kLatencySensitive,
       SC::kSingleDevice, PM::kReplicas},
      // One device cannot meet a latency SLO: split the image.
      {"too slow for the slo", Task::kVision, 100, 250, 10 * kMB, 1, RC::kLatencySensitive,
       SC::kMultiDevice, PM::kSpatialSplit},
      // Too large for any device: an LLM is pipelined, a vision model cannot be placed.
      {"llm too large", Task::kLlm, 0, 100, 4500 * kMB, 1, RC::kLatencySensitive, SC::kMultiDevice,
       PM::kPipeline},
      {"vision too large", Task::kVision, 0, 100, 4500 * kMB, 1, RC::kLatencySensitive,
       SC::kMultiDevice, PM::kUnplaceable},
      // No SLO and heavy traffic: frequency-sensitive.
      {"no slo", Task::kLlm, 0, 30, 100 * kMB, 100, RC::kFrequencySensitive, SC::kSingleDevice,
       PM::kBatching},
  };
  for (const Case& k : cases) {
    const Categorization c =
        Categorize({k.name, k.task, k.slo_ms}, {k.solo_ms, k.memory}, TwoDevices(), {k.rate});
    EXPECT_EQ(c.request, k.request) << k.name << ": " << c.why;
    EXPECT_EQ(c.service, k.service) << k.name << ": " << c.why;
    EXPECT_EQ(c.mode, k.mode) << k.name << ": " << c.why;
    EXPECT_FALSE(c.why.empty());
  }
}

TEST(CategorizerTest, TheNumbersBehindTheDecision) {
  // Both devices fit; the edge (speed 1) is the fastest.
  Categorization c = Categorize({"s", Task::kVision, 300}, {60, 10 * kMB}, TwoDevices(), {20});
  EXPECT_DOUBLE_EQ(c.best_solo_ms, 60);
  EXPECT_DOUBLE_EQ(c.slack, 5);
  EXPECT_DOUBLE_EQ(c.load, 1.2);
  // Only the slow device can hold it: memory picks the device, then speed.
  std::vector<DeviceBudget> d = {{"fast-small", "cpu", 100 * kMB, 2.0},
                                 {"slow-big", "cpu", 2048 * kMB, 0.5}};
  c = Categorize({"s", Task::kVision, 300}, {60, 1024 * kMB}, d, {1});
  EXPECT_TRUE(c.fits_one_device);
  EXPECT_DOUBLE_EQ(c.best_solo_ms, 120);  // on the slow device that fits
}

TEST(CategorizerTest, PipelineStagesCoverTheFootprintWithTheLargestDevices) {
  std::vector<DeviceBudget> d = {
      {"a", "cpu", 1024 * kMB, 1}, {"b", "cpu", 1024 * kMB, 1}, {"c", "cpu", 512 * kMB, 1}};
  Categorization c = Categorize({"llm", Task::kLlm, 0}, {50, 1800 * kMB}, d, {1});
  EXPECT_EQ(c.mode, ParallelMode::kPipeline);
  EXPECT_EQ(c.devices_needed, 2);
  c = Categorize({"llm", Task::kLlm, 0}, {50, 2400 * kMB}, d, {1});
  EXPECT_EQ(c.devices_needed, 3);
  c = Categorize({"llm", Task::kLlm, 0}, {50, 4000 * kMB}, d, {1});
  EXPECT_EQ(c.mode, ParallelMode::kUnplaceable);  // not even all devices together
  EXPECT_EQ(c.service, ServiceCategory::kMultiDevice);
}

TEST(CategorizerTest, SplitWaysFollowTheSloGap) {
  Categorization c = Categorize({"seg", Task::kVision, 100}, {250, kMB}, TwoDevices(), {1});
  EXPECT_EQ(c.mode, ParallelMode::kSpatialSplit);
  EXPECT_EQ(c.devices_needed, 3);  // ceil(250 / 100)
}

}  // namespace
}  // namespace epara::allocator
