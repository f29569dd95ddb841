#include "router/route_policy.h"

#include <gtest/gtest.h>

namespace epara::router {
namespace {

RouteCandidate C(const std::string& id, bool local, double net, double wait, double service,
                 bool ready = true) {
  return {id, local, ready, net, wait, service};
}

TEST(RoutePolicyTest, EarliestPredictedCompletionFirst) {
  // Local is busy; a remote idle node finishes first despite the network.
  const std::vector<RouteCandidate> c = {C("a", true, 0, 90, 30), C("b", false, 1, 0, 30),
                                         C("c", false, 1, 10, 30)};
  RoutePlan p = PlanRoute(c, 100, Admission::kRejectEarly);
  EXPECT_FALSE(p.reject);
  ASSERT_EQ(p.order, (std::vector<size_t>{1, 2, 0}));
  EXPECT_DOUBLE_EQ(p.predicted_ms[0], 120);
  EXPECT_DOUBLE_EQ(p.predicted_ms[1], 31);
}

TEST(RoutePolicyTest, AFasterNodeWinsUntilItsQueueCatchesUp) {
  std::vector<RouteCandidate> c = {C("slow", false, 1, 0, 40), C("fast", false, 1, 0, 10)};
  EXPECT_EQ(PlanRoute(c, 0, Admission::kBestEffort).order.front(), 1u);
  c[1].expected_wait_ms = 35;  // 46 > 41
  EXPECT_EQ(PlanRoute(c, 0, Admission::kBestEffort).order.front(), 0u);
}

TEST(RoutePolicyTest, TiesPreferLocalThenNodeId) {
  const std::vector<RouteCandidate> c = {C("z", false, 0, 0, 10), C("y", false, 0, 0, 10),
                                         C("x", true, 0, 0, 10)};
  EXPECT_EQ(PlanRoute(c, 0, Admission::kBestEffort).order, (std::vector<size_t>{2, 1, 0}));
}

TEST(RoutePolicyTest, AdmissionRejectsOnlyWhenAsked) {
  const std::vector<RouteCandidate> c = {C("a", true, 0, 200, 30), C("b", false, 1, 150, 30)};
  RoutePlan strict = PlanRoute(c, 100, Admission::kRejectEarly);
  EXPECT_TRUE(strict.reject);
  EXPECT_NE(strict.reason.find("100 ms SLO"), std::string::npos) << strict.reason;
  EXPECT_NE(strict.reason.find("node b"), std::string::npos) << strict.reason;
  RoutePlan lenient = PlanRoute(c, 100, Admission::kBestEffort);
  EXPECT_FALSE(lenient.reject);
  EXPECT_EQ(lenient.order.front(), 1u);
  EXPECT_FALSE(PlanRoute(c, 0, Admission::kRejectEarly).reject);  // no SLO
  // Exactly at the SLO meets it.
  EXPECT_FALSE(PlanRoute({C("a", true, 0, 70, 30)}, 100, Admission::kRejectEarly).reject);
}

TEST(RoutePolicyTest, NodesNotReadyAreNeverChosen) {
  const std::vector<RouteCandidate> c = {C("down", false, 0, 0, 1, false),
                                         C("up", true, 0, 50, 50)};
  RoutePlan p = PlanRoute(c, 0, Admission::kBestEffort);
  EXPECT_EQ(p.order, (std::vector<size_t>{1}));
  RoutePlan none = PlanRoute({C("down", false, 0, 0, 1, false)}, 0, Admission::kBestEffort);
  EXPECT_TRUE(none.reject);
  EXPECT_EQ(none.reason, "no instance of this model is ready");
  EXPECT_TRUE(PlanRoute({}, 0, Admission::kBestEffort).reject);
}

}  // namespace
}  // namespace epara::router
