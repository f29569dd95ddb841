#include "router/admission_share.h"

#include <gtest/gtest.h>

namespace epara::router {
namespace {

TEST(AdmissionShareTest, OverloadWithMissesTightensDownToTheFloor) {
  const AdmissionObservation overloaded{200, 50, 30};  // refusing, 60% of the admitted met
  double share = 1.0;
  share = NextAdmissionShare(share, overloaded);
  EXPECT_DOUBLE_EQ(share, 0.9);
  for (int i = 0; i < 20; ++i) share = NextAdmissionShare(share, overloaded);
  EXPECT_DOUBLE_EQ(share, 0.5);
}

TEST(AdmissionShareTest, HoldsInTheBandAndRelaxesWhenTheOverloadEnds) {
  EXPECT_DOUBLE_EQ(NextAdmissionShare(0.7, {100, 50, 48}), 0.7);      // refusing, 96% met: hold
  EXPECT_NEAR(NextAdmissionShare(0.7, {100, 100, 99}), 0.721, 1e-9);  // 99% met: probe upwards
  EXPECT_NEAR(NextAdmissionShare(0.7, {0, 50, 10}), 0.721, 1e-9);     // misses, nothing refused
  double share = 0.5;
  for (int i = 0; i < 40; ++i) share = NextAdmissionShare(share, {0, 20, 20});
  EXPECT_DOUBLE_EQ(share, 1.0);  // back to the configured share, never above it
  AdmissionShareOptions configured;
  configured.ceiling = 0.8;
  EXPECT_DOUBLE_EQ(NextAdmissionShare(0.79, {0, 20, 20}, configured), 0.8);
}

TEST(AdmissionShareTest, TooFewAnswersAreNoEvidence) {
  EXPECT_DOUBLE_EQ(NextAdmissionShare(1.0, {500, 4, 0}), 1.0);  // held (refusing, 4 answers)
  EXPECT_DOUBLE_EQ(NextAdmissionShare(0.9, {500, 0, 0}), 0.9);
}

// The state both the node's tuner and the simulator keep: starts at the ceiling, moves once per
// elapsed interval on what that interval saw, holds over an interval without requests.
TEST(AdmissionShareTest, RollingMovesOncePerIntervalOnWhatItSaw) {
  AdmissionShareOptions o;
  o.ceiling = 0.8;
  AdmissionShareState s;
  EXPECT_DOUBLE_EQ(RollAdmissionShare(&s, 5000, 1000, o).share, 0.8);
  s.seen = {100, 20, 10};  // refusing, half of the answers late
  EXPECT_DOUBLE_EQ(RollAdmissionShare(&s, 5999, 1000, o).share, 0.8);  // the interval runs on
  EXPECT_EQ(s.seen.refused, 100u);
  EXPECT_NEAR(RollAdmissionShare(&s, 6000, 1000, o).share, 0.72, 1e-9);
  EXPECT_EQ(s.seen.refused + s.seen.answered, 0u);  // a new interval
  EXPECT_DOUBLE_EQ(s.since_ms, 6000);
  EXPECT_NEAR(RollAdmissionShare(&s, 9000, 1000, o).share, 0.72, 1e-9);  // nothing seen: held
}

}  // namespace
}  // namespace epara::router
