// A routing decision's record (router/route_decision.h) and the node's ring of them
// (node/decision_ring.h).
#include "router/route_decision.h"

#include <gtest/gtest.h>

#include "node/decision_ring.h"

namespace epara::router {
namespace {

RouteCandidate Candidate(const std::string& id, bool local, double wait, double service) {
  RouteCandidate c;
  c.node_id = id;
  c.local = local;
  c.expected_wait_ms = wait;
  c.service_ms = service;
  c.service_measured = true;
  c.network_ms = local ? 0 : 0.5;
  return c;
}

TEST(RouteDecisionTest, TheRecordFollowsThePlanAndKeepsItsNumbers) {
  // A busy local instance, a free fast peer, a peer still loading.
  std::vector<RouteCandidate> c = {Candidate("here", true, 300, 40),
                                   Candidate("fast", false, 0, 20),
                                   Candidate("loading", false, 0, 10)};
  c[2].ready = false;
  const RoutePlan plan = PlanRoute(c, 100, Admission::kRejectEarly);
  ASSERT_FALSE(plan.reject);
  const RouteDecision d = ExplainRoute("seg", c, plan, RouteMode::kSloAware, 100, false, 1234);
  EXPECT_EQ(d.model, "seg");
  EXPECT_EQ(d.mode, "slo-aware");
  EXPECT_EQ(d.at_ms, 1234);
  ASSERT_EQ(d.options.size(), 3u);
  // The plan's order first (the fast peer), the unready candidate last.
  EXPECT_EQ(d.outcome, "forward");
  EXPECT_EQ(d.chosen, "fast");
  EXPECT_EQ(d.options[0].node, "fast");
  EXPECT_EQ(d.options[1].node, "here");
  EXPECT_EQ(d.options[2].node, "loading");
  EXPECT_FALSE(d.options[2].ready);
  EXPECT_DOUBLE_EQ(d.options[0].predicted_ms, plan.predicted_ms[1]);
  EXPECT_DOUBLE_EQ(d.options[1].wait_ms, 300);
  EXPECT_LT(d.options[0].predicted_ms, d.options[1].predicted_ms);

  // Nobody can meet 10 ms: rejected early, with the plan's reason.
  const RoutePlan none = PlanRoute(c, 10, Admission::kRejectEarly);
  ASSERT_TRUE(none.reject);
  const RouteDecision r = ExplainRoute("seg", c, none, RouteMode::kSloAware, 10, false, 0);
  EXPECT_EQ(r.outcome, "rejected");
  EXPECT_TRUE(r.chosen.empty());
  EXPECT_EQ(r.reason, none.reason);
  EXPECT_FALSE(r.reason.empty());
}

TEST(DecisionRingTest, KeepsTheNewestWithinItsCapacityOldestFirst) {
  node::DecisionRing ring(3);
  for (int i = 0; i < 5; ++i) {
    RouteDecision d;
    d.model = i % 2 ? "odd" : "even";
    d.at_ms = i;
    ring.Push(d);
  }
  EXPECT_EQ(ring.total(), 5u);
  const auto all = ring.Snapshot();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].at_ms, 2);
  EXPECT_EQ(all[2].at_ms, 4);
  const auto even = ring.Snapshot("even");
  ASSERT_EQ(even.size(), 2u);
  EXPECT_EQ(even[0].at_ms, 2);
  EXPECT_EQ(even[1].at_ms, 4);
  const auto last = ring.Snapshot("", 1);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].at_ms, 4);
  EXPECT_NE(node::DecisionsJson(ring, "odd", 0).find("\"total\":5"), std::string::npos);
}

}  // namespace
}  // namespace epara::router
