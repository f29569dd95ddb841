#include "router/route_policy.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace epara::router {
namespace {

RouteCandidate C(const std::string& id, bool local, double net, double wait, double service,
                 bool ready = true) {
  return {id, local, ready, net, wait, service};
}

TEST(RoutePolicyTest, EarliestPredictedCompletionFirst) {
  // Local is busy; a remote idle node finishes first despite the network (c is past 80% of the
  // SLO, so there is no spread among comfortable peers here).
  const std::vector<RouteCandidate> c = {C("a", true, 0, 90, 30), C("b", false, 1, 0, 30),
                                         C("c", false, 1, 60, 30)};
  RoutePlan p = PlanRoute(c, 100, Admission::kRejectEarly);
  EXPECT_FALSE(p.reject);
  ASSERT_EQ(p.order, (std::vector<size_t>{1, 2, 0}));
  EXPECT_DOUBLE_EQ(p.predicted_ms[0], 120);
  EXPECT_DOUBLE_EQ(p.predicted_ms[1], 31);
}

TEST(RoutePolicyTest, ABurstSpreadsOverThePeersThatMeetTheSloWithMargin) {
  // Local is too slow; peers a (100 ms) and b (150 ms) both finish within 80% of the 600 ms SLO,
  // c (900 ms) does not. Over many requests the first choice is a or b, a about 1.5x as often
  // (weights 1 / predicted), never c or local; the rest of the order stays earliest-first.
  const std::vector<RouteCandidate> c = {C("me", true, 0, 500, 200), C("a", false, 0, 0, 100),
                                         C("b", false, 0, 50, 100), C("c", false, 0, 800, 100)};
  std::map<size_t, int> firsts;
  for (uint64_t turn = 0; turn < 3000; ++turn) {
    const RoutePlan p = PlanRoute(c, 600, Admission::kRejectEarly, kLocalSloShare, turn);
    ASSERT_FALSE(p.reject);
    ASSERT_EQ(p.order.size(), 4u);
    firsts[p.order.front()]++;
    EXPECT_EQ(p.order.back(), 3u);  // c: the latest, last
  }
  EXPECT_EQ(firsts.size(), 2u);
  EXPECT_NEAR(static_cast<double>(firsts[1]) / firsts[2], 1.5, 0.25);
  // Two nodes with the same counter draw differently (the local id is part of the draw).
  std::vector<RouteCandidate> other = c;
  other[0].node_id = "you";
  int differ = 0;
  for (uint64_t turn = 0; turn < 100; ++turn)
    differ += PlanRoute(c, 600, Admission::kRejectEarly, kLocalSloShare, turn).order.front() !=
              PlanRoute(other, 600, Admission::kRejectEarly, kLocalSloShare, turn).order.front();
  EXPECT_GT(differ, 20);
  // No SLO: always the earliest.
  EXPECT_EQ(PlanRoute(c, 0, Admission::kBestEffort, kLocalSloShare, 7).order.front(), 1u);
}

TEST(RoutePolicyTest, LocalGoesFirstWhenItMeetsTheSloWithMargin) {
  // Local predicts 70 ms, a remote 11 ms: with a 100 ms SLO local is within 80% and goes first;
  // with an 80 ms SLO (70 > 64) the earliest does; without an SLO the earliest does.
  const std::vector<RouteCandidate> c = {C("remote", false, 1, 0, 10), C("me", true, 0, 20, 50)};
  EXPECT_EQ(PlanRoute(c, 100, Admission::kRejectEarly).order, (std::vector<size_t>{1, 0}));
  EXPECT_EQ(PlanRoute(c, 80, Admission::kRejectEarly).order, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(PlanRoute(c, 0, Admission::kBestEffort).order, (std::vector<size_t>{0, 1}));
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
  // With an admission share, only what is predicted within that share of the SLO is admitted
  // (100 ms predicted: admitted at 1.0, refused at 0.8 of a 100 ms SLO, admitted at 0.8 of 125).
  const std::vector<RouteCandidate> one = {C("a", true, 0, 70, 30)};
  const RoutePlan margin = PlanRoute(one, 100, Admission::kRejectEarly, kLocalSloShare, 0, 0.8);
  EXPECT_TRUE(margin.reject);
  EXPECT_NE(margin.reason.find("within 80% of the SLO"), std::string::npos) << margin.reason;
  EXPECT_FALSE(PlanRoute(one, 125, Admission::kRejectEarly, kLocalSloShare, 0, 0.8).reject);
  EXPECT_FALSE(PlanRoute(one, 100, Admission::kBestEffort, kLocalSloShare, 0, 0.8).reject);
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

RouteCandidate Busy(const std::string& id, bool local, int outstanding, double service_ms) {
  RouteCandidate c = C(id, local, 0, outstanding * service_ms, service_ms);
  c.outstanding = outstanding;
  return c;
}

TEST(RoutePolicyTest, RoundRobinVisitsEveryReadyInstanceInTurn) {
  const std::vector<RouteCandidate> c = {Busy("c", false, 9, 100), Busy("a", true, 0, 1),
                                         C("x", false, 0, 0, 1, /*ready=*/false),
                                         Busy("b", false, 3, 10)};
  std::vector<size_t> firsts;
  for (uint64_t turn = 0; turn < 6; ++turn) {
    const RoutePlan p =
        PlanRouteWithMode(c, 1, Admission::kRejectEarly, RouteMode::kRoundRobin, turn);
    EXPECT_FALSE(p.reject);  // never rejects for latency, even far past the SLO
    ASSERT_EQ(p.order.size(), 3u);
    firsts.push_back(p.order.front());
  }
  EXPECT_EQ(firsts, (std::vector<size_t>{1, 3, 0, 1, 3, 0}));  // a, b, c by node id
}

TEST(RoutePolicyTest, LeastOutstandingIgnoresSpeedAndSharesTies) {
  // "slow" has the fewer requests but each takes 50x longer: least-outstanding still picks it,
  // where the SLO-aware plan picks the fast node.
  const std::vector<RouteCandidate> c = {Busy("fast", true, 2, 2), Busy("slow", false, 1, 100)};
  EXPECT_EQ(PlanRouteWithMode(c, 0, Admission::kBestEffort, RouteMode::kLeastOutstanding, 0)
                .order.front(),
            1u);
  EXPECT_EQ(PlanRoute(c, 0, Admission::kBestEffort).order.front(), 0u);
  const std::vector<RouteCandidate> tie = {Busy("a", true, 1, 5), Busy("b", false, 1, 5),
                                           Busy("c", false, 4, 5)};
  std::set<size_t> firsts;
  for (uint64_t turn = 0; turn < 4; ++turn) {
    const RoutePlan p =
        PlanRouteWithMode(tie, 0, Admission::kBestEffort, RouteMode::kLeastOutstanding, turn);
    ASSERT_EQ(p.order.size(), 3u);
    EXPECT_EQ(p.order.back(), 2u);  // the busiest is last whatever the turn
    firsts.insert(p.order.front());
  }
  EXPECT_EQ(firsts, (std::set<size_t>{0, 1}));
}

TEST(RoutePolicyTest, LocalOnlyNeverForwards) {
  const std::vector<RouteCandidate> c = {Busy("peer", false, 0, 1), Busy("me", true, 50, 100)};
  const RoutePlan p = PlanRouteWithMode(c, 10, Admission::kRejectEarly, RouteMode::kLocalOnly, 7);
  EXPECT_FALSE(p.reject);
  EXPECT_EQ(p.order, (std::vector<size_t>{1}));
  const RoutePlan none = PlanRouteWithMode({Busy("peer", false, 0, 1)}, 0, Admission::kBestEffort,
                                           RouteMode::kLocalOnly, 0);
  EXPECT_TRUE(none.reject);
  EXPECT_NE(none.reason.find("local-only"), std::string::npos);
}

TEST(RoutePolicyTest, ModeNamesRoundTrip) {
  for (RouteMode m : {RouteMode::kSloAware, RouteMode::kRoundRobin, RouteMode::kLeastOutstanding,
                      RouteMode::kLocalOnly}) {
    RouteMode back = RouteMode::kSloAware;
    ASSERT_TRUE(ParseRouteMode(RouteModeName(m), &back)) << RouteModeName(m);
    EXPECT_EQ(back, m);
  }
  RouteMode unused;
  EXPECT_FALSE(ParseRouteMode("random", &unused));
}

}  // namespace
}  // namespace epara::router
