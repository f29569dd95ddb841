#include "allocator/service_plan.h"

#include <gtest/gtest.h>

namespace epara::allocator {
namespace {

Profile SegProfile() {
  Profile p;
  p.model = "seg";
  p.batches = {{1, 1, {40, 40, 40}},
               {2, 1, {30, 30, 30}},
               {2, 2, {50, 50, 50}},
               {2, 4, {95, 95, 95}},
               {2, 8, {190, 190, 190}}};
  return p;
}

BatchingConfig Descriptor() {
  BatchingConfig b;
  b.max_batch_size = 8;
  b.max_queue_delay_us = 50'000;
  b.max_queue_size = 64;
  return b;
}

TEST(ServicePlanTest, FrequencySensitiveServicesBatchWithinHalfTheSlo) {
  Categorization c;
  c.mode = ParallelMode::kBatching;
  // SLO 200 ms: batch 4 (95 ms) fits in 100 ms, batch 8 (190 ms) does not.
  ServicePlan p = PlanService(c, SegProfile(), 200, Descriptor());
  EXPECT_EQ(p.mode, ParallelMode::kBatching);
  EXPECT_TRUE(p.batching.slo_aware);
  EXPECT_EQ(p.batching.max_batch_size, 4);
  EXPECT_EQ(p.batching.max_queue_delay_us, 10'000);  // 200 - 2 x 95
  EXPECT_EQ(p.batching.max_queue_size, 64);
  // A looser SLO allows larger batches, but batch 8 takes 23.75 ms per request like batch 4: it
  // would add latency and no throughput, so batch 4 stays; the descriptor's delay cap is kept.
  p = PlanService(c, SegProfile(), 1000, Descriptor());
  EXPECT_EQ(p.batching.max_batch_size, 4);
  EXPECT_EQ(p.batching.max_queue_delay_us, 50'000);
  // Where batching never pays (per-request time flat, as the demo UNet on a CPU): batch 1.
  Profile flat;
  flat.model = "flat";
  flat.batches = {{1, 1, {45, 45, 45}}, {1, 2, {90, 90, 90}}, {1, 4, {181, 181, 181}}};
  EXPECT_EQ(PlanService(c, flat, 1000, Descriptor()).batching.max_batch_size, 1);
  c.mode = ParallelMode::kReplicas;
  EXPECT_EQ(PlanService(c, flat, 1000, Descriptor()).batching.max_batch_size, 1);
  EXPECT_EQ(PlanService(c, SegProfile(), 1000, Descriptor()).batching.max_batch_size, 4);
  c.mode = ParallelMode::kBatching;
  // A descriptor that does not batch stays unbatched.
  BatchingConfig none = Descriptor();
  none.max_batch_size = 0;
  EXPECT_EQ(PlanService(c, SegProfile(), 1000, none).batching.max_batch_size, 0);
}

TEST(ServicePlanTest, LatencySensitiveAndMultiDeviceServicesNeverWait) {
  Categorization c;
  c.mode = ParallelMode::kReplicas;
  ServicePlan p = PlanService(c, SegProfile(), 60, Descriptor());
  EXPECT_EQ(p.batching.max_queue_delay_us, 0);
  EXPECT_TRUE(p.batching.slo_aware);
  EXPECT_EQ(p.split, 0);
  // Too slow for its SLO on any one device: every request split over the devices it needs.
  c.mode = ParallelMode::kSpatialSplit;
  c.devices_needed = 3;
  p = PlanService(c, SegProfile(), 60, Descriptor());
  EXPECT_EQ(p.mode, ParallelMode::kSpatialSplit);
  EXPECT_EQ(p.split, 3);
  EXPECT_EQ(p.batching.max_queue_delay_us, 0);
  EXPECT_NE(p.note.find("3 tiles on 3 instances"), std::string::npos) << p.note;
  c.devices_needed = 1;  // a split is at least 2 tiles
  EXPECT_EQ(PlanService(c, SegProfile(), 60, Descriptor()).split, 2);
  c.mode = ParallelMode::kPipeline;
  p = PlanService(c, SegProfile(), 60, Descriptor());
  EXPECT_EQ(p.mode, ParallelMode::kPipeline);
  EXPECT_NE(p.note.find("pipelines:"), std::string::npos) << p.note;
}

}  // namespace
}  // namespace epara::allocator
