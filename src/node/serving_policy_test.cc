#include "node/serving_policy.h"

#include <gtest/gtest.h>

#include <tuple>

namespace epara::node {
namespace {

ClusterConfig Testbed() {
  ClusterConfig c;
  EXPECT_TRUE(ParseClusterConfig(R"(
models: /m
nodes:
  - {id: big, class: edge-server, serve: [seg, llm]}
  - {id: small, class: microcomputer, serve: [seg], memory_mb: 300}
)",
                                 "c.yaml", "/", 4000, &c)
                  .ok());
  c.nodes[0].split["seg"] = 2;
  c.plan_profiles = "/p.json";
  return c;
}

std::vector<ModelFootprint> Models() {
  BatchingConfig b;
  b.max_batch_size = 8;
  b.max_queue_delay_us = 2000;
  return {{"seg", 100 << 20, false, b}, {"llm", 400 << 20, true, {}}, {"other", 1 << 20, false, b}};
}

TEST(ServingPolicyTest, NamesRoundTrip) {
  for (const std::string& name : ServingPolicyNames()) {
    ServingPolicy p;
    ASSERT_TRUE(ParseServingPolicy(name, &p)) << name;
    EXPECT_EQ(ServingPolicyName(p), name);
  }
  ServingPolicy p;
  EXPECT_FALSE(ParseServingPolicy("fastest", &p));
}

TEST(ServingPolicyTest, OnlyTheModelParallelPoliciesKeepTheFilesPipelines) {
  for (const std::string& name : ServingPolicyNames()) {
    SCOPED_TRACE(name);
    ServingPolicy p;
    ASSERT_TRUE(ParseServingPolicy(name, &p));
    ClusterConfig c = Testbed();
    c.pipelines["llm"].stages = {"big", "small"};
    c.nodes[1].pipeline["llm"].stage = 1;  // as written by a node file
    std::vector<std::string> notes;
    ASSERT_TRUE(ApplyServingPolicy(p, Models(), &c, &notes).ok());
    const bool keeps = p == ServingPolicy::kEpara || p == ServingPolicy::kAlpaserveLike ||
                       p == ServingPolicy::kGalaxyLike;
    EXPECT_EQ(c.pipelines.count("llm"), keeps ? 1u : 0u);
    EXPECT_EQ(c.nodes[1].pipeline.count("llm"), keeps ? 1u : 0u);
    bool noted = false;
    for (const std::string& n : notes) noted |= n.find("pipelines dropped") != std::string::npos;
    EXPECT_EQ(noted, !keeps);
  }
}

TEST(ServingPolicyTest, GalaxyLikeSplitsEverySegmentationRequestOverItsHosts) {
  ClusterConfig c = Testbed();
  std::vector<ModelFootprint> models = Models();
  models[0].segmentation = true;
  ASSERT_TRUE(ApplyServingPolicy(ServingPolicy::kGalaxyLike, models, &c, nullptr).ok());
  for (const NodeConfig& n : c.nodes) {
    SCOPED_TRACE(n.id);
    EXPECT_EQ(n.split, (std::map<std::string, int>{{"seg", 2}}));  // both nodes hold it
    EXPECT_FALSE(n.split_fit);  // always every host, however few would meet the SLO
    EXPECT_EQ(n.routing, router::RouteMode::kLeastOutstanding);
    EXPECT_FALSE(n.batching.at("seg").slo_aware);
  }
  EXPECT_TRUE(c.plan_profiles.empty());
  EXPECT_EQ(c.controller_period_s, 0);
  // Not a segmentation model: never split.
  models[0].segmentation = false;
  c = Testbed();
  ASSERT_TRUE(ApplyServingPolicy(ServingPolicy::kGalaxyLike, models, &c, nullptr).ok());
  for (const NodeConfig& n : c.nodes) EXPECT_TRUE(n.split.empty());
}

TEST(ServingPolicyTest, NexusAndClockworkDropLateRequestsAndBatchTheirOwnWay) {
  std::vector<ModelFootprint> models = Models();
  models[0].tuned_max_batch = 4;
  for (auto [policy, routing, slo_aware, max_batch] :
       {std::tuple{ServingPolicy::kNexusLike, router::RouteMode::kLeastOutstanding, true, 4},
        std::tuple{ServingPolicy::kClockworkLike, router::RouteMode::kSloAware, false, 1}}) {
    SCOPED_TRACE(ServingPolicyName(policy));
    ClusterConfig c = Testbed();
    ASSERT_TRUE(ApplyServingPolicy(policy, models, &c, nullptr).ok());
    EXPECT_EQ(c.nodes[1].serve_models, (std::vector<std::string>{"seg"}));  // static replicas
    for (const NodeConfig& n : c.nodes) {
      EXPECT_EQ(n.routing, routing);
      EXPECT_EQ(n.admission, router::Admission::kRejectEarly);
      EXPECT_TRUE(n.split.empty());
      EXPECT_EQ(n.batching.at("seg").slo_aware, slo_aware);
      EXPECT_EQ(n.batching.at("seg").max_batch_size, max_batch);
    }
    EXPECT_TRUE(c.plan_profiles.empty());
    EXPECT_EQ(c.controller_period_s, 0);
  }
}

TEST(ServingPolicyTest, ReplicasGoWhereverTheyFitWithTheBaselinesRouting) {
  for (auto [policy, routing] :
       {std::pair{ServingPolicy::kReplicateRr, router::RouteMode::kRoundRobin},
        std::pair{ServingPolicy::kTritonLike, router::RouteMode::kLeastOutstanding},
        std::pair{ServingPolicy::kLocalOnly, router::RouteMode::kLocalOnly}}) {
    ClusterConfig c = Testbed();
    std::vector<std::string> notes;
    ASSERT_TRUE(ApplyServingPolicy(policy, Models(), &c, &notes).ok());
    SCOPED_TRACE(ServingPolicyName(policy));
    // Only the cluster's models (seg, llm), each where memory holds it: the 300 MB node takes
    // seg (100 MB) but not the 400 MB LLM.
    EXPECT_EQ(c.nodes[0].serve_models, (std::vector<std::string>{"seg", "llm"}));
    EXPECT_EQ(c.nodes[1].serve_models, (std::vector<std::string>{"seg"}));
    for (const NodeConfig& n : c.nodes) {
      EXPECT_EQ(n.routing, routing);
      EXPECT_EQ(n.admission, router::Admission::kBestEffort);
      EXPECT_TRUE(n.split.empty());
      ASSERT_TRUE(n.batching.count("seg"));
      EXPECT_FALSE(n.batching.at("seg").slo_aware);
      EXPECT_FALSE(n.batching.count("llm"));  // the engine batches continuously
    }
    EXPECT_EQ(c.nodes[0].batching.at("seg").max_batch_size,
              policy == ServingPolicy::kReplicateRr ? 1 : 8);
    EXPECT_TRUE(c.plan_profiles.empty());
    EXPECT_EQ(c.controller_period_s, 0);
    EXPECT_EQ(notes.size(), 2u);
  }
}

TEST(ServingPolicyTest, BaselinesTakeTheProfileTunedBatchSize) {
  std::vector<ModelFootprint> models = Models();
  models[0].tuned_max_batch = 2;
  ClusterConfig c = Testbed();
  ASSERT_TRUE(ApplyServingPolicy(ServingPolicy::kTritonLike, models, &c, nullptr).ok());
  EXPECT_EQ(c.nodes[0].batching.at("seg").max_batch_size, 2);
  EXPECT_EQ(c.nodes[0].batching.at("seg").max_queue_delay_us, 2000);  // the descriptor's
  ClusterConfig e = Testbed();  // epara batches by its own plan (the profiles), not this
  ASSERT_TRUE(ApplyServingPolicy(ServingPolicy::kEpara, models, &e, nullptr).ok());
  EXPECT_EQ(e.nodes[0].batching.at("seg").max_batch_size, 8);
}

TEST(ServingPolicyTest, EparaKeepsThePlacementAndTurnsOnSloAwarenessAndTheController) {
  ClusterConfig c = Testbed();
  BatchingConfig own;
  own.max_batch_size = 3;
  c.nodes[1].batching["seg"] = own;
  ASSERT_TRUE(ApplyServingPolicy(ServingPolicy::kEpara, Models(), &c, nullptr).ok());
  EXPECT_EQ(c.nodes[1].serve_models, (std::vector<std::string>{"seg"}));
  EXPECT_EQ(c.nodes[0].routing, router::RouteMode::kSloAware);
  EXPECT_EQ(c.nodes[0].admission, router::Admission::kRejectEarly);
  EXPECT_TRUE(c.nodes[0].batching.at("seg").slo_aware);
  EXPECT_EQ(c.nodes[0].batching.at("seg").max_batch_size, 8);
  EXPECT_EQ(c.nodes[1].batching.at("seg").max_batch_size, 3);  // the file's own batching stays
  EXPECT_EQ(c.nodes[0].split.at("seg"), 2);
  EXPECT_EQ(c.plan_profiles, "/p.json");
  EXPECT_GT(c.controller_period_s, 0);
  EXPECT_GT(c.controller_burst_headroom, 0);
}

TEST(ServingPolicyTest, AlpaserveLikeIsControllerPlacedWithoutSloAwareness) {
  ClusterConfig c = Testbed();
  ASSERT_TRUE(ApplyServingPolicy(ServingPolicy::kAlpaserveLike, Models(), &c, nullptr).ok());
  EXPECT_EQ(c.nodes[1].serve_models, (std::vector<std::string>{"seg"}));  // the file's placement
  EXPECT_EQ(c.nodes[0].routing, router::RouteMode::kLeastOutstanding);
  EXPECT_EQ(c.nodes[0].admission, router::Admission::kBestEffort);
  EXPECT_FALSE(c.nodes[0].batching.at("seg").slo_aware);
  EXPECT_GT(c.controller_period_s, 0);
  EXPECT_EQ(c.controller_burst_headroom, 0);
  EXPECT_TRUE(c.plan_profiles.empty());
}

}  // namespace
}  // namespace epara::node
