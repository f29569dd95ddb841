#include "scheduler/deployment.h"

#include <gtest/gtest.h>

namespace epara::scheduler {
namespace {

using Kind = DeployStep::Kind;

// Replays `steps` from `current`, checking both rules at every step; returns the end state.
Instances Replay(Instances state, const std::vector<DeployStep>& steps,
                 const std::map<std::string, int64_t>& memory, std::map<std::string, int64_t> free,
                 const Instances& target) {
  for (const DeployStep& st : steps) {
    const int64_t m = memory.count(st.service) ? memory.at(st.service) : 0;
    if (st.kind == Kind::kLoad) {
      EXPECT_FALSE(state[st.service].count(st.node)) << "loaded twice";
      if (free.count(st.node)) {
        free[st.node] -= m;
        EXPECT_GE(free[st.node], 0) << "memory exceeded on " << st.node;
      }
      state[st.service].insert(st.node);
    } else {
      EXPECT_TRUE(state[st.service].count(st.node)) << "unloaded what was not there";
      state[st.service].erase(st.node);
      if (free.count(st.node)) free[st.node] += m;
      if (target.count(st.service) && !target.at(st.service).empty()) {
        EXPECT_FALSE(state[st.service].empty()) << st.service << " left with no instance";
      }
    }
  }
  std::erase_if(state, [](const auto& kv) { return kv.second.empty(); });
  return state;
}

TEST(DeploymentTest, AMoveLoadsTheNewInstanceBeforeUnloadingTheOld) {
  const Instances current = {{"x", {"a"}}}, target = {{"x", {"b"}}};
  std::vector<DeployStep> steps;
  ASSERT_TRUE(PlanDeployment(current, target, {}, {}, &steps).ok());
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].kind, Kind::kLoad);
  EXPECT_EQ(steps[0].node, "b");
  EXPECT_EQ(steps[1].kind, Kind::kUnload);
  EXPECT_EQ(steps[1].node, "a");
}

TEST(DeploymentTest, LoadsWaitForUnloadsThatMakeRoom) {
  // b holds y (60 of 100 MB); x (50) moves a -> b and y moves b -> c: y's move must come first.
  const Instances current = {{"x", {"a"}}, {"y", {"b"}}};
  const Instances target = {{"x", {"b"}}, {"y", {"c"}}};
  const std::map<std::string, int64_t> memory = {{"x", 50}, {"y", 60}};
  const std::map<std::string, int64_t> free = {{"a", 50}, {"b", 40}, {"c", 100}};
  std::vector<DeployStep> steps;
  Status s = PlanDeployment(current, target, memory, free, &steps);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Replay(current, steps, memory, free, target), target);
  EXPECT_EQ(steps.size(), 4u);
}

TEST(DeploymentTest, AServiceLeavingThePlacementIsUnloadedAndANewOneLoaded) {
  const Instances current = {{"old", {"a", "b"}}}, target = {{"new", {"a"}}};
  const std::map<std::string, int64_t> memory = {{"old", 70}, {"new", 70}};
  const std::map<std::string, int64_t> free = {{"a", 30}, {"b", 30}};
  std::vector<DeployStep> steps;
  ASSERT_TRUE(PlanDeployment(current, target, memory, free, &steps).ok());
  EXPECT_EQ(Replay(current, steps, memory, free, target), target);
}

TEST(DeploymentTest, ASwapWithNoRoomAnywhereIsRefusedWithTheStuckSteps) {
  const Instances current = {{"x", {"a"}}, {"y", {"b"}}};
  const Instances target = {{"x", {"b"}}, {"y", {"a"}}};
  const std::map<std::string, int64_t> memory = {{"x", 80}, {"y", 80}};
  const std::map<std::string, int64_t> free = {{"a", 20}, {"b", 20}};
  std::vector<DeployStep> steps;
  Status s = PlanDeployment(current, target, memory, free, &steps);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("load x on b"), std::string::npos) << s.message();
}

TEST(DeploymentTest, RandomPlacementsReplayWithinBothRules) {
  std::vector<std::string> nodes = {"a", "b", "c", "d"}, services = {"s", "t", "u"};
  const std::map<std::string, int64_t> memory = {{"s", 30}, {"t", 20}, {"u", 45}};
  unsigned seed = 1;
  auto next = [&] { return (seed = seed * 1103515245 + 12345) >> 16; };
  int planned = 0;
  for (int k = 0; k < 300; ++k) {
    Instances current, target;
    for (const auto& s : services)
      for (const auto& n : nodes) {
        if (next() % 3 == 0) current[s].insert(n);
        if (next() % 3 == 0) target[s].insert(n);
      }
    std::erase_if(current, [](const auto& kv) { return kv.second.empty(); });
    std::erase_if(target, [](const auto& kv) { return kv.second.empty(); });
    std::map<std::string, int64_t> free;
    for (const auto& n : nodes) {
      int64_t used = 0;
      for (const auto& [s, where] : current)
        if (where.count(n)) used += memory.at(s);
      free[n] = 100 - used;
    }
    std::vector<DeployStep> steps;
    if (!PlanDeployment(current, target, memory, free, &steps).ok()) continue;
    ++planned;
    EXPECT_EQ(Replay(current, steps, memory, free, target), target) << "case " << k;
  }
  EXPECT_GT(planned, 250);
}

}  // namespace
}  // namespace epara::scheduler
