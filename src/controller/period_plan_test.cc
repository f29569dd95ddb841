#include "controller/period_plan.h"

#include <gtest/gtest.h>

namespace epara::controller {
namespace {

TEST(PeriodPlanTest, IngressCountersBecomeSmoothedRates) {
  DemandTable demand;
  std::map<std::string, uint64_t> last;
  ObserveIngress("a", {{"seg", 100}}, 0, 0.5, &last, &demand);  // first read: counts only
  EXPECT_TRUE(demand.empty());
  ObserveIngress("a", {{"seg", 150}}, 10, 0.5, &last, &demand);
  EXPECT_DOUBLE_EQ(demand["seg"]["a"].mean(), 5);
  ObserveIngress("a", {{"seg", 250}}, 10, 0.5, &last, &demand);
  EXPECT_DOUBLE_EQ(demand["seg"]["a"].mean(), 7.5);
  ObserveIngress("a", {{"seg", 10}}, 10, 0.5, &last, &demand);  // restarted: only resets
  EXPECT_DOUBLE_EQ(demand["seg"]["a"].mean(), 7.5);
  EXPECT_EQ(last["seg"], 10u);
}

TEST(PeriodPlanTest, MovesCapacityToDemandKeepsLlmsAndAtLeastOneInstance) {
  // Heavy demand for seg at both nodes (40 requests/s each); none for idle.
  DemandTable demand;
  std::map<std::string, uint64_t> l1, l2;
  ObserveIngress("fast", {{"seg", 0}}, 0, 1, &l1, &demand);
  ObserveIngress("fast", {{"seg", 400}}, 10, 1, &l1, &demand);
  ObserveIngress("slow", {{"seg", 0}}, 0, 1, &l2, &demand);
  ObserveIngress("slow", {{"seg", 400}}, 10, 1, &l2, &demand);
  PeriodInput in;
  in.nodes = {{"fast", 40, 0}, {"slow", 10, 0}};
  in.current = {{"seg", {"slow"}}, {"idle", {"fast"}}};
  in.llms = {"chat"};
  in.observed_ms = {{"seg", 50}, {"idle", 50}};
  in.demand = &demand;
  in.burst_headroom = 0;
  PeriodPlan plan;
  ASSERT_TRUE(PlanPeriod(in, &plan).ok());
  EXPECT_TRUE(plan.target["seg"].count("fast"));  // the fast node takes the demand
  EXPECT_FALSE(plan.target["idle"].empty());      // kept somewhere, though idle
  EXPECT_FALSE(plan.target.count("chat"));        // LLMs are not placed
  bool loads_seg_on_fast = false;
  for (const scheduler::DeployStep& s : plan.steps)
    loads_seg_on_fast |=
        s.kind == scheduler::DeployStep::Kind::kLoad && s.service == "seg" && s.node == "fast";
  EXPECT_TRUE(loads_seg_on_fast);
  // The same demand for a split service: it stays where it is, with no step.
  in.split = {"seg"};
  PeriodPlan kept;
  ASSERT_TRUE(PlanPeriod(in, &kept).ok());
  EXPECT_EQ(kept.target["seg"], (std::set<std::string>{"slow"}));
  for (const scheduler::DeployStep& s : kept.steps) EXPECT_NE(s.service, "seg");
}

}  // namespace
}  // namespace epara::controller
