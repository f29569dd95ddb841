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

}  // namespace
}  // namespace epara::router
