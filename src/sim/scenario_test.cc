#include "sim/scenario.h"

#include <gtest/gtest.h>

namespace epara::sim {
namespace {

node::ClusterConfig Testbed() {
  node::ClusterConfig c;
  EXPECT_TRUE(node::ParseClusterConfig(R"(
models: /models
sync_interval_ms: 250
down_after_ms: 2000
nodes:
  - {id: edge-1, class: edge-server, cpu_threads: 1, cpu_quota: 0.7, serve: [seg]}
  - {id: micro-1, class: microcomputer, serve: [seg, other]}
)",
                                       "test", "/", 1, &c)
                  .ok());
  return c;
}

std::vector<ModelDescriptor> Models() {
  ModelDescriptor seg;
  seg.name = "seg";
  seg.task = TaskType::kSegmentation;
  seg.batching.max_batch_size = 8;
  seg.slo.latency_ms = 500;
  ModelDescriptor other = seg;
  other.name = "other";
  return {seg, other};
}

std::vector<allocator::Profile> Profiles() {
  allocator::Profile p;
  p.model = "seg";
  p.task = "segmentation";
  p.speed_gflops = 30;
  p.batches = {{1, 1, {40, 40, 40}}, {1, 2, {70, 70, 70}}};
  return {p};
}

TEST(ScenarioTest, BuildsTheSimulatedTwinOfAClusterConfig) {
  SimSpec spec;
  ASSERT_TRUE(BuildSimSpec(Testbed(), Models(), {}, Profiles(), SimOptions{}, {"seg"}, &spec).ok());
  ASSERT_EQ(spec.nodes.size(), 2u);
  EXPECT_DOUBLE_EQ(spec.nodes[0].speed, 0.7);
  EXPECT_DOUBLE_EQ(spec.nodes[1].speed, 0.25);  // the microcomputer class
  EXPECT_DOUBLE_EQ(spec.nodes[1].gflops, 30 * 0.25);
  EXPECT_EQ(spec.nodes[1].serve, std::vector<std::string>{"seg"});  // only what is asked for
  ASSERT_EQ(spec.models.size(), 1u);
  EXPECT_DOUBLE_EQ(spec.models[0].slo_ms, 500);
  EXPECT_DOUBLE_EQ(spec.models[0].cost.BatchMs(2), 70);
  EXPECT_DOUBLE_EQ(spec.options.sync_interval_ms, 250);
  EXPECT_DOUBLE_EQ(spec.options.down_after_ms, 2000);
  // A model without a profile cannot be simulated: the error says what to run.
  const Status s =
      BuildSimSpec(Testbed(), Models(), {}, Profiles(), SimOptions{}, {"seg", "other"}, &spec);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("epara profile"), std::string::npos);
}

TEST(ScenarioTest, GeneratesClustersFromADeviceClassMix) {
  ScaleOptions scale;
  scale.nodes = 1000;
  scale.copies = 50;
  scale.serve_per_node = 4;
  node::ClusterConfig c;
  std::vector<ModelDescriptor> models = Models();
  std::vector<node::ModelFootprint> footprints = {{"seg", 8 << 20, false, {}}};
  std::vector<allocator::Profile> profiles = Profiles();
  ASSERT_TRUE(ScaleCluster(Testbed(), scale, {"seg"}, &c, &models, &footprints, &profiles).ok());
  ASSERT_EQ(c.nodes.size(), 1000u);
  std::map<std::string, int> by_class;
  std::map<std::string, int> hosts;
  for (const node::NodeConfig& n : c.nodes) {
    by_class[n.device_class]++;
    EXPECT_EQ(n.serve_models.size(), 4u);
    for (const std::string& m : n.serve_models) hosts[m]++;
  }
  EXPECT_EQ(by_class["edge-server"], 50);
  EXPECT_EQ(by_class["embedded"], 250);
  EXPECT_EQ(by_class["microcomputer"], 700);
  EXPECT_EQ(models.size(), 50u);  // seg-0 .. seg-49
  EXPECT_EQ(profiles.size(), 50u);
  EXPECT_EQ(hosts.size(), 50u);
  for (const auto& [m, n] : hosts) EXPECT_EQ(n, 1000 * 4 / 50) << m;  // dealt evenly
  scale.mix = {{"mainframe", 1}};
  EXPECT_EQ(ScaleCluster(Testbed(), scale, {"seg"}, &c, &models, &footprints, &profiles).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace epara::sim
