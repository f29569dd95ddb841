#include "router/route_candidates.h"

#include <gtest/gtest.h>

namespace epara::router {
namespace {

TEST(RouteCandidatesTest, UnmeasuredServiceScalesTheProfileToTheNodesSpeed) {
  EXPECT_DOUBLE_EQ(UnmeasuredServiceMs(40, 30, 10), 120);  // a 3x slower device
  EXPECT_DOUBLE_EQ(UnmeasuredServiceMs(0, 30, 10), 10);    // no profile: 100 ms at 1 GFLOP/s
  EXPECT_DOUBLE_EQ(UnmeasuredServiceMs(40, 0, 4), 25);
}

TEST(RouteCandidatesTest, LocalInstanceUsesItsExactLoad) {
  RouteCandidate c = LocalInstanceCandidate("a", true, 30, 0, 3, 55);
  EXPECT_TRUE(c.local);
  EXPECT_DOUBLE_EQ(c.expected_wait_ms, 30);
  EXPECT_DOUBLE_EQ(c.service_ms, 55);  // nothing ran yet: the prior
  EXPECT_EQ(c.outstanding, 3);
  c = LocalInstanceCandidate("a", false, 30, 20, 3, 55);
  EXPECT_FALSE(c.ready);
  EXPECT_DOUBLE_EQ(c.expected_wait_ms, 0);
}

TEST(RouteCandidatesTest, PeerIsACandidateOnlyWithAFreshReadyReachableDigest) {
  cluster::InstanceLoad load;
  load.model = "m";
  load.ready = true;
  load.service_ms = 80;
  load.expected_wait_ms = 40;
  load.batch_occupancy = 0.5;
  load.max_batch = 4;  // two rows per recent batch
  load.queue_length = 2;
  load.in_flight = 1;
  PeerView v;
  v.load = &load;
  v.fresh = true;
  v.network_ms = 1.5;
  v.mine = 3;
  RouteCandidate c = PeerCandidate("b", v, 0);
  EXPECT_TRUE(c.ready);
  EXPECT_DOUBLE_EQ(c.network_ms, 1.5);
  EXPECT_DOUBLE_EQ(c.expected_wait_ms, 40 + 3 * 80 / 2.0);  // a recent row each
  EXPECT_DOUBLE_EQ(c.service_ms, 80);
  EXPECT_EQ(c.outstanding, 2 + 1 + 3);
  v.fresh = false;
  EXPECT_FALSE(PeerCandidate("b", v, 0).ready);
  v.fresh = true;
  v.unreachable = true;
  EXPECT_FALSE(PeerCandidate("b", v, 0).ready);
  v.unreachable = false;
  load.ready = false;
  EXPECT_FALSE(PeerCandidate("b", v, 0).ready);
  v.load = nullptr;
  EXPECT_FALSE(PeerCandidate("b", v, 0).ready);
}

TEST(RouteCandidatesTest, LlmPeerWithoutMeasurementsBorrowsThisNodesCostsScaled) {
  cluster::InstanceLoad load;
  load.model = "llm";
  load.ready = true;
  load.queued_prompt_tokens = 100;
  PeerView v;
  v.load = &load;
  v.fresh = true;
  v.llm = true;
  v.own_prefill_ms_per_token = 0.5;
  v.own_decode_step_ms = 10;
  v.slower = 2;  // that node is half as fast
  v.recent_prompt_tokens = 20;
  const RouteCandidate c = PeerCandidate("b", v, 64);
  EXPECT_DOUBLE_EQ(c.service_ms, 64 * 1.0);         // its prompt at 1 ms/token
  EXPECT_GT(c.expected_wait_ms, 120 * 1.0 - 1e-9);  // at least the 120 tokens ahead of it
  load.prefill_ms_per_token = 0.25;                 // measured there: its own costs win
  load.decode_step_ms = 5;
  EXPECT_DOUBLE_EQ(PeerCandidate("b", v, 64).service_ms, 16);
}

TEST(RouteCandidatesTest, LocalLlmUsesMeasuredCostsOrTheMeanTtft) {
  LlmEngineLoad l{2, 1, 300, 0.5, 10};
  RouteCandidate c = LocalLlmCandidate("a", l, 100, 0, 0);
  EXPECT_DOUBLE_EQ(c.service_ms, 50);
  EXPECT_EQ(c.outstanding, 3);
  l.prefill_ms_per_token = 0;
  c = LocalLlmCandidate("a", l, 100, 200, 0);
  EXPECT_DOUBLE_EQ(c.service_ms, 200);
  EXPECT_DOUBLE_EQ(c.expected_wait_ms, 3 * 200);
}

}  // namespace
}  // namespace epara::router
