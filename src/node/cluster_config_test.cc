#include "node/cluster_config.h"

#include "node/cluster_plan.h"

#include <gtest/gtest.h>

namespace epara::node {
namespace {

TEST(ClusterConfigTest, DeviceClassesBecomeNodeConfigs) {
  ClusterConfig c;
  Status s = ParseClusterConfig(R"(
models: demo-models
sync_interval_ms: 100
admission: reject-early
nodes:
  - {id: edge-1, class: edge-server, serve: [seg-demo, llama-demo], api_port: 8001}
  - {id: board-1, class: embedded, serve: [seg-demo]}
  - {id: micro-1, class: microcomputer, cpu_quota: 0.2}
)",
                                "cluster.yaml", "/srv", 23790, &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.models_dir, "/srv/demo-models");
  ASSERT_EQ(c.nodes.size(), 3u);
  const NodeConfig& edge = c.nodes[0];
  EXPECT_EQ(edge.id, "edge-1");
  EXPECT_EQ(edge.api_port, 8001);
  EXPECT_EQ(edge.serve_models, (std::vector<std::string>{"seg-demo", "llama-demo"}));
  EXPECT_EQ(edge.devices[0].cpu_threads, 0);
  EXPECT_DOUBLE_EQ(edge.devices[0].cpu_quota, 1.0);
  EXPECT_EQ(edge.store_kind, "etcd");
  EXPECT_EQ(edge.store_port, 23790);
  EXPECT_EQ(edge.sync_interval.count(), 100);
  EXPECT_EQ(edge.admission, router::Admission::kRejectEarly);
  EXPECT_EQ(c.nodes[1].device_class, "embedded");
  EXPECT_EQ(c.nodes[1].devices[0].cpu_threads, 1);
  EXPECT_DOUBLE_EQ(c.nodes[1].devices[0].cpu_quota, 0.5);
  EXPECT_DOUBLE_EQ(c.nodes[2].devices[0].cpu_quota, 0.2);  // overridden
  EXPECT_EQ(c.nodes[2].devices[0].memory_mb, 1024);
  EXPECT_TRUE(c.nodes[2].serve_models.empty());
}

TEST(ClusterConfigTest, SyncZoneSizeGroupsRunsOfNodes) {
  ClusterConfig c;
  ASSERT_TRUE(ParseClusterConfig(R"(
models: /m
sync_zone_size: 2
nodes: [{id: a}, {id: b}, {id: c}, {id: d}, {id: e}]
)",
                                 "c.yaml", "/", 4000, &c)
                  .ok());
  std::vector<std::string> zones;
  for (const NodeConfig& n : c.nodes) zones.push_back(n.sync_zone);
  EXPECT_EQ(zones, (std::vector<std::string>{"zone-0", "zone-0", "zone-1", "zone-1", "zone-2"}));
  NodeConfig back;
  ASSERT_TRUE(ParseNodeConfig(NodeConfigToYaml(c.nodes[2]), "gen", &back).ok());
  EXPECT_EQ(back.sync_zone, "zone-1");
  ASSERT_TRUE(ParseClusterConfig("models: /m\nnodes: [{id: a}]\n", "c.yaml", "/", 4000, &c).ok());
  EXPECT_FALSE(c.controller_twin);  // opt-in
  ASSERT_TRUE(ParseClusterConfig("models: /m\nnodes: [{id: a}]\ncontroller: {twin: true}\n",
                                 "c.yaml", "/", 4000, &c)
                  .ok());
  EXPECT_TRUE(c.controller_twin);
  EXPECT_TRUE(c.controller_llm_modes);  // opt-out
  EXPECT_EQ(c.controller_period_s, 10);
  ASSERT_TRUE(ParseClusterConfig("models: /m\nnodes: [{id: a}]\ncontroller: {llm_modes: false}\n",
                                 "c.yaml", "/", 4000, &c)
                  .ok());
  EXPECT_FALSE(c.controller_llm_modes);
  EXPECT_FALSE(c.controller_llm_expand);  // opt-in
  ASSERT_TRUE(ParseClusterConfig("models: /m\nnodes: [{id: a}]\ncontroller: {llm_expand: true}\n",
                                 "c.yaml", "/", 4000, &c)
                  .ok());
  EXPECT_TRUE(c.controller_llm_expand);
  EXPECT_TRUE(c.nodes[0].sync_zone.empty());  // all-to-all by default
  EXPECT_FALSE(
      ParseClusterConfig("models: /m\nsync_zone_size: -1\nnodes: [{id: a}]\n", "c.yaml", "/", 1, &c)
          .ok());
}

TEST(ClusterConfigTest, NodeConfigYamlRoundTrips) {
  ClusterConfig c;
  ASSERT_TRUE(ParseClusterConfig("models: /m\nadmission_slo_share: 0.75\n"
                                 "nodes: [{id: a, class: embedded, serve: [x]}]\n",
                                 "c.yaml", "/", 4000, &c)
                  .ok());
  BatchingConfig b;
  b.max_batch_size = 4;
  b.max_queue_delay_us = 2500;
  b.slo_aware = true;
  c.nodes[0].batching["x"] = b;
  NodeConfig back;
  ASSERT_TRUE(ParseNodeConfig(NodeConfigToYaml(c.nodes[0]), "gen", &back).ok())
      << NodeConfigToYaml(c.nodes[0]);
  EXPECT_EQ(back.id, "a");
  EXPECT_EQ(back.device_class, "embedded");
  EXPECT_EQ(back.serve_models, (std::vector<std::string>{"x"}));
  EXPECT_DOUBLE_EQ(back.devices[0].cpu_quota, 0.5);
  EXPECT_EQ(back.store_port, 4000);
  EXPECT_EQ(back.down_after, c.nodes[0].down_after);
  EXPECT_DOUBLE_EQ(back.admission_slo_share, 0.75);  // a cluster-wide setting reaches the node
  ASSERT_EQ(back.batching.count("x"), 1u);
  EXPECT_EQ(back.batching["x"].max_batch_size, 4);
  EXPECT_EQ(back.batching["x"].max_queue_delay_us, 2500);
  EXPECT_TRUE(back.batching["x"].slo_aware);
}

TEST(ClusterConfigTest, ErrorsNameTheFileAndField) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"nodes: [{id: a}]", "c.yaml: models is missing"},
      {"models: /m", "nodes (a non-empty list) is missing"},
      {"models: /m\nnodes: [{class: embedded}]", "nodes[0].id is missing"},
      {"models: /m\nnodes: [{id: a}, {id: a}]", "nodes[1].id 'a' is used twice"},
      {"models: /m\nnodes: [{id: a, class: mainframe}]", "unknown device class 'mainframe'"},
      {"models: /m\nnodes: [{id: a, cpu_quota: 2}]", "cpu_quota must be in (0, 1]"},
      {"models: /m\nadmission: never\nnodes: [{id: a}]", "admission must be"},
      {"models: /m\nnodes: [{id: a}]\npipelines: {l: {stages: [a, z]}}",
       "pipelines.l.stages: no node 'z'"},
      {"models: /m\nnodes: [{id: a}, {id: b}]\npipelines: {l: {stages: [a, b], layers: [3]}}",
       "pipelines.l.layers needs one count per stage"},
      {"models: /m\nnodes: [{id: a}]\npipelines: {l: {stages: [a, a]}}", "appears twice"},
      {"models: /m\nnodes: [{id: a}]\ncontroller: {twin: maybe}",
       "controller.twin has the wrong type"},
  };
  for (const auto& [text, message] : bad) {
    ClusterConfig c;
    const Status s = ParseClusterConfig(text, "c.yaml", "/", 1, &c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

// Pipelines become per-node stage settings: layers split by speed (threads x CPU share) unless
// given, the next node named, the head made to serve the model; they survive the YAML round trip.
TEST(ClusterConfigTest, PipelinesBecomeNodeStagesSizedBySpeed) {
  ClusterConfig c;
  ASSERT_TRUE(ParseClusterConfig(R"(
models: /m
nodes:
  - {id: fast, class: edge-server, cpu_threads: 2, serve: [seg-demo]}
  - {id: slow, class: embedded}
  - {id: x, class: embedded}
pipelines:
  llm: {stages: [fast, slow]}
  fixed: {stages: [x, slow], layers: [1, 7], depth: 3}
)",
                                 "c.yaml", "/", 1, &c)
                  .ok());
  std::map<std::string, LlmShape> shapes = {{"llm", {10, 1 << 20, 0, 0}},
                                            {"fixed", {8, 1 << 20, 0, 0}}};
  std::vector<std::string> explain;
  Status s = PlanPipelines(shapes, /*host_threads=*/2, &c, &explain);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // fast: 2 threads at full speed (4x the embedded node's 1 thread at half speed): 8 of 10.
  ASSERT_EQ(explain.size(), 2u);
  EXPECT_EQ(explain[0], "fixed: x [0, 1) -> slow [1, 8), depth 3");
  EXPECT_EQ(explain[1], "llm: fast [0, 8) -> slow [8, 10), depth 2");
  const NodeConfig& fast = c.nodes[0];
  EXPECT_EQ(fast.serve_models, (std::vector<std::string>{"seg-demo", "llm"}));
  ASSERT_EQ(fast.pipeline.count("llm"), 1u);
  EXPECT_EQ(fast.pipeline.at("llm").next, "slow");
  NodeConfig back;
  ASSERT_TRUE(ParseNodeConfig(NodeConfigToYaml(c.nodes[1]), "gen", &back).ok());
  ASSERT_EQ(back.pipeline.size(), 2u);
  EXPECT_EQ(back.pipeline["llm"].stage, 1);
  EXPECT_EQ(back.pipeline["llm"].first_layer, 8);
  EXPECT_EQ(back.pipeline["llm"].end_layer, 10);
  EXPECT_TRUE(back.pipeline["llm"].next.empty());
  EXPECT_EQ(back.pipeline["fixed"].first_layer, 1);

  // A model the repository does not have, and counts that do not add up, are named.
  shapes.erase("fixed");
  EXPECT_NE(PlanPipelines(shapes, 2, &c, &explain).message().find("pipeline fixed: not an LLM"),
            std::string::npos);
  shapes["fixed"] = {9, 1, 0, 0};
  EXPECT_NE(PlanPipelines(shapes, 2, &c, &explain).message().find("layers add up to 8"),
            std::string::npos);
}

}  // namespace
}  // namespace epara::node
