#include "controller/llm_modes.h"

#include <gtest/gtest.h>

#include <set>

namespace epara::controller {
namespace {

using Kind = LlmModeStep::Kind;
constexpr int64_t kMb = 1 << 20;

LlmModeInput::Llm Llm(bool wanted = true) {
  LlmModeInput::Llm l;
  l.name = "llm";
  l.size = {8, 40 * kMb, kMb, kMb};  // 322 MB whole
  l.wanted = wanted;
  return l;
}

LlmModeInput::Node Node(const std::string& id, double gflops, int64_t memory_mb,
                        int64_t used_mb = 0) {
  return {id, gflops, memory_mb * kMb, used_mb * kMb};
}

TEST(LlmModesTest, ALostLlmComesBackWholeOnTheFastestNodeThatHoldsIt) {
  LlmModeInput in;
  in.nodes = {Node("fast-small", 100, 200), Node("slow-big", 10, 1024), Node("mid-big", 50, 1024)};
  in.llms = {Llm()};
  const auto steps = PlanLlmModes(in);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].kind, Kind::kLoadWhole);
  EXPECT_EQ(steps[0].node, "mid-big");
  EXPECT_NE(DescribeLlmStep(steps[0]).find("no live instance"), std::string::npos);
  // Not served before and no demand: left alone.
  in.llms = {Llm(false)};
  EXPECT_TRUE(PlanLlmModes(in).empty());
}

// The edge server is gone and only boards are left: the LLM becomes a pipeline over the fewest of
// them (FS-MD), stages loaded back to front, each pointing at the next, the layers all covered.
TEST(LlmModesTest, WithoutANodeThatHoldsItWholeItIsBuiltAsAPipeline) {
  LlmModeInput in;
  in.nodes = {Node("board-1", 20, 256, 20), Node("board-2", 30, 256, 20), Node("micro", 5, 128)};
  in.llms = {Llm()};
  const auto steps = PlanLlmModes(in);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].kind, Kind::kLoadStage);
  EXPECT_EQ(steps[1].kind, Kind::kLoadHead);
  EXPECT_EQ(steps[1].node, "board-2");  // the faster board leads
  EXPECT_EQ(steps[1].next, steps[0].node);
  EXPECT_EQ(steps[0].node, "board-1");
  EXPECT_EQ(steps[1].first_layer, 0);
  EXPECT_EQ(steps[1].end_layer, steps[0].first_layer);
  EXPECT_EQ(steps[0].end_layer, 8);
  EXPECT_TRUE(steps[0].next.empty());
  EXPECT_NE(steps[1].reason.find("a pipeline over 2 nodes"), std::string::npos) << steps[1].reason;
  // Every part fits its node's free memory (236 MB): at most 5 layers of 40 MB on each.
  EXPECT_LE(steps[1].end_layer, 5);
  EXPECT_LE(steps[0].end_layer - steps[0].first_layer, 5);
  // Too little memory anywhere: nothing to do.
  in.nodes = {Node("board-1", 20, 100), Node("board-2", 30, 100)};
  EXPECT_TRUE(PlanLlmModes(in).empty());
}

// A pipeline with a node that can now hold the whole model: the whole instance first, then the
// head, then its stage.
TEST(LlmModesTest, APipelineIsConsolidatedWhenANodeHoldsTheWholeModel) {
  LlmModeInput in;
  in.nodes = {Node("b", 20, 256, 200), Node("c", 20, 256, 200)};
  LlmModeInput::Llm l = Llm();
  l.heads = {{"b", 0, 4, "c"}};
  l.stages = {{"c", 4, 8, ""}};
  in.llms = {l};
  ASSERT_EQ(WorkingPipeline(l).size(), 2u);
  EXPECT_TRUE(PlanLlmModes(in).empty());  // nowhere to put it whole: the pipeline stays
  in.nodes.push_back(Node("server", 200, 8192));
  const auto steps = PlanLlmModes(in);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].kind, Kind::kLoadWhole);
  EXPECT_EQ(steps[0].node, "server");
  EXPECT_EQ(steps[1].kind, Kind::kUnloadHead);
  EXPECT_EQ(steps[1].node, "b");
  EXPECT_EQ(steps[2].kind, Kind::kUnloadStage);
  EXPECT_EQ(steps[2].node, "c");
  // Once it runs whole there, what is left of the pipeline goes.
  l.whole = {"server"};
  in.llms = {l};
  const auto left = PlanLlmModes(in);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].kind, Kind::kUnloadHead);
  EXPECT_EQ(left[1].kind, Kind::kUnloadStage);
}

// A pipeline the cluster file declares is capacity beside the whole instance (FS-MD), not a
// remnant: neither tidied away nor consolidated. Parts outside its working chain still go.
TEST(LlmModesTest, AWorkingPipelineTheFileDeclaresIsKept) {
  LlmModeInput in;
  in.nodes = {Node("server", 200, 8192, 400), Node("b", 20, 256, 200), Node("c", 20, 256, 200),
              Node("d", 20, 256, 200)};
  LlmModeInput::Llm l = Llm();
  l.whole = {"server"};
  l.heads = {{"b", 0, 4, "c"}};
  l.stages = {{"c", 4, 8, ""}, {"d", 4, 8, ""}};  // d: left over, in no working chain
  l.declared = true;
  in.llms = {l};
  auto steps = PlanLlmModes(in);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].kind, Kind::kUnloadStage);
  EXPECT_EQ(steps[0].node, "d");
  // Served only by the declared pipeline, with room on the server: it stays a pipeline.
  l.whole.clear();
  l.stages = {{"c", 4, 8, ""}};
  in.llms = {l};
  EXPECT_TRUE(PlanLlmModes(in).empty());
  // Not declared: tidied beside a whole instance, consolidated without one.
  l.declared = false;
  in.llms = {l};
  steps = PlanLlmModes(in);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].kind, Kind::kLoadWhole);
  l.whole = {"server"};
  in.llms = {l};
  EXPECT_EQ(PlanLlmModes(in).size(), 2u);
}

// FS-MD from measured demand: an LLM whose whole instance misses the SLO gains a pipeline over the
// fastest other nodes that hold it; the pipeline stays while the demand stays at 60% or more of
// what it was built for, and goes below.
TEST(LlmModesTest, ALlmMissingItsSloGainsAPipelineThatGoesWhenItsDemandFalls) {
  LlmModeInput in;
  in.demand_modes = true;
  in.nodes = {Node("server", 200, 8192, 400), Node("slow", 5, 256), Node("b", 20, 256, 10),
              Node("c", 20, 256, 10)};
  LlmModeInput::Llm l = Llm();
  l.whole = {"server"};
  l.demand_rps = 12;
  l.attainment = 0.7;
  in.llms = {l};
  auto steps = PlanLlmModes(in);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].kind, Kind::kLoadStage);
  EXPECT_EQ(steps[1].kind, Kind::kLoadHead);
  EXPECT_EQ(std::set<std::string>({steps[0].node, steps[1].node}),
            std::set<std::string>({"b", "c"}));  // the fastest others, not the slow one
  EXPECT_EQ(steps[1].next, steps[0].node);
  EXPECT_EQ(steps[1].end_layer, steps[0].first_layer);
  EXPECT_EQ(steps[0].end_layer, 8);
  EXPECT_DOUBLE_EQ(steps[1].for_demand_rps, 12);
  EXPECT_DOUBLE_EQ(steps[0].for_demand_rps, 0);
  EXPECT_NE(steps[1].reason.find("70% of its 12.0 req/s"), std::string::npos) << steps[1].reason;
  // Meeting the SLO, or without demand modes: nothing to add.
  in.llms[0].attainment = 0.95;
  EXPECT_TRUE(PlanLlmModes(in).empty());
  in.llms[0].attainment = 0.7;
  in.demand_modes = false;
  EXPECT_TRUE(PlanLlmModes(in).empty());
  in.demand_modes = true;
  // Built for 12 req/s: kept at 8 (>= 7.2), torn down at 6, head first.
  l.heads = {{"b", 0, 4, "c"}};
  l.stages = {{"c", 4, 8, ""}};
  l.built_for_rps = 12;
  l.attainment = 1;
  l.demand_rps = 8;
  in.llms = {l};
  EXPECT_TRUE(PlanLlmModes(in).empty());
  in.llms[0].demand_rps = 6;
  in.llms[0].attainment = 0.5;  // the peak's backlog is still being served: kept
  EXPECT_TRUE(PlanLlmModes(in).empty());
  in.llms[0].attainment = 1;
  steps = PlanLlmModes(in);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].kind, Kind::kUnloadHead);
  EXPECT_EQ(steps[1].kind, Kind::kUnloadStage);
  EXPECT_NE(steps[0].reason.find("below 60% of the 12.0 it was built for, 100% within the SLO"),
            std::string::npos)
      << steps[0].reason;
  // The remains of a recovery (not built for demand) go at once, as before.
  in.llms[0].built_for_rps = 0;
  in.llms[0].demand_rps = 50;
  EXPECT_EQ(PlanLlmModes(in).size(), 2u);
}

// A stage's node died: the head that is left cannot answer. Its remains go (freeing their memory),
// and the LLM is rebuilt on what is live.
TEST(LlmModesTest, ABrokenPipelineIsUnloadedAndRebuilt) {
  LlmModeInput in;
  // b holds the head (4 layers + embedding = 161 MB of its 256 MB); c, its stage's node, is gone.
  in.nodes = {Node("b", 20, 256, 161), Node("d", 10, 256)};
  LlmModeInput::Llm l = Llm(/*wanted=*/false);  // a head alone still counts as served before
  l.heads = {{"b", 0, 4, "c"}};
  l.wanted = true;
  in.llms = {l};
  EXPECT_TRUE(WorkingPipeline(l).empty());
  const auto steps = PlanLlmModes(in);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].kind, Kind::kUnloadHead);
  EXPECT_EQ(steps[0].node, "b");
  EXPECT_EQ(steps[1].kind, Kind::kLoadStage);
  EXPECT_EQ(steps[1].node, "d");
  EXPECT_EQ(steps[2].kind, Kind::kLoadHead);
  EXPECT_EQ(steps[2].node, "b");  // b's memory was given back first
  EXPECT_EQ(steps[2].next, "d");
}

}  // namespace
}  // namespace epara::controller
