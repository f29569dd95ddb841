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

}  // namespace
}  // namespace epara::node
