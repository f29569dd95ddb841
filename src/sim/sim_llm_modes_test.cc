// The controller's LLM modes in the simulator (sim_llm_modes.cc): the edge server that runs an LLM
// whole dies, the controller rebuilds it as a pipeline over two boards (none holds it whole), and
// consolidates it back when the server returns; a pipeline the file declares stays beside the
// whole instance.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "sim/sim_test_models.h"
#include "sim/simulation.h"

namespace epara::sim {
namespace {

constexpr int64_t kMb = 1 << 20;

// test_models::LlmModel with 8 layers and a memory shape: 322 MB whole, 161 MB per half.
SimModel Llm() {
  SimModel m = test_models::LlmModel("llm");
  m.layers = 8;
  m.llm_size = {8, 40 * kMb, kMb, kMb};
  m.memory_bytes = m.llm_size.whole_bytes();
  return m;
}

SimNodeSpec Node(const std::string& id, double speed, int64_t memory_mb,
                 std::vector<std::string> serve) {
  SimNodeSpec n = test_models::Node(id, speed, std::move(serve));
  n.memory_bytes = memory_mb * kMb;
  return n;
}

// An edge server holding the LLM whole and two 256 MB boards (half of it each), requests entering
// at a board every 100 ms from 0.45 s (the boards know the server's instance by then).
SimSpec EdgeAndBoards(bool llm_modes) {
  SimSpec spec;
  spec.models = {Llm()};
  spec.nodes = {Node("edge", 1.0, 1024, {"llm"}), Node("b1", 0.5, 256, {}),
                Node("b2", 0.5, 256, {})};
  spec.options.network_ms = 1;
  spec.options.request_timeout_s = 5;
  spec.options.controller_period_s = 1;
  spec.options.down_after_ms = 1000;
  spec.options.load_ms = 300;
  spec.options.llm_modes = llm_modes;
  return spec;
}

// Requests entering at b1 every 1/rate s from `from_s` to `to_s`, appended to `out`.
void AddArrivals(double from_s, double to_s, double rate, int prompt, int output,
                 std::vector<loadgen::ScheduledRequest>* out) {
  for (double t = from_s; t < to_s; t += 1 / rate) {
    loadgen::ScheduledRequest r;
    r.at_s = t;
    r.ingress = "b1";
    r.prompt_tokens = prompt;
    r.output_tokens = output;
    out->push_back(r);
  }
}

std::vector<loadgen::ScheduledRequest> Steady(double seconds) {
  std::vector<loadgen::ScheduledRequest> out;
  AddArrivals(0.45, seconds, 10, 32, 8, &out);  // after the first digests
  return out;
}

struct Window {
  int sent = 0, ok = 0;
  std::set<std::string> served_by;
};

Window Between(const std::vector<loadgen::ScheduledRequest>& schedule,
               const std::vector<SimOutcome>& out, double from_s, double to_s) {
  Window w;
  for (size_t k = 0; k < schedule.size(); ++k) {
    if (schedule[k].at_s < from_s || schedule[k].at_s >= to_s) continue;
    ++w.sent;
    if (!out[k].ok) continue;
    ++w.ok;
    w.served_by.insert(out[k].node);
  }
  return w;
}

bool Logged(const SimStats& stats, const std::string& what) {
  for (const std::string& line : stats.log)
    if (line.find(what) != std::string::npos) return true;
  return false;
}

TEST(SimLlmModesTest, ALostLlmIsRebuiltAsAPipelineAndConsolidatedWhenItsServerReturns) {
  // The server dies at 2 s and comes back at 8 s. Its record expires at 3 s; the controller's
  // next period builds the pipeline (stage, then head: two loads of 0.3 s). Back at 8 s the
  // server loads the LLM whole from its config, and the next period tears the pipeline down.
  const auto schedule = Steady(14);
  for (const bool llm_modes : {true, false}) {
    SCOPED_TRACE(llm_modes ? "LLM modes" : "no LLM modes");
    SimSpec spec = EdgeAndBoards(llm_modes);
    spec.options.faults = {{SimFault::Kind::kCrash, 2, "edge"},
                           {SimFault::Kind::kRecover, 8, "edge"}};
    std::vector<SimOutcome> out;
    SimStats stats;
    ASSERT_TRUE(Simulate(spec, {"llm"}, schedule, 14, &out, &stats).ok());
    const Window before = Between(schedule, out, 0, 2);
    EXPECT_EQ(before.ok, before.sent);
    EXPECT_EQ(before.served_by, std::set<std::string>{"edge"});
    const Window outage = Between(schedule, out, 5, 8);  // the pipeline's time
    const Window after = Between(schedule, out, 11, 14);
    EXPECT_EQ(after.ok, after.sent);
    EXPECT_EQ(after.served_by, std::set<std::string>{"edge"});
    if (!llm_modes) {
      EXPECT_EQ(outage.ok, 0);
      EXPECT_FALSE(Logged(stats, "pipeline"));
      continue;
    }
    EXPECT_EQ(outage.ok, outage.sent);
    ASSERT_EQ(outage.served_by.size(), 1u);
    EXPECT_NE(*outage.served_by.begin(), "edge");
    EXPECT_GT(stats.pipeline_steps, 0u);
    EXPECT_TRUE(Logged(stats, "controller pipeline stage llm on"));
    EXPECT_TRUE(Logged(stats, "controller pipeline head llm on"));
    EXPECT_TRUE(Logged(stats, "controller unload the pipeline head of llm"));
    // Deterministic through the mode changes: the same run again, bit for bit.
    std::vector<SimOutcome> again;
    SimStats stats2;
    ASSERT_TRUE(Simulate(spec, {"llm"}, schedule, 14, &again, &stats2).ok());
    for (size_t k = 0; k < out.size(); ++k) EXPECT_EQ(again[k].e2e_ms, out[k].e2e_ms);
  }
}

TEST(SimLlmModesTest, AnOverloadedLlmGainsAPipelineThatGoesWhenTheDemandFalls) {
  // 8 s at 60 req/s (beyond the server alone: time to first token grows past the 1 s SLO), then
  // 22 s at 4 req/s. With llm_expand the controller builds a pipeline over the boards for the
  // measured demand (at 2 s), keeps it while the peak's backlog makes requests miss, and tears it
  // down once the SLO is met and the smoothed demand is below 60% of what it was built for.
  std::vector<loadgen::ScheduledRequest> schedule;
  AddArrivals(0.45, 8, 60, 128, 64, &schedule);
  AddArrivals(8, 30, 4, 128, 64, &schedule);
  for (const bool expand : {true, false}) {
    SCOPED_TRACE(expand ? "llm_expand" : "no llm_expand");
    SimSpec spec = EdgeAndBoards(true);
    spec.options.llm_expand = expand;
    std::vector<SimOutcome> out;
    SimStats stats;
    ASSERT_TRUE(Simulate(spec, {"llm"}, schedule, 30, &out, &stats).ok());
    if (!expand) {
      EXPECT_FALSE(Logged(stats, "pipeline"));
      EXPECT_EQ(stats.pipeline_steps, 0u);
      continue;
    }
    EXPECT_TRUE(Logged(stats, "met the SLO on its whole instances (1): a pipeline over 2 nodes"));
    EXPECT_GT(stats.pipeline_steps, 0u);
    EXPECT_TRUE(Logged(stats, "within the SLO)"));       // torn down as the demand fell
    const Window late = Between(schedule, out, 26, 30);  // after the teardown (at 22 s)
    EXPECT_EQ(late.ok, late.sent);
    EXPECT_EQ(late.served_by, std::set<std::string>{"edge"});
  }
}

TEST(SimLlmModesTest, APipelineTheFileDeclaresStaysBesideTheWholeInstance) {
  // The file's pipeline over the boards beside the whole instance on the server: the controller
  // keeps it (it tears down only pipelines it built), and the boards keep serving through it.
  SimSpec spec = EdgeAndBoards(true);
  spec.nodes[1].serve = {"llm"};
  spec.nodes[1].pipeline["llm"] = SimStage{0, 0, 4, "b2", 2};
  spec.nodes[2].pipeline["llm"] = SimStage{1, 4, 0, "", 2};
  const auto schedule = Steady(6);
  std::vector<SimOutcome> out;
  SimStats stats;
  ASSERT_TRUE(Simulate(spec, {"llm"}, schedule, 6, &out, &stats).ok());
  EXPECT_FALSE(Logged(stats, "unload")) << stats.log.front();
  const Window late = Between(schedule, out, 3, 6);
  EXPECT_EQ(late.ok, late.sent);
  EXPECT_GT(stats.pipeline_steps, 0u);
}

}  // namespace
}  // namespace epara::sim
