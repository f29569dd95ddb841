#include "node/cluster_plan.h"

#include <gtest/gtest.h>

namespace epara::node {
namespace {

// A segmentation service whose batch-1 latency (300 ms) is twice its SLO (150 ms) on every
// device: latency-sensitive multi-device, so every node serving it gets a default split of 2 and
// no queue delay; a loose-SLO service on the same cluster keeps plain settings.
TEST(ClusterPlanTest, AServiceTooSlowForItsSloOnOneDeviceIsSplitOnEveryNodeServingIt) {
  ClusterConfig cluster;
  ASSERT_TRUE(ParseClusterConfig("models: /m\nnodes:\n"
                                 "  - {id: a, class: edge-server, serve: [seg-hd, seg]}\n"
                                 "  - {id: b, class: edge-server, serve: [seg-hd]}\n"
                                 "  - {id: c, class: edge-server, serve: [seg]}\n",
                                 "c.yaml", "/", 1, &cluster)
                  .ok());
  std::vector<ModelDescriptor> descriptors(2);
  descriptors[0].name = "seg-hd";
  descriptors[1].name = "seg";
  for (ModelDescriptor& d : descriptors) {
    d.task = TaskType::kSegmentation;
    d.batching.max_batch_size = 4;
    d.batching.max_queue_delay_us = 20'000;
  }
  descriptors[0].slo.latency_ms = 150;
  descriptors[1].slo.latency_ms = 5000;
  std::vector<allocator::Profile> profiles(2);
  profiles[0].model = "seg-hd";
  profiles[1].model = "seg";
  for (allocator::Profile& p : profiles) {
    p.task = "segmentation";
    p.memory_bytes = 10 << 20;
    p.batches = {{1, 1, {300, 300, 300}}};
  }
  const std::vector<PlannedService> planned =
      PlanCluster(profiles, descriptors, {}, {}, &cluster, /*apply=*/true);
  ASSERT_EQ(planned.size(), 2u);
  EXPECT_EQ(planned[0].category.mode, allocator::ParallelMode::kSpatialSplit);
  EXPECT_EQ(planned[0].plan.split, 2);
  EXPECT_EQ(cluster.nodes[0].split.at("seg-hd"), 2);
  EXPECT_EQ(cluster.nodes[1].split.at("seg-hd"), 2);
  EXPECT_EQ(cluster.nodes[0].batching.at("seg-hd").max_queue_delay_us, 0);
  EXPECT_EQ(cluster.nodes[0].split.count("seg"), 0u);
  EXPECT_EQ(cluster.nodes[2].split.count("seg-hd"), 0u);  // c does not serve it
  // The node reads back what `epara up` writes for it.
  NodeConfig back;
  ASSERT_TRUE(ParseNodeConfig(NodeConfigToYaml(cluster.nodes[1]), "gen", &back).ok());
  EXPECT_EQ(back.split, cluster.nodes[1].split);
}

// Two variants of one service: the fast board-sized int8 form wherever it is accurate enough, and
// nothing on a node whose memory holds neither.
TEST(ClusterPlanTest, EachNodeGetsTheFastestAcceptableVariant) {
  ClusterConfig cluster;
  ASSERT_TRUE(ParseClusterConfig("models: /m\nnodes:\n"
                                 "  - {id: edge, class: edge-server}\n"
                                 "  - {id: board, class: embedded}\n"
                                 "  - {id: tiny, class: microcomputer, memory_mb: 50}\n",
                                 "c.yaml", "/", 1, &cluster)
                  .ok());
  std::vector<ModelDescriptor> descriptors(3);
  descriptors[0].name = "isnet";
  descriptors[0].variant = VariantInfo{"isnet-bg", 0.97, 0.95};
  descriptors[1].name = "isnet-fp16";
  descriptors[1].variant = VariantInfo{"isnet-bg", 1.0, 0.95};
  descriptors[2].name = "other";  // not a variant: no plan
  for (ModelDescriptor& d : descriptors) {
    d.task = TaskType::kSegmentation;
    d.slo.latency_ms = 3000;
  }
  std::vector<allocator::Profile> profiles(3);
  const char* names[] = {"isnet", "isnet-fp16", "other"};
  const double ms[] = {1300, 2600, 10};
  for (int i = 0; i < 3; ++i) {
    profiles[i].model = names[i];
    profiles[i].memory_bytes = (i == 1 ? 120 : 60) << 20;
    profiles[i].batches = {{2, 1, {ms[i], ms[i], ms[i]}}};
  }
  const std::vector<VariantPlan> plan = PlanVariants(profiles, descriptors, cluster);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].node, "edge");
  EXPECT_EQ(plan[0].choice.model, "isnet");
  EXPECT_TRUE(plan[0].choice.meets_slo);
  EXPECT_EQ(plan[1].choice.model, "isnet");  // half speed: 2.6 s still meets 3 s
  EXPECT_TRUE(plan[1].choice.meets_slo);
  EXPECT_TRUE(plan[2].choice.model.empty()) << plan[2].choice.why;  // 50 MB holds neither
  // `serve: [isnet-bg]` becomes each node's variant.
  cluster.nodes[0].serve_models = {"isnet-bg", "other"};
  cluster.nodes[2].serve_models = {"isnet-bg"};
  EXPECT_EQ(ApplyVariants(plan, &cluster).size(), 2u);
  EXPECT_EQ(cluster.nodes[0].serve_models, (std::vector<std::string>{"isnet", "other"}));
  EXPECT_TRUE(cluster.nodes[2].serve_models.empty());
  descriptors[0].variant->accuracy = 0.9;  // int8 no longer acceptable
  EXPECT_EQ(PlanVariants(profiles, descriptors, cluster)[0].choice.model, "isnet-fp16");
}

}  // namespace
}  // namespace epara::node
