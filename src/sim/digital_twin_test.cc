// The digital twin (issue 24): forecasts that follow capacity, the gate's decision, live state
// (dead nodes, broken pipelines), and its forecast against the simulated cluster it predicts.
#include "sim/digital_twin.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sim/hash.h"

namespace epara::sim {
namespace {

// One vision service of 40 ms per request at speed 1 (25 req/s per instance), SLO 200 ms, on
// nodes "a" and "b" of speed 1 that serve nothing until a placement says so.
SimSpec TwoNodes() {
  SimSpec spec;
  SimModel m;
  m.name = "seg";
  m.slo_ms = 200;
  m.width = 256;
  m.batching.max_batch_size = 1;
  m.batching.max_queue_size = 1 << 20;
  m.cost.batch_ms = {{1, 40}};
  spec.models.push_back(m);
  for (const char* id : {"a", "b"}) {
    SimNodeSpec n;
    n.id = id;
    n.gflops = 10;
    spec.nodes.push_back(n);
  }
  spec.options.network_ms = 0;
  return spec;
}

controller::DemandTable Demand(std::map<std::string, double> rate_at) {
  controller::DemandTable t;
  for (const auto& [ingress, rate] : rate_at) t["seg"][ingress].Observe(rate, 1.0);
  return t;
}

// A query weighing seg on a alone (current) against seg on a and b (candidate) over 20 s.
controller::TwinQuery OneOrTwoInstances(std::vector<std::string> live,
                                        const controller::DemandTable* demand) {
  controller::TwinQuery q;
  q.live = std::move(live);
  q.current = {{"seg", {"a"}}};
  q.candidate = {{"seg", {"a", "b"}}};
  q.demand = demand;
  q.horizon_s = 20;
  return q;
}

TEST(DigitalTwinTest, ASecondInstanceIsWorthItOnlyWhenDemandExceedsOne) {
  const DigitalTwin twin(TwoNodes());
  for (double rate : {40.0, 10.0}) {
    const controller::DemandTable demand = Demand({{"a", rate}});
    const controller::TwinQuery q = OneOrTwoInstances({"a", "b"}, &demand);
    controller::TwinVerdict v;
    ASSERT_TRUE(twin.Forecast(q, &v).ok());
    EXPECT_NEAR(v.offered_rps, rate, 0.2 * rate);  // Poisson arrivals at the smoothed mean
    if (rate > 25) {
      // One instance serves 25 req/s at most; its queue grows past the SLO. Two serve them all.
      EXPECT_LT(v.current_rps, 26) << "one instance cannot meet more than its capacity";
      EXPECT_GT(v.candidate_rps, 0.85 * v.offered_rps);
      EXPECT_TRUE(v.apply);
    } else {
      // Under capacity both meet every SLO: nothing to gain, so the move is churn.
      EXPECT_NEAR(v.current_rps, v.candidate_rps, 1e-9);
      EXPECT_GT(v.current_rps, 0.9 * v.offered_rps);
      EXPECT_FALSE(v.apply);
    }
  }
}

TEST(DigitalTwinTest, TheGateWantsAGainAboveTheNoise) {
  EXPECT_TRUE(controller::TwinApproves(10, 12, 1));
  EXPECT_FALSE(controller::TwinApproves(10, 10.5, 1));
  EXPECT_FALSE(controller::TwinApproves(10, 10, 0));
  EXPECT_FALSE(controller::TwinApproves(12, 10, 0));
}

TEST(DigitalTwinTest, TheCandidateIsTheCurrentPlacementWithThePlannedServicesReplaced) {
  const scheduler::Instances current = {{"seg", {"a"}}, {"old", {"b"}}, {"llm", {"b"}}};
  controller::PeriodPlan plan;
  plan.services.resize(2);
  plan.services[0].name = "seg";
  plan.services[1].name = "old";
  plan.target = {{"seg", {"a", "b"}}};
  const scheduler::Instances want = {{"seg", {"a", "b"}}, {"llm", {"b"}}};
  EXPECT_EQ(controller::CandidatePlacement(current, plan), want)
      << "placed services take the target (none when it leaves them out); the rest stay";
}

TEST(DigitalTwinTest, ADeadNodeNeitherServesNorSendsRequests) {
  const DigitalTwin twin(TwoNodes());
  const controller::DemandTable demand = Demand({{"a", 40}, {"b", 30}});
  const controller::TwinQuery q = OneOrTwoInstances({"a"}, &demand);  // b's record expired
  controller::TwinVerdict v;
  ASSERT_TRUE(twin.Forecast(q, &v).ok());
  EXPECT_NEAR(v.offered_rps, 40, 8) << "b's clients reach no one";
  EXPECT_NEAR(v.candidate_rps, v.current_rps, 1e-9) << "an instance on b adds nothing";
  EXPECT_FALSE(v.apply);
}

TEST(DigitalTwinTest, APlacementOnAnUnknownNodeIsAnError) {
  const DigitalTwin twin(TwoNodes());
  const controller::DemandTable demand = Demand({{"a", 5}});
  controller::TwinQuery q;
  q.live = {"a", "b"};
  q.current = {{"seg", {"a"}}};
  q.candidate = {{"seg", {"z"}}};
  q.demand = &demand;
  controller::TwinVerdict v;
  const Status s = twin.Forecast(q, &v);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'z'"), std::string::npos);
}

TEST(DigitalTwinTest, APipelineThroughADeadStageServesNothing) {
  SimSpec spec = TwoNodes();
  SimModel llm;
  llm.name = "llm";
  llm.llm = true;
  llm.slo_ms = 2000;
  llm.layers = 4;
  llm.limits.kv_budget_bytes = 64ll << 20;
  llm.limits.kv_bytes_per_token = 16 << 10;
  llm.limits.token_budget = 512;
  llm.limits.max_running = 8;
  llm.cost.prefill_ms = {{32, 10}, {128, 40}};
  llm.cost.decode_ms = {{1, 3}, {8, 6}};
  spec.models.push_back(llm);
  spec.nodes[0].pipeline["llm"] = SimStage{0, 0, 2, "b", 2};
  spec.nodes[1].pipeline["llm"] = SimStage{1, 2, 4, "", 2};
  const DigitalTwin twin(spec);
  controller::DemandTable demand;
  demand["llm"]["a"].Observe(2, 1.0);
  controller::TwinQuery q;
  q.current = q.candidate = {{"llm", {"a"}}};
  q.demand = &demand;
  q.horizon_s = 20;
  controller::TwinVerdict whole, broken;
  q.live = {"a", "b"};
  ASSERT_TRUE(twin.Forecast(q, &whole).ok());
  q.live = {"a"};
  ASSERT_TRUE(twin.Forecast(q, &broken).ok());
  EXPECT_GT(whole.current_rps, 0.8 * whole.offered_rps);
  EXPECT_EQ(broken.current_rps, 0) << "the head cannot run its steps without stage b";
}

TEST(DigitalTwinTest, ItsForecastFollowsTheSimulatedClusterItGates) {
  // The simulator's controller with the twin: steady Poisson load on a, one instance there and one
  // on b. Every period is forecast; over the run the forecasts add up to what the cluster met.
  SimSpec spec = TwoNodes();
  spec.nodes[0].serve = {"seg"};
  spec.nodes[1].serve = {"seg"};
  spec.options.controller_period_s = 5;
  spec.options.twin = true;
  std::vector<loadgen::ScheduledRequest> schedule;
  uint64_t h = 7;
  for (double t = 0; t < 60;) {
    h = Mix64(h);
    t += -std::log1p(-static_cast<double>(h >> 11) * 0x1.0p-53) / 30.0;
    loadgen::ScheduledRequest r;
    r.at_s = t;
    r.ingress = "a";
    r.image_size = 256;
    schedule.push_back(r);
  }
  schedule.pop_back();
  std::vector<SimOutcome> outcomes;
  SimStats stats;
  ASSERT_TRUE(Simulate(spec, {"seg"}, schedule, 60, &outcomes, &stats).ok());
  ASSERT_GE(stats.twin.size(), 10u);
  double predicted = 0, observed = 0;
  int judged = 0;
  for (const TwinPeriod& p : stats.twin) {
    EXPECT_EQ(p.predicted_rps, p.applied ? p.candidate_rps : p.current_rps);
    if (p.offered_rps == 0 || p.at_s + p.horizon_s > 60) continue;  // no estimate yet / the tail
    predicted += p.predicted_rps;
    observed += p.observed_rps;
    ++judged;
  }
  ASSERT_GE(judged, 8);
  EXPECT_NEAR(predicted / observed, 1.0, 0.08);
  EXPECT_NEAR(observed / judged, 30, 4) << "two instances meet nearly every request";
}

// Live queues (issue 24): a node that holds a backlog when the horizon begins serves it first, so
// the arrivals behind it wait; the backlog itself is not counted as arrivals.
TEST(DigitalTwinTest, ABacklogTheNodesHoldDelaysTheArrivalsBehindIt) {
  const DigitalTwin twin(TwoNodes());
  const controller::DemandTable demand = Demand({{"a", 10}});
  controller::TwinQuery q = OneOrTwoInstances({"a", "b"}, &demand);
  q.horizon_s = 5;
  q.backlog_known = true;
  controller::TwinVerdict empty, held;
  ASSERT_TRUE(twin.Forecast(q, &empty).ok());
  // 100 requests of 40 ms on a: 4 s of work ahead of the horizon's first arrival.
  q.backlog = {{"a", "seg", 99, 1}, {"z", "seg", 50, 0}, {"a", "unknown", 9, 0}};
  ASSERT_TRUE(twin.Forecast(q, &held).ok());
  EXPECT_NEAR(held.offered_rps, empty.offered_rps, 1e-9) << "the backlog is not an arrival";
  EXPECT_GT(empty.current_rps, 0.9 * empty.offered_rps) << "10 req/s fit one instance";
  EXPECT_LT(held.current_rps, 0.5 * empty.current_rps)
      << "behind 4 s of backlog most arrivals of a 5 s horizon miss 200 ms";
  EXPECT_GT(held.candidate_rps, held.current_rps)
      << "a second instance takes arrivals while the first works the backlog off";
}

TEST(DigitalTwinTest, TheBacklogIsReadFromThePeersDigestsOncePerNode) {
  const nlohmann::json view_a = nlohmann::json::parse(R"({"nodes": [
      {"id": "a", "self": true},
      {"id": "b", "digest": {"instances": [{"model": "seg", "queue_length": 3, "in_flight": 1},
                                            {"model": "llm", "queue_length": 0, "in_flight": 0}]}},
      {"id": "c", "digest": {"instances": [{"model": "llm", "queue_length": 2, "in_flight": 4},
                                            {"model": 7, "queue_length": 1}]}}]})");
  const nlohmann::json view_b = nlohmann::json::parse(R"({"nodes": [
      {"id": "a", "digest": {"instances": [{"model": "seg", "queue_length": 0, "in_flight": 2}]}},
      {"id": "c", "digest": {"instances": [{"model": "llm", "queue_length": 9, "in_flight": 9}]}}]})");
  std::set<std::string> seen;
  std::vector<controller::TwinBacklog> backlog;
  controller::AddViewBacklog(view_a, &seen, &backlog);
  controller::AddViewBacklog(view_b, &seen, &backlog);
  controller::AddViewBacklog(nlohmann::json::array(), &seen, &backlog);  // not a view
  ASSERT_EQ(backlog.size(), 3u);  // b's seg, c's llm (from the first view that listed c), a's seg
  EXPECT_EQ(backlog[0].node, "b");
  EXPECT_EQ(backlog[0].queued, 3);
  EXPECT_EQ(backlog[0].running, 1);
  EXPECT_EQ(backlog[1].node, "c");
  EXPECT_EQ(backlog[1].queued, 2);
  EXPECT_EQ(backlog[1].running, 4);
  EXPECT_EQ(backlog[2].node, "a");
  EXPECT_EQ(backlog[2].running, 2);
}

TEST(DigitalTwinTest, ViewShapesAreReadBoundedAndMalformedOnesSkipped) {
  const nlohmann::json view = {
      {"llm_shapes",
       {{"llama",
         nlohmann::json::array({nlohmann::json::array({100, 20}), nlohmann::json::array({0, 5}),
                                nlohmann::json::array({"x", 5}), nlohmann::json::array({1, 2, 3}),
                                nlohmann::json::array({50, 10}), nlohmann::json::array({70, 7})})},
        {"bad", nlohmann::json::array({nlohmann::json::array({-1, 3})})},
        {"odd", "not a list"}}}};
  std::map<std::string, std::vector<controller::RequestShape>> shapes;
  controller::AddViewShapes(view, 2, &shapes);
  ASSERT_EQ(shapes.size(), 1u);
  ASSERT_EQ(shapes.at("llama").size(), 2u);
  EXPECT_EQ(shapes.at("llama")[0].prompt_tokens, 100);
  EXPECT_EQ(shapes.at("llama")[1].output_tokens, 10);
  controller::AddViewShapes(nlohmann::json::array(), 2, &shapes);  // not a view: nothing
  controller::AddViewShapes(view, 2, &shapes);                     // full: nothing more
  EXPECT_EQ(shapes.at("llama").size(), 2u);
}

}  // namespace
}  // namespace epara::sim
