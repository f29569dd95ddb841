#include "node/cluster_config.h"

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

TEST(ClusterConfigTest, NodeConfigYamlRoundTrips) {
  ClusterConfig c;
  ASSERT_TRUE(ParseClusterConfig("models: /m\nnodes: [{id: a, class: embedded, serve: [x]}]\n",
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
  };
  for (const auto& [text, message] : bad) {
    ClusterConfig c;
    const Status s = ParseClusterConfig(text, "c.yaml", "/", 1, &c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace epara::node
