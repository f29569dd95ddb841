#include "controller/period_plan.h"

#include "controller/plan_record.h"

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

TEST(PlanRecordTest, RecordsEachChangeWithTheNumbersBehindIt) {
  DemandTable demand;
  std::map<std::string, uint64_t> l1;
  ObserveIngress("fast", {{"seg", 0}}, 0, 1, &l1, &demand);
  ObserveIngress("fast", {{"seg", 400}}, 10, 1, &l1, &demand);
  PeriodInput in;
  in.nodes = {{"fast", 40, 0}, {"slow", 10, 0}};
  in.current = {{"seg", {"slow"}}};
  in.llms = {"chat"};
  in.observed_ms = {{"seg", 50}};
  in.demand = &demand;
  in.burst_headroom = 0;
  PeriodPlan plan;
  ASSERT_TRUE(PlanPeriod(in, &plan).ok());
  const nlohmann::json r = PlanRecordJson(in, plan, 7, 1.5e12);
  EXPECT_EQ(r["period"], 7);
  EXPECT_EQ(r["nodes"], 2);
  EXPECT_TRUE(r["changed"].get<bool>());
  EXPECT_DOUBLE_EQ(r["predicted_goodput_rps"].get<double>(), plan.placed.predicted_goodput);
  EXPECT_DOUBLE_EQ(r["placement"]["keep"].get<double>(), in.placement.keep);
  ASSERT_EQ(r["services"].size(), 1u);
  const nlohmann::json& seg = r["services"][0];
  EXPECT_EQ(seg["name"], "seg");
  EXPECT_NEAR(seg["demand_rps"].get<double>(), 40, 1e-9);
  EXPECT_GT(seg["capacity_rps"].get<double>(), 0);
  EXPECT_EQ(seg["added"], nlohmann::json::array({"fast"}));
  EXPECT_FALSE(seg["why"].get<std::string>().empty());
  ASSERT_FALSE(r["steps"].empty());
  EXPECT_EQ(r["steps"][0]["kind"], "load");
  EXPECT_EQ(r["unmoved"]["llm"], nlohmann::json::array({"chat"}));
}

TEST(PlanRecordTest, HistoryKeepsTheNewestRecords) {
  std::string h;
  for (int i = 0; i < 5; ++i) h = AppendPlanRecord(h, {{"period", i}}, 3);
  const nlohmann::json all = nlohmann::json::parse(h);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.front()["period"], 2);
  EXPECT_EQ(all.back()["period"], 4);
  EXPECT_EQ(nlohmann::json::parse(AppendPlanRecord("not json", {{"period", 9}}, 3)).size(), 1u);
}

}  // namespace
}  // namespace epara::controller
